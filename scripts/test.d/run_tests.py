#!/usr/bin/env python3
"""Run the workspace's test binaries side by side.

`cargo test` runs one test binary after the other, so the end-to-end
binaries (each a minute or two, mostly waiting on PostgreSQL, a server or a
child `funkplan`) add up to most of CI's time while a core idles. This runs
the binaries cargo has built, `--jobs` at a time, longest-running kinds
first, each with its own log; a failing binary's log is printed whole, the
others as one line each. It is what `cargo nextest` does per binary; a small
script instead of one more tool to install on a fresh CI machine.

Usage: run_tests.py [--jobs N] [--test-threads N] [--log-dir DIR]
(durations.json beside this file: the order; copy a run's
`<log-dir>/durations.json` over it when binaries come or go.)
The binaries are found with `cargo test --no-run --message-format=json`
(nothing is built when `cargo build --all-targets` ran before); the doc
tests run as one more job (`cargo test --doc`). Exit status 0 only when
every binary passed.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def binaries(root):
    out = subprocess.run(
        ["cargo", "test", "--workspace", "--no-run", "--message-format=json-render-diagnostics"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    found = []
    for line in out.splitlines():
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("reason") != "compiler-artifact" or not m.get("profile", {}).get("test") or not m.get("executable"):
            continue
        t = m["target"]
        pkg_dir = str(Path(m["manifest_path"]).parent)
        found.append({"name": f"{Path(pkg_dir).name}::{t['name']} ({t['kind'][0]})", "exe": m["executable"], "cwd": pkg_dir})
    return found


def order(b, last):
    """Longest first, so the pool does not end on one long binary: by the
    durations of the last run on this machine where known, else the
    end-to-end crate's integration tests, then other crates' integration
    tests, then unit tests."""
    name = b["name"]
    kind = 0 if name.startswith("tests::") and "(test)" in name else 1 if "(test)" in name else 2
    return (-last.get(name, 0.0), kind)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "2")))
    ap.add_argument("--test-threads", type=int, default=int(os.environ.get("TEST_THREADS", "4")))
    ap.add_argument("--log-dir", default=None)
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[2]
    log_dir = Path(args.log_dir or root / ".funkplan" / "test" / "test-logs")
    log_dir.mkdir(parents=True, exist_ok=True)

    # This machine's last run, else the durations kept beside this script
    # (a run on the 2-core development machine; a fresh CI clone has no
    # run of its own). Only the order depends on them.
    durations = log_dir / "durations.json"
    last = {}
    for f in (durations, Path(__file__).with_name("durations.json")):
        try:
            last = json.loads(f.read_text())
            break
        except (OSError, ValueError):
            continue
    jobs = sorted(binaries(root), key=lambda b: order(b, last))
    work = [{"name": b["name"], "cmd": [b["exe"], f"--test-threads={args.test_threads}"], "cwd": b["cwd"],
             "env": {"CARGO_MANIFEST_DIR": b["cwd"]}} for b in jobs]
    work.append({"name": "doc tests", "cmd": ["cargo", "test", "-q", "--workspace", "--doc"], "cwd": str(root), "env": {}})

    lock = threading.Lock()
    results = []
    queue = list(work)
    started = time.monotonic()

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop(0)
            safe = "".join(c if c.isalnum() else "_" for c in job["name"])
            path = log_dir / f"{safe}.log"
            t0 = time.monotonic()
            with open(path, "w") as f:
                rc = subprocess.run(job["cmd"], cwd=job["cwd"], env={**os.environ, **job["env"]},
                                    stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
            dt = time.monotonic() - t0
            with lock:
                results.append((job["name"], rc, dt, path))
                print(f"{'ok    ' if rc == 0 else 'FAILED'} {dt:7.1f} s  {job['name']}", flush=True)
                if rc != 0:
                    sys.stdout.write(path.read_text(errors="replace"))
                    sys.stdout.flush()

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    durations.write_text(json.dumps({r[0]: round(r[2], 1) for r in results}, indent=1))
    failed = [r for r in results if r[1] != 0]
    total = time.monotonic() - started
    busy = sum(r[2] for r in results)
    print(f"{len(results)} test binaries in {total:.0f} s wall ({busy:.0f} s summed, {args.jobs} at a time); logs in {log_dir}")
    if failed:
        print("failed: " + ", ".join(r[0] for r in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark section "de": the engine at scale and its cold start (issue 24).
Standard library only. Run only when asked (`scripts/bench --only=de`), never
in the quick run of CI.

On the benchmark database (whatever scale it holds: the small demo with
--quick, NRW otherwise): each figure of issue 24 that this database can show,
beside its goal for that scale:

- full recompute in memory (`funkplan recompute --repeat N`): NRW ≤ 100 ms,
  Germany ≤ 1 s;
- cold `funkplan recompute` without a snapshot (the grid streamed from
  PostgreSQL; reported) and with a valid snapshot (NRW ≤ 1 s, Germany
  ≤ 15 s), each a whole process, with where its grid came from
  (`grid_from`) and its peak RSS; the snapshot's write and size;
- disk: the database, the snapshot file.

The snapshots go to a directory of their own, removed at the end. Household
ingest against ogr2ogr and one write reflected are the `ingest` and
`incremental` sections' figures on the same database; the Germany dataset
(`demo-data --scale de`) is not built yet (issue 24 item 1), so the Germany
goals are shown as "needs the Germany dataset".
"""

from __future__ import annotations

import importlib
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

GOAL_MEMORY_MS = {"nrw": 100.0, "de": 1000.0}
GOAL_COLD_SNAPSHOT_S = {"nrw": 1.0, "de": 15.0}


def _driver():
    """bench.py's module: `__main__` when it runs us (its Skip must be the
    class it catches), else imported."""
    m = sys.modules.get("__main__")
    return m if hasattr(m, "Bench") else importlib.import_module("bench")


def _recompute(b, env, *args):
    """One whole `funkplan recompute --json` process under GNU time: its
    statistics (JSON) with wall seconds and peak RSS."""
    t = _driver().timed([b.F, "recompute", "--json", *args], env=env)
    out = t["stdout"].strip()
    stats = json.loads(out[out.index("{"):]) if "{" in out else {}
    stats["wall_s"] = t["wall_s"]
    stats["rss_mib"] = t["rss_mib"]
    return stats


def bench_de(b):
    bench = _driver()
    if "--no-snapshot" not in b.help_text("recompute"):
        raise bench.Skip("`funkplan recompute --no-snapshot` is not in this build (grid snapshot of issue 24)")
    scale = "small" if b.quick else "nrw"
    b.settle("the Germany-scale section")
    snaps = Path(b.home) / "bench-snapshots"
    shutil.rmtree(snaps, ignore_errors=True)
    try:
        _run(b, bench, scale, snaps)
    finally:
        shutil.rmtree(snaps, ignore_errors=True)


def _run(b, bench, scale, snaps):
    off = dict(b.env, FUNKPLAN_NO_SNAPSHOT="1")
    on = dict(b.env, FUNKPLAN_NO_SNAPSHOT="0", FUNKPLAN_SNAPSHOT_DIR=str(snaps))

    bench.log("de: recompute, grid from PostgreSQL (no snapshot)")
    cold_db = [_recompute(b, off) for _ in range(b.reps)]
    bench.log("de: recompute writing the snapshot")
    t0 = time.perf_counter()
    first = _recompute(b, on)
    write_s = time.perf_counter() - t0
    files = sorted(snaps.glob("grid-*.snap"))
    if first.get("grid_from") != "database" or not files:
        raise RuntimeError(f"the first run with snapshots on should read the database and write a snapshot: {first.get('grid_from')}, {files}")
    snap_mb = files[0].stat().st_size / 1e6
    bench.log("de: recompute from the snapshot")
    cold_snap = [_recompute(b, on) for _ in range(b.reps)]
    bad = [r.get("grid_from") for r in cold_snap if r.get("grid_from") != "snapshot"]
    if bad:
        raise RuntimeError(f"a start with a valid snapshot read the database: {bad}")
    n_rep = 5 if b.quick else 20
    bench.log(f"de: recompute --repeat {n_rep} (in memory)")
    rep = json.loads(b.funkplan("recompute", "--repeat", str(n_rep), "--json").stdout.strip().splitlines()[-1])
    db_bytes = int(b.psql("SELECT pg_database_size(current_database())"))
    cells = cold_db[-1].get("cells")
    munis = cold_db[-1].get("municipalities")
    for cmd in (["recompute", "--json", "--no-snapshot"], ["recompute", "--json", "--snapshot-dir", str(snaps)],
                ["recompute", "--repeat", str(n_rep), "--json"]):
        b.commands.append(bench.pretty_cmd([b.F, *cmd]))

    med = statistics.median
    goal_scale = "nrw" if scale in ("small", "nrw") else scale
    mem_goal = GOAL_MEMORY_MS[goal_scale]
    snap_goal = GOAL_COLD_SNAPSHOT_S[goal_scale]
    cold_snap_s = med([r["wall_s"] for r in cold_snap])
    mem_ms = rep["median_ms"]
    lines = [
        "## Germany scale: cold start from the grid snapshot (issue 24)",
        "",
        f"On this run's database ({scale}: {munis} municipalities, {cells:,} cells). Each cold figure is a whole "
        "`funkplan recompute` process (start, load, compute, write the figures and the targets' history, exit), "
        f"median of {b.reps}; `load` is its grid and sites load. Goals are the issue's for NRW "
        f"({'the quick run checks the pipeline on small data' if b.quick else 'this database'}); "
        "the Germany goals need the Germany dataset (`demo-data --scale de`, not built yet).",
        "",
        "| figure | result | goal |",
        "|---|---|---|",
        f"| full recompute in memory (`recompute --repeat {rep['runs']}`, median) | {mem_ms:.1f} ms | NRW ≤ {mem_goal:.0f} ms; Germany ≤ 1 s (not measured) |",
        f"| cold `funkplan recompute`, grid from PostgreSQL | {med([r['wall_s'] for r in cold_db]):.2f} s (load {med([r['load_ms'] for r in cold_db]):.0f} ms) | reported |",
        f"| cold `funkplan recompute`, grid from a valid snapshot | **{cold_snap_s:.2f} s** (load {med([r['load_ms'] for r in cold_snap]):.0f} ms) | NRW ≤ {snap_goal:.0f} s; Germany ≤ 15 s (not measured) |",
        f"| the run that writes the snapshot | {write_s:.2f} s (load {first['load_ms']:.0f} ms incl. writing) | |",
        f"| peak RSS of `recompute` (database / snapshot) | {med([r['rss_mib'] or 0 for r in cold_db]):.0f} / {med([r['rss_mib'] or 0 for r in cold_snap]):.0f} MiB | Germany `serve` ≤ 4 GiB (not measured) |",
        f"| disk: database / snapshot file | {db_bytes / 1e9:.2f} GB / {snap_mb:.1f} MB | reported |",
        "",
    ]
    b.sections.append("\n".join(lines))
    b.goals.append((f"cold recompute with a valid grid snapshot ≤ {snap_goal:.0f} s ({scale})", bench.verdict(cold_snap_s <= snap_goal, f"{cold_snap_s:.2f} s")))
    b.goals.append((f"full recompute in memory ≤ {mem_goal:.0f} ms ({scale})", bench.verdict(mem_ms <= mem_goal, f"{mem_ms:.1f} ms")))
    for g in ("Germany: recompute in memory ≤ 1 s", "Germany: cold recompute with snapshot ≤ 15 s", "Germany: serve RSS ≤ 4 GiB",
              "Germany: household ingest ≤ 90 s, ≥ 3× ogr2ogr", "Germany: one write reflected p99 ≤ 50 ms"):
        b.goals.append((g, bench.verdict(None, "needs the Germany dataset (demo-data --scale de, not built)")))

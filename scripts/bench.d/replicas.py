#!/usr/bin/env python3
"""Benchmark section "replicas" (issue 25). Standard library only.

On the benchmark cluster (the primary) this section makes a hot standby the
way docs/deployment.md does (`pg_basebackup -R -X stream`, `pg_ctl start`
on its own socket directory and port) and starts two more `funkplan serve`
nodes reading from it (`DATABASE_READ_URL`). Then, side by side:

- read throughput, every request distinct (uncached.py's generators: a
  random bbox of ~100 sites, `limit=100`; a random municipality's
  figures), 64 connections: the bench's own node on the primary alone
  against the two standby nodes with 32 connections each at once. On one
  2-core machine that holds the primary, the standby, the nodes and wrk,
  the ratio shows what the set-up costs, not what it scales to;
- the extra latency of a read through the standby: p50 of one connection
  asking distinct municipality figures, node on the primary vs node on the
  standby (each answer's `Funkplan-Read-Source` checked);
- cross-node reflection: a site written through node A (on air, in a
  municipality), then node B polled without a token until its figures
  count it; the time from A's answer to B's first answer that shows it.

Used from bench.py: `replicas.bench_replicas(b)` with the bench's node
running (b.serve_port); it stops what it started.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import uncached
from net import free_port

GOAL_EXTRA_P50_MS = 1.0
GOAL_REFLECT_P99_MS = 100.0
CONNS = 64


def log(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", file=sys.stderr, flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def pg_bin() -> Path:
    if os.environ.get("FUNKPLAN_PG_BINDIR"):
        return Path(os.environ["FUNKPLAN_PG_BINDIR"])
    found = sorted((int(p.name), p / "bin") for p in Path("/usr/lib/postgresql").iterdir()
                   if p.name.isdigit() and (p / "bin" / "pg_basebackup").exists())
    if not found:
        raise RuntimeError("no PostgreSQL with pg_basebackup under /usr/lib/postgresql")
    return found[-1][1]


def pg(program: str, *args: str) -> None:
    cmd = [str(pg_bin() / program), *args]
    if is_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    p = subprocess.run(cmd, text=True, capture_output=True, cwd="/", env={**os.environ, "LC_ALL": "C"})
    if p.returncode != 0:
        raise RuntimeError(f"{program} {' '.join(args)} failed: {p.stdout[-800:]} {p.stderr[-800:]}")


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def wait_rotation(port: int, timeout: float = 120.0) -> None:
    t_end = time.time() + timeout
    last = ""
    while time.time() < t_end:
        try:
            s, _, body = get(port, "/healthz")
            last = body.decode(errors="replace")
            if s == 200 and json.loads(body).get("standbys", [{}])[0].get("in_rotation"):
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the standby did not come into rotation on port {port}: {last[:300]}")


class Standby:
    """A hot standby of the bench cluster, next to its data directory."""

    def __init__(self, b):
        u = urllib.parse.urlsplit(b.url)
        q = urllib.parse.parse_qs(u.query)
        self.primary_socket = q.get("host", [""])[0]
        self.primary_port = q.get("port", ["5432"])[0]
        if not self.primary_socket.startswith("/"):
            raise RuntimeError(f"the bench cluster's URL has no socket directory: {b.url}")
        self.user = u.username or "postgres"
        self.db = u.path.lstrip("/")
        # Beside the embedded cluster's directories: traversable by postgres.
        self.dir = Path(self.primary_socket).parent / f"standby-{os.getpid()}"
        self.port = free_port()

    def create(self) -> float:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        if is_root():
            shutil.chown(self.dir, "postgres", "postgres")
        t0 = time.perf_counter()
        pg("pg_basebackup", "-D", str(self.dir / "data"), "-d",
           f"host={self.primary_socket} port={self.primary_port} user={self.user}", "-R", "-X", "stream", "-c", "fast")
        took = time.perf_counter() - t0
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=''"
        pg("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-o", opts, "-w", "-t", "120", "start")
        return took

    def url(self) -> str:
        return f"postgresql://{self.user}@/{self.db}?host={self.dir}&port={self.port}"

    def drop(self) -> None:
        try:
            pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def start_node(b, name: str, read_url: str, procs: list) -> int:
    port = free_port()
    env = dict(b.env)
    env["DATABASE_URL"] = b.tcp_url
    env["DATABASE_READ_URL"] = read_url
    log_f = open(b.home / f"serve-{name}.log", "w")
    p = subprocess.Popen([b.F, "serve", "--addr", f"127.0.0.1:{port}"], env=env, stdout=log_f, stderr=subprocess.STDOUT)
    procs.append(p)
    wait_rotation(port)
    return port


def wrk_both(b, script, ports: list[int], conns: int, duration: int) -> dict:
    """wrk against each port at once, `conns` connections in all; summed
    requests/s, the worse p50/p99."""
    results: list[dict] = [None] * len(ports)  # type: ignore[list-item]
    errors: list[BaseException] = []

    def one(i: int, port: int) -> None:
        try:
            results[i] = b.wrk(port, "", conns // len(ports), duration=duration, script=script)
        except BaseException as e:  # noqa: BLE001 — reported below
            errors.append(e)

    ths = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(ports)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errors:
        raise errors[0]
    return {
        "rps": sum(r["rps"] for r in results),
        "p50_us": max(r["p50_us"] for r in results),
        "p99_us": max(r["p99_us"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "cmd": results[0]["cmd"],
    }


def p50_pair(ports: list[int], paths: list[str]) -> tuple[list[float], list[dict]]:
    """Median ms per port of one connection each asking every path once,
    the ports taking turns request by request (so the machine's load at any
    moment weighs on both alike); a Host of its own per request (no cache);
    and which databases answered, per port."""
    conns = [http.client.HTTPConnection("127.0.0.1", p, timeout=30) for p in ports]
    times: list[list[float]] = [[] for _ in ports]
    sources: list[dict] = [{} for _ in ports]
    for i, path in enumerate(paths):
        for k, c in enumerate(conns):
            t0 = time.perf_counter()
            c.request("GET", path, headers={"Host": f"lat{i}-{k}-{random.random():.9f}.bench"})
            r = c.getresponse()
            r.read()
            times[k].append((time.perf_counter() - t0) * 1e3)
            if r.status != 200:
                raise RuntimeError(f"GET {path} on port {ports[k]}: {r.status}")
            # A node without standbys names no source: it reads the primary.
            src = r.getheader("Funkplan-Read-Source") or "primary (no standbys)"
            sources[k][src] = sources[k].get(src, 0) + 1
    for c in conns:
        c.close()
    return [statistics.median(t) for t in times], sources


def reflection(b, a_port: int, b_port: int, n: int) -> list[float]:
    """ms from node A's answer to a site write to node B's first answer
    (no token) that counts it, for `n` writes."""
    token = b.funkplan("token", "create", "--role", "staff").stdout.strip().splitlines()[-1].strip()
    rows = b.psql("SELECT setseed(0.25); SELECT string_agg(ags || ',' || ST_X(p) || ',' || ST_Y(p), ';') FROM "
                  "(SELECT ags, ST_Transform(ST_PointOnSurface(geom), 4326) AS p FROM municipality ORDER BY random() LIMIT 50) m")
    places = [r.split(",") for r in rows.splitlines()[-1].split(";") if r]
    out = []
    run = f"{os.getpid()}-{int(time.time())}"
    for i in range(n):
        ags, lon, lat = places[i % len(places)]

        def on_air(port: int) -> int:
            s, _, body = get(port, f"/api/v1/municipalities/{ags}")
            if s != 200:
                raise RuntimeError(f"figures of {ags} on port {port}: {s} {body[:200]!r}")
            return int(json.loads(body)["sites"]["on_air"])

        before = on_air(b_port)
        site = {"site_id": f"BENCH-R-{run}-{i}", "operator": "telekom", "lon": float(lon), "lat": float(lat),
                "status": "on_air", "technologies": ["lte"]}
        c = http.client.HTTPConnection("127.0.0.1", a_port, timeout=30)
        c.request("POST", "/api/v1/sites", body=json.dumps(site),
                  headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        if r.status != 201:
            raise RuntimeError(f"POST /api/v1/sites on node A: {r.status} {body[:300]!r}")
        t0 = time.perf_counter()
        c.close()
        while on_air(b_port) != before + 1:
            if time.perf_counter() - t0 > 10:
                raise RuntimeError(f"node B did not show node A's write {site['site_id']} within 10 s")
            time.sleep(0.0005)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def bench_replicas(b) -> None:
    m = sys.modules[type(b).__module__]
    Skip, verdict, pretty_cmd = m.Skip, m.verdict, m.pretty_cmd
    primary_port = getattr(b, "serve_port", None)
    if not primary_port:
        raise Skip("funkplan serve is not running")
    if shutil.which("wrk") is None:
        raise Skip("wrk is not installed")
    b.settle("the replicas section")
    sb = Standby(b)
    procs: list[subprocess.Popen] = []
    log(f"replicas: pg_basebackup of the bench cluster into {sb.dir}")
    try:
        backup_s = sb.create()
        a_port = start_node(b, "replica-a", sb.url(), procs)
        b_port = start_node(b, "replica-b", sb.url(), procs)
        duration = b.duration
        sboxes = uncached.site_boxes(b)
        ags = b.psql("SELECT string_agg(ags, ',' ORDER BY ags) FROM municipality").split(",")
        cases = [
            ("OGC items: sites, random bbox of ~100 (limit=100)", "bbox", sboxes, "/ogc/collections/sites/items"),
            ("municipality figures, random AGS", "id", ags, "/api/v1/municipalities/"),
        ]
        rows = []
        for label, kind, items, prefix in cases:
            script = uncached.lua_script(b, f"replicas-{kind}", kind, prefix, items)
            # Unmeasured first: each node loads its in-memory collections on
            # the first misses (uncached.py), which the new nodes have not had.
            for port in (primary_port, a_port, b_port):
                b.wrk(port, "", 8, duration=2, script=script)
            log(f"replicas: {label}: 1 node + primary")
            one = b.wrk(primary_port, "", CONNS, duration=duration, script=script)
            log(f"replicas: {label}: 2 nodes + primary + standby")
            two = wrk_both(b, script, [a_port, b_port], CONNS, duration)
            rows.append((label, one, two))
        rng = random.Random(7)
        lat_paths = [f"/api/v1/municipalities/{rng.choice(ags)}" for _ in range(500 if not b.quick else 300)]
        (p_primary, p_standby), (src_primary, src_standby) = p50_pair([primary_port, a_port], lat_paths)
        extra = p_standby - p_primary
        n = 100 if not b.quick else 30
        log(f"replicas: cross-node reflection, {n} writes")
        refl = reflection(b, a_port, b_port, n)
        metrics = get(b_port, "/metrics")[2].decode(errors="replace")
        fallbacks = next((ln.split()[-1] for ln in metrics.splitlines() if ln.startswith("funkplan_read_fallbacks_total")), "?")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        sb.drop()

    lines = ["## Replicas: two nodes on a hot standby (issue 25)", ""]
    lines.append(
        "A hot standby of the bench cluster made as docs/deployment.md makes it "
        f"(`pg_basebackup -R -X stream -c fast`: {backup_s:.1f} s), two more `funkplan serve` nodes with "
        "`DATABASE_READ_URL` on it, against the bench's own node on the primary alone. Every request distinct "
        "(a `Host` of its own, uncached.py's generators), so every read reaches a database. "
        f"**One 2-core machine holds the primary, the standby, three nodes and wrk**: the ratio shows what the "
        "set-up costs here, not what separate machines would give.")
    lines.append("")
    lines.append("| reads, 64 connections | 1 node + primary req/s | p50 / p99 ms | 2 nodes + standby req/s | p50 / p99 ms | ratio | errors |")
    lines.append("|---|---|---|---|---|---|---|")
    for label, one, two in rows:
        lines.append(f"| {label} | {one['rps']:,.0f} | {one['p50_us'] / 1e3:.1f} / {one['p99_us'] / 1e3:.1f} | "
                     f"{two['rps']:,.0f} | {two['p50_us'] / 1e3:.1f} / {two['p99_us'] / 1e3:.1f} | "
                     f"{two['rps'] / one['rps']:.2f}× | {one['errors']} / {two['errors']} |")
    lines.append("")
    lines.append(f"- Read through the standby, one connection per node taking turns, {len(lat_paths)} distinct municipality figures each: "
                 f"p50 {p_standby:.2f} ms against {p_primary:.2f} ms on the primary, **{extra:+.2f} ms** "
                 f"(answered by: standby node {src_standby}, primary node {src_primary}).")
    lines.append(f"- Cross-node reflection, {len(refl)} site writes through node A, node B polled without a token "
                 f"every 0.5 ms: p50 {pct(refl, 0.5):.1f} ms, p99 **{pct(refl, 0.99):.1f} ms**, max {max(refl):.1f} ms. "
                 f"Node B's reads that found the standby not yet far enough and went to the primary: {fallbacks}.")
    lines.append(f"- Commands: `{pretty_cmd(rows[0][1]['cmd'])}` (scripts per case under .funkplan/bench), "
                 "the two-node rows run it against both nodes at once with 32 connections each.")
    b.goals.append(("read through a standby: extra p50 ≤ 1 ms", verdict(extra <= GOAL_EXTRA_P50_MS, f"{extra:+.2f} ms")))
    b.goals.append(("cross-node reflection p99 ≤ 100 ms", verdict(pct(refl, 0.99) <= GOAL_REFLECT_P99_MS, f"{pct(refl, 0.99):.1f} ms")))
    b.sections.append("\n".join(lines))

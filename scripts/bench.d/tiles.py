#!/usr/bin/env python3
"""Benchmark section "vector tiles" (issue 17). Standard library only.

On a running `funkplan serve`: a fixed list of distinct tiles, z 8-14 over
the data's extent (each requested once: cache misses), fetched by 64
clients on keep-alive HTTP/1.1 connections. Reports tiles/s, p50/p99
latency, errors (anything but 200/204), and the size distribution per zoom
for each tileset asked for (default `coverage`).

The anchor (issue 17): martin, serving the same cells from PostGIS. The
engine's cells are copied into a table (read back from funkplan's own z 12
tiles, so the content is the engine's, not a second computation), and a
martin function source runs `ST_AsMVT` over it: one feature per cell with
the same properties from z 12, the same block sums below. Both servers get
the same tile list; the report compares tiles/s, latency, and per tile of
z >= 12 the byte sizes and feature counts. martin is installed with `cargo
install martin --locked` into .funkplan/bench/martin (a long build, once);
the quick run never installs it and skips the anchor with a note when it is
not there.

The RSS of `funkplan serve` before and after the tile list: what serving
the tiles adds.

Two ways to run it:
- from bench.py: `import tiles; tiles.bench_tiles(b)` (uses b.serve_port,
  b.psql-free: the extent comes from /ogc/collections/municipalities);
- alone: `python3 scripts/bench.d/tiles.py --url http://127.0.0.1:8080`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CLIENTS = 64
ZOOMS = range(8, 15)
GOAL_P99_MS = 30.0
GOAL_MAX_BYTES = 500_000
GOAL_RATIO = 10.0
GOAL_SIZE_RATIO = 1.2
GOAL_RSS_MIB = 200.0
# martin, pinned so that runs compare like with like; PostgreSQL sources only
# (the default features add fonts, sprites, rendering and a web UI).
MARTIN_VERSION = "1.14.0"
MARTIN_FEATURES = "postgres"
# Where the anchor's table and function live (not tipg's schema `bench`,
# which the HTTP section drops and re-creates).
SCHEMA = "bench_tiles"


def tile_of(z: int, lon: float, lat: float) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def extent(url: str) -> tuple[float, float, float, float]:
    """The municipalities' bounding box (lon/lat) from the OGC API."""
    with urllib.request.urlopen(f"{url}/ogc/collections/municipalities/items?limit=10000") as r:
        fc = json.load(r)
    w = s = math.inf
    e = n = -math.inf

    def walk(c):
        nonlocal w, s, e, n
        if isinstance(c[0], (int, float)):
            w, e, s, n = min(w, c[0]), max(e, c[0]), min(s, c[1]), max(n, c[1])
        else:
            for x in c:
                walk(x)

    for f in fc["features"]:
        walk(f["geometry"]["coordinates"])
    return w, s, e, n


def tile_list(box, per_zoom: int, seed: int = 17) -> list[tuple[int, int, int]]:
    """Up to `per_zoom` distinct tiles per zoom inside the box, shuffled."""
    rnd = random.Random(seed)
    out = []
    for z in ZOOMS:
        x0, y0 = tile_of(z, box[0], box[3])
        x1, y1 = tile_of(z, box[2], box[1])
        all_z = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        rnd.shuffle(all_z)
        out.extend(all_z[:per_zoom])
    rnd.shuffle(out)
    return out


def _varint(b: bytes, i: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7


def _fields(b: bytes):
    """(field number, wire type, value) of one protobuf message: ints for
    varints, bytes for length-delimited and fixed fields."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _varint(b, i)
        elif w == 2:
            ln, i = _varint(b, i)
            v, i = b[i:i + ln], i + ln
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise ValueError(f"protobuf wire type {w} in a vector tile")
        yield f, w, v


def _packed(b: bytes) -> list[int]:
    out, i = [], 0
    while i < len(b):
        v, i = _varint(b, i)
        out.append(v)
    return out


def _value(b: bytes):
    for f, _, v in _fields(b):
        if f == 1:
            return v.decode()
        if f == 2:
            return struct.unpack("<f", v)[0]
        if f == 3:
            return struct.unpack("<d", v)[0]
        if f in (4, 5):
            return v
        if f == 6:
            return (v >> 1) ^ -(v & 1)
        if f == 7:
            return bool(v)
    return None


def decode_features(tile: bytes) -> list[tuple[int | None, dict]]:
    """The features (id, properties) of every layer of an MVT tile
    (geometry skipped): what the anchor's cell table is made of and what the
    two servers' tiles are compared by."""
    out = []
    for f, _, layer in _fields(tile):
        if f != 3:
            continue
        keys, values, feats = [], [], []
        for lf, _, v in _fields(layer):
            if lf == 3:
                keys.append(v.decode())
            elif lf == 4:
                values.append(_value(v))
            elif lf == 2:
                feats.append(v)
        for fb in feats:
            fid, tags = None, []
            for ff, _, v in _fields(fb):
                if ff == 1:
                    fid = v
                elif ff == 2:
                    tags = _packed(v)
            out.append((fid, {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags) - 1, 2)}))
    return out


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


async def fetch_all(host: str, port: int, paths: list[str], clients: int, keep: bool = False):
    """Each path once, `clients` keep-alive connections; (path, status,
    bytes, ms) per request (with the body as a fifth item when `keep`)."""
    queue = list(reversed(paths))
    results = []

    async def client():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while queue:
                path = queue.pop()
                t0 = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n".encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                length, chunked = 0, False
                for h in lines[1:]:
                    k, _, v = h.partition(":")
                    if k.lower() == "content-length":
                        length = int(v)
                    elif k.lower() == "transfer-encoding" and "chunked" in v.lower():
                        chunked = True
                if chunked:
                    parts = []
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        parts.append(chunk[:-2])
                    body = b"".join(parts)
                else:
                    body = await reader.readexactly(length) if length else b""
                ms = (time.perf_counter() - t0) * 1e3
                results.append((path, status, len(body), ms, body) if keep else (path, status, len(body), ms))
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return results, time.perf_counter() - t0


def pct(v: list[float], p: float) -> float:
    v = sorted(v)
    return v[min(len(v) - 1, int(math.ceil(p / 100 * len(v))) - 1)] if v else float("nan")


def stats_row(label: str, res: list, secs: float) -> str:
    ms = [r[3] for r in res]
    errors = sum(1 for r in res if r[1] not in (200, 204))
    empty = sum(1 for r in res if r[1] == 204)
    sizes = [r[2] for r in res if r[1] == 200]
    return (f"| {label} | {len(res) / secs:.0f} | {pct(ms, 50):.1f} | {pct(ms, 99):.1f} | {errors} | {empty} | "
            f"{pct(sizes, 50):.0f} / {pct(sizes, 99):.0f} / {max(sizes, default=0)} |")


def run(url: str, per_zoom: int, tilesets: list[str], clients: int = CLIENTS):
    """The section's lines and goals, and the coverage run (tile list, results
    with bodies, seconds) for the anchor."""
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    box = extent(url)
    tiles = tile_list(box, per_zoom)
    lines = [
        "## Vector tiles (issue 17)",
        "",
        f"{len(tiles)} distinct tiles, z {ZOOMS.start}–{ZOOMS.stop - 1} over the data's extent "
        f"({box[0]:.2f}, {box[1]:.2f}, {box[2]:.2f}, {box[3]:.2f}), each requested once, {clients} keep-alive connections "
        "(`python3 scripts/bench.d/tiles.py`).",
        "",
        "| tileset | tiles/s | p50 ms | p99 ms | errors | 204 | bytes p50 / p99 / max |",
        "|---|---|---|---|---|---|---|",
    ]
    goals = []
    per_zoom_sizes, per_zoom_ms = {}, {}
    cov = None
    for ts in tilesets:
        # Each tileset within the zooms its TileJSON names (sites start at
        # 9: a request below is the client's error, 404, not the server's).
        with urllib.request.urlopen(f"{url.rstrip('/')}/tiles/{ts}.json") as r:
            tj = json.load(r)
        zmin, zmax = tj.get("minzoom", 0), tj.get("maxzoom", 30)
        paths = [f"/tiles/{ts}/{z}/{x}/{y}.mvt" for z, x, y in tiles if zmin <= z <= zmax]
        res, secs = asyncio.run(fetch_all(host, int(port), paths, clients, keep=ts == "coverage"))
        ms = [r[3] for r in res]
        errors = sum(1 for r in res if r[1] not in (200, 204))
        sizes = [r[2] for r in res if r[1] == 200]
        lines.append(stats_row(f"{ts} (z {max(zmin, ZOOMS.start)}–{min(zmax, ZOOMS.stop - 1)}, {len(res)} tiles)", res, secs))
        if ts == "coverage":
            cov = {"tiles": [t for t in tiles if zmin <= t[0] <= zmax], "res": res, "secs": secs}
            for r in res:
                z = int(r[0].split("/")[3])
                per_zoom_ms.setdefault(z, []).append(r[3])
                if r[1] == 200:
                    per_zoom_sizes.setdefault(z, []).append(r[2])
            goals.append(("coverage tiles p99 ≤ 30 ms, 0 errors", f"{'met' if pct(ms, 99) <= GOAL_P99_MS and errors == 0 else 'NOT met'} (p99 {pct(ms, 99):.1f} ms, {errors} errors)"))
            goals.append(("every coverage tile ≤ 500 KB", f"{'met' if max(sizes, default=0) <= GOAL_MAX_BYTES else 'NOT met'} (max {max(sizes, default=0)} bytes)"))
    if per_zoom_sizes:
        lines += ["", "Coverage tiles by zoom: bytes of the tiles with features, and the latency of all (in the mixed run above, "
                  "so queueing behind other zooms' tiles included):", "",
                  "| z | tiles | bytes p50 | p90 | max | ms p50 | p99 |", "|---|---|---|---|---|---|---|"]
        for z in sorted(per_zoom_sizes):
            v, t = per_zoom_sizes[z], per_zoom_ms.get(z, [])
            lines.append(f"| {z} | {len(v)} | {pct(v, 50):.0f} | {pct(v, 90):.0f} | {max(v)} | {pct(t, 50):.1f} | {pct(t, 99):.1f} |")
    return lines, goals, cov


# ---- the martin anchor

def martin_bin(home: Path) -> Path:
    return home / "martin" / "bin" / "martin"


def install_martin(home: Path) -> Path:
    """`cargo install martin` (pinned, PostgreSQL sources only) into the
    bench's cache; a no-op when that version is there."""
    exe = martin_bin(home)
    if exe.exists():
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout
        if MARTIN_VERSION in out:
            return exe
    print(f"==> installing martin {MARTIN_VERSION} into {home / 'martin'} (a long build, once)", file=sys.stderr, flush=True)
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(home / "martin-build")
    subprocess.run(["cargo", "install", "martin", "--version", MARTIN_VERSION, "--locked", "--no-default-features",
                    "--features", MARTIN_FEATURES, "--root", str(home / "martin")], check=True, env=env)
    return exe


def cell_rows(url: str, box, clients: int = CLIENTS) -> list[tuple]:
    """The engine's cells over the extent, read back from funkplan's own
    z 12 tiles (a cell on a tile edge is in both: kept once)."""
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    x0, y0 = tile_of(12, box[0], box[3])
    x1, y1 = tile_of(12, box[2], box[1])
    paths = [f"/tiles/coverage/12/{x}/{y}.mvt" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    res, _ = asyncio.run(fetch_all(host, int(port), paths, clients, keep=True))
    bad = [r for r in res if r[1] not in (200, 204)]
    if bad:
        raise RuntimeError(f"reading the engine's cells: {bad[0][0]} answered {bad[0][1]}")
    # A row per cell as a tuple (NRW: ~3.4 M cells; a dict each would be GBs).
    cells = {}
    for i, r in enumerate(res):
        if r[1] == 200:
            for fid, p in decode_features(r[4]):
                cells[fid] = (fid, fid // 100_000, fid % 100_000, p.get("lte"), p.get("5g"), p.get("lte_ops"), p.get("5g_ops"),
                              p.get("households", 0.0))
        res[i] = None
    return list(cells.values())


def anchor_sql() -> str:
    """The anchor's table and its martin function source: per tile, from
    z 12 one feature per cell with funkplan's properties, below the same
    block sums (blocks of 2^(12 - z) cells, aligned to the grid, property
    names and NULL-when-no-households share as funkplan's). The tile's box
    in EPSG:25832 from its envelope densified (an edge is a curve there);
    ST_AsMVTGeom with buffer 0: a feature is in a tile when it reaches into
    it, as in funkplan's tiles."""
    tech = []
    for t, col in (("lte", "lte"), ("5g", '"5g"')):
        covered = f"sum(CASE WHEN c.{col} > 0 THEN c.households::float8 ELSE 0 END)"
        tech.append(f'{covered} AS "{t}_households_covered", '
                    f'{covered} / nullif(sum(c.households::float8), 0) AS "{t}_household_share", '
                    f'count(*) FILTER (WHERE c.{col} > 0) AS "{t}_cells_covered", '
                    f'count(*) FILTER (WHERE c.{col} = 0) AS "{t}_dead_cells", '
                    f'count(*) FILTER (WHERE c.{col} = 1) AS "{t}_grey_cells"')
    return f"""
    DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
    CREATE SCHEMA {SCHEMA};
    CREATE TABLE {SCHEMA}.coverage_cell (
        id bigint PRIMARY KEY, n integer NOT NULL, e integer NOT NULL,
        lte integer NOT NULL, "5g" integer NOT NULL, lte_ops text, "5g_ops" text, households real NOT NULL,
        geom geometry(Polygon, 25832) GENERATED ALWAYS AS (ST_MakeEnvelope(e * 100, n * 100, e * 100 + 100, n * 100 + 100, 25832)) STORED);
    CREATE FUNCTION {SCHEMA}.coverage(z integer, x integer, y integer) RETURNS bytea AS $$
    DECLARE
        env geometry := ST_TileEnvelope(z, x, y);
        box geometry := ST_Transform(ST_Segmentize(env, (ST_XMax(env) - ST_XMin(env)) / 16), 25832);
        s integer := CASE WHEN z >= 12 THEN 1 ELSE 1 << (12 - z) END;
        mvt bytea;
    BEGIN
        IF z >= 12 THEN
            SELECT INTO mvt ST_AsMVT(t, 'coverage', 4096, 'geom', 'id') FROM (
                SELECT c.id, c.lte, c."5g", c.lte_ops, c."5g_ops", c.households,
                       ST_AsMVTGeom(ST_Transform(c.geom, 3857), env, 4096, 0, true) AS geom
                FROM {SCHEMA}.coverage_cell c WHERE c.geom && box) t WHERE geom IS NOT NULL;
        ELSE
            SELECT INTO mvt ST_AsMVT(t, 'coverage', 4096, 'geom', 'id') FROM (
                SELECT b.bn::bigint * 100000 + b.be AS id, s * 100 AS block_m, b.cells, b.households,
                       {", ".join(f'b."{t}_{k}"' for t in ("lte", "5g") for k in ("households_covered", "household_share", "cells_covered", "dead_cells", "grey_cells"))},
                       ST_AsMVTGeom(ST_Transform(ST_MakeEnvelope(b.be * 100, b.bn * 100, (b.be + s) * 100, (b.bn + s) * 100, 25832), 3857), env, 4096, 0, true) AS geom
                FROM (SELECT c.n / s * s AS bn, c.e / s * s AS be, count(*) AS cells, sum(c.households::float8) AS households,
                             {", ".join(tech)}
                      FROM {SCHEMA}.coverage_cell c WHERE c.geom && ST_Expand(box, s * 100) GROUP BY 1, 2) b) t
            WHERE geom IS NOT NULL;
        END IF;
        RETURN mvt;
    END
    $$ LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE;
    """


def load_cells(psql_url: str, rows: list[tuple]) -> None:
    sql = anchor_sql()
    subprocess.run(["psql", psql_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True)

    def cell(v):
        return "\\N" if v is None else str(v)

    data = "".join("\t".join(cell(v) for v in r) + "\n" for r in rows)
    copy = f'\\copy {SCHEMA}.coverage_cell (id, n, e, lte, "5g", lte_ops, "5g_ops", households) FROM STDIN'
    subprocess.run(["psql", psql_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copy], input=data, check=True, capture_output=True, text=True)
    subprocess.run(["psql", psql_url, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-c", f"CREATE INDEX ON {SCHEMA}.coverage_cell USING gist (geom)", "-c", f"VACUUM (ANALYZE) {SCHEMA}.coverage_cell"],
                   check=True, capture_output=True, text=True)


def start_martin(exe: Path, db_url: str, home: Path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg = home / "martin.yaml"
    # As funkplan serve gets it: one worker per core; a pool as large as
    # the clients are many would only queue in PostgreSQL.
    cfg.write_text(
        f'listen_addresses: "127.0.0.1:{port}"\n'
        f"worker_processes: {os.cpu_count() or 2}\n"
        "postgres:\n"
        f'  connection_string: "{db_url}"\n'
        "  pool_size: 20\n"
        "  auto_publish: false\n"
        "  functions:\n"
        "    coverage:\n"
        f"      schema: {SCHEMA}\n"
        "      function: coverage\n"
        f"      minzoom: {ZOOMS.start}\n"
        f"      maxzoom: {ZOOMS.stop - 1}\n"
    )
    log_f = open(home / "martin.log", "w")
    p = subprocess.Popen([str(exe), "--config", str(cfg)], stdout=log_f, stderr=subprocess.STDOUT)
    t_end = time.time() + 60
    while time.time() < t_end:
        if p.poll() is not None:
            raise RuntimeError(f"martin stopped at start ({p.returncode}): see {home / 'martin.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog", timeout=5):
                return p, port
        except OSError:
            time.sleep(0.3)
    p.terminate()
    raise RuntimeError(f"martin did not answer on port {port}")


def anchor(url: str, db_url: str, home: Path, exe: Path, cov: dict, clients: int = CLIENTS):
    """martin on the same tile list: the lines and goals of the comparison."""
    box = extent(url)
    t0 = time.perf_counter()
    rows = cell_rows(url, box, clients)
    load_cells(db_url, rows)
    setup_s = time.perf_counter() - t0
    p, port = start_martin(exe, db_url, home)
    try:
        paths = [f"/coverage/{z}/{x}/{y}" for z, x, y in cov["tiles"]]
        res, secs = asyncio.run(fetch_all("127.0.0.1", port, paths, clients, keep=True))
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    ours_rate = len(cov["res"]) / cov["secs"]
    theirs_rate = len(res) / secs
    ratio = ours_rate / theirs_rate if theirs_rate else float("nan")
    # Per tile of z >= 12 with features in both: bytes and feature counts.
    # funkplan's paths are /tiles/coverage/z/x/y.mvt, martin's /coverage/z/x/y.
    mine = {tuple(int(v.split(".")[0]) for v in r[0].split("/")[3:6]): r for r in cov["res"]}
    size_ratios, count_diff, both, feats = [], 0, 0, [0, 0]
    for r in res:
        z, x, y = (int(v) for v in r[0].split("/")[2:5])
        o = mine.get((z, x, y))
        if z < 12 or o is None or r[1] != 200 or o[1] != 200:
            continue
        both += 1
        size_ratios.append(o[2] / r[2])
        n_ours, n_theirs = len(decode_features(o[4])), len(decode_features(r[4]))
        feats[0] += n_ours
        feats[1] += n_theirs
        count_diff += n_ours != n_theirs
    only_one = sum(1 for r in res if (o := mine.get(tuple(int(v) for v in r[0].split("/")[2:5]))) and (r[1] == 200) != (o[1] == 200))
    lines = [
        "",
        f"Anchor: martin {MARTIN_VERSION} (`cargo install martin --locked --no-default-features --features {MARTIN_FEATURES}`), "
        f"a PostgreSQL function source `{SCHEMA}.coverage(z, x, y)` running `ST_AsMVT` over a table of the engine's "
        f"{len(rows):,} cells (read back from funkplan's z 12 tiles; set-up {setup_s:.0f} s): one feature per cell from z 12 with "
        "the same properties, the same block sums below; `worker_processes` = cores, pool 20. Same tile list, same clients.",
        "",
        "| server | tiles/s | p50 ms | p99 ms | errors | 204 | bytes p50 / p99 / max |",
        "|---|---|---|---|---|---|---|",
        stats_row(f"funkplan coverage ({len(cov['res'])} tiles)", cov["res"], cov["secs"]),
        stats_row(f"martin ({len(res)} tiles)", res, secs),
        "",
        f"funkplan / martin tiles/s: **{ratio:.1f}×**.",
    ]
    goals = [("coverage tiles ≥ 10× martin's tiles/s", f"{'met' if ratio >= GOAL_RATIO else 'NOT met'} ({ratio:.1f}×)")]
    if size_ratios:
        within = sum(1 for q in size_ratios if q <= GOAL_SIZE_RATIO)
        lines.append(
            f"Tiles of z ≥ 12 with features from both ({both}): funkplan's bytes / martin's median {pct(size_ratios, 50):.2f}, "
            f"p99 {pct(size_ratios, 99):.2f}, max {max(size_ratios):.2f}; {within} of {both} within {GOAL_SIZE_RATIO}×; "
            f"features {feats[0]:,} (funkplan) against {feats[1]:,} (martin), the count differing in {count_diff} tiles "
            "(a cell at a tile's edge: funkplan keeps a square whose bounding box reaches into the tile, PostGIS one whose "
            f"clipped outline is not empty); tiles empty on one server only (all zooms): {only_one}.")
        goals.append(("coverage tile sizes within 1.2× of martin's (z ≥ 12)",
                      f"{'met' if within == both else 'NOT met'} ({within}/{both}, max {max(size_ratios):.2f}×)"))
    return lines, goals


def bench_tiles(b) -> None:
    """The section inside bench.py (needs its running `funkplan serve`)."""
    port = getattr(b, "serve_port", None)
    if not port:
        raise RuntimeError("the tiles section needs the running funkplan serve of the HTTP section")
    url = f"http://127.0.0.1:{port}"
    serve = next((p for p in b.procs if "serve" in p.args and p.poll() is None), None)
    before = rss_mib(serve.pid) if serve else None
    lines, goals, cov = run(url, 40 if b.quick else 400, ["coverage", "municipalities", "sites"])
    after = rss_mib(serve.pid) if serve else None
    if before is not None and after is not None:
        lines += ["", f"RSS of `funkplan serve`: {before:.0f} MiB before the tile lists, {after:.0f} MiB after "
                      f"(+{after - before:.0f} MiB)."]
        goals.append(("the tile service adds ≤ 200 MB RSS", f"{'met' if after - before <= GOAL_RSS_MIB else 'NOT met'} (+{after - before:.0f} MiB)"))
    exe = martin_bin(b.home)
    if b.quick and not exe.exists():
        lines += ["", f"The martin anchor is skipped: martin is not cached in {exe.parent.parent} and the quick run does not "
                      "install it (the full run does, once)."]
    elif cov:
        # A failed install or anchor run is reported in the section; the
        # funkplan rows above stand on their own.
        try:
            exe = install_martin(b.home)
            more, g = anchor(url, b.tcp_url, b.home, exe, cov)
            lines += more
            goals += g
        except (subprocess.CalledProcessError, OSError, RuntimeError) as e:
            lines += ["", f"The martin anchor failed: {e} (martin's log: {b.home / 'martin.log'})."]
            goals.append(("coverage tiles ≥ 10× martin's tiles/s", f"not measured (the martin anchor failed: {e})"))
    b.sections.append("\n".join(lines))
    b.goals.extend(goals)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="base URL of a running funkplan serve, e.g. http://127.0.0.1:8080")
    ap.add_argument("--per-zoom", type=int, default=400, help="distinct tiles per zoom (fewer where the extent has fewer)")
    ap.add_argument("--tilesets", default="coverage,municipalities,sites")
    ap.add_argument("--clients", type=int, default=CLIENTS)
    ap.add_argument("--martin-db", default="", help="also run the martin anchor on this database URL (the one serve uses)")
    ap.add_argument("--martin-home", default=str(Path(__file__).resolve().parents[2] / ".funkplan" / "bench"),
                    help="where martin is (installed if missing) and its config and log go")
    a = ap.parse_args()
    lines, goals, cov = run(a.url.rstrip("/"), a.per_zoom, a.tilesets.split(","), a.clients)
    if a.martin_db and cov:
        home = Path(a.martin_home)
        more, g = anchor(a.url.rstrip("/"), a.martin_db, home, install_martin(home), cov, a.clients)
        lines += more
        goals += g
    print("\n".join(lines))
    for g, v in goals:
        print(f"- {g}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

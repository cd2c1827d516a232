#!/usr/bin/env python3
"""Benchmark section "vector tiles" (issue 17). Standard library only.

On a running `funkplan serve`: a fixed list of distinct tiles, z 8-14 over
the data's extent (each requested once: cache misses), fetched by 64
clients on keep-alive HTTP/1.1 connections. Reports tiles/s, p50/p99
latency, errors (anything but 200/204), and the size distribution per zoom
for each tileset asked for (default `coverage`).

Not (yet) here: the martin anchor of issue 17 (`cargo install martin` is a
long build; the issue's ratio against martin needs it cached under
.funkplan/bench) and the RSS the tile service adds.

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
import random
import sys
import time
import urllib.request

CLIENTS = 64
ZOOMS = range(8, 15)
GOAL_P99_MS = 30.0
GOAL_MAX_BYTES = 500_000


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


async def fetch_all(host: str, port: int, paths: list[str], clients: int):
    """Each path once, `clients` keep-alive connections; (path, status,
    bytes, ms) per request."""
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
                length = 0
                for h in lines[1:]:
                    if h.lower().startswith("content-length:"):
                        length = int(h.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                results.append((path, status, len(body), (time.perf_counter() - t0) * 1e3))
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return results, time.perf_counter() - t0


def pct(v: list[float], p: float) -> float:
    v = sorted(v)
    return v[min(len(v) - 1, int(math.ceil(p / 100 * len(v))) - 1)] if v else float("nan")


def run(url: str, per_zoom: int, tilesets: list[str], clients: int = CLIENTS) -> tuple[list[str], list[tuple[str, str]]]:
    """The section's lines and goals."""
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
    per_zoom_sizes = {}
    for ts in tilesets:
        # Each tileset within the zooms its TileJSON names (sites start at
        # 9: a request below is the client's error, 404, not the server's).
        with urllib.request.urlopen(f"{url.rstrip('/')}/tiles/{ts}.json") as r:
            tj = json.load(r)
        zmin, zmax = tj.get("minzoom", 0), tj.get("maxzoom", 30)
        paths = [f"/tiles/{ts}/{z}/{x}/{y}.mvt" for z, x, y in tiles if zmin <= z <= zmax]
        res, secs = asyncio.run(fetch_all(host, int(port), paths, clients))
        ms = [r[3] for r in res]
        errors = sum(1 for r in res if r[1] not in (200, 204))
        empty = sum(1 for r in res if r[1] == 204)
        sizes = [r[2] for r in res if r[1] == 200]
        lines.append(
            f"| {ts} (z {max(zmin, ZOOMS.start)}–{min(zmax, ZOOMS.stop - 1)}, {len(res)} tiles) | {len(res) / secs:.0f} | {pct(ms, 50):.1f} | {pct(ms, 99):.1f} | {errors} | {empty} | "
            f"{pct(sizes, 50):.0f} / {pct(sizes, 99):.0f} / {max(sizes, default=0)} |"
        )
        if ts == "coverage":
            for r in res:
                if r[1] == 200:
                    z = int(r[0].split("/")[3])
                    per_zoom_sizes.setdefault(z, []).append(r[2])
            goals.append(("coverage tiles p99 ≤ 30 ms, 0 errors", f"{'met' if pct(ms, 99) <= GOAL_P99_MS and errors == 0 else 'NOT met'} (p99 {pct(ms, 99):.1f} ms, {errors} errors)"))
            goals.append(("every coverage tile ≤ 500 KB", f"{'met' if max(sizes, default=0) <= GOAL_MAX_BYTES else 'NOT met'} (max {max(sizes, default=0)} bytes)"))
    if per_zoom_sizes:
        lines += ["", "Coverage tile sizes by zoom (bytes, tiles with features):", "",
                  "| z | tiles | p50 | p90 | max |", "|---|---|---|---|---|"]
        for z in sorted(per_zoom_sizes):
            v = per_zoom_sizes[z]
            lines.append(f"| {z} | {len(v)} | {pct(v, 50):.0f} | {pct(v, 90):.0f} | {max(v)} |")
    lines += ["", "The martin anchor (≥ 10× martin's tiles/s, sizes within 1.2×) is not measured yet."]
    return lines, goals


def bench_tiles(b) -> None:
    """The section inside bench.py (needs its running `funkplan serve`)."""
    port = getattr(b, "serve_port", None)
    if not port:
        raise RuntimeError("the tiles section needs the running funkplan serve of the HTTP section")
    lines, goals = run(f"http://127.0.0.1:{port}", 40 if b.quick else 400, ["coverage", "municipalities", "sites"])
    b.sections.append("\n".join(lines))
    b.goals.extend(goals)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="base URL of a running funkplan serve, e.g. http://127.0.0.1:8080")
    ap.add_argument("--per-zoom", type=int, default=400, help="distinct tiles per zoom (fewer where the extent has fewer)")
    ap.add_argument("--tilesets", default="coverage,municipalities,sites")
    ap.add_argument("--clients", type=int, default=CLIENTS)
    a = ap.parse_args()
    lines, goals = run(a.url.rstrip("/"), a.per_zoom, a.tilesets.split(","), a.clients)
    print("\n".join(lines))
    for g, v in goals:
        print(f"- {g}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

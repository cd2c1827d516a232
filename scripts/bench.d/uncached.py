#!/usr/bin/env python3
"""Benchmark section "uncached reads" (issue 19), part of the HTTP section.
Standard library only.

Section 4 repeats one URL per wrk run, so after the first answer funkplan
serves it from its response cache. A map client never repeats itself: every
pan and zoom asks for another bbox. Here every request is distinct, so every
funkplan request misses the cache and reaches PostgreSQL, and tipg answers
the very same requests (its views are section 4's, plus one of the dead
spots):

- sites: a random bbox holding ~100 sites (the envelope of the 100 sites
  nearest a random site, moved by up to ±1 % of its size), `limit=100`;
- dead spots: a random 0.19° × 0.11° bbox around a random dead spot;
- municipality figures: `/api/v1/municipalities/{ags}` of a random
  municipality (tipg: that municipality's feature from the same view as
  section 4, which carries the same coverage figures);
- municipalities by AGS prefix: `?district=` a random 5-digit prefix.

Each request also carries its own `Host` (part of funkplan's cache key, and
nothing else depends on it but the links' host), so no request can be
answered from the cache even where the set of URLs is small (396
municipalities). 64 connections, funkplan vs tipg, p50/p99/errors and the
ratio of requests/s; and the p50 of one connection for the sites bbox.

Used from bench.py: `uncached.tipg_views(b)` before tipg starts (the dead
spots' view), `uncached.bench_uncached(b)` with the servers running.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from net import ratio_vs

HERE = Path(__file__).resolve().parent

GOAL_RATIO = 20.0
GOAL_P99_MS = 50.0
GOAL_SINGLE_P50_MS = 2.0
CONNS = 64
# Distinct boxes the load generator starts from (each request moves one).
BOXES = 400


def log(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", file=sys.stderr, flush=True)


def tipg_views(b) -> None:
    """The dead spots as tipg sees them (schema `bench`, made by bench.py's
    tipg_views just before): the columns `/ogc` serves. Must run before tipg
    starts, which reads its catalog once.

    A partial run (`--only=http`, `--only=uncached`) skips the recompute
    section, which leaves the fresh database without figures and dead
    spots: then they are computed here first, so both HTTP sections read
    the data a full run reads."""
    if b.psql("SELECT count(*) FROM coverage_run") == "0":
        log("no coverage figures yet (the recompute section did not run): funkplan recompute")
        t0 = time.perf_counter()
        b.funkplan("recompute")
        b.notes.append(f"The HTTP sections ran without the recompute section: `funkplan recompute` computed the figures "
                       f"and dead spots first ({time.perf_counter() - t0:.1f} s).")
    b.psql("CREATE OR REPLACE VIEW bench.dead_spots AS "
           "SELECT t.id, t.ags, t.cells, t.area_km2, t.computed_at, t.geom FROM dead_spot t")
    # start_tipg passes os.environ on to tipg.
    os.environ["TIPG_TABLE_CONFIG__bench_dead_spots__PK"] = "id"


# The request generator: one Lua state per wrk thread, each numbering its
# requests; `tid` is set by setup() in the main state. report.lua's done()
# is appended, so the figures come out as BENCHJSON like section 4's.
LUA = r"""
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
    n = 0
end

function request()
    n = n + 1
    local host = string.format("u%d-%d.bench", tid or 0, n)
    local path
    if KIND == "bbox" then
        local b = ITEMS[math.random(#ITEMS)]
        local w, h = b[3] - b[1], b[4] - b[2]
        local dx, dy = (math.random() - 0.5) * 0.02 * w, (math.random() - 0.5) * 0.02 * h
        path = string.format("%s?bbox=%.6f,%.6f,%.6f,%.6f&limit=100", PREFIX, b[1] + dx, b[2] + dy, b[3] + dx, b[4] + dy)
    else
        path = PREFIX .. ITEMS[math.random(#ITEMS)] .. SUFFIX
    end
    return wrk.format("GET", path, {["Host"] = host})
end
"""


def lua_script(b, name: str, kind: str, prefix: str, items, suffix: str = "") -> Path:
    if kind == "bbox":
        rows = ",".join("{%.6f,%.6f,%.6f,%.6f}" % tuple(x) for x in items)
    else:
        rows = ",".join(json.dumps(x) for x in items)
    text = (f"KIND = {json.dumps(kind)}\nPREFIX = {json.dumps(prefix)}\nSUFFIX = {json.dumps(suffix)}\n"
            f"ITEMS = {{{rows}}}\n" + LUA + (HERE / "report.lua").read_text())
    path = Path(b.home) / f"uncached-{name}.lua"
    path.write_text(text)
    return path


def peer_row(b, section: str, name: str, fp: int, fs: Path, tp: int, ts: Path) -> dict:
    """One table row of funkplan against tipg, every request distinct: `b.reps`
    wrk runs of each generator script at 64 connections; the row's text,
    funkplan's errors and p99 (ms) and the ratio of requests/s. Shared by the
    uncached reads and the CQL2 filters (filters.py). The commands go to
    `b.commands`."""
    m = sys.modules[type(b).__module__]
    med, spread, pretty_cmd = m.med, m.spread, m.pretty_cmd
    fr, tr = [], []
    for i in range(b.reps):
        log(f"{section}: {name} funkplan {i + 1}/{b.reps}")
        fr.append(b.wrk(fp, "", CONNS, duration=b.duration, script=fs))
    # A slow peer may finish no request within a short run with 64
    # connections (all of them still in flight at its end): its runs are
    # lengthened until they finish some (at most 60 s), as in section 4.
    t_dur = b.duration
    for i in range(b.reps):
        while True:
            log(f"{section}: {name} tipg {i + 1}/{b.reps} ({t_dur} s)")
            r = b.wrk(tp, "", CONNS, duration=t_dur, script=ts)
            if r["requests"] >= CONNS or t_dur >= 60:
                break
            t_dur = min(60, t_dur * 4)
        tr.append(r)
    f_rps, t_rps = med([r["rps"] for r in fr]), med([r["rps"] for r in tr])
    f_p99 = med([r["p99_us"] for r in fr]) / 1000
    f_err, t_err = sum(r["errors"] for r in fr), sum(r["errors"] for r in tr)
    ratio, ratio_s = ratio_vs(f_rps, t_rps, t_dur)
    dur_note = "" if t_dur == b.duration else f" ({t_dur} s runs)"
    line = (
        f"| {name} | {f_rps:,.0f} ({spread([r['rps'] for r in fr])}) | {med([r['p50_us'] for r in fr]) / 1000:.1f} "
        f"| {f_p99:.1f} | {f_err} | {t_rps:,.1f} ({spread([r['rps'] for r in tr], '{:.1f}')}){dur_note} "
        f"| {med([r['p50_us'] for r in tr]) / 1000:.1f} | {med([r['p99_us'] for r in tr]) / 1000:.1f} | {t_err} "
        f"| **{ratio_s}** |")
    b.commands.append(pretty_cmd(fr[0]["cmd"]).replace(str(fp), "FUNKPLAN_PORT"))
    b.commands.append(pretty_cmd(tr[0]["cmd"]).replace(str(tp), "TIPG_PORT"))
    return {"line": line, "errors": f_err, "p99": f_p99, "ratio": ratio}


def site_boxes(b) -> list[list[float]]:
    """WGS84 boxes, each the envelope of the 100 sites nearest a site taken
    at random (fixed seed: the same boxes in every run on the same data)."""
    out = b.psql(f"""
    SELECT setseed(0.19);
    WITH c AS (SELECT geom FROM site ORDER BY random() LIMIT {BOXES}),
         e AS (SELECT (SELECT ST_Transform(ST_SetSRID(ST_Extent(s.geom), 25832), 4326)
                       FROM (SELECT s.geom FROM site s ORDER BY s.geom <-> c.geom LIMIT 100) s) AS b FROM c)
    SELECT string_agg(concat_ws(',', ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)), ';') FROM e""")
    return [[float(v) for v in line.split(",")] for line in out.splitlines()[-1].split(";") if line]


def dead_spot_boxes(b) -> list[list[float]]:
    out = b.psql(f"""
    SELECT setseed(0.19);
    WITH c AS (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) AS p FROM dead_spot ORDER BY random() LIMIT {BOXES})
    SELECT string_agg(concat_ws(',', ST_X(p) - 0.095, ST_Y(p) - 0.055, ST_X(p) + 0.095, ST_Y(p) + 0.055), ';') FROM c""")
    last = out.splitlines()[-1] if out else ""
    return [[float(v) for v in line.split(",")] for line in last.split(";") if line]


def sample(b, port: int, path: str) -> tuple[int, int | None]:
    """Status and number of features (None for a non-collection answer) of one request."""
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError(f"GET {path} on port {port}: {r.status} {body[:300]!r}")
    j = json.loads(body)
    return r.status, len(j["features"]) if isinstance(j, dict) and "features" in j else None


def bench_uncached(b) -> None:
    # bench.py runs as __main__ and imports this module: its helpers from there.
    m = sys.modules[type(b).__module__]
    Skip, med, spread, f1, verdict, pretty_cmd = m.Skip, m.med, m.spread, m.f1, m.verdict, m.pretty_cmd

    fp, tp = getattr(b, "serve_port", None), getattr(b, "tipg_port", None)
    if not fp or not tp:
        raise Skip("funkplan serve or tipg is not running")
    sboxes = site_boxes(b)
    if not sboxes:
        raise Skip("no sites in the bench database")
    dboxes = dead_spot_boxes(b)
    ags = b.psql("SELECT string_agg(ags, ',' ORDER BY ags) FROM municipality").split(",")
    districts = b.psql("SELECT string_agg(DISTINCT substr(ags, 1, 5), ',') FROM municipality").split(",")
    cases = [
        ("sites, random bbox of ~100 (limit=100)", "bbox", sboxes,
         ("/ogc/collections/sites/items", ""), ("/collections/bench.sites/items", "")),
        ("dead spots, random 0.19° × 0.11° bbox (limit=100)", "bbox", dboxes,
         ("/ogc/collections/dead-spots/items", ""), ("/collections/bench.dead_spots/items", "")),
        ("municipality figures, random AGS", "id", ags,
         ("/api/v1/municipalities/", ""), ("/collections/bench.municipalities/items/", "")),
        ("municipalities, random AGS prefix (`district=`, limit=100)", "prefix", districts,
         ("/ogc/collections/municipalities/items?limit=100&district=", ""),
         ("/collections/bench.municipalities/items?limit=100&district=", "")),
    ]
    lines = ["## 4b. HTTP: reads that miss the cache (every request distinct)", ""]
    lines.append(
        "The rows of section 4 repeat one URL per run, so they measure funkplan's **cached** path (after the first "
        "answer every request is served from its response cache). Here every request is distinct — a random box "
        "(moved by up to ±1 % of its size on every request), municipality or AGS prefix, and a `Host` of its own "
        "(part of the cache key) — so every funkplan request here measures the **uncached** path: PostgreSQL "
        "query, JSON assembly, HTTP. tipg answers the same requests (it has no cache). "
        f"{CONNS} connections, `wrk` with a Lua request generator (`.funkplan/bench/uncached-*.lua`), "
        f"{b.duration} s per run, {b.reps} runs per cell; medians over the runs, requests/s spread in brackets; "
        "errors = socket errors + non-2xx/3xx answers, summed.")
    lines.append("")
    lines.append("| requests (all distinct) | funkplan req/s | p50 ms | p99 ms | errors | tipg req/s | p50 ms | p99 ms | errors | ratio |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst_ratio, worst_p99, errors = None, None, 0
    checks = []
    for name, kind, items, (fpre, fsuf), (tpre, tsuf) in cases:
        if not items:
            lines.append(f"| {name} | not measured: nothing to ask for in this database | | | | | | | | |")
            continue
        slug = re.sub(r"[^a-z]+", "-", name.split(",")[0].lower()).strip("-")
        fs = lua_script(b, f"{slug}-funkplan", kind, fpre, items, fsuf)
        ts = lua_script(b, f"{slug}-tipg", kind, tpre, items, tsuf)
        # One request each, so the text can say what both answered.
        first = items[0]
        if kind == "bbox":
            q = "?bbox=%.6f,%.6f,%.6f,%.6f&limit=100" % tuple(first)
            fpath, tpath = fpre + q, tpre + q
        else:
            fpath, tpath = fpre + first + fsuf, tpre + first + tsuf
        _, fn = sample(b, fp, fpath)
        _, tn = sample(b, tp, tpath)
        checks.append(f"`{fpath}`: funkplan {'an object' if fn is None else f'{fn} features'}, tipg `{tpath}`: "
                      f"{'an object' if tn is None else f'{tn} features'}")
        row = peer_row(b, "uncached", name, fp, fs, tp, ts)
        lines.append(row["line"])
        errors += row["errors"]
        worst_ratio = row["ratio"] if worst_ratio is None else min(worst_ratio, row["ratio"])
        worst_p99 = row["p99"] if worst_p99 is None else max(worst_p99, row["p99"])
    lines.append("")
    lines.append("One request of each kind, to show both answer alike: " + "; ".join(checks) + ".")
    lines.append("")
    # One connection: the latency of a single client panning the map.
    fs = Path(b.home) / "uncached-sites-funkplan.lua"
    ts = Path(b.home) / "uncached-sites-tipg.lua"
    f1c = [b.wrk(fp, "", 1, duration=b.duration, script=fs) for _ in range(b.reps)]
    t1c = [b.wrk(tp, "", 1, duration=b.duration, script=ts) for _ in range(b.reps)]
    p50 = med([r["p50_us"] for r in f1c]) / 1000
    errors += sum(r["errors"] for r in f1c)
    lines.append(
        f"One connection, sites bbox of ~100 (every request distinct): funkplan p50 **{p50:.2f} ms**, p99 "
        f"{med([r['p99_us'] for r in f1c]) / 1000:.2f} ms, {med([r['rps'] for r in f1c]):,.0f} req/s; tipg p50 "
        f"{med([r['p50_us'] for r in t1c]) / 1000:.2f} ms, {med([r['rps'] for r in t1c]):,.1f} req/s.")
    b.commands.append(pretty_cmd(f1c[0]["cmd"]).replace(str(fp), "FUNKPLAN_PORT"))
    ok_r = worst_ratio is not None and worst_ratio >= GOAL_RATIO
    ok_p = worst_p99 is not None and worst_p99 <= GOAL_P99_MS
    ok_1 = p50 <= GOAL_SINGLE_P50_MS
    b.goals.append(("uncached reads ≥ 20× tipg req/s at 64 conns", verdict(ok_r if worst_ratio is not None else None,
                                                                         f"lowest ratio {f1(worst_ratio)}×")))
    b.goals.append(("uncached reads p99 ≤ 50 ms at 64 conns", verdict(ok_p, f"highest p99 {f1(worst_p99)} ms")))
    b.goals.append(("uncached reads: no errors", verdict(errors == 0, f"{errors} errors")))
    b.goals.append(("uncached 100-feature bbox, one connection: p50 ≤ 2 ms", verdict(ok_1, f"p50 {p50:.2f} ms")))
    lines.append("")
    lines.append(f"Goals (uncached): ≥ 20× tipg — {b.goals[-4][1]}; p99 ≤ 50 ms — {b.goals[-3][1]}; no errors — "
                 f"{b.goals[-2][1]}; one connection p50 ≤ 2 ms — {b.goals[-1][1]}.")
    if not (ok_r and ok_p and errors == 0):
        b.profile("funkplan serve, uncached sites bbox, 64 connections",
                  lambda: b.wrk(fp, "", CONNS, duration=b.duration, script=Path(b.home) / "uncached-sites-funkplan.lua"),
                  "An uncached goal was missed: one more 64-connection run of distinct sites bboxes under perf.")
    b.sections.append("\n".join(lines))

#!/usr/bin/env python3
"""Benchmark section "planner" (issue 23). Standard library only.

Measures, on the loaded demo database (NRW scale in the full bench):
- `funkplan plan --technology 5g --objective households --budget 100` over
  10,000 candidate sites (grid cells drawn with a fixed seed, every
  operator): the greedy choice's time (first pass + 100 lazy steps; goal
  ≤ 2 s) and its time per greedy step;
- the same input planned by the PostGIS reference (`--engine postgis`:
  ST_DWithin pairs of candidates and open cells, a greedy loop in SQL):
  goal ≥ 100× slower than the engine's preparation and greedy together;
  the two must choose the same sites (`--check`);
- memory: the planner's own allocations beside the engine's (goal
  ≤ 300 MB), and the peak RSS of the `plan` process against that of a
  process that loads the engine and computes once (`recompute --repeat 1`).

Two ways to run it:
- from bench.py: `import planner; planner.bench_planner(b)` after set-up
  (uses b.F, b.env, b.psql, b.home and appends to b.sections, b.goals,
  b.commands);
- alone, on a loaded database: `python3 scripts/bench.d/planner.py --bin
  target/release/funkplan --home .funkplan/bench [--candidates N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CANDIDATES = 10_000
BUDGET = 100
GOAL_S = 2.0
GOAL_VS_POSTGIS = 100.0
GOAL_MB = 300.0


def log(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", file=sys.stderr, flush=True)


def run_json(cmd: list[str], env: dict) -> tuple[dict, float, int | None]:
    """Run `cmd` (JSON on stdout); its output, wall seconds and peak RSS in
    KiB (through GNU time where installed, else None)."""
    gnu_time = shutil.which("time") if os.path.exists("/usr/bin/time") else None
    full = (["/usr/bin/time", "-f", "%M"] if gnu_time else []) + cmd
    t0 = time.perf_counter()
    p = subprocess.run(full, env=env, text=True, capture_output=True)
    s = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-800:]}")
    rss = None
    if gnu_time:
        try:
            rss = int(p.stderr.strip().splitlines()[-1])
        except (ValueError, IndexError):
            rss = None
    return json.loads(p.stdout), s, rss


def candidates_csv(psql, path: Path, n: int) -> int:
    """`n` grid cells drawn with a fixed seed as candidates (lon/lat of the
    cell centre, operators in turn, 5G)."""
    rows = psql(
        f"""SELECT setseed(0.23);
        SELECT 'C' || row_number() OVER () || ',' || (ARRAY['telekom','vodafone','telefonica','1und1'])[1 + (row_number() OVER ()) % 4]
               || ',' || round(ST_X(p)::numeric, 6) || ',' || round(ST_Y(p)::numeric, 6) || ',5g'
        FROM (SELECT ST_Transform(ST_Point(e * 100 + 50, n * 100 + 50, 25832), 4326) AS p
              FROM grid_cell ORDER BY random() LIMIT {int(n)}) c"""
    )
    lines = [r for r in rows.splitlines() if r.count(",") == 4]
    path.write_text("candidate_id,operator,lon,lat,technology\n" + "\n".join(lines) + "\n")
    return len(lines)


def bench_planner(b, n: int = CANDIDATES) -> None:
    out_dir = Path(b.home) / "planner"
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"candidates_{n}.csv"
    log(f"planner: drawing {n:,} candidates")
    got = candidates_csv(lambda sql: b.psql(sql), csv_path, n)
    budget = min(BUDGET, got)
    base = [b.F, "plan", "--technology", "5g", "--objective", "households", "--budget", str(budget),
            "--candidates", str(csv_path), "--limit-s", "3600", "--json"]
    log("planner: the engine")
    plan, wall, rss = run_json(base, b.env)
    log("planner: the engine loaded once, for its memory (recompute --repeat 1)")
    _, _, rss_engine = run_json([b.F, "recompute", "--repeat", "1", "--json"], b.env)
    log("planner: the PostGIS reference on the same input (with --check)")
    ref, ref_wall, _ = run_json(base + ["--engine", "postgis", "--check"], b.env)
    r = ref["reference"]
    engine_ms = plan["prepare_ms"] + plan["greedy_ms"]
    ref_ms = r["prepare_ms"] + r["greedy_ms"]
    ratio = ref_ms / engine_ms if engine_ms > 0 else float("inf")
    mb = plan["planner_bytes"] / 1e6
    rss_above = (rss - rss_engine) / 1024 if rss and rss_engine else None
    same = not ref["differences"]
    lines = [
        "## Planner (issue 23)",
        "",
        f"{got:,} candidates (grid cells drawn with a fixed seed, 5G, operators in turn), budget {budget}, households objective, "
        f"scope the state; {plan['candidates']:,} reach an open cell. Open: {plan['open']['households']:,.0f} households, "
        f"{plan['open']['area_km2']:,.1f} km².",
        "",
        "| | engine | PostGIS reference |",
        "|---|---:|---:|",
        f"| preparation (open cells, candidates' disks / pairs) | {plan['prepare_ms']:,.0f} ms | {r['prepare_ms']:,.0f} ms |",
        f"| greedy, {budget} sites | {plan['greedy_ms']:,.0f} ms ({plan['ms_per_step']:.2f} ms per step, {plan['evaluations']:,} gains) | {r['greedy_ms']:,.0f} ms |",
        f"| total | {engine_ms:,.0f} ms | {ref_ms:,.0f} ms ({ratio:,.0f}×) |",
        f"| greedy continued past the budget (for the 50/90/100 % counts) | {plan['greedy_total_ms']:,.0f} ms | – |",
        f"| whole command (load included) | {wall:.1f} s | {ref_wall:.1f} s |",
        "",
        f"Same sites and gains: {'yes' if same else 'NO: ' + '; '.join(ref['differences'][:3])}. "
        f"Planner memory beside the engine: {mb:,.1f} MB"
        + (f"; peak RSS of `plan` {rss / 1024:,.0f} MB vs. the engine loaded and computed once {rss_engine / 1024:,.0f} MB "
           f"({rss_above:+,.0f} MB)." if rss_above is not None else "."),
        f"Sites for 50 / 90 / 100 % of the open households: {plan['sites_for']}; the first five: "
        + ", ".join(f"{s['id']} (+{s['households']:,.0f})" for s in plan["sites"][:5]) + ".",
    ]
    b.sections.append("\n".join(lines))
    b.goals.append((f"planner {got:,} candidates, k = {budget} ≤ {GOAL_S:.0f} s", f"{'met' if engine_ms <= GOAL_S * 1e3 else 'NOT met'} ({engine_ms / 1e3:.2f} s)"))
    b.goals.append((f"planner ≥ {GOAL_VS_POSTGIS:.0f}× the PostGIS reference", f"{'met' if ratio >= GOAL_VS_POSTGIS else 'NOT met'} ({ratio:,.0f}×)"))
    b.goals.append((f"planner memory ≤ {GOAL_MB:.0f} MB above the engine", f"{'met' if mb <= GOAL_MB else 'NOT met'} ({mb:,.0f} MB)"))
    b.goals.append(("planner equals the PostGIS reference", "met" if same else "NOT met"))
    b.commands.append(" ".join(str(x) for x in base))
    b.commands.append(" ".join(str(x) for x in base + ["--engine", "postgis", "--check"]))


class _Alone:
    """The parts of bench.py's Bench this section uses, for running alone."""

    def __init__(self, a):
        self.F = a.bin
        self.home = a.home
        self.env = dict(os.environ)
        self.env.setdefault("RUST_LOG", "warn")
        url = subprocess.run([self.F, "db", "url"], env=self.env, text=True, capture_output=True, check=True).stdout.strip()
        self.env["DATABASE_URL"] = url
        self.url = url
        self.sections: list[str] = []
        self.goals: list[tuple[str, str]] = []
        self.commands: list[str] = []

    def psql(self, sql: str) -> str:
        return subprocess.run(["psql", self.url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              text=True, capture_output=True, check=True).stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--candidates", type=int, default=CANDIDATES)
    a = ap.parse_args()
    b = _Alone(a)
    bench_planner(b, a.candidates)
    print("\n".join(b.sections))
    for g, v in b.goals:
        print(f"- {g}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

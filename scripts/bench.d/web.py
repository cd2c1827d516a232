"""The web app's numbers at NRW scale (issue 22), section "web" of scripts/bench.

What a first visit costs, measured in headless Chromium by the web test
"numbers" (web/test/web.test.mjs) against the bench's `funkplan serve` on the
NRW database (396 municipality outlines): time until the map is usable, the
compressed bytes of the map view with the browser cache off, and the time to
open a municipality's page. Run 3× (--quick: 1×); medians reported.

Hooked into bench.py as `web.bench_web(b)` with its Bench (`b.serve_port`:
the running server; `b.sections`, `b.goals`: the report).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

GOAL_MAP_MS = 1500
GOAL_MAP_BYTES = 1024 * 1024
GOAL_MUNI_MS = 1000


def log(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", file=sys.stderr, flush=True)


def verdict(ok: bool, what: str) -> str:
    return f"**met** ({what})" if ok else f"**NOT met** ({what})"


def bench_web(b) -> None:
    chromium = os.environ.get("FUNKPLAN_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        raise RuntimeError(f"no Chromium at {chromium} (scripts/bench installs Debian's chromium)")
    if not shutil.which("node"):
        raise RuntimeError("no node (scripts/bench installs Node.js)")
    url = f"http://127.0.0.1:{b.serve_port}"
    runs = []
    n = 1 if b.quick else 3
    for i in range(n):
        log(f"web: numbers {i + 1}/{n}")
        with tempfile.TemporaryDirectory() as art:
            env = dict(os.environ, FUNKPLAN_WEB_TEST_URL=url, FUNKPLAN_WEB_ARTIFACTS=art)
            p = subprocess.run([str(ROOT / "scripts" / "web-test"), "--test-name-pattern=^numbers"],
                               env=env, text=True, capture_output=True)
            f = Path(art) / "numbers.json"
            if p.returncode != 0 or not f.exists():
                raise RuntimeError(f"scripts/web-test failed ({p.returncode}): {p.stdout[-800:]} {p.stderr[-800:]}")
            runs.append(json.loads(f.read_text()))
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    spread = lambda k: "–".join(f"{v:,}" for v in (min(r[k] for r in runs), max(r[k] for r in runs)))  # noqa: E731
    map_ms, map_bytes, muni_ms = med("map_usable_ms"), med("map_bytes_compressed"), med("municipality_page_ms")
    # The measure: first features drawn, warm (a second visit with
    # the browser cache on). Older builds' tests report only the rest.
    drawn = all("map_drawn_warm_ms" in r for r in runs)
    warm_drawn_ms = med("map_drawn_warm_ms") if drawn else None
    by_type = runs[-1].get("map_bytes_by_type", {})
    lines = [
        "## Web app at NRW scale (issue 22)",
        "",
        f"Headless Chromium (`{Path(os.environ.get('FUNKPLAN_CHROMIUM', '/usr/bin/chromium')).name}`) runs the web test "
        "\"numbers\" (`scripts/web-test --test-name-pattern=^numbers`) against the bench's `funkplan serve` "
        "(release build) on the NRW database: the map view with all 396 municipality outlines from "
        "`/ogc/collections/municipalities/items`, the browser cache off (a first visit), then the map loaded once more "
        "with the browser cache on (a warm visit), then one municipality's page. \"First features drawn\": the "
        "first frame showing municipality fills (the issue's measure); \"usable\": every source loaded and the map idle "
        "(the dead spots and the district tiles too). "
        f"Path: browser → `funkplan serve` (response cache warm after the first run) → PostgreSQL. {n} runs, medians.",
        "",
        "| measure | median | spread | goal |",
        "|---|---:|---:|---|",
    ]
    if drawn:
        lines += [
            f"| first features drawn, warm | {warm_drawn_ms:,.0f} ms | {spread('map_drawn_warm_ms')} ms | ≤ 1.5 s |",
            f"| first features drawn, first visit | {med('map_drawn_ms'):,.0f} ms | {spread('map_drawn_ms')} ms | |",
            f"| map usable (idle), warm | {med('map_usable_warm_ms'):,.0f} ms | {spread('map_usable_warm_ms')} ms | |",
        ]
    lines += [
        f"| map usable (idle), first visit | {map_ms:,.0f} ms | {spread('map_usable_ms')} ms | {'' if drawn else '≤ 1.5 s'} |",
        f"| bytes of the map view (compressed) | {map_bytes / 1024:,.0f} KiB | {spread('map_bytes_compressed')} B | ≤ 1 MB |",
        f"| municipality page | {muni_ms:,.0f} ms | {spread('municipality_page_ms')} ms | ≤ 1 s |",
        "",
        "Bytes of the map view by type (last run): " + ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in sorted(by_type.items())) + ".",
    ]
    if drawn:
        b.goals.append(("web: first features drawn, warm, ≤ 1.5 s",
                        verdict(warm_drawn_ms <= GOAL_MAP_MS, f"{warm_drawn_ms:,.0f} ms; map idle on a first visit {map_ms:,.0f} ms")))
    else:
        b.goals.append(("web: time to a usable map ≤ 1.5 s", verdict(map_ms <= GOAL_MAP_MS, f"{map_ms:,.0f} ms")))
    b.goals.append(("web: map view ≤ 1 MB", verdict(map_bytes <= GOAL_MAP_BYTES, f"{map_bytes / 1024:,.0f} KiB")))
    b.goals.append(("web: municipality page ≤ 1 s", verdict(muni_ms <= GOAL_MUNI_MS, f"{muni_ms:,.0f} ms")))
    b.sections.append("\n".join(lines))

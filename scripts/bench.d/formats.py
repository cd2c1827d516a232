#!/usr/bin/env python3
"""Benchmark section "input formats" (issue 15, item 4). Standard library only.

Measures, on the same database:
- `funkplan ingest households` of an NRW-size file in the census's published
  100 m layout (`GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner`) inside a zip,
  against the same CSV unzipped (goal: ≤ 15 % slower) and against ogr2ogr
  loading the same zip through /vsizip/ (goal: ≥ 3× faster);
- `funkplan ingest municipalities` of the 396 NRW municipalities from
  GeoPackage, Shapefile and zipped Shapefile against the GeoJSON
  (goal: ≤ 2× the GeoJSON time).

Two ways to run it:
- from bench.py: `import formats; formats.bench_formats(b)` with its Bench
  object after set-up (it uses b.F, b.env, b.data["households"], b.psql,
  b.pg_conninfo, b.reps and appends to b.sections, b.goals, b.commands);
- alone, on a running cluster (`funkplan db start`):
  `python3 scripts/bench.d/formats.py --bin target/release/funkplan --home .funkplan/bench`
  which migrates, generates what it needs under HOME and prints the section.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
PUBLISHED = "Zensus2022_Bevoelkerungszahl_100m-Gitter.csv"

GOAL_ZIP_SLOWER = 0.15
GOAL_ZIP_VS_OGR = 3.0
GOAL_MUNI_RATIO = 2.0


def log(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", file=sys.stderr, flush=True)


def timed(cmd: list[str], env=None) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, text=True, capture_output=True)
    s = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-800:]}")
    return s


def published_zip(households: Path, out_dir: Path) -> tuple[Path, Path, int]:
    """The demo households rewritten in the published 100 m layout (no
    household column), and the same CSV zipped as the census ships it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / PUBLISHED
    zip_path = out_dir / "Zensus2022_Bevoelkerungszahl_100m-Gitter.zip"
    stamp = out_dir / ".source"
    key = f"{households} {households.stat().st_size} {households.stat().st_mtime_ns}"
    rows = 0
    if stamp.exists() and stamp.read_text() == key and csv_path.exists() and zip_path.exists():
        with csv_path.open("rb") as f:
            rows = sum(1 for _ in f) - 1
        return csv_path, zip_path, rows
    log(f"writing {csv_path.name} (published layout) from {households.name}")
    with households.open("r", encoding="utf-8") as src, csv_path.open("w", encoding="utf-8") as dst:
        header = src.readline().rstrip("\n").split(";")
        keep = [header.index(c) for c in ("GITTER_ID_100m", "x_mp_100m", "y_mp_100m", "Einwohner")]
        dst.write("GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner\n")
        for line in src:
            f = line.rstrip("\n").split(";")
            dst.write(";".join(f[i] for i in keep) + "\n")
            rows += 1
    log(f"zipping it ({rows:,} rows)")
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.write(csv_path, PUBLISHED)
    stamp.write_text(key)
    return csv_path, zip_path, rows


def municipality_geojson(home: Path) -> Path:
    """The GeoJSON the fixtures were made from: the repository's data/."""
    p = ROOT / "data" / "nrw-gemeinden-vg5000-2021.geojson"
    if not p.exists():
        raise RuntimeError(f"{p} not found (it is shipped in data/)")
    return p


def bench_formats(b, work: Path | None = None) -> None:
    env = b.env
    reps = b.reps
    work = work or (Path(b.home) / "formats")
    csv_path, zip_path, rows = published_zip(Path(b.data["households"]), work)
    zip_mb = zip_path.stat().st_size / 1e6
    csv_mb = csv_path.stat().st_size / 1e6

    # ---- households: CSV, zip, ogr2ogr /vsizip/
    t_csv, t_zip, t_ogr = [], [], []
    for i in range(reps):
        log(f"formats: households CSV {i + 1}/{reps}")
        t_csv.append(timed([b.F, "ingest", "households", str(csv_path)], env))
        log(f"formats: households zip {i + 1}/{reps}")
        t_zip.append(timed([b.F, "ingest", "households", str(zip_path)], env))
    ogr_cmd = ["ogr2ogr", "--config", "PG_USE_COPY", "YES", "-f", "PostgreSQL", f"PG:{b.pg_conninfo()}",
               f"/vsizip/{zip_path}/{PUBLISHED}", "-nln", "bench_ogr_zip", "-overwrite", "-gt", "100000",
               "-oo", "AUTODETECT_TYPE=YES", "-oo", "X_POSSIBLE_NAMES=x_mp_100m", "-oo", "Y_POSSIBLE_NAMES=y_mp_100m",
               "-s_srs", "EPSG:3035", "-t_srs", "EPSG:25832", "-lco", "SPATIAL_INDEX=NONE", "-lco", "GEOMETRY_NAME=geom"]
    for i in range(min(reps, 2)):
        log(f"formats: ogr2ogr /vsizip/ {i + 1}/{min(reps, 2)}")
        t_ogr.append(timed(ogr_cmd, env))
    ogr_rows = int(b.psql("SELECT count(*) FROM bench_ogr_zip"))
    b.psql("DROP TABLE IF EXISTS bench_ogr_zip")

    # ---- municipalities: GeoJSON vs GeoPackage vs Shapefile (.shp, .zip)
    muni = [("GeoJSON", municipality_geojson(Path(b.home))), ("GeoPackage", FIXTURES / "nrw-vg5000.gpkg"),
            ("Shapefile", FIXTURES / "shp" / "vg250_gem.shp"), ("zipped Shapefile", FIXTURES / "nrw-vg5000-shp.zip")]
    t_muni: dict[str, list[float] | str] = {}
    for label, path in muni:
        ts = []
        try:
            for i in range(reps):
                log(f"formats: municipalities {label} {i + 1}/{reps}")
                ts.append(timed([b.F, "ingest", "municipalities", str(path)], env))
            t_muni[label] = ts
        except RuntimeError as e:
            t_muni[label] = f"refused: {str(e).splitlines()[-1][:300]}"

    med = statistics.median
    c, z, o = med(t_csv), med(t_zip), med(t_ogr)
    slower = z / c - 1.0
    vs_ogr = o / z
    ok_zip = slower <= GOAL_ZIP_SLOWER
    ok_ogr = vs_ogr >= GOAL_ZIP_VS_OGR
    lines = [
        "## Input formats (issue 15)",
        "",
        f"Households in the census's published 100 m layout (`GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner`, "
        f"{rows:,} rows, from the demo data): the CSV ({csv_mb:.0f} MB) and the same CSV in a zip ({zip_mb:.0f} MB, "
        f"deflate); ogr2ogr reads the zip through `/vsizip/` into a new table of the same database "
        f"({ogr_rows:,} rows, points 3035 → 25832). Wall time per run, median of {reps} "
        f"(ogr2ogr: {len(t_ogr)}).",
        "",
        "| input | wall s (median) | runs s |",
        "|---|---:|---|",
        f"| funkplan ingest households CSV | {c:.2f} | {', '.join(f'{t:.2f}' for t in t_csv)} |",
        f"| funkplan ingest households zip | {z:.2f} | {', '.join(f'{t:.2f}' for t in t_zip)} |",
        f"| ogr2ogr /vsizip/ | {o:.2f} | {', '.join(f'{t:.2f}' for t in t_ogr)} |",
        "",
        f"Zip vs CSV: {slower * 100:+.1f} % (goal ≤ +15 %: {'met' if ok_zip else 'NOT met'}); "
        f"ogr2ogr / funkplan zip: {vs_ogr:.1f}× (goal ≥ 3×: {'met' if ok_ogr else 'NOT met'}).",
        "",
        "Municipalities (396, NRW; each ingest includes the rebuild of the 100 m grid):",
        "",
        "| input | wall s (median) | / GeoJSON |",
        "|---|---:|---:|",
    ]
    base = t_muni.get("GeoJSON")
    goals_muni = []
    for label, _ in muni:
        v = t_muni[label]
        if isinstance(v, str):
            lines.append(f"| {label} | {v} | |")
            if label != "GeoJSON":
                goals_muni.append((label, None))
            continue
        r = med(v) / med(base) if isinstance(base, list) else None
        lines.append(f"| {label} | {med(v):.2f} | {f'{r:.2f}×' if r else ''} |")
        if label != "GeoJSON":
            goals_muni.append((label, r))
    ok_muni = all(r is not None and r <= GOAL_MUNI_RATIO for _, r in goals_muni)
    lines += ["", f"Goal ≤ 2× the GeoJSON time: {'met' if ok_muni else 'NOT met'}."]
    b.sections.append("\n".join(lines))
    b.goals.append(("households zip ≤ 15 % slower than CSV", f"{'met' if ok_zip else 'NOT met'} ({slower * 100:+.1f} %)"))
    b.goals.append(("households zip ≥ 3× ogr2ogr /vsizip/", f"{'met' if ok_ogr else 'NOT met'} ({vs_ogr:.1f}×)"))
    b.goals.append(("municipalities GeoPackage/Shapefile ≤ 2× GeoJSON", "met" if ok_muni else "NOT met"))
    b.commands += [f"{b.F} ingest households {zip_path}", f"{b.F} ingest households {csv_path}",
                   " ".join(ogr_cmd).replace(b.pg_conninfo(), "<db>")]
    b.commands += [f"{b.F} ingest municipalities {p}" for _, p in muni]


class Standalone:
    """The parts of bench.py's Bench that bench_formats uses."""

    def __init__(self, a):
        self.F = a.bin
        self.home = Path(a.home)
        self.reps = a.reps
        self.env = dict(os.environ)
        self.env.setdefault("RUST_LOG", "warn")
        self.url = subprocess.run([self.F, "db", "url"], env=self.env, text=True, capture_output=True, check=True).stdout.strip()
        self.env["DATABASE_URL"] = self.url
        self.sections: list[str] = []
        self.goals: list[tuple[str, str]] = []
        self.commands: list[str] = []
        self.data: dict[str, Path] = {}

    # The database helpers are bench.py's own (they need only self.url);
    # imported late because bench.py imports this module.
    def psql(self, sql: str) -> str:
        import bench
        return bench.Bench.psql(self, sql)

    def pg_conninfo(self) -> str:
        import bench
        return bench.Bench.pg_conninfo(self)

    def setup(self) -> None:
        subprocess.run([self.F, "migrate"], env=self.env, check=True, capture_output=True)
        out = self.home / "data-nrw"
        if not (out / "households.csv").exists():
            log(f"generating the NRW demo data into {out}")
            subprocess.run([self.F, "demo-data", "--scale", "nrw", str(out)], env=self.env, check=True, capture_output=True)
        self.data = {"households": out / "households.csv"}
        munis = sorted(out.glob("municipalities*"))
        if munis:
            log("ingest the demo municipalities (the grid the households are mapped against)")
            timed([self.F, "ingest", "municipalities", str(munis[0])], self.env)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    b = Standalone(a)
    b.setup()
    bench_formats(b)
    print("\n".join(b.sections))
    print("\nGoals:")
    for g, v in b.goals:
        print(f"- {g}: {v}")
    print("\nCommands:")
    for c in b.commands:
        print(f"    {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

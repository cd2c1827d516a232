//! `funkplan recompute`: coverage per municipality, dead spots, scenario and
//! the targets' history (README.md, BENCHMARKS.md).

use std::time::Instant;

use anyhow::{bail, Context};
use funkplan_coverage::reference::Session;
use funkplan_coverage::{default_source, CoverageSource, Live, Recompute};

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Coverage source: reported | modelled | union.
    /// [default: union when reported coverage has been imported, else modelled]
    #[arg(long)]
    source: Option<CoverageSource>,
    /// Recompute only the scenario (as if every planned or in-progress
    /// measure were completed) and write it beside the actual figures.
    /// Without this flag, recompute writes the actual figures, the LTE dead
    /// spots, the scenario and the targets' monthly history.
    #[arg(long)]
    scenario: bool,
    /// Which engine: `rust` (the product path, writes results) or `postgis`
    /// (the reference SQL, the test oracle and benchmark peer; writes
    /// nothing, prints its time).
    #[arg(long, default_value = "rust", value_parser = ["rust", "postgis"])]
    engine: String,
    /// With `--engine postgis`: also compute with the Rust engine and
    /// compare every municipality and technology, actual and scenario;
    /// print the largest differences and fail when they are not equal.
    #[arg(long)]
    check: bool,
    /// Benchmark: load once, repeat the full in-memory computation N times,
    /// print the times; writes nothing.
    #[arg(long, value_name = "N")]
    repeat: Option<usize>,
    /// Incremental: load the grid, then recompute only the municipalities
    /// within reach of these sites (comma-separated ids), as the server
    /// does after a write; prints the incremental update's own times.
    #[arg(long, value_delimiter = ',', value_name = "SITE_IDS")]
    sites: Option<Vec<String>>,
    /// A date (YYYY-MM-DD) instead of now, for checking and timing only: the
    /// coverage release in force then and the sites on air then. With
    /// `--engine postgis` the reference counts at that date (with `--check`
    /// compared with the engine's figures for it, actual only); with
    /// `--repeat N` the engine's figures for that date are timed (the
    /// in-memory switch of date). A recompute always writes today's figures;
    /// the history counts every month's release by itself.
    #[arg(long, value_name = "DATE")]
    as_of: Option<chrono::NaiveDate>,
    /// Print the run's statistics as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine_args: crate::config::EngineArgs,
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let db = g.db().await?;
    let t0 = Instant::now();
    if a.engine == "postgis" {
        return reference(&db, &a).await;
    }
    if a.as_of.is_some() && a.repeat.is_none() {
        bail!("--as-of is for checking (--engine postgis) and timing (--repeat N) only; a recompute writes today's figures");
    }
    let live = Live::load_with(&db, a.source, &a.engine_args.grid(g)).await.context("loading the coverage grid")?;
    let grid_from = live.grid_from().await;
    if let (Some(n), Some(date)) = (a.repeat, a.as_of) {
        return time_figures_at(&live, n, date, a.json).await;
    }
    if let Some(n) = a.repeat {
        let mut ms = Vec::with_capacity(n);
        // Per part (stamp, sums, dead spots): where the time goes.
        let mut parts: [Vec<f64>; 3] = Default::default();
        let cpu0 = process_cpu_ms();
        for _ in 0..n.max(1) {
            let c = live.compute().await;
            ms.push(c.compute_ms);
            for (v, x) in parts.iter_mut().zip([c.stamp_ms, c.aggregate_ms, c.dead_spots_ms]) {
                v.push(x);
            }
        }
        // Median and minimum of each part: on a shared machine the minimum
        // is the steadier figure for comparing two builds.
        let median_min = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (v[v.len() / 2], v[0])
        };
        let [(stamp_ms, stamp_min), (sums_ms, sums_min), (dead_ms, dead_min)] = parts.each_mut().map(median_min);
        // CPU time per run (all threads): on a shared machine a steadier
        // figure than wall time; `None` where /proc is not available.
        #[allow(clippy::cast_precision_loss)]
        let cpu_ms = process_cpu_ms().zip(cpu0).map(|(b, a)| (b - a) / ms.len() as f64);
        ms.sort_by(f64::total_cmp);
        let median = ms[ms.len() / 2];
        if a.json {
            outln!(
                "{}",
                serde_json::json!({"runs": ms.len(), "min_ms": ms[0], "median_ms": median, "max_ms": ms[ms.len() - 1], "cpu_ms_per_run": cpu_ms,
                    "median_stamp_ms": stamp_ms, "median_sums_ms": sums_ms, "median_dead_spots_ms": dead_ms,
                    "min_stamp_ms": stamp_min, "min_sums_ms": sums_min, "min_dead_spots_ms": dead_min})
            );
        } else {
            outln!(
                "in-memory full computation ({} runs): min {:.1} ms, median {median:.1} ms, max {:.1} ms, CPU {} ms per run (medians: stamp {stamp_ms:.1} ms, sums {sums_ms:.1} ms, dead spots {dead_ms:.1} ms)",
                ms.len(),
                ms[0],
                ms[ms.len() - 1],
                cpu_ms.map_or_else(|| "?".to_owned(), |c| format!("{c:.1}")),
            );
        }
        return Ok(());
    }
    if let Some(ids) = &a.sites {
        let stats = live.sites_changed(&db, ids).await?;
        if a.json {
            outln!("{}", serde_json::to_string_pretty(&stats)?);
        } else {
            outln!(
                "incremental update for {} site(s): {} municipalities; read sites {:.1} ms, compute {:.1} ms, write {:.1} ms, target history {:.1} ms",
                ids.len(),
                stats.municipalities,
                stats.load_ms,
                stats.compute_ms,
                stats.write_ms,
                stats.history_ms
            );
        }
        return Ok(());
    }
    let what = if a.scenario { Recompute { actual: false, scenario: true, history: false } } else { Recompute::default() };
    let stats = live.recompute(&db, what).await?;
    if a.json {
        let mut out = serde_json::to_value(&stats)?;
        out["grid_from"] = serde_json::to_value(grid_from)?;
        out["total_s"] = t0.elapsed().as_secs_f64().into();
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "recomputed {} ({}) for {} municipalities, {} cells, {} sites, {} coverage releases: {} dead spots; load {:.0} ms (grid from the {grid_from}), compute {:.0} ms, write {:.0} ms, history {:.0} ms; total {:.2} s",
            if a.scenario { "the scenario" } else { "actual and scenario" },
            stats.source,
            stats.municipalities,
            stats.cells,
            stats.sites,
            stats.releases,
            stats.dead_spots,
            stats.load_ms,
            stats.compute_ms,
            stats.write_ms,
            stats.history_ms,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `--repeat N --as-of DATE`: the engine's figures of every municipality
/// for another date, N times with the grid in memory (the switch of date
/// the API's `as_of` makes).
async fn time_figures_at(live: &Live, n: usize, date: chrono::NaiveDate, json: bool) -> anyhow::Result<()> {
    let source = live.source().await;
    let mut ms = Vec::with_capacity(n);
    let mut release = None;
    for _ in 0..n.max(1) {
        let at = live.compute_figures_at(date, source).await;
        ms.push(at.compute_ms);
        release = at.release;
    }
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let release = release.map_or_else(|| "none".to_owned(), |d| d.to_string());
    if json {
        outln!(
            "{}",
            serde_json::json!({"as_of": date, "release": release, "source": source.as_str(), "runs": ms.len(),
                "min_ms": ms[0], "median_ms": median, "max_ms": ms[ms.len() - 1]})
        );
    } else {
        outln!(
            "figures for {date} ({source}, release in force: {release}), {} runs: min {:.1} ms, median {median:.1} ms, max {:.1} ms",
            ms.len(),
            ms[0],
            ms[ms.len() - 1]
        );
    }
    Ok(())
}

/// The PostGIS reference: time it, and with `--check` compare with the
/// engine (at `--as-of` when given: the actual figures at that date).
async fn reference(db: &funkplan_db::Db, a: &Args) -> anyhow::Result<()> {
    let source = match a.source {
        Some(s) => s,
        None => default_source(db).await?,
    };
    if let Some(date) = a.as_of {
        return reference_at(db, a, source, date).await;
    }
    let t = Instant::now();
    let session = Session::prepare(db).await?;
    let actual = session.figures(source, false).await?;
    let scenario = session.figures(source, true).await?;
    let ref_s = t.elapsed().as_secs_f64();
    let mut out = serde_json::json!({
        "engine": "postgis", "source": source.as_str(), "rows": actual.rows.len(),
        "prepare_ms": session.prepare_ms, "figures_actual_ms": actual.figures_ms,
        "figures_scenario_ms": scenario.figures_ms, "total_s": ref_s,
    });
    let mut equal = true;
    if a.check {
        let live = Live::load(db, Some(source)).await?;
        let c = live.compute().await;
        let scale: f64 = c.actual.iter().map(|f| f[0].households).sum();
        let da = live.compare(&c, &actual, false).await;
        let ds = live.compare(&c, &scenario, true).await;
        equal = da.equal(scale) && ds.equal(scale);
        out["engine_compute_ms"] = c.compute_ms.into();
        out["diff_actual"] = serde_json::to_value(&da)?;
        out["diff_scenario"] = serde_json::to_value(&ds)?;
        out["equal"] = equal.into();
    }
    if a.json || a.check {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "PostGIS reference ({source}): {} municipality × technology rows, {:.2} s (prepare {:.0} ms)",
            actual.rows.len(),
            ref_s,
            session.prepare_ms
        );
    }
    if !equal {
        bail!("the engine's figures differ from the PostGIS reference (see the differences above)");
    }
    Ok(())
}

/// The PostGIS reference at a date (actual figures only: the scenario is
/// not dated), with `--check` compared with the engine's figures for it.
async fn reference_at(db: &funkplan_db::Db, a: &Args, source: CoverageSource, date: chrono::NaiveDate) -> anyhow::Result<()> {
    let t = Instant::now();
    let session = Session::prepare_at(db, Some(date)).await?;
    let actual = session.figures(source, false).await?;
    let mut out = serde_json::json!({
        "engine": "postgis", "source": source.as_str(), "as_of": date, "rows": actual.rows.len(),
        "prepare_ms": session.prepare_ms, "figures_actual_ms": actual.figures_ms, "total_s": t.elapsed().as_secs_f64(),
    });
    let mut equal = true;
    if a.check {
        let live = Live::load(db, Some(source)).await?;
        let at = live.figures_at(date, source).await;
        let scale: f64 = at.figures.iter().map(|f| f[0].households).sum();
        let d = funkplan_coverage::reference::compare(&at.ags, &at.operators, &at.figures, &actual);
        equal = d.equal(scale);
        out["release"] = serde_json::to_value(at.release)?;
        out["engine_compute_ms"] = at.compute_ms.into();
        out["diff_actual"] = serde_json::to_value(&d)?;
        out["equal"] = equal.into();
    }
    outln!("{}", serde_json::to_string_pretty(&out)?);
    if !equal {
        bail!("the engine's figures for {date} differ from the PostGIS reference (see the differences above)");
    }
    Ok(())
}

/// User + system CPU time of this process (all its threads, finished ones
/// included) in milliseconds, from `/proc/self/stat` (Linux; clock ticks
/// of 10 ms, the kernel's USER_HZ).
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    // proc(5) fields 14 (utime) and 15 (stime), counted from 1 = pid; `rest`
    // starts with field 3 (state).
    const UTIME: usize = 14 - 3;
    const STIME: usize = 15 - 3;
    let f: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = f.get(UTIME)?.parse().ok()?;
    let stime: f64 = f.get(STIME)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

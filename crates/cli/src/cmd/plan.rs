//! `funkplan plan`: the best sites to close what is left (issue 23).
//!
//! Loads the engine, reads the candidates (a CSV of
//! `candidate_id,operator,lon,lat,technology[,radius_m|radius_class]`, or a
//! generated lattice), runs the planner and prints a ranked table or JSON
//! (with GeoJSON of the chosen sites). The JSON is the one
//! `POST /api/v1/plans` answers with ([`plan_json`]), so both read alike.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use funkplan_coverage::planner::{CandidateInput, Candidates, Objective, Plan, PlanRequest, RadiusRule};
use funkplan_coverage::Live;
use funkplan_ingest::crs::{Crs, ToUtm32, Transformer};
use funkplan_model::Technology;
use serde_json::{json, Value};

use crate::config::Global;

/// The lattice spacing when no candidates are given, metres.
pub const DEFAULT_LATTICE_M: f64 = 500.0;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Technology to plan for: lte | 5g.
    #[arg(long, value_parser = parse_tech)]
    technology: Technology,
    /// What to maximise: households (newly covered) | area (km² closed) | mix.
    #[arg(long, default_value = "households", value_parser = ["households", "area", "mix"])]
    objective: String,
    /// With `--objective mix`: the weight of households (0..1); the area
    /// gets the rest. Both are shares of what is open in the scope.
    #[arg(long, default_value_t = 0.5)]
    weight: f64,
    /// How many sites to choose.
    #[arg(long)]
    budget: usize,
    /// AGS prefix: 05 (state), 3 digits (region), 5 (district), 8 (municipality).
    #[arg(long, default_value = "05")]
    scope: String,
    /// Close this operator's own gaps (default: dead spots, no operator).
    #[arg(long)]
    operator: Option<String>,
    /// Candidates CSV: candidate_id,operator,lon,lat,technology and
    /// optionally radius_m or radius_class (urban|rural).
    #[arg(long, conflicts_with = "lattice")]
    candidates: Option<PathBuf>,
    /// Generate candidates: a lattice of this spacing (metres) over the
    /// open cells plus existing sites to share or upgrade [default: 500].
    #[arg(long, value_name = "M")]
    lattice: Option<f64>,
    /// Also count a grey cell (one known operator) turning to two.
    #[arg(long)]
    grey: bool,
    /// Refuse a plan estimated to run longer than this many seconds.
    #[arg(long, default_value_t = 120.0)]
    limit_s: f64,
    /// Which planner: `rust` (the engine) or `postgis` (the reference in
    /// SQL: ST_DWithin pairs and a greedy loop over them; any operator,
    /// households or area; the test oracle and benchmark peer).
    #[arg(long, default_value = "rust", value_parser = ["rust", "postgis"])]
    engine: String,
    /// With `--engine postgis`: also plan with the engine and fail unless
    /// both choose the same sites with the same gains (ties aside).
    #[arg(long)]
    check: bool,
    /// Print JSON (with GeoJSON of the sites) instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine_args: crate::config::EngineArgs,
}

fn parse_tech(s: &str) -> Result<Technology, String> {
    s.parse::<Technology>().map_err(|e| e.to_string())
}

/// The objective from its name and weight.
///
/// # Errors
/// An unknown name.
pub fn objective(name: &str, weight: f64) -> Result<Objective, String> {
    match name {
        "households" => Ok(Objective::Households),
        "area" => Ok(Objective::Area),
        "mix" => Ok(Objective::Mix { weight }),
        other => Err(format!("unknown objective {other:?} (households, area or mix)")),
    }
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let candidates = match (&a.candidates, a.lattice) {
        (Some(path), _) => Candidates::List(read_csv(path)?),
        (None, spacing) => Candidates::Lattice { spacing_m: spacing.unwrap_or(DEFAULT_LATTICE_M) },
    };
    let req = PlanRequest {
        technology: a.technology,
        objective: objective(&a.objective, a.weight).map_err(anyhow::Error::msg)?,
        operator: a.operator.clone(),
        scope: a.scope.clone(),
        budget: a.budget,
        count_grey: a.grey,
        candidates,
        limit_ms: a.limit_s * 1e3,
    };
    // Checks that need no engine, before the grid is loaded.
    funkplan_coverage::planner::check_scope(&req.scope)?;
    if req.budget == 0 {
        bail!("{}", funkplan_coverage::planner::PlanError::BudgetZero);
    }
    let db = g.db().await?;
    let live = Live::load_with(&db, None, &a.engine_args.grid(g)).await.context("loading the coverage grid")?;
    if a.engine == "postgis" {
        return reference(&db, &live, &req, a.check, a.json).await;
    }
    let plan = live.plan(&req).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&plan_json(&plan)?)?);
    } else {
        print_table(&plan);
    }
    Ok(())
}

/// The time limit of plans asked for over HTTP: `FUNKPLAN_PLAN_LIMIT_S`
/// seconds (default 10), so one request cannot hold the engine for long.
fn http_limit_ms() -> f64 {
    std::env::var("FUNKPLAN_PLAN_LIMIT_S").ok().and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v > 0.0).unwrap_or(10.0) * 1e3
}

/// A plan request from `POST /api/v1/plans`'s body: words parsed, the
/// candidates checked and projected, each error naming its field.
///
/// # Errors
/// The reason, for a 422.
pub fn request_of(b: &funkplan_api::PlanBody) -> Result<PlanRequest, String> {
    let technology: Technology = b.technology.parse().map_err(|e| format!("technology: {e}"))?;
    let objective = objective(&b.objective, b.weight).map_err(|e| format!("objective: {e}"))?;
    let candidates = match (&b.candidates, b.lattice_m) {
        (Some(_), Some(_)) => return Err("give candidates or lattice_m, not both".into()),
        (Some(list), None) => {
            let proj = ToUtm32::new(Crs::WGS84)?;
            let mut out = Vec::with_capacity(list.len());
            for (i, c) in list.iter().enumerate() {
                let origin = format!("candidates[{i}]");
                let radius = match (c.radius_m, c.radius_class.as_deref()) {
                    (Some(_), Some(_)) => return Err(format!("{origin}: give radius_m or radius_class, not both")),
                    (Some(r), None) => RadiusRule::Metres(r),
                    (None, Some(k)) => RadiusRule::Class { urban: radius_class_of(k).map_err(|e| format!("{origin}: {e}"))? },
                    (None, None) => RadiusRule::Model,
                };
                let op = c.operator.as_deref().unwrap_or("");
                out.push(candidate(&c.candidate_id, op, c.lon, c.lat, &c.technology, radius, origin, &proj).map_err(|e| e.to_string())?);
            }
            Candidates::List(out)
        }
        (None, spacing) => Candidates::Lattice { spacing_m: spacing.unwrap_or(DEFAULT_LATTICE_M) },
    };
    Ok(PlanRequest {
        technology,
        objective,
        operator: b.operator.clone(),
        scope: b.scope.clone(),
        budget: b.budget,
        count_grey: b.count_grey,
        candidates,
        limit_ms: http_limit_ms(),
    })
}

/// `--engine postgis`: the reference's plan (and with `check` the
/// engine's beside it, compared).
async fn reference(db: &funkplan_db::Db, live: &Live, req: &PlanRequest, check: bool, json: bool) -> anyhow::Result<()> {
    if matches!(req.objective, Objective::Mix { .. }) {
        bail!("the PostGIS reference plans for households or area, not a mix");
    }
    let r = live.plan_reference(db, req).await.context("PostGIS reference plan")?;
    let engine = if check { Some(live.plan(req).await?) } else { None };
    let mut differences = Vec::new();
    if let Some(p) = &engine {
        if p.sites.len() != r.sites.len() {
            differences.push(format!("engine chose {} sites, the reference {}", p.sites.len(), r.sites.len()));
        }
        for (e, x) in p.sites.iter().zip(&r.sites) {
            let same_gain = (e.households - x.households).abs() <= 1e-6 * e.households.abs().max(1.0) && i64::try_from(e.cells).ok() == Some(x.cells);
            // Equal gains with another id is a tie, broken by input order
            // on both sides; sums in another order may still split it.
            if !same_gain {
                differences.push(format!("rank {}: engine {} ({:.3} households, {} cells), reference {} ({:.3}, {})", e.rank, e.id, e.households, e.cells, x.id, x.households, x.cells));
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&json!({"reference": r, "engine": engine.as_ref().map(|p| json!({"greedy_ms": p.greedy_ms, "prepare_ms": p.prepare_ms, "sites": p.sites.iter().map(|s| json!({"id": s.id, "households": s.households, "cells": s.cells})).collect::<Vec<_>>()})), "differences": differences}))?);
    } else {
        println!("PostGIS reference: {} open cells, {} candidate-cell pairs; prepare {:.0} ms, greedy {:.0} ms", r.open_cells, r.pairs, r.prepare_ms, r.greedy_ms);
        for (i, s) in r.sites.iter().enumerate() {
            println!("{:>4}  {:<28} {:>12.0} households {:>9.2} km²", i + 1, s.id, s.households, s.cells as f64 * 0.01);
        }
        if let Some(p) = &engine {
            println!("engine: prepare {:.1} ms, greedy {:.1} ms; {}", p.prepare_ms, p.greedy_ms, if differences.is_empty() { "the same sites and gains".to_owned() } else { differences.join("; ") });
        }
    }
    if !differences.is_empty() {
        bail!("engine and PostGIS reference differ: {}", differences.join("; "));
    }
    Ok(())
}

/// The candidates of a CSV file, projected to EPSG:25832; every bad row
/// named by its line.
///
/// # Errors
/// The file cannot be read, a column is missing, or a row is bad.
pub fn read_csv(path: &Path) -> anyhow::Result<Vec<CandidateInput>> {
    let name = path.display().to_string();
    let mut rd = csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).with_context(|| format!("reading candidates {name}"))?;
    let headers = rd.headers().with_context(|| format!("{name}: reading the header"))?.clone();
    let col = |c: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(c));
    let need = |c: &str| col(c).ok_or_else(|| anyhow::anyhow!("{name}: column {c:?} is missing (need candidate_id,operator,lon,lat,technology)"));
    let (id, op, lon, lat, tech) = (need("candidate_id")?, need("operator")?, need("lon")?, need("lat")?, need("technology")?);
    let (radius_m, radius_class) = (col("radius_m"), col("radius_class"));
    let proj = ToUtm32::new(Crs::WGS84).map_err(anyhow::Error::msg)?;
    let mut out = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{name} line {line}"))?;
        let get = |c: usize| rec.get(c).unwrap_or("");
        let origin = format!("{name} line {line}");
        let num = |c: usize, what: &str| -> anyhow::Result<f64> {
            get(c).parse::<f64>().map_err(|_| anyhow::anyhow!("{origin}: {what} {:?} is not a number", get(c)))
        };
        let radius = match (radius_m.map(get).filter(|s| !s.is_empty()), radius_class.map(get).filter(|s| !s.is_empty())) {
            (Some(_), Some(_)) => bail!("{origin}: give radius_m or radius_class, not both"),
            (Some(_), None) => RadiusRule::Metres(num(radius_m.unwrap_or(0), "radius_m")?),
            (None, Some(c)) => RadiusRule::Class { urban: radius_class_of(c).map_err(|e| anyhow::anyhow!("{origin}: {e}"))? },
            (None, None) => RadiusRule::Model,
        };
        let c = candidate(get(id), get(op), num(lon, "lon")?, num(lat, "lat")?, get(tech), radius, origin, &proj)?;
        out.push(c);
    }
    if out.is_empty() {
        bail!("{name}: no candidates (only a header)");
    }
    Ok(out)
}

/// `urban` or `rural`.
///
/// # Errors
/// Anything else.
pub fn radius_class_of(s: &str) -> Result<bool, String> {
    match s {
        "urban" => Ok(true),
        "rural" => Ok(false),
        other => Err(format!("radius_class {other:?} must be urban or rural")),
    }
}

/// One candidate from its fields: checked and projected.
///
/// # Errors
/// An empty id, an unknown technology, or a position outside Germany.
#[allow(clippy::too_many_arguments)]
pub fn candidate(id: &str, operator: &str, lon: f64, lat: f64, technology: &str, radius: RadiusRule, origin: String, proj: &ToUtm32) -> anyhow::Result<CandidateInput> {
    if id.is_empty() {
        bail!("{origin}: candidate_id is empty");
    }
    let technology: Technology = technology.parse().map_err(|e| anyhow::anyhow!("{origin}: candidate {id:?}: {e}"))?;
    let (x, y) = proj.project(lon, lat).map_err(|e| anyhow::anyhow!("{origin}: candidate {id:?}: {e}"))?;
    Ok(CandidateInput {
        id: id.to_owned(),
        operator: (!operator.is_empty()).then(|| operator.to_lowercase()),
        x,
        y,
        technology,
        radius,
        origin,
    })
}

/// Round to 6 decimals (the API's coordinates, RFC 7946 output).
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The plan as JSON: the engine's fields, each site with `lon`/`lat`, and
/// a GeoJSON FeatureCollection of the sites (properties: rank, gains).
///
/// # Errors
/// When a site cannot be projected back (it could be projected in).
pub fn plan_json(plan: &Plan) -> anyhow::Result<Value> {
    let back = Transformer::new(Crs::UTM32, Crs::WGS84).map_err(anyhow::Error::msg)?;
    let mut v = serde_json::to_value(plan)?;
    let mut features = Vec::with_capacity(plan.sites.len());
    if let Some(sites) = v.get_mut("sites").and_then(Value::as_array_mut) {
        for (s, site) in sites.iter_mut().zip(&plan.sites) {
            let (lon, lat) = back.transform(site.x, site.y).map_err(anyhow::Error::msg)?;
            let (lon, lat) = (round6(lon), round6(lat));
            if let Some(o) = s.as_object_mut() {
                o.insert("lon".into(), json!(lon));
                o.insert("lat".into(), json!(lat));
            }
            features.push(json!({
                "type": "Feature",
                "id": site.rank,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": s.clone(),
            }));
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.insert("geojson".into(), json!({"type": "FeatureCollection", "features": features}));
    }
    Ok(v)
}

fn print_table(p: &Plan) {
    let who = p.operator.as_deref().map_or_else(|| "dead spots (no operator)".to_owned(), |o| format!("gaps of {o}"));
    println!(
        "plan: {} {who} in {}, objective {}, {} of {} candidates reach an open cell",
        p.technology,
        p.scope,
        p.objective.name(),
        p.candidates,
        p.candidates_total
    );
    println!(
        "open: {:.0} households, {:.2} km²; all candidates together reach {:.0} households, {:.2} km²",
        p.open.households, p.open.area_km2, p.reachable.households, p.reachable.area_km2
    );
    println!("{:>4}  {:<28} {:<11} {:>12} {:>9} {:>14} {:>11} {:>7}", "rank", "candidate", "operator", "households", "km²", "cum. househ.", "cum. km²", "share");
    for s in &p.sites {
        println!(
            "{:>4}  {:<28} {:<11} {:>12.0} {:>9.2} {:>14.0} {:>11.2} {:>6.1}%",
            s.rank,
            s.id,
            s.operator.as_deref().unwrap_or("any"),
            s.households,
            s.area_km2,
            s.cumulative_households,
            s.cumulative_area_km2,
            s.cumulative_share * 100.0
        );
    }
    if p.sites.len() < p.budget {
        println!("only {} sites close anything more; the budget was {}", p.sites.len(), p.budget);
    }
    let f = |o: Option<usize>| o.map_or_else(|| "not reachable with these candidates".to_owned(), |n| format!("{n} sites"));
    println!("to close 50 %: {}; 90 %: {}; 100 %: {}", f(p.sites_for[0]), f(p.sites_for[1]), f(p.sites_for[2]));
    println!(
        "prepared in {:.1} ms, greedy {:.1} ms ({:.2} ms per site; {:.1} ms continued for the 50/90/100 % counts; {} gains computed; estimate was {:.0} ms)",
        p.prepare_ms, p.greedy_ms, p.ms_per_step, p.greedy_total_ms, p.evaluations, p.estimate_ms
    );
}

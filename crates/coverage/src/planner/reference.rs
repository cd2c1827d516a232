//! The planner's PostGIS reference: the same plan in plain SQL, a greedy
//! loop over `ST_DWithin` pairs (crates/coverage/sql/plan_ref_*.sql). The
//! test oracle of the first choices and the benchmark peer (issue 23).

use std::time::Instant;

use funkplan_db::{Db, Error as DbError};
use funkplan_model::CoverageSource;
use serde::Serialize;

use crate::Result;

/// One step of the reference's greedy loop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefStep {
    /// Candidate id.
    pub id: String,
    /// Households newly covered.
    pub households: f64,
    /// Cells newly covered.
    pub cells: i64,
}

/// The reference's plan and its times.
#[derive(Debug, Clone, Serialize)]
pub struct RefPlan {
    /// The chosen candidates in order (fewer than the budget when nothing
    /// more can be covered).
    pub sites: Vec<RefStep>,
    /// Open cells in the scope.
    pub open_cells: i64,
    /// Candidate-cell pairs within reach.
    pub pairs: i64,
    /// Time of the preparation (sites, open cells, pairs), ms.
    pub prepare_ms: f64,
    /// Time of the greedy loop, ms.
    pub greedy_ms: f64,
}

/// Run the reference for technology `tech` (`lte`/`5g`), scope (AGS
/// prefix), `source` and the candidates `(id, x, y, radius)` as the engine
/// considers them ([`super::candidates`]); objective `households` or
/// `area`; `budget` steps.
///
/// # Errors
/// A database error.
#[allow(clippy::too_many_arguments)]
pub async fn reference_plan(
    db: &Db,
    tech: &str,
    scope: &str,
    source: CoverageSource,
    objective: &str,
    candidates: &[(String, f64, f64, f64)],
    budget: usize,
) -> Result<RefPlan> {
    const WHAT: &str = "running the planner's PostGIS reference";
    let c = db.conn().await?;
    let t0 = Instant::now();
    c.batch_execute(include_str!("../../sql/plan_ref_setup.sql")).await.map_err(DbError::pg(WHAT))?;
    c.execute(include_str!("../../sql/plan_ref_sites.sql"), &[&tech, &scope]).await.map_err(DbError::pg(WHAT))?;
    c.batch_execute("CREATE INDEX ON plan_site USING gist (geom); ANALYZE plan_site").await.map_err(DbError::pg(WHAT))?;
    let open_cells = c.execute(include_str!("../../sql/plan_ref_open.sql"), &[&tech, &scope, &source.as_str()]).await.map_err(DbError::pg(WHAT))?;
    let idx: Vec<i32> = (0..candidates.len()).map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect();
    let xs: Vec<f64> = candidates.iter().map(|c| c.1).collect();
    let ys: Vec<f64> = candidates.iter().map(|c| c.2).collect();
    let rs: Vec<f64> = candidates.iter().map(|c| c.3).collect();
    c.execute(include_str!("../../sql/plan_ref_cands.sql"), &[&idx, &xs, &ys, &rs]).await.map_err(DbError::pg(WHAT))?;
    c.batch_execute(include_str!("../../sql/plan_ref_pairs.sql")).await.map_err(DbError::pg(WHAT))?;
    let pairs: i64 = c.query_one("SELECT count(*) FROM plan_pair", &[]).await.and_then(|r| r.try_get(0)).map_err(DbError::pg(WHAT))?;
    let prepare_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    let step = c.prepare(include_str!("../../sql/plan_ref_step.sql")).await.map_err(DbError::pg(WHAT))?;
    let mark = c.prepare(include_str!("../../sql/plan_ref_mark.sql")).await.map_err(DbError::pg(WHAT))?;
    let mut sites = Vec::new();
    for _ in 0..budget {
        let Some(r) = c.query_opt(&step, &[&objective]).await.map_err(DbError::pg(WHAT))? else { break };
        let i: i32 = r.try_get("idx").map_err(DbError::pg(WHAT))?;
        let households: f64 = r.try_get("households").map_err(DbError::pg(WHAT))?;
        let cells: i64 = r.try_get("cells").map_err(DbError::pg(WHAT))?;
        c.execute(&mark, &[&i]).await.map_err(DbError::pg(WHAT))?;
        let id = usize::try_from(i).ok().and_then(|i| candidates.get(i)).map(|c| c.0.clone()).unwrap_or_default();
        sites.push(RefStep { id, households, cells });
    }
    let greedy_ms = t1.elapsed().as_secs_f64() * 1e3;
    c.batch_execute("DROP TABLE IF EXISTS plan_hh, plan_site, plan_open, plan_cand, plan_pair; RESET work_mem").await.map_err(DbError::pg(WHAT))?;
    Ok(RefPlan { sites, open_cells: i64::try_from(open_cells).unwrap_or(i64::MAX), pairs, prepare_ms, greedy_ms })
}

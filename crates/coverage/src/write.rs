//! Writing results: one transaction replaces the figures of the
//! municipalities in scope (all of them in a full run), with a
//! `coverage_run` row per result set, so readers see the old figures or the
//! new ones, never a mix.

use chrono::{DateTime, Utc};
use funkplan_db::{Conn, Error as DbError};
use funkplan_model::CoverageSource;

use crate::deadspot::DeadSpot;
use crate::engine::Figures;
use crate::grid::{Grid, TECHS};
use crate::Result;

/// What one write replaces.
#[derive(Debug, Clone, Copy)]
pub struct WriteSet<'a> {
    pub source: CoverageSource,
    pub incremental: bool,
    /// Municipalities in scope (`None` = all).
    pub munis: Option<&'a [bool]>,
    /// Actual figures, scenario figures, LTE dead spots (each `None` =
    /// leave as they are).
    pub actual: Option<&'a Figures>,
    pub scenario: Option<&'a Figures>,
    pub dead_spots: Option<&'a [DeadSpot]>,
    pub cells: u64,
    pub load_ms: f64,
    pub compute_ms: f64,
    pub started_at: DateTime<Utc>,
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct Written {
    pub run_ids: Vec<i64>,
    pub computed_at: Option<DateTime<Utc>>,
    pub write_ms: f64,
    pub municipalities: usize,
}

/// Write in one transaction.
pub async fn write(conn: &mut Conn, grid: &Grid, operators: &[(u8, String)], ws: WriteSet<'_>) -> Result<Written> {
    let t0 = std::time::Instant::now();
    let in_scope = |m: usize| ws.munis.is_none_or(|f| f[m]);
    let scope_ags: Option<Vec<String>> =
        ws.munis.map(|f| grid.ags.iter().enumerate().filter(|(i, _)| f[*i]).map(|(_, a)| a.clone()).collect());
    let nmunis = scope_ags.as_ref().map_or(grid.ags.len(), Vec::len);
    let op_id = |bit: u8| operators.iter().find(|(b, _)| *b == bit).map(|(_, id)| id.clone());
    let tx = conn.transaction().await.map_err(DbError::pg("starting the results transaction"))?;
    let mut run_ids = Vec::new();
    let mut computed_at = None;
    for (scenario, figs) in [(false, ws.actual), (true, ws.scenario)] {
        let Some(figs) = figs else { continue };
        let row = tx
            .query_one(
                include_str!("../sql/insert_run.sql"),
                &[
                    &ws.source.as_str(),
                    &scenario,
                    &ws.incremental,
                    &i32::try_from(nmunis).unwrap_or(i32::MAX),
                    &i64::try_from(ws.cells).unwrap_or(i64::MAX),
                    &ws.load_ms,
                    &ws.compute_ms,
                    &ws.started_at,
                ],
            )
            .await
            .map_err(DbError::pg("recording the coverage run"))?;
        let run_id: i64 = row.get(0);
        let at: DateTime<Utc> = row.get(1);
        run_ids.push(run_id);
        computed_at = Some(at);
        tx.execute(include_str!("../sql/delete_results.sql"), &[&scenario, &scope_ags])
            .await
            .map_err(DbError::pg("removing the previous figures"))?;
        let mut cols = ResultCols::default();
        let mut ops = OpCols::default();
        for (m, per_tech) in figs.iter().enumerate() {
            if !in_scope(m) {
                continue;
            }
            for (t, f) in per_tech.iter().enumerate() {
                cols.ags.push(grid.ags[m].clone());
                cols.tech.push(TECHS[t].to_owned());
                cols.hh.push(f.households);
                cols.hhc.push(f.households_covered);
                cols.cells.push(i32::try_from(f.cells).unwrap_or(i32::MAX));
                cols.cov.push(i32::try_from(f.cells_covered).unwrap_or(i32::MAX));
                cols.dead.push(i32::try_from(f.dead_cells).unwrap_or(i32::MAX));
                cols.grey.push(i32::try_from(f.grey_cells).unwrap_or(i32::MAX));
                for o in f.operators.iter().flatten() {
                    let Some(id) = op_id(o.bit) else { continue };
                    ops.ags.push(grid.ags[m].clone());
                    ops.tech.push(TECHS[t].to_owned());
                    ops.op.push(id);
                    ops.hhc.push(o.households_covered);
                    ops.cov.push(i32::try_from(o.cells_covered).unwrap_or(i32::MAX));
                }
            }
        }
        tx.execute(
            include_str!("../sql/insert_results.sql"),
            &[
                &scenario,
                &ws.source.as_str(),
                &run_id,
                &at,
                &cols.ags,
                &cols.tech,
                &cols.hh,
                &cols.hhc,
                &cols.cells,
                &cols.cov,
                &cols.dead,
                &cols.grey,
            ],
        )
        .await
        .map_err(DbError::pg("writing coverage figures"))?;
        tx.execute(
            include_str!("../sql/insert_operator_results.sql"),
            &[&scenario, &ops.ags, &ops.tech, &ops.op, &ops.hhc, &ops.cov],
        )
        .await
        .map_err(DbError::pg("writing per-operator figures"))?;
    }
    if let Some(spots) = ws.dead_spots {
        tx.execute(include_str!("../sql/delete_dead_spots.sql"), &[&scope_ags])
            .await
            .map_err(DbError::pg("removing previous dead spots"))?;
        let ids: Vec<String> = spots.iter().map(|s| format!("{}-{}", grid.ags[usize::from(s.muni)], s.k)).collect();
        let ags: Vec<String> = spots.iter().map(|s| grid.ags[usize::from(s.muni)].clone()).collect();
        let cells: Vec<i32> = spots.iter().map(|s| i32::try_from(s.cells).unwrap_or(i32::MAX)).collect();
        let area: Vec<f64> = spots.iter().map(DeadSpot::area_km2).collect();
        let wkb: Vec<Vec<u8>> = spots.iter().map(DeadSpot::wkb).collect();
        let at = computed_at.unwrap_or(ws.started_at);
        tx.execute(include_str!("../sql/insert_dead_spots.sql"), &[&ids, &ags, &cells, &area, &wkb, &at])
            .await
            .map_err(DbError::pg("writing dead spots"))?;
    }
    let write_ms = t0.elapsed().as_secs_f64() * 1e3;
    tx.execute(include_str!("../sql/finish_run.sql"), &[&run_ids, &write_ms])
        .await
        .map_err(DbError::pg("recording the write time"))?;
    tx.commit().await.map_err(DbError::pg("committing coverage results"))?;
    Ok(Written { run_ids, computed_at, write_ms: t0.elapsed().as_secs_f64() * 1e3, municipalities: nmunis })
}

#[derive(Default)]
struct ResultCols {
    ags: Vec<String>,
    tech: Vec<String>,
    hh: Vec<f64>,
    hhc: Vec<f64>,
    cells: Vec<i32>,
    cov: Vec<i32>,
    dead: Vec<i32>,
    grey: Vec<i32>,
}

#[derive(Default)]
struct OpCols {
    ags: Vec<String>,
    tech: Vec<String>,
    op: Vec<String>,
    hhc: Vec<f64>,
    cov: Vec<i32>,
}

//! The PostGIS reference (`sql/reference_*.sql`): the same per-municipality
//! figures computed in plain SQL, the engine's test oracle and benchmark
//! peer. [`compare`] reports the largest differences.

use std::collections::HashMap;
use std::time::Instant;

use funkplan_db::{Db, Error as DbError};
use funkplan_model::CoverageSource;
use serde::Serialize;

use crate::engine::Figures;
use crate::grid::TECHS;
use crate::row::col;
use crate::Result;

/// One municipality and technology as the reference computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefRow {
    /// Households in the municipality.
    pub households: f64,
    /// Households covered by at least one operator.
    pub households_covered: f64,
    /// Grid cells in the municipality.
    pub cells: i32,
    /// Cells covered by at least one operator.
    pub cells_covered: i32,
    /// Cells no operator covers.
    pub dead_cells: i32,
    /// Cells exactly one operator covers.
    pub grey_cells: i32,
    /// Operator id → (households covered, cells covered), where known.
    pub operators: Option<HashMap<String, (f64, i32)>>,
}

/// Reference figures keyed by `(ags, technology)`; municipalities without
/// grid cells are absent.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// The figures by `(ags, technology)`.
    pub rows: HashMap<(String, String), RefRow>,
    /// Time of the preparation (site settings, per-cell masks).
    pub prepare_ms: f64,
    /// Time of the per-municipality sums.
    pub figures_ms: f64,
}

/// A prepared reference session: the temp tables (per municipality and cell
/// state: households and cells; view `ref_source`) exist on its connection,
/// so several sources and the scenario are summed from one preparation.
pub struct Session {
    conn: funkplan_db::Conn,
    /// Time of the preparation.
    pub prepare_ms: f64,
}

impl Session {
    /// Run the preparation (the expensive part: site settings, the
    /// operators reaching each cell — whole 1 km tiles at once where a site
    /// covers them, cell by cell at the rims — and the sums per cell state).
    pub async fn prepare(db: &Db) -> Result<Self> {
        Self::prepare_at(db, None).await
    }

    /// [`Session::prepare`] for a date: the actual figures are then those
    /// at `date` (the release in force then, the sites on air then), as
    /// [`crate::dated::figures_at`] counts them; `None` = now. The
    /// scenario is not dated.
    #[tracing::instrument(skip(db))]
    pub async fn prepare_at(db: &Db, date: Option<chrono::NaiveDate>) -> Result<Self> {
        let conn = db.conn().await?;
        let t = Instant::now();
        const WHAT: &str = "setting the PostGIS reference's date";
        let as_of = date.map(|d| d.to_string()).unwrap_or_default();
        conn.execute(include_str!("../sql/reference_as_of.sql"), &[&as_of]).await.map_err(DbError::pg(WHAT))?;
        conn.batch_execute(include_str!("../sql/reference_reported_drop.sql")).await.map_err(DbError::pg(WHAT))?;
        match date {
            None => conn.batch_execute(include_str!("../sql/reference_reported_now.sql")).await.map_err(DbError::pg(WHAT))?,
            Some(d) => {
                conn.batch_execute(include_str!("../sql/reference_reported_table.sql")).await.map_err(DbError::pg(WHAT))?;
                conn.execute(include_str!("../sql/reference_reported_at.sql"), &[&d]).await.map_err(DbError::pg(WHAT))?;
                conn.batch_execute(include_str!("../sql/reference_reported_analyze.sql")).await.map_err(DbError::pg(WHAT))?;
            }
        }
        conn.batch_execute(include_str!("../sql/reference_prepare.sql"))
            .await
            .map_err(DbError::pg("running the PostGIS reference (preparation)"))?;
        Ok(Self { conn, prepare_ms: t.elapsed().as_secs_f64() * 1e3 })
    }

    /// How the preparation reached the cells: site-tile pairs where the
    /// site covers the whole 1 km tile (given to its cells at once), and
    /// those left to test cell by cell.
    pub async fn tile_pairs(&self) -> Result<(i64, i64)> {
        let r = self
            .conn
            .query_one(include_str!("../sql/reference_tile_pairs.sql"), &[])
            .await
            .map_err(DbError::pg("counting the PostGIS reference's tile pairs"))?;
        const WHAT: &str = "counting the PostGIS reference's tile pairs";
        Ok((col(&r, "whole", WHAT)?, col(&r, "partial", WHAT)?))
    }

    /// Per-municipality figures for a source, actual or scenario.
    pub async fn figures(&self, source: CoverageSource, scenario: bool) -> Result<Reference> {
        let t = Instant::now();
        let src = source.as_str();
        let rows = self
            .conn
            .query(include_str!("../sql/reference_figures.sql"), &[&src, &scenario])
            .await
            .map_err(DbError::pg("running the PostGIS reference (figures)"))?;
        let ops = self
            .conn
            .query(include_str!("../sql/reference_operators.sql"), &[&src, &scenario])
            .await
            .map_err(DbError::pg("running the PostGIS reference (operators)"))?;
        let mut out = Reference { prepare_ms: self.prepare_ms, ..Default::default() };
        const FIGS: &str = "reading the PostGIS reference (figures)";
        for r in &rows {
            let known: bool = col(r, "known", FIGS)?;
            out.rows.insert(
                (col(r, "ags", FIGS)?, col(r, "tech", FIGS)?),
                RefRow {
                    households: col(r, "households", FIGS)?,
                    households_covered: col(r, "households_covered", FIGS)?,
                    cells: col(r, "cells", FIGS)?,
                    cells_covered: col(r, "cells_covered", FIGS)?,
                    dead_cells: col(r, "dead_cells", FIGS)?,
                    grey_cells: col(r, "grey_cells", FIGS)?,
                    operators: known.then(HashMap::new),
                },
            );
        }
        const OPS: &str = "reading the PostGIS reference (operators)";
        for r in &ops {
            let key: (String, String) = (col(r, "ags", OPS)?, col(r, "tech", OPS)?);
            if let Some(ops) = out.rows.get_mut(&key).and_then(|x| x.operators.as_mut()) {
                ops.insert(col(r, "operator", OPS)?, (col(r, "households_covered", OPS)?, col(r, "cells_covered", OPS)?));
            }
        }
        out.figures_ms = t.elapsed().as_secs_f64() * 1e3;
        Ok(out)
    }
}

/// The largest differences between engine and reference.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    /// Rows compared (municipality × technology).
    pub rows: usize,
    /// Largest |engine − reference| of household figures (floating sums in
    /// different order differ in the last bits).
    pub max_abs_households: f64,
    /// Largest |engine − reference| of cell counts (must be 0).
    pub max_abs_cells: i64,
    /// Largest difference of per-operator figures (households, cells).
    pub max_abs_operator_households: f64,
    /// Largest difference of per-operator cell counts.
    pub max_abs_operator_cells: i64,
    /// Rows where one side has per-operator figures and the other not, or
    /// present on one side only.
    pub structural: Vec<String>,
}

impl Diff {
    /// Equal up to floating-point summation order (households within
    /// `1e-6` relative to the state total, counts exact).
    #[must_use]
    pub fn equal(&self, households_scale: f64) -> bool {
        let tol = 1e-6 * households_scale.max(1.0);
        self.structural.is_empty()
            && self.max_abs_cells == 0
            && self.max_abs_operator_cells == 0
            && self.max_abs_households <= tol
            && self.max_abs_operator_households <= tol
    }
}

/// Compare engine figures (indexed like `ags`) with the reference.
#[must_use]
pub fn compare(ags: &[String], operators: &[(u8, String)], figs: &Figures, reference: &Reference) -> Diff {
    let mut d = Diff::default();
    let mut seen = 0usize;
    for (m, per_tech) in figs.iter().enumerate() {
        for (t, f) in per_tech.iter().enumerate() {
            let key = (ags[m].clone(), TECHS[t].to_owned());
            let Some(r) = reference.rows.get(&key) else {
                if f.cells > 0 {
                    d.structural.push(format!("{} {}: missing in the reference", key.0, key.1));
                }
                continue;
            };
            seen += 1;
            d.rows += 1;
            d.max_abs_households = d
                .max_abs_households
                .max((f.households - r.households).abs())
                .max((f.households_covered - r.households_covered).abs());
            for (a, b) in [
                (f.cells, r.cells),
                (f.cells_covered, r.cells_covered),
                (f.dead_cells, r.dead_cells),
                (f.grey_cells, r.grey_cells),
            ] {
                d.max_abs_cells = d.max_abs_cells.max((i64::from(a) - i64::from(b)).abs());
            }
            match (&f.operators, &r.operators) {
                (Some(eo), Some(ro)) => {
                    for o in eo {
                        let Some((_, id)) = operators.iter().find(|(b, _)| *b == o.bit) else { continue };
                        let (rh, rc) = ro.get(id).copied().unwrap_or((0.0, 0));
                        d.max_abs_operator_households = d.max_abs_operator_households.max((o.households_covered - rh).abs());
                        d.max_abs_operator_cells =
                            d.max_abs_operator_cells.max((i64::from(o.cells_covered) - i64::from(rc)).abs());
                    }
                }
                (None, None) => {}
                (e, r) => d.structural.push(format!(
                    "{} {}: per-operator figures {} in the engine, {} in the reference",
                    key.0,
                    key.1,
                    if e.is_some() { "present" } else { "absent" },
                    if r.is_some() { "present" } else { "absent" }
                )),
            }
        }
    }
    if seen != reference.rows.len() {
        d.structural.push(format!("reference has {} rows, engine matched {seen}", reference.rows.len()));
    }
    d
}

//! Writing results: one transaction replaces the figures of the
//! municipalities in scope (all of them in a full run), with a
//! `coverage_run` row per result set, so readers see the old figures or the
//! new ones, never a mix.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use funkplan_db::{Conn, Error as DbError};
use futures_util::future::{maybe_done, BoxFuture, MaybeDone};
use funkplan_model::CoverageSource;

use crate::deadspot::DeadSpot;
use crate::engine::Figures;
use crate::grid::{Grid, TECHS};
use crate::{Error, Result};

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
    send(conn, &Staged::new(grid, operators, ws), None).await
}

/// Every statement a results write runs, in the order [`send`]
/// unpacks them.
const STATEMENTS: [&str; 8] = [
    include_str!("../sql/insert_run.sql"),
    include_str!("../sql/delete_results.sql"),
    include_str!("../sql/insert_results.sql"),
    include_str!("../sql/insert_operator_results.sql"),
    include_str!("../sql/delete_dead_spots.sql"),
    include_str!("../sql/insert_dead_spots.sql"),
    include_str!("../sql/finish_run.sql"),
    funkplan_targets::RunningMonth::SQL,
];

/// Prepare the statements of a results write on `conn` ahead of its first
/// write (they stay in the connection's statement cache), so that the first
/// write after start-up does not pay for parsing and planning them and for
/// the backend's first look at the tables behind them.
///
/// # Errors
/// When a statement cannot be prepared (the schema is not migrated).
pub async fn prepare(conn: &Conn) -> Result<()> {
    futures_util::future::try_join_all(STATEMENTS.map(|sql| conn.prepare_cached(sql)))
        .await
        .map_err(|e| Error::from(DbError::pg("preparing the results statements")(e)))?;
    Ok(())
}

type Pending<'a> = BoxFuture<'a, Result<u64>>;

/// Run statements as one pipelined batch, in the given order. A
/// tokio-postgres query with a prepared statement sends its messages when
/// first polled, so polling each future once, in order, fixes the order in
/// which the server runs them; then all answers are awaited together. One
/// round trip for the batch instead of one per statement: on a loaded
/// machine every round trip is a pair of wake-ups.
async fn pipeline(futs: Vec<Pending<'_>>) -> Result<Vec<u64>> {
    let mut futs: Vec<MaybeDone<Pending<'_>>> = futs.into_iter().map(maybe_done).collect();
    std::future::poll_fn(|cx| {
        for f in &mut futs {
            let _ = Pin::new(f).poll(cx);
        }
        std::task::Poll::Ready(())
    })
    .await;
    futures_util::future::join_all(futs.iter_mut().map(Pin::new)).await;
    futs.iter_mut()
        .map(|f| Pin::new(f).take_output().unwrap_or_else(|| Err(Error::Data("a pipelined statement was not run".into()))))
        .collect()
}

/// A results write with its columns built: no database work, and no
/// borrow of the engine's state. Built under the engine's lock and sent
/// after it is let go, so the next incremental run computes while this one
/// writes (issue 20: the results transaction was some 40 % of a run).
#[derive(Debug)]
pub struct Staged {
    sets: Vec<(bool, ResultCols, OpCols)>,
    spots: Option<SpotCols>,
    scope_ags: Option<Vec<String>>,
    nmunis: usize,
    source: CoverageSource,
    incremental: bool,
    cells: u64,
    load_ms: f64,
    compute_ms: f64,
    started_at: DateTime<Utc>,
}

impl Staged {
    /// The columns of `ws`'s figures and dead spots (municipalities out of
    /// its scope left out).
    #[must_use]
    pub fn new(grid: &Grid, operators: &[(u8, String)], ws: WriteSet<'_>) -> Self {
        let in_scope = |m: usize| ws.munis.is_none_or(|f| f[m]);
        // A grid of one state replaces that state's figures, never all (the
        // other states' rows stay): its municipalities are the scope.
        let scope_ags: Option<Vec<String>> = ws
            .munis
            .map(|f| grid.ags.iter().enumerate().filter(|(i, _)| f[*i]).map(|(_, a)| a.clone()).collect())
            .or_else(|| grid.scope.as_ref().map(|_| grid.ags.clone()));
        let nmunis = scope_ags.as_ref().map_or(grid.ags.len(), Vec::len);
        let op_id = |bit: u8| operators.iter().find(|(b, _)| *b == bit).map(|(_, id)| id.clone());
        // Columns first (no database work), so the transaction is short.
        let sets: Vec<(bool, ResultCols, OpCols)> = [(false, ws.actual), (true, ws.scenario)]
            .into_iter()
            .filter_map(|(scenario, figs)| figs.map(|f| (scenario, f)))
            .map(|(scenario, figs)| {
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
                (scenario, cols, ops)
            })
            .collect();
        let spots = ws.dead_spots.map(|spots| SpotCols {
            ids: spots.iter().map(|s| format!("{}-{}", grid.ags[usize::from(s.muni)], s.k)).collect(),
            ags: spots.iter().map(|s| grid.ags[usize::from(s.muni)].clone()).collect(),
            cells: spots.iter().map(|s| i32::try_from(s.cells).unwrap_or(i32::MAX)).collect(),
            area: spots.iter().map(DeadSpot::area_km2).collect(),
            wkb: spots.iter().map(DeadSpot::wkb).collect(),
        });
        Self {
            sets,
            spots,
            scope_ags,
            nmunis,
            source: ws.source,
            incremental: ws.incremental,
            cells: ws.cells,
            load_ms: ws.load_ms,
            compute_ms: ws.compute_ms,
            started_at: ws.started_at,
        }
    }
}

impl Staged {
    /// When the run that computed these results started.
    #[must_use]
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }
}

/// Write a [`Staged`] results set in one transaction; with `targets`, in
/// the same transaction record every target's value for the running month
/// ([`funkplan_targets::RunningMonth::record`]): after a write the figures
/// and the targets change together, with one commit. `write_ms` counts from here:
/// the columns were built before.
///
/// # Errors
/// A database error, the step named.
pub async fn send(conn: &mut Conn, w: &Staged, targets: Option<(NaiveDate, funkplan_model::ChangeKind)>) -> Result<Written> {
    let t0 = std::time::Instant::now();
    let Staged { sets, spots, scope_ags, nmunis, .. } = w;
    let nmunis = *nmunis;
    let nmunis_i32 = i32::try_from(nmunis).unwrap_or(i32::MAX);
    let cells_i64 = i64::try_from(w.cells).unwrap_or(i64::MAX);
    let source = w.source.as_str();
    let tx = conn.transaction().await.map_err(DbError::pg("starting the results transaction"))?;
    // Statements prepared once per connection (all before any batch: a
    // batch must not wait for a Parse in the middle).
    let txr = &tx;
    let prep = |sql: &'static str| async move { txr.prepare_cached(sql).await.map_err(|e| Error::from(DbError::pg("preparing a results statement")(e))) };
    let [run, del, res, ops, del_spots, ins_spots, finish, targets_sql] = STATEMENTS;
    let (s_run, s_del, s_res, s_ops, s_del_spots, s_spots, s_finish, s_targets) = tokio::try_join!(
        prep(run),
        prep(del),
        prep(res),
        prep(ops),
        prep(del_spots),
        prep(ins_spots),
        prep(finish),
        prep(targets_sql),
    )?;

    // Batch 1: the run rows (their ids go into the figures) and the
    // targets' definitions.
    let runs = sets.iter().map(|(scenario, _, _)| {
        let (s_run, scenario) = (&s_run, *scenario);
        let tx = &tx;
        async move {
            tx.query_one(
                s_run,
                &[&source, &scenario, &w.incremental, &nmunis_i32, &cells_i64, &w.load_ms, &w.compute_ms, &w.started_at],
            )
            .await
            .map_err(|e| Error::from(DbError::pg("recording the coverage run")(e)))
        }
    });
    let definitions = async {
        match targets {
            Some((_, which)) => funkplan_targets::running_month(&*tx, which).await.map(Some).map_err(Error::from),
            None => Ok(None),
        }
    };
    // Both finish before either error counts: the run rows are sent first,
    // so when they fail the definitions' error is only "current transaction
    // is aborted", which would hide the cause.
    let (run_rows, running_month) = tokio::join!(futures_util::future::try_join_all(runs), definitions);
    let (run_rows, running_month) = (run_rows?, running_month?);
    let run_ids: Vec<i64> = run_rows.iter().map(|r| run_col(r, "run_id")).collect::<Result<_>>()?;
    let computed_at: Option<DateTime<Utc>> = run_rows.last().map(|r| run_col(r, "computed_at")).transpose()?;

    // Batch 2, in this order: per result set remove the old figures (their
    // operator rows go with them) and insert the new; dead spots; the
    // targets' running month (it sums the new figures).
    let mut batch: Vec<Pending<'_>> = Vec::new();
    for ((scenario, cols, ops), run_id) in sets.iter().zip(&run_ids) {
        let at = computed_at.unwrap_or(w.started_at);
        let (tx, s_del, s_res, s_ops, scope_ags) = (&tx, &s_del, &s_res, &s_ops, &scope_ags);
        batch.push(Box::pin(async move {
            tx.execute(s_del, &[scenario, scope_ags]).await.map_err(|e| Error::from(DbError::pg("removing the previous figures")(e)))
        }));
        batch.push(Box::pin(async move {
            tx.execute(
                s_res,
                &[scenario, &source, run_id, &at, &cols.ags, &cols.tech, &cols.hh, &cols.hhc, &cols.cells, &cols.cov, &cols.dead, &cols.grey],
            )
            .await
            .map_err(|e| Error::from(DbError::pg("writing coverage figures")(e)))
        }));
        batch.push(Box::pin(async move {
            tx.execute(s_ops, &[scenario, &ops.ags, &ops.tech, &ops.op, &ops.hhc, &ops.cov])
                .await
                .map_err(|e| Error::from(DbError::pg("writing per-operator figures")(e)))
        }));
    }
    if let Some(sp) = &spots {
        let at = computed_at.unwrap_or(w.started_at);
        let (tx, s_del_spots, s_spots, scope_ags) = (&tx, &s_del_spots, &s_spots, &scope_ags);
        batch.push(Box::pin(async move {
            tx.execute(s_del_spots, &[scope_ags]).await.map_err(|e| Error::from(DbError::pg("removing previous dead spots")(e)))
        }));
        batch.push(Box::pin(async move {
            tx.execute(s_spots, &[&sp.ids, &sp.ags, &sp.cells, &sp.area, &sp.wkb, &at])
                .await
                .map_err(|e| Error::from(DbError::pg("writing dead spots")(e)))
        }));
    }
    if let (Some((today, _)), Some(rm)) = (targets, &running_month) {
        let (tx, s_targets) = (&tx, &s_targets);
        batch.push(Box::pin(async move { rm.record(&**tx, s_targets, today).await.map_err(Error::from) }));
    }
    pipeline(batch).await?;
    let write_ms = t0.elapsed().as_secs_f64() * 1e3;
    tx.execute(&s_finish, &[&run_ids, &write_ms]).await.map_err(DbError::pg("recording the write time"))?;
    tx.commit().await.map_err(DbError::pg("committing coverage results"))?;
    Ok(Written { run_ids, computed_at, write_ms: t0.elapsed().as_secs_f64() * 1e3, municipalities: nmunis })
}

#[derive(Debug)]
struct SpotCols {
    ids: Vec<String>,
    ags: Vec<String>,
    cells: Vec<i32>,
    area: Vec<f64>,
    wkb: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
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

#[derive(Debug, Default)]
struct OpCols {
    ags: Vec<String>,
    tech: Vec<String>,
    op: Vec<String>,
    hhc: Vec<f64>,
    cov: Vec<i32>,
}

/// Column `name` of a `coverage_run` row just inserted, by name (a drifting
/// `RETURNING` is an error, not a panic).
fn run_col<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a tokio_postgres::Row, name: &str) -> Result<T> {
    r.try_get(name).map_err(|e| Error::from(DbError::pg("recording the coverage run")(e)))
}

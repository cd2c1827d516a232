//! Wires the coverage engine into the HTTP server: after a committed write,
//! the API calls this hook, which recomputes the affected municipalities in
//! the in-memory engine and writes their figures before the client is
//! answered (a write is reflected in the figures within a second, BENCHMARKS.md). Concurrent
//! writes share engine runs ([`Live::apply`] groups them, issue 20); each
//! still answers only after a run that included its change committed.
//!
//! The engine holds the coverage releases it was loaded with. When a
//! release is ingested, replaced or dropped while the server runs (by
//! `funkplan ingest coverage` in another process), the next write or dated
//! request finds the releases' stamp changed and loads the engine afresh
//! first, so neither writes figures from an old release nor answers a date
//! with it.

use std::sync::Arc;

use funkplan_api::{CoverageHook, DatedAll, DatedFigures, DatedSeries, DatedTech, HookError};
use funkplan_api::{PlanBody, PlanFailure};
use funkplan_coverage::Live;
use funkplan_db::{Db, Error as DbError};
use funkplan_model::Change;
use futures_util::future::BoxFuture;
use tokio::sync::{RwLock, RwLockReadGuard};

/// The engine and the stamp of the releases it was loaded with.
struct Loaded {
    live: Live,
    stamp: String,
}

/// The engine kept by `funkplan serve`.
pub struct LiveHook {
    loaded: Arc<RwLock<Loaded>>,
    db: Db,
}

/// What identifies the stored releases: their dates and checksums (a
/// replaced release keeps its date but not its checksum).
async fn releases_stamp(db: &Db) -> Result<String, DbError> {
    let what = "reading the coverage releases' stamp";
    let c = db.conn().await?;
    let stmt = c
        .prepare_cached("SELECT coalesce(string_agg(as_of::text || ':' || checksum, ',' ORDER BY as_of), '') AS stamp FROM coverage_release")
        .await
        .map_err(DbError::pg(what))?;
    c.query_one(&stmt, &[]).await.map_err(DbError::pg(what))?.try_get("stamp").map_err(DbError::pg(what))
}

/// The engine, loaded afresh first when the releases changed since.
async fn fresh<'a>(loaded: &'a RwLock<Loaded>, db: &Db) -> Result<RwLockReadGuard<'a, Loaded>, HookError> {
    let stamp = releases_stamp(db).await?;
    {
        let g = loaded.read().await;
        if g.stamp == stamp {
            return Ok(g);
        }
    }
    let mut w = loaded.write().await;
    // Another request may have reloaded while this one waited.
    if w.stamp != stamp {
        tracing::info!("coverage releases changed since the engine was loaded: loading it again");
        let live = Live::load(db, None).await?;
        live.warm_up(db).await?;
        *w = Loaded { live, stamp };
    }
    Ok(w.downgrade())
}

/// The engine's counts as the API takes them.
fn tech(t: &funkplan_coverage::engine::TechFigures) -> DatedTech {
    DatedTech {
        households: t.households,
        households_covered: t.households_covered,
        cells: t.cells,
        cells_covered: t.cells_covered,
        dead_cells: t.dead_cells,
        grey_cells: t.grey_cells,
    }
}

impl LiveHook {
    /// Load the engine from `db` (the grid, sites and releases).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn load(db: &Db) -> Result<Self, HookError> {
        let stamp = releases_stamp(db).await?;
        let live = Live::load(db, None).await?;
        live.warm_up(db).await?;
        Ok(Self { loaded: Arc::new(RwLock::new(Loaded { live, stamp })), db: db.clone() })
    }
}

impl CoverageHook for LiveHook {
    /// Coverage of the change's sites, and the targets its kind can move (a
    /// site write changes no count of completed measures).
    fn changed(&self, change: Change) -> BoxFuture<'static, Result<(), HookError>> {
        let loaded = self.loaded.clone();
        let db = self.db.clone();
        Box::pin(async move {
            let g = fresh(&loaded, &db).await?;
            let stats = g.live.apply(&db, &change).await?;
            tracing::debug!(
                sites = change.sites.len(),
                grouped_writes = stats.batch_writes,
                municipalities = stats.municipalities,
                compute_ms = stats.compute_ms,
                write_ms = stats.write_ms,
                "incremental recompute"
            );
            Ok(())
        })
    }

    /// The engine's figures at `date` with its source (the release in force
    /// and the sites on air then).
    fn figures_at(&self, ags: String, date: chrono::NaiveDate) -> BoxFuture<'static, Result<Option<DatedFigures>, HookError>> {
        let loaded = self.loaded.clone();
        let db = self.db.clone();
        Box::pin(async move {
            let g = fresh(&loaded, &db).await?;
            let source = g.live.source().await;
            let f = g.live.figures_at(date, source).await;
            Ok(f.get(&ags).map(|[lte, nr]| DatedFigures { date, release: f.release, source, lte: tech(lte), nr: tech(nr) }))
        })
    }

    /// Every municipality at `date`: one engine computation (kept for the
    /// next request of the same date).
    fn coverage_at(&self, date: chrono::NaiveDate) -> BoxFuture<'static, Result<DatedAll, HookError>> {
        let loaded = self.loaded.clone();
        let db = self.db.clone();
        Box::pin(async move {
            let g = fresh(&loaded, &db).await?;
            let source = g.live.source().await;
            let f = g.live.figures_at(date, source).await;
            let municipalities = f.ags.iter().zip(f.figures.iter()).map(|(a, [lte, nr])| (a.clone(), tech(lte), tech(nr))).collect();
            Ok(DatedAll { date, release: f.release, source, municipalities })
        })
    }

    /// The municipality at every release date: one walk over its box of
    /// the grid (see `funkplan_coverage::series`).
    fn series(&self, ags: String) -> BoxFuture<'static, Result<Option<DatedSeries>, HookError>> {
        let loaded = self.loaded.clone();
        let db = self.db.clone();
        Box::pin(async move {
            let g = fresh(&loaded, &db).await?;
            let source = g.live.source().await;
            let points = g.live.series(&ags, source).await;
            Ok(points.map(|p| DatedSeries { source, points: p.iter().map(|p| (p.date, tech(&p.figures[0]), tech(&p.figures[1]))).collect() }))
        })
    }

    /// A plan on the engine as loaded (issue 23), answered as `funkplan
    /// plan --json` prints it; the planner's refusals are the request's
    /// fault (422), the rest the engine's.
    fn plan(&self, req: PlanBody) -> BoxFuture<'static, Result<serde_json::Value, PlanFailure>> {
        let loaded = self.loaded.clone();
        let db = self.db.clone();
        Box::pin(async move {
            let request = crate::cmd::plan::request_of(&req).map_err(PlanFailure::Invalid)?;
            let g = fresh(&loaded, &db).await.map_err(PlanFailure::Engine)?;
            let plan = g.live.plan(&request).await.map_err(|e| PlanFailure::Invalid(e.to_string()))?;
            crate::cmd::plan::plan_json(&plan).map_err(|e| PlanFailure::Engine(e.into()))
        })
    }
}

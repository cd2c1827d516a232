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
use funkplan_api::{TileBlocks, TileCells, TileView};
use funkplan_coverage::tiles::{CellArea, View};
use funkplan_tiles::coverage::{Block, BlockTech, Cell};
use funkplan_tiles::CellRect;
use funkplan_coverage::Live;
use funkplan_db::{Db, Error as DbError};
use funkplan_model::Change;
use futures_util::future::BoxFuture;
use tokio::sync::{RwLock, RwLockReadGuard};

/// The engine and the stamp of the releases it was loaded with.
struct Loaded {
    live: Live,
    stamp: String,
    /// The state and snapshot directory the engine is loaded with (issue 24).
    grid: funkplan_coverage::load::GridOptions,
}

/// The engine kept by `funkplan serve`.
pub struct LiveHook {
    loaded: Arc<RwLock<Loaded>>,
    db: Db,
    /// When tiles last checked the releases' stamp (see [`tiles_engine`]).
    tiles_checked: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// Called after the engine followed another node's write.
    followed: Followed,
}

/// What to call after following a change: the server's cache
/// invalidation, so that no tile or dated answer made by the engine before
/// it followed stays cached under the new data version.
type Followed = Arc<std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>>;

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
        let live = Live::load_with(db, None, &w.grid).await?;
        live.warm_up(db).await?;
        let grid = w.grid.clone();
        *w = Loaded { live, stamp, grid };
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
    /// Load the engine from `db` (the grid of `grid.scope`, sites and
    /// releases; the grid through its snapshot when that is on).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn load(db: &Db, grid: funkplan_coverage::load::GridOptions) -> Result<Self, HookError> {
        let stamp = releases_stamp(db).await?;
        let live = Live::load_with(db, None, &grid).await?;
        live.warm_up(db).await?;
        let loaded = Arc::new(RwLock::new(Loaded { live, stamp, grid }));
        let followed = Followed::default();
        spawn_follower(Arc::downgrade(&loaded), db.clone(), followed.clone());
        Ok(Self { loaded, db: db.clone(), tiles_checked: Arc::default(), followed })
    }

    /// Call `f` each time the engine has followed another node's write
    /// (once; later calls are ignored).
    pub fn on_follow(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.followed.set(Box::new(f));
    }
}

/// Several `serve` nodes (issue 25): each keeps its own engine, but only
/// the node that took a write runs the engine's update and writes the
/// figures (`CoverageHook::changed`). The others learn of it here: a
/// connection to the primary LISTENs on `funkplan_change` (sent at every
/// commit that changed data, V30/V31; NOTIFY reaches only sessions on the
/// primary, never a standby), reads the audit rows added since, and lets
/// the engine re-read those sites without writing anything
/// ([`Live::follow`], idempotent, so the writing node following its own
/// write changes nothing). The figures in the database are already the
/// writer's; this keeps tiles and dated figures, which come from memory,
/// the same on every node.
fn spawn_follower(loaded: std::sync::Weak<RwLock<Loaded>>, db: Db, followed: Followed) {
    tokio::spawn(async move {
        let mut seen = Seen::default();
        loop {
            if loaded.strong_count() == 0 {
                return;
            }
            match follow_once(&loaded, &db, &mut seen, &followed).await {
                Ok(()) => return,
                Err(e) => tracing::debug!(error = %e, "engine follower disconnected; retrying"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

/// Audit rows already followed. Ids are handed out at insert, not at
/// commit, so a lower id can become visible after a higher one: rows are
/// read from a window below the highest id seen, and skipped when seen.
#[derive(Default)]
struct Seen {
    ids: std::collections::BTreeSet<i64>,
    /// Read rows above this id (None: start from now).
    low: Option<i64>,
}

/// How far below the highest followed audit id rows are read again.
const AUDIT_WINDOW: i64 = 1024;

/// One connection's life; `Ok` when the engine is gone.
async fn follow_once(loaded: &std::sync::Weak<RwLock<Loaded>>, db: &Db, seen: &mut Seen, followed: &Followed) -> Result<(), String> {
    use futures_util::StreamExt;
    let (client, mut conn) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .map_err(|e| funkplan_db::pg_detail(&e))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if matches!(m, tokio_postgres::AsyncMessage::Notification(_)) && tx.send(()).is_err() {
                return;
            }
        }
    });
    let result = async {
        client.batch_execute("LISTEN funkplan_change").await.map_err(|e| funkplan_db::pg_detail(&e))?;
        if seen.low.is_none() {
            let row = client
                .query_one("SELECT coalesce(max(id), 0) AS id FROM audit_log", &[])
                .await
                .map_err(|e| funkplan_db::pg_detail(&e))?;
            seen.low = Some(row.try_get("id").map_err(|e| funkplan_db::pg_detail(&e))?);
        }
        // After a reconnect, what committed meanwhile is read at once below.
        let stmt = client
            .prepare(
                "SELECT id, entity, entity_id, before->>'site_id' AS before_site, after->>'site_id' AS after_site \
                 FROM audit_log WHERE id > $1 ORDER BY id",
            )
            .await
            .map_err(|e| funkplan_db::pg_detail(&e))?;
        let mut first = true;
        loop {
            if !first {
                if rx.recv().await.is_none() {
                    return Err("connection closed".to_owned());
                }
                while rx.try_recv().is_ok() {}
            }
            first = false;
            let low = seen.low.unwrap_or(0);
            let rows = client.query(&stmt, &[&low]).await.map_err(|e| funkplan_db::pg_detail(&e))?;
            let mut sites: Vec<String> = Vec::new();
            for r in &rows {
                let id: i64 = r.try_get("id").map_err(|e| funkplan_db::pg_detail(&e))?;
                if !seen.ids.insert(id) {
                    continue;
                }
                let entity: String = r.try_get("entity").map_err(|e| funkplan_db::pg_detail(&e))?;
                if entity == "site" {
                    sites.push(r.try_get("entity_id").map_err(|e| funkplan_db::pg_detail(&e))?);
                }
                for col in ["before_site", "after_site"] {
                    if let Ok(Some(s)) = r.try_get::<_, Option<String>>(col) {
                        sites.push(s);
                    }
                }
            }
            if let Some(&top) = seen.ids.last() {
                let floor = top - AUDIT_WINDOW;
                seen.low = Some(floor.max(seen.low.unwrap_or(0)));
                seen.ids = seen.ids.split_off(&floor);
            }
            sites.sort_unstable();
            sites.dedup();
            if sites.is_empty() {
                continue;
            }
            let Some(l) = loaded.upgrade() else { return Ok(()) };
            let g = l.read().await;
            match g.live.follow(db, &sites).await {
                Ok(0) => {}
                Ok(boxes) => {
                    tracing::debug!(sites = sites.len(), boxes, "followed a change from another node");
                    if let Some(f) = followed.get() {
                        f();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "following a change: the engine's tiles may lag until the next one"),
            }
        }
    }
    .await;
    driver.abort();
    result
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
    /// The cells of a coverage tile, from the engine's memory.
    fn tile_cells(&self, area: CellRect, view: TileView) -> BoxFuture<'static, Result<TileCells, HookError>> {
        let loaded = self.loaded.clone();
        let db = self.db.clone();
        let checked = self.tiles_checked.clone();
        Box::pin(async move {
            let g = tiles_engine(&loaded, &db, &checked).await?;
            let d = g.live.tile_cells(cell_area(area), engine_view(view)).await;
            let cells = d.items.into_iter().map(|c| Cell { n: c.n, e: c.e, households: c.households, count: c.count, set: c.set }).collect();
            Ok(TileCells { source: d.source, release: d.release, operators: d.operators, cells })
        })
    }

    /// The blocks of a coverage tile below the cell zoom.
    fn tile_blocks(&self, area: CellRect, size: i32, view: TileView) -> BoxFuture<'static, Result<TileBlocks, HookError>> {
        let loaded = self.loaded.clone();
        let db = self.db.clone();
        let checked = self.tiles_checked.clone();
        Box::pin(async move {
            let g = tiles_engine(&loaded, &db, &checked).await?;
            let d = g.live.tile_blocks(cell_area(area), size, engine_view(view)).await;
            let tech = |t: funkplan_coverage::tiles::TechSums| BlockTech { households_covered: t.households_covered, cells_covered: t.cells_covered, dead: t.dead, grey: t.grey };
            let blocks = d
                .items
                .into_iter()
                .map(|b| Block { n: b.n, e: b.e, size: b.size, cells: b.cells, households: b.households, tech: [tech(b.tech[0]), tech(b.tech[1])] })
                .collect();
            Ok(TileBlocks { source: d.source, release: d.release, blocks })
        })
    }
}

/// How long tiles trust the engine's releases without asking the database
/// again: a map asks for dozens of tiles a second, and a query per tile
/// would make every tile a database round trip (issue 17 forbids it); a
/// release ingested meanwhile shows in the tiles within this time.
const TILES_STAMP_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The engine for tiles: [`fresh`] at most once per [`TILES_STAMP_TTL`].
async fn tiles_engine<'a>(
    loaded: &'a RwLock<Loaded>,
    db: &Db,
    checked: &std::sync::Mutex<Option<std::time::Instant>>,
) -> Result<RwLockReadGuard<'a, Loaded>, HookError> {
    let recent = checked.lock().map(|c| c.is_some_and(|t| t.elapsed() < TILES_STAMP_TTL)).unwrap_or(false);
    if recent {
        return Ok(loaded.read().await);
    }
    let g = fresh(loaded, db).await?;
    if let Ok(mut c) = checked.lock() {
        *c = Some(std::time::Instant::now());
    }
    Ok(g)
}

/// The API's cell rectangle as the engine's.
fn cell_area(r: CellRect) -> CellArea {
    CellArea { n0: r.n0, n1: r.n1, e0: r.e0, e1: r.e1 }
}

/// The API's tile view as the engine's.
fn engine_view(v: TileView) -> View {
    match v {
        TileView::Actual => View::Actual,
        TileView::Scenario => View::Scenario,
        TileView::At(d) => View::At(d),
    }
}

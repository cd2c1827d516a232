//! [`Live`]: the engine kept in memory by a long-running process (the HTTP
//! server), so that one site or measure write is reflected in its
//! municipalities' figures within milliseconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use funkplan_db::{Db, Error as DbError, PoolOptions};
use funkplan_model::{Change, ChangeKind, CoverageSource};
use serde::Serialize;
use tokio::sync::RwLock;

use crate::batch::{Batch, Batcher, Outcome, UpdateCounts};
use crate::deadspot::{dead_spots, DeadSpot};
use crate::engine::{aggregate_pair, classify, is_urban, munis_in, munis_rect, stamp, Figures, Masks, Rect, Scope};
use crate::grid::Grid;
use crate::model::{Model, Site};
use crate::write::{write, WriteSet};
use crate::{cpu, load, Error, Result};

/// A loaded grid with its sites and modelled masks. Cheap to clone (an
/// `Arc` inside); changes take the engine's lock, and results are written
/// under a second lock taken before the first is let go, so a full
/// recompute and incremental updates write in the order they computed.
/// Concurrent incremental updates are grouped: those that arrive while one
/// runs are done together by the next run (see `batch`).
///
/// # Use in the server
/// ```ignore
/// let live = Live::load(&db, None).await?;          // at start-up
/// // after a site write (POST/PATCH /sites) or a measure write (pass the
/// // measure's site id):
/// live.sites_changed(&db, &[site_id]).await?;
/// ```
/// The radii, operators, households, reported grid and coverage releases
/// are read at [`Live::load`]; after re-ingesting those (a new or dropped
/// release too), load a new `Live`.
#[derive(Clone)]
pub struct Live {
    inner: Arc<RwLock<State>>,
    /// The incremental updates' own connection (see [`Live::apply`]).
    writer: Arc<tokio::sync::OnceCell<Db>>,
    /// Incremental updates waiting for the next run.
    batch: Arc<Batcher>,
    /// Held by whoever writes results, taken while still holding the
    /// engine's lock: results transactions commit in the order their runs
    /// computed, while the next run may compute during this one's write.
    results: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

struct State {
    grid: Grid,
    /// Where the grid came from (the database or its snapshot file).
    grid_from: crate::snapshot::GridFrom,
    model: Model,
    source: CoverageSource,
    operators: Vec<(u8, String)>,
    bits: Vec<u8>,
    sites: Vec<Site>,
    index: HashMap<String, usize>,
    masks: Masks,
    /// The masks are a full stamp of the current sites and nothing has
    /// used that yet: set by [`Live::load`] (which stamps), taken by the
    /// first [`Live::recompute`], so a cold run stamps once, not twice.
    /// (Incremental updates keep the masks exact, but [`Live::compute`],
    /// the benchmark of a full recompute, always stamps.)
    stamped: bool,
    load_ms: f64,
    /// The last few [`Live::figures_at`] results, newest last: a date
    /// control asks for the same release dates over and over (map,
    /// municipality, district and region alike). Cleared when a site
    /// changes; the grid and releases change only with a new `Live`.
    dated: Vec<FiguresAt>,
    /// The coverage of the last date asked for in tiles (`?datetime=`):
    /// the reported layers then (`None`: the latest, `grid.reported`) and
    /// a stamp of the sites on air then. A map asks for many tiles of one
    /// date; cleared when a site changes.
    tile_at: Option<(chrono::NaiveDate, Option<[crate::grid::ReportedLayer; 2]>, Masks)>,
}

/// How many [`Live::figures_at`] results are kept (each ~400 × 2 figures).
const DATED_KEPT: usize = 8;

/// Which parts a full recompute writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recompute {
    /// Actual figures and LTE dead spots.
    pub actual: bool,
    /// Scenario figures (every planned/in-progress measure completed).
    pub scenario: bool,
    /// Rebuild the targets' monthly history.
    pub history: bool,
}

impl Default for Recompute {
    fn default() -> Self {
        Self { actual: true, scenario: true, history: true }
    }
}

/// What a computation did and how long each part took.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub source: CoverageSource,
    pub incremental: bool,
    /// Municipalities recomputed and written.
    pub municipalities: usize,
    /// Grid cells in the grid.
    pub cells: usize,
    /// Sites in memory.
    pub sites: usize,
    /// Dead spots written.
    pub dead_spots: usize,
    /// Coverage releases loaded (the history counts each in the months it
    /// is in force).
    pub releases: usize,
    pub load_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
    pub history_ms: f64,
    pub run_ids: Vec<i64>,
    pub computed_at: Option<DateTime<Utc>>,
    /// Incremental: how many calls (writes) this run served at once; 0 for
    /// a full recompute.
    pub batch_writes: usize,
}

/// The results of a full in-memory computation (no database).
#[derive(Debug, Clone)]
pub struct Computed {
    pub actual: Figures,
    pub scenario: Figures,
    pub dead_spots: Vec<DeadSpot>,
    /// Stamping, summing (actual and scenario) and tracing dead spots.
    pub compute_ms: f64,
    /// The parts of `compute_ms`.
    pub stamp_ms: f64,
    pub aggregate_ms: f64,
    pub dead_spots_ms: f64,
}

/// The figures of every municipality for a date ([`Live::figures_at`]).
#[derive(Debug, Clone)]
pub struct FiguresAt {
    /// The date asked for.
    pub date: chrono::NaiveDate,
    /// The source computed.
    pub source: CoverageSource,
    /// The release in force at `date` (`None`: before the first release, or
    /// reported coverage without releases, counted at every date).
    pub release: Option<chrono::NaiveDate>,
    /// AGS of each municipality, index of `figures`.
    pub ags: Vec<String>,
    /// Operators as `(bit, id)`, for the per-operator figures.
    pub operators: Vec<(u8, String)>,
    /// Per municipality (as `ags`) and technology (LTE, 5G) the actual
    /// figures at `date`.
    pub figures: Figures,
    /// Time of the computation.
    pub compute_ms: f64,
    /// Answered from the results kept of an earlier call (no site has
    /// changed since); `compute_ms` is then that call's.
    pub cached: bool,
}

impl FiguresAt {
    /// The figures of one municipality (LTE, 5G), if it has grid cells.
    #[must_use]
    pub fn get(&self, ags: &str) -> Option<&[crate::engine::TechFigures; 2]> {
        let i = self.ags.binary_search_by(|a| a.as_str().cmp(ags)).ok()?;
        self.figures.get(i)
    }
}

/// The source to use when none is given: `union` when a reported grid has
/// been imported, else `modelled`.
pub async fn default_source(db: &Db) -> Result<CoverageSource> {
    let c = db.conn().await?;
    let has: bool = c
        .query_one(include_str!("../sql/has_reported.sql"), &[])
        .await
        .and_then(|r| r.try_get("has"))
        .map_err(DbError::pg("checking for reported coverage"))?;
    Ok(if has { CoverageSource::Union } else { CoverageSource::Modelled })
}

impl Live {
    /// Load grid, model, operators and sites (the grid's three tables in
    /// concurrent streaming reads) and stamp the modelled coverage.
    /// `source: None` = [`default_source`].
    #[tracing::instrument(skip(db))]
    pub async fn load(db: &Db, source: Option<CoverageSource>) -> Result<Self> {
        Self::load_with(db, source, &load::GridOptions::default()).await
    }

    /// [`Live::load`] of the municipalities of `options.scope` (a state),
    /// through the grid snapshot in `options.snapshot_dir` when that is set
    /// (issue 24; [`crate::snapshot`]).
    #[tracing::instrument(skip(db, options))]
    pub async fn load_with(db: &Db, source: Option<CoverageSource>, options: &load::GridOptions) -> Result<Self> {
        let t0 = Instant::now();
        let source = match source {
            Some(s) => s,
            None => default_source(db).await?,
        };
        let rest = async {
            let c = db.conn().await?;
            let model = load::model(&c).await?;
            let operators = load::operators(&c).await?;
            let sites = load::sites(&c, None).await?;
            Ok::<_, crate::Error>((model, operators, sites))
        };
        let ((grid, grid_from), (model, operators, mut sites)) = tokio::try_join!(load::grid_with(db, options), rest)?;
        let bits: Vec<u8> = operators.iter().map(|(b, _)| *b).collect();
        let reach = model.radius_m.iter().flatten().fold(0.0f64, |a, &r| a.max(r)) + model.urban_density_radius_m;
        if grid.scope.is_some() && reach > f64::from(load::CONTEXT_MARGIN_CELLS) * 100.0 {
            tracing::warn!(
                reach_m = reach,
                margin_m = f64::from(load::CONTEXT_MARGIN_CELLS) * 100.0,
                "the largest radius plus the urban density radius exceeds the margin loaded around the state: \
                 sites near its border may be classified differently than in a grid of all states"
            );
        }
        let t_read = t0.elapsed().as_secs_f64() * 1e3;
        let (masks, classify_ms) = cpu(|| {
            let t = Instant::now();
            classify(&grid, &model, &mut sites);
            let classify_ms = t.elapsed().as_secs_f64() * 1e3;
            let mut masks = Masks::new(&grid);
            stamp(&grid, &model, &sites, &mut masks, Rect::all(&grid));
            (masks, classify_ms)
        });
        let index = sites.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        tracing::debug!(read_and_build_ms = t_read, classify_ms, stamp_ms = load_ms - t_read - classify_ms, "coverage grid load parts");
        tracing::info!(
            cells = grid.cells,
            sites = sites.len(),
            releases = grid.releases.dates().len(),
            release_changes = grid.releases.steps(),
            release_changes_mb = grid.releases.bytes() as f64 / 1e6,
            %source,
            %grid_from,
            load_ms,
            "coverage grid loaded"
        );
        Ok(Self {
            inner: Arc::new(RwLock::new(State {
                grid,
                grid_from,
                model,
                source,
                operators,
                bits,
                sites,
                index,
                masks,
                stamped: true,
                load_ms,
                dated: Vec::new(),
                tile_at: None,
            })),
            writer: Arc::default(),
            batch: Arc::default(),
            results: Arc::default(),
        })
    }

    /// Incremental updates asked for and engine runs that served them.
    pub fn update_counts(&self) -> UpdateCounts {
        self.batch.counts()
    }

    /// Where the grid was loaded from: the database, or the snapshot file
    /// built from exactly its current state (issue 24).
    pub async fn grid_from(&self) -> crate::snapshot::GridFrom {
        self.inner.read().await.grid_from
    }

    /// The source this handle computes.
    pub async fn source(&self) -> CoverageSource {
        self.inner.read().await.source
    }

    /// Compute everything in memory (stamp all sites, sum actual and
    /// scenario for every municipality, trace dead spots), writing nothing.
    /// This is the engine's full recompute with the grid in memory.
    pub async fn compute(&self) -> Computed {
        let mut st = self.inner.write().await;
        let st = &mut *st;
        cpu(|| compute_all(st, true))
    }

    /// The actual figures of every municipality at `date` with `source`:
    /// the reported coverage of the release in force at `date` and the
    /// sites on air at `date` (see [`crate::dated::figures_at`]), computed
    /// in memory, writing nothing. For `?as_of=` in the API: the current
    /// figures (stored by [`Live::recompute`]) are those at today's date.
    ///
    /// Holds the engine's lock while computing (a stamp of the sites on air
    /// then and one sum over the grid; for `reported`, the sum only). The
    /// last few results are kept (`cached` in the answer) until a site
    /// changes.
    #[tracing::instrument(skip(self))]
    pub async fn figures_at(&self, date: chrono::NaiveDate, source: CoverageSource) -> FiguresAt {
        let mut st = self.inner.write().await;
        if let Some(kept) = st.dated.iter().find(|f| f.date == date && f.source == source) {
            return FiguresAt { cached: true, ..kept.clone() };
        }
        let out = dated(&st, date, source);
        if st.dated.len() >= DATED_KEPT {
            st.dated.remove(0);
        }
        st.dated.push(out.clone());
        out
    }

    /// What changed in the municipality `ags` from `from` to `to` with
    /// `source` (see [`crate::changes::changes`]): for
    /// `GET /municipalities/{ags}/changes`. `None` for an AGS the grid does
    /// not know.
    #[tracing::instrument(skip(self))]
    pub async fn changes(&self, ags: &str, from: chrono::NaiveDate, to: chrono::NaiveDate, source: CoverageSource) -> Option<crate::changes::Changes> {
        let st = self.inner.read().await;
        let m = st.grid.muni_index(ags)?;
        Some(cpu(|| crate::changes::changes(&st.grid, &st.model, &st.sites, m, from, to, source)))
    }

    /// The figures of the municipality `ags` at every coverage release
    /// date with `source` (see [`crate::series::series`]), oldest first:
    /// the municipality page's chart over the releases. `None` for an AGS
    /// the grid does not know.
    #[tracing::instrument(skip(self))]
    pub async fn series(&self, ags: &str, source: CoverageSource) -> Option<Vec<crate::series::SeriesPoint>> {
        let st = self.inner.read().await;
        let m = st.grid.muni_index(ags)?;
        Some(cpu(|| crate::series::series(&st.grid, &st.model, &st.sites, m, source)))
    }

    /// [`Live::figures_at`] computed afresh, never from the results kept
    /// (and not kept): what `funkplan recompute --as-of DATE --repeat N`
    /// times.
    pub async fn compute_figures_at(&self, date: chrono::NaiveDate, source: CoverageSource) -> FiguresAt {
        let st = self.inner.read().await;
        dated(&st, date, source)
    }

    /// The dates of the coverage releases the engine has loaded, ascending.
    pub async fn release_dates(&self) -> Vec<chrono::NaiveDate> {
        self.inner.read().await.grid.releases.dates().to_vec()
    }

    /// Compare computed figures with the PostGIS reference (actual or
    /// scenario figures of `computed`); see [`crate::reference::compare`].
    pub async fn compare(&self, computed: &Computed, reference: &crate::reference::Reference, scenario: bool) -> crate::reference::Diff {
        let st = self.inner.read().await;
        let figs = if scenario { &computed.scenario } else { &computed.actual };
        crate::reference::compare(&st.grid.ags, &st.operators, figs, reference)
    }

    /// Full recompute: compute and write the chosen parts in one
    /// transaction, then rebuild the targets' history if asked.
    #[tracing::instrument(skip(self, db))]
    pub async fn recompute(&self, db: &Db, what: Recompute) -> Result<Stats> {
        let started_at = Utc::now();
        let mut st = self.inner.write().await;
        let st = &mut *st;
        let restamp = !std::mem::take(&mut st.stamped);
        let c = cpu(|| compute_all(st, restamp));
        // After the incremental runs computed before this one (see `results`).
        let _results = self.results.lock().await;
        let mut conn = db.conn().await?;
        let written = write(
            &mut conn,
            &st.grid,
            &st.operators,
            WriteSet {
                source: st.source,
                incremental: false,
                munis: None,
                actual: what.actual.then_some(&c.actual),
                scenario: what.scenario.then_some(&c.scenario),
                dead_spots: what.actual.then_some(c.dead_spots.as_slice()),
                cells: st.grid.cells as u64,
                load_ms: st.load_ms,
                compute_ms: c.compute_ms,
                started_at,
            },
        )
        .await?;
        drop(conn);
        let t_hist = Instant::now();
        if what.history {
            let today = Utc::now().date_naive();
            let months = funkplan_targets::history_months(db, today).await?;
            let t_replay = Instant::now();
            let points = cpu(|| crate::history::replay(&st.grid, &st.model, &st.sites, st.source, &months, today));
            tracing::debug!(
                months = months.len(),
                releases = st.grid.releases.dates().len(),
                replay_ms = t_replay.elapsed().as_secs_f64() * 1e3,
                "history replayed over the releases"
            );
            funkplan_targets::rebuild_history(db, Some(&points)).await?;
        }
        Ok(Stats {
            source: st.source,
            incremental: false,
            municipalities: written.municipalities,
            cells: st.grid.cells,
            sites: st.sites.len(),
            dead_spots: if what.actual { c.dead_spots.len() } else { 0 },
            releases: st.grid.releases.dates().len(),
            load_ms: st.load_ms,
            compute_ms: c.compute_ms,
            write_ms: written.write_ms,
            history_ms: if what.history { t_hist.elapsed().as_secs_f64() * 1e3 } else { 0.0 },
            run_ids: written.run_ids,
            computed_at: written.computed_at,
            batch_writes: 0,
        })
    }

    /// Re-read the given sites (new, changed, moved or deleted; after a
    /// measure write pass the measure's site), recompute the municipalities
    /// within reach of their old and new positions (the bounding box of the
    /// largest radius), and write those municipalities' actual and scenario
    /// figures and dead spots and the running month of the targets' history
    /// in one transaction.
    ///
    /// The sites are read under the engine's lock, so of two concurrent
    /// calls the later one reads the later state of a site both changed
    /// (its figures are then written last, too): no write is lost.
    ///
    /// Every target's running month is refreshed; for a committed write,
    /// [`Live::apply`] its [`Change`], which after a site write spares the
    /// counts of completed measures.
    ///
    /// Calls that arrive while an update runs are done together by the next
    /// run; each returns when the run that included its sites has committed
    /// (see [`Live::apply`]).
    pub async fn sites_changed(&self, db: &Db, site_ids: &[String]) -> Result<Stats> {
        self.join(db, site_ids, ChangeKind::Measures).await
    }

    /// Reflect a committed `change`: [`Live::sites_changed`] for its sites,
    /// refreshing the running month of the targets its kind can move (after
    /// [`ChangeKind::Sites`] not the counts of completed measures).
    ///
    /// Group commit: the call joins the pending changes; whoever then gets
    /// the engine (the leader) takes every change pending at that moment and
    /// does them in one engine run and one results transaction (the union
    /// of their sites, every target if any was a [`ChangeKind::Measures`]),
    /// then answers each of their callers. A call returns only after the
    /// run that included its sites has committed; the [`Stats`] are that
    /// run's (`batch_writes` says how many calls it served), an error of
    /// that run reaches each of them ([`Error::Batch`] when it served more
    /// than one).
    ///
    /// The work runs in a task of its own, so it goes on when the caller
    /// stops waiting (a client hanging up): the write has committed and
    /// its figures, and those of the writes grouped with it, must follow.
    ///
    /// # Errors
    /// The run's error: reading the sites, writing the figures or the
    /// targets' running month.
    pub async fn apply(&self, db: &Db, change: &Change) -> Result<Stats> {
        self.join(db, &change.site_ids(), change.kind).await
    }

    /// The engine's own connection for updates (to `db`'s database),
    /// opened on first use.
    async fn writer(&self, db: &Db) -> Result<&Db> {
        Ok(self
            .writer
            // Two: a run reads its sites while the run before it writes.
            .get_or_try_init(|| async { Db::connect(db.url(), &PoolOptions { max_size: 2, ..PoolOptions::default() }).await })
            .await?)
    }

    /// Open the update connection and prepare what an update runs on it,
    /// before the first write arrives: a server calls this at start-up so
    /// that its first write is as quick as the others (cold, the first one
    /// took some 25 ms more: connecting, parsing and planning the results
    /// statements, the backend's first look at the tables). Writes nothing.
    ///
    /// # Errors
    /// When the connection cannot be opened or a statement not prepared.
    pub async fn warm_up(&self, db: &Db) -> Result<()> {
        // Both connections of the pool (held at once, so both are opened).
        let writer = self.writer(db).await?;
        let conns = tokio::try_join!(writer.conn(), writer.conn())?;
        for conn in [&conns.0, &conns.1] {
            crate::write::prepare(conn).await?;
            // The site read and the targets' definitions, as an update runs
            // them: no site, nothing written.
            load::sites(conn, Some(&[])).await?;
            funkplan_targets::running_month(&***conn, ChangeKind::Measures).await?;
        }
        Ok(())
    }

    /// The group commit of [`Live::apply`] and [`Live::sites_changed`].
    #[tracing::instrument(skip(self, db))]
    async fn join(&self, db: &Db, site_ids: &[String], which: ChangeKind) -> Result<Stats> {
        let (live, db) = (self.clone(), db.clone());
        let rx = self.batch.join(site_ids, which);
        tokio::spawn(async move { live.lead_or_follow(&db, rx).await })
            .await
            .map_err(|e| Error::Data(format!("the incremental coverage update stopped: {e}")))?
    }

    /// Wait for the run that takes our change, or become the run: the
    /// engine's lock is handed over in arrival order (tokio's lock is fair),
    /// and the first caller to get it after a run does everything pending.
    ///
    /// A run computes under the engine's write lock, then takes the results
    /// lock and lets go of the engine (read lock first, so readers go on
    /// while it waits for the previous run's write), and writes: the next
    /// run computes while this one writes, and the results still commit in
    /// the order the runs computed them.
    async fn lead_or_follow(&self, db: &Db, mut rx: tokio::sync::oneshot::Receiver<Outcome>) -> Result<Stats> {
        let mut st = tokio::select! {
            biased;
            done = &mut rx => return answer(done),
            st = self.inner.write() => st,
        };
        // A run finished with our change before we got the lock.
        if let Ok(done) = rx.try_recv() {
            return answer(Ok(done));
        }
        let Some(batch) = self.batch.take() else {
            // A run that let go of the engine took our change and is still
            // writing: its answer is ours.
            drop(st);
            return answer(rx.await);
        };
        let staged = self.stage(&mut st, db, &batch).await;
        let st = st.downgrade();
        let results = self.results.lock().await;
        drop(st);
        let outcome = match staged {
            Ok(staged) => self.commit(db, staged, batch.which).await,
            Err(e) => Err(e),
        };
        batch.finish(outcome);
        drop(results);
        answer(rx.await)
    }

    /// The engine's part of an incremental run for a batch: re-read its
    /// sites, re-stamp around their old and new positions, re-sum the
    /// municipalities in reach, and build the results to write.
    async fn stage(&self, st: &mut State, db: &Db, batch: &Batch) -> Result<StagedRun> {
        let site_ids = batch.site_ids.as_slice();
        let started_at = Utc::now();
        let t0 = Instant::now();
        // The engine's own connections (to `db`'s database, opened on first
        // use): one warm backend with the statements prepared once beats
        // taking turns through the shared pool, where every pooled
        // connection would prepare them and warm its catalog caches on its
        // first update.
        let conn = self.writer(db).await?.conn().await?;
        // The sites change: figures kept for other dates no longer hold.
        st.dated.clear();
        st.tile_at = None;
        let fresh = load::sites(&conn, Some(site_ids)).await?;
        drop(conn);
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let t1 = Instant::now();
        let (staged, spots, parts) = cpu(|| {
            let (boxes, near_sites) = replace_and_restamp(st, site_ids, fresh);
            let mut flags = vec![false; st.grid.ags.len()];
            for b in &boxes {
                munis_in(&st.grid, *b, &mut flags);
            }
            let stamp_ms = t1.elapsed().as_secs_f64() * 1e3;
            let own = muni_boxes(&st.grid, &flags);
            let (actual, scenario) = aggregate_flagged(&st.grid, &st.masks, &st.bits, st.source, &flags, &own);
            let aggregate_ms = t1.elapsed().as_secs_f64() * 1e3 - stamp_ms;
            let spots = dead_spots_flagged(&st.grid, &st.masks, st.source, &own);
            let area = |r: Rect| (r.r1 - r.r0) * (r.c1 - r.c0);
            let touched: usize = boxes.iter().map(|b| area(*b)).sum();
            let region: usize = own.iter().map(|(r, _)| area(*r)).sum();
            let compute_ms = t1.elapsed().as_secs_f64() * 1e3;
            let staged = crate::write::Staged::new(
                &st.grid,
                &st.operators,
                WriteSet {
                    source: st.source,
                    incremental: true,
                    munis: Some(&flags),
                    actual: Some(&actual),
                    scenario: Some(&scenario),
                    dead_spots: Some(&spots),
                    cells: st.grid.cells as u64,
                    load_ms,
                    compute_ms,
                    started_at,
                },
            );
            (staged, spots.len(), (stamp_ms, aggregate_ms, compute_ms, near_sites, touched, region))
        });
        let (stamp_ms, aggregate_ms, compute_ms, near_sites, touched_cells, region_cells) = parts;
        tracing::debug!(
            load_ms,
            stamp_ms,
            aggregate_ms,
            dead_spots_ms = compute_ms - stamp_ms - aggregate_ms,
            near_sites,
            touched_cells,
            region_cells,
            sites = site_ids.len(),
            writes = batch.writes(),
            "incremental update computed"
        );
        Ok(StagedRun {
            staged,
            source: st.source,
            cells: st.grid.cells,
            sites: st.sites.len(),
            dead_spots: spots,
            releases: st.grid.releases.dates().len(),
            load_ms,
            compute_ms,
            writes: batch.writes(),
        })
    }

    /// The database's part of an incremental run: its results and the
    /// targets' running month in one transaction.
    async fn commit(&self, db: &Db, run: StagedRun, which: ChangeKind) -> Result<Stats> {
        let mut conn = self.writer(db).await?.conn().await?;
        let written = crate::write::send(&mut conn, &run.staged, Some((run.staged_on(), which))).await?;
        drop(conn);
        tracing::debug!(write_ms = written.write_ms, municipalities = written.municipalities, writes = run.writes, "incremental update written");
        Ok(Stats {
            source: run.source,
            incremental: true,
            municipalities: written.municipalities,
            cells: run.cells,
            sites: run.sites,
            dead_spots: run.dead_spots,
            releases: run.releases,
            load_ms: run.load_ms,
            compute_ms: run.compute_ms,
            write_ms: written.write_ms,
            // The running month is written with the figures (in write_ms).
            history_ms: 0.0,
            run_ids: written.run_ids,
            computed_at: written.computed_at,
            batch_writes: run.writes,
        })
    }
}

/// An incremental run computed and waiting for its write.
struct StagedRun {
    staged: crate::write::Staged,
    source: CoverageSource,
    cells: usize,
    sites: usize,
    dead_spots: usize,
    releases: usize,
    load_ms: f64,
    compute_ms: f64,
    writes: usize,
}

impl StagedRun {
    /// The day the run started: the targets' running month is that day's.
    fn staged_on(&self) -> chrono::NaiveDate {
        self.staged.started_at().date_naive()
    }
}

/// Put the `fresh` state of `site_ids` into the engine (a site missing
/// from `fresh` was deleted) and re-stamp the cells within reach of their
/// old and new disks. Returns the re-stamped boxes and how many sites took
/// part in stamping them.
fn replace_and_restamp(st: &mut State, site_ids: &[String], fresh: Vec<Site>) -> (Vec<Rect>, usize) {
    let model = st.model;
    let reach = |s: &Site| own_reach(&model, s);
    // The boxes within reach of each site's old and new disks (kept
    // apart: a batch of writes spread over the state would otherwise
    // re-stamp the box around all of them).
    let mut boxes = Vec::with_capacity(2 * site_ids.len());
    let mut fresh_by_id: HashMap<String, Site> = fresh.into_iter().map(|s| (s.id.clone(), s)).collect();
    for id in site_ids {
        if let Some(&i) = st.index.get(id) {
            let old = &st.sites[i];
            boxes.push(Rect::around(&st.grid, old.x, old.y, reach(old)));
        }
        match fresh_by_id.remove(id) {
            Some(mut s) => {
                s.urban = is_urban(&st.grid, &st.model, s.x, s.y);
                boxes.push(Rect::around(&st.grid, s.x, s.y, reach(&s)));
                match st.index.get(id) {
                    Some(&i) => st.sites[i] = s,
                    None => {
                        st.index.insert(id.clone(), st.sites.len());
                        st.sites.push(s);
                    }
                }
            }
            None => {
                if let Some(i) = st.index.remove(id) {
                    st.sites.swap_remove(i);
                    if let Some(moved) = st.sites.get(i) {
                        st.index.insert(moved.id.clone(), i);
                    }
                }
            }
        }
    }
    let boxes = disjoint(boxes);
    // Only cells within reach of a changed site can change their operator
    // sets: re-stamp those boxes. Only the sites whose largest disk can
    // reach a box take part (stamp clears the box and ORs in the runs of
    // the sites it is given; a site farther away has none there): a few
    // hundred instead of every site of the state.
    let mut near: Vec<Vec<Site>> = vec![Vec::new(); boxes.len()];
    let hull = boxes.iter().fold(Rect { r0: 0, r1: 0, c0: 0, c1: 0 }, |h, b| h.union(*b));
    for s in &st.sites {
        let r = Rect::around(&st.grid, s.x, s.y, reach(s));
        if !overlap(r, hull) {
            continue;
        }
        for (b, n) in boxes.iter().zip(&mut near) {
            if overlap(r, *b) {
                n.push(s.clone());
            }
        }
    }
    for (b, n) in boxes.iter().zip(&near) {
        stamp(&st.grid, &st.model, n, &mut st.masks, *b);
    }
    (boxes, near.iter().map(Vec::len).sum())
}

impl Live {
    /// Take in sites another process changed and reflected already (issue
    /// 25: another `serve` node took the write, and its engine wrote the
    /// figures): re-read them and re-stamp around them, so this engine's
    /// tiles and dated figures agree, without writing anything. Idempotent:
    /// it reads the sites' current rows, so following a change twice, or
    /// one this engine applied itself, leaves the same state (and sites
    /// already as the engine holds them are not re-stamped at all).
    /// Returns how many boxes were re-stamped.
    ///
    /// # Errors
    /// When the sites cannot be read.
    pub async fn follow(&self, db: &Db, site_ids: &[String]) -> Result<usize> {
        if site_ids.is_empty() {
            return Ok(0);
        }
        let conn = db.conn().await?;
        let mut st = self.inner.write().await;
        let fresh = load::sites(&conn, Some(site_ids)).await?;
        drop(conn);
        let st = &mut *st;
        // Sites whose row equals what the engine holds (this engine applied
        // the write itself, or followed it already) need no re-stamp.
        let mut fresh = fresh;
        for s in &mut fresh {
            s.urban = is_urban(&st.grid, &st.model, s.x, s.y);
        }
        let same = |id: &String| {
            let held = st.index.get(id).map(|&i| &st.sites[i]);
            let now = fresh.iter().find(|s| &s.id == id);
            held == now
        };
        let changed: Vec<String> = site_ids.iter().filter(|id| !same(id)).cloned().collect();
        if changed.is_empty() {
            return Ok(0);
        }
        st.dated.clear();
        st.tile_at = None;
        let (boxes, _) = cpu(|| replace_and_restamp(st, &changed, fresh));
        Ok(boxes.len())
    }
}

/// Tiles (issue 17): the cells and blocks of a rectangle from memory.
impl Live {
    /// The cells of `area` as `view` has them (see [`crate::tiles`]).
    #[tracing::instrument(skip(self))]
    pub async fn tile_cells(&self, area: crate::tiles::CellArea, view: crate::tiles::View) -> crate::tiles::TileData<crate::tiles::CellState> {
        self.tile_view(view, |g, layers, masks, source, scenario| crate::tiles::cells_in(g, layers, masks, source, scenario, area)).await
    }

    /// The blocks of `size × size` cells of `area` as `view` has them.
    #[tracing::instrument(skip(self))]
    pub async fn tile_blocks(&self, area: crate::tiles::CellArea, size: i32, view: crate::tiles::View) -> crate::tiles::TileData<crate::tiles::BlockSums> {
        self.tile_view(view, |g, layers, masks, source, scenario| crate::tiles::blocks_in(g, layers, masks, source, scenario, area, size)).await
    }

    /// Run `f` on the grid, layers and masks of `view` under the engine's
    /// lock (for a date: computed once and kept for the next tiles).
    async fn tile_view<T>(
        &self,
        view: crate::tiles::View,
        f: impl FnOnce(&Grid, &[crate::grid::ReportedLayer; 2], &Masks, CoverageSource, bool) -> Vec<T>,
    ) -> crate::tiles::TileData<T> {
        use crate::tiles::View;
        // Tiles only read the engine: many at once under the read lock (a
        // map asks for a dozen tiles per view). Only the masks of another
        // date are built under the write lock, once per date.
        if let View::At(date) = view {
            if self.inner.read().await.tile_at.as_ref().is_none_or(|(d, _, _)| *d != date) {
                let mut st = self.inner.write().await;
                let st = &mut *st;
                if st.tile_at.as_ref().is_none_or(|(d, _, _)| *d != date) {
                    let (layers, masks) = cpu(|| state_at(st, date));
                    st.tile_at = Some((date, layers, masks));
                }
            }
        }
        let st = self.inner.read().await;
        let (release, items) = match view {
            View::Actual | View::Scenario => {
                let items = cpu(|| f(&st.grid, &st.grid.reported, &st.masks, st.source, view == View::Scenario));
                (st.grid.releases.dates().last().copied(), items)
            }
            View::At(date) => {
                let release = st.grid.releases.release_at(date);
                // Another date's tile may have replaced the masks between
                // the locks: then this one is built from scratch here.
                let items = match &st.tile_at {
                    Some((d, layers, masks)) if *d == date => {
                        cpu(|| f(&st.grid, layers.as_ref().unwrap_or(&st.grid.reported), masks, st.source, false))
                    }
                    _ => cpu(|| {
                        let (layers, masks) = state_at(&st, date);
                        f(&st.grid, layers.as_ref().unwrap_or(&st.grid.reported), &masks, st.source, false)
                    }),
                };
                (release, items)
            }
        };
        crate::tiles::TileData { source: st.source, release, operators: st.operators.clone(), items }
    }
}

/// The reported layers (`None`: the latest, the grid's own) and the masks
/// of the sites on air at `date`: what a tile of that date is cut from.
fn state_at(st: &State, date: chrono::NaiveDate) -> (Option<[crate::grid::ReportedLayer; 2]>, Masks) {
    let grid = &st.grid;
    let layers = match grid.releases.layers_at(&grid.reported, grid.slots(), date) {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(l) => Some(l),
    };
    let mut masks = Masks::new(grid);
    if st.source != CoverageSource::Reported {
        stamp(grid, &st.model, &crate::dated::sites_at(&st.sites, date), &mut masks, Rect::all(grid));
    }
    (layers, masks)
}

/// How far a site's disks reach: the largest radius of the technologies it
/// has on air or in the scenario, in its setting (as `stamp` draws them).
/// A change of the site can change no cell farther away, and no other
/// site's disks reach farther than its own value of this.
fn own_reach(model: &crate::model::Model, s: &Site) -> f64 {
    (0..2)
        .filter(|&t| s.on_air[t] || s.scenario[t])
        .map(|t| model.radius_m[t][usize::from(s.urban)])
        .fold(0.0, f64::max)
}

/// Do two boxes share a cell?
fn overlap(a: Rect, b: Rect) -> bool {
    a.r0 < b.r1 && b.r0 < a.r1 && a.c0 < b.c1 && b.c0 < a.c1
}

/// The `flags`ed municipalities by box: each municipality's bounding box,
/// the boxes merged until none overlap, each with the municipalities that
/// lie in it. Writes spread over the state flag municipalities far apart,
/// and the one box around all of them was nearly the whole raster (NRW, a
/// batch of 22 writes: 4.0 M slots summed, 86 ms of the batch's 240 ms)
/// where their own boxes hold a fraction of it.
fn muni_boxes(grid: &Grid, flags: &[bool]) -> Vec<(Rect, Vec<bool>)> {
    let boxes: Vec<(usize, Rect)> = (0..flags.len())
        .filter(|&m| flags[m])
        .filter_map(|m| Rect::of_muni(grid, m).map(|r| (m, r)))
        .collect();
    disjoint(boxes.iter().map(|(_, r)| *r).collect())
        .into_iter()
        .map(|rect| {
            let mut own = vec![false; flags.len()];
            for (m, r) in &boxes {
                own[*m] = rect.contains(r);
            }
            (rect, own)
        })
        .collect()
}

/// Actual and scenario figures of the municipalities of `boxes` (see
/// [`muni_boxes`]; the others zero), summed box by box.
fn aggregate_flagged(
    grid: &Grid,
    masks: &Masks,
    bits: &[u8],
    source: CoverageSource,
    flags: &[bool],
    boxes: &[(Rect, Vec<bool>)],
) -> (Figures, Figures) {
    let mut out: Option<(Figures, Figures)> = None;
    for (rect, own) in boxes {
        let scope = Scope {
            source,
            scenario: false,
            munis: Some(own),
            region: *rect,
        };
        let (a, s) = aggregate_pair(grid, masks, bits, scope);
        match &mut out {
            None => out = Some((a, s)),
            Some((oa, os)) => {
                for m in (0..own.len()).filter(|&m| own[m]) {
                    oa[m] = a[m].clone();
                    os[m] = s[m].clone();
                }
            }
        }
    }
    out.unwrap_or_else(|| {
        // Nothing flagged: every municipality's figures zero, as one empty box sums them.
        let scope = Scope {
            source,
            scenario: false,
            munis: Some(flags),
            region: munis_rect(grid, flags),
        };
        aggregate_pair(grid, masks, bits, scope)
    })
}

/// The dead spots of the municipalities of `boxes`, traced box by box:
/// a dead spot lies within its municipality, and a municipality within
/// one box, so each box's spots are those the whole raster would give
/// (numbered alike: a municipality's spots are found in the same row-major
/// order inside its box as in the raster).
fn dead_spots_flagged(grid: &Grid, masks: &Masks, source: CoverageSource, boxes: &[(Rect, Vec<bool>)]) -> Vec<DeadSpot> {
    boxes.iter().flat_map(|(rect, own)| dead_spots(grid, masks, source, Some(own), *rect)).collect()
}

/// The boxes merged into bounding boxes until no two overlap, so that each
/// cell is re-stamped once (empty boxes dropped).
fn disjoint(boxes: Vec<Rect>) -> Vec<Rect> {
    let mut out: Vec<Rect> = Vec::with_capacity(boxes.len());
    for mut b in boxes.into_iter().filter(|b| !b.is_empty()) {
        // Swallow every box b overlaps; grown, it may overlap others.
        while let Some(i) = out.iter().position(|o| overlap(*o, b)) {
            b = b.union(out.swap_remove(i));
        }
        out.push(b);
    }
    out
}

/// A waiter's answer as the caller's result.
fn answer(done: std::result::Result<Outcome, tokio::sync::oneshot::error::RecvError>) -> Result<Stats> {
    done.unwrap_or_else(|_| Err(Error::Data("the incremental update that took this change ended without an answer".into())))
}

/// The figures at a date, computed (see [`Live::figures_at`]).
fn dated(st: &State, date: chrono::NaiveDate, source: CoverageSource) -> FiguresAt {
    let t = Instant::now();
    let figures = cpu(|| crate::dated::figures_at(&st.grid, &st.model, &st.sites, &st.bits, date, source));
    let compute_ms = t.elapsed().as_secs_f64() * 1e3;
    tracing::debug!(compute_ms, "figures at a date");
    FiguresAt {
        date,
        source,
        release: st.grid.releases.release_at(date),
        ags: st.grid.ags.clone(),
        operators: st.operators.clone(),
        figures,
        compute_ms,
        cached: false,
    }
}

/// Stamp (unless the masks are known to be a fresh full stamp), sum and
/// trace dead spots for the whole grid.
fn compute_all(st: &mut State, restamp: bool) -> Computed {
    let t = Instant::now();
    let all = Rect::all(&st.grid);
    st.stamped = false;
    if restamp {
        stamp(&st.grid, &st.model, &st.sites, &mut st.masks, all);
    }
    let t_stamp = t.elapsed().as_secs_f64() * 1e3;
    let scope = Scope { source: st.source, scenario: false, munis: None, region: all };
    let (actual, scenario) = aggregate_pair(&st.grid, &st.masks, &st.bits, scope);
    let t_agg = t.elapsed().as_secs_f64() * 1e3;
    let dead_spots = dead_spots(&st.grid, &st.masks, st.source, None, all);
    let compute_ms = t.elapsed().as_secs_f64() * 1e3;
    tracing::debug!(stamp_ms = t_stamp, aggregate_ms = t_agg - t_stamp, dead_spots_ms = compute_ms - t_agg, "full computation");
    Computed {
        actual,
        scenario,
        dead_spots,
        compute_ms,
        stamp_ms: t_stamp,
        aggregate_ms: t_agg - t_stamp,
        dead_spots_ms: compute_ms - t_agg,
    }
}

/// The dead-spot planner on the loaded engine (issue 23).
impl Live {
    /// A plan on the engine's grid, sites and masks as they are now (the
    /// scenario is the baseline: what planned measures will close is not
    /// open). Writes nothing; holds the engine's lock while it runs, which
    /// the planner's up-front time limit keeps short.
    ///
    /// # Errors
    /// A [`crate::planner::PlanError`] naming what is wrong with the request.
    pub async fn plan(&self, req: &crate::planner::PlanRequest) -> std::result::Result<crate::planner::Plan, crate::planner::PlanError> {
        let st = self.inner.read().await;
        let inputs = crate::planner::Inputs { grid: &st.grid, model: &st.model, source: st.source, sites: &st.sites, masks: &st.masks, operators: &st.operators };
        cpu(|| crate::planner::plan(inputs, req))
    }

    /// The planner's PostGIS reference on the same input: the candidates
    /// the engine would consider (given or generated), judged in SQL
    /// ([`crate::planner::reference`]). Any operator, no grey cells.
    ///
    /// # Errors
    /// The request's own error, or a database error.
    pub async fn plan_reference(&self, db: &Db, req: &crate::planner::PlanRequest) -> Result<crate::planner::reference::RefPlan> {
        let (cands, source) = {
            let st = self.inner.read().await;
            let inputs = crate::planner::Inputs { grid: &st.grid, model: &st.model, source: st.source, sites: &st.sites, masks: &st.masks, operators: &st.operators };
            (cpu(|| crate::planner::candidates(inputs, req)).map_err(|e| Error::Data(e.to_string()))?, st.source)
        };
        if req.operator.is_some() || req.count_grey {
            return Err(Error::Data("the planner's PostGIS reference plans for any operator without grey cells".into()));
        }
        crate::planner::reference::reference_plan(db, req.technology.as_str(), &req.scope, source, req.objective.name(), &cands, req.budget).await
    }

    /// The operators `(bit, id)` the engine was loaded with.
    pub async fn operators(&self) -> Vec<(u8, String)> {
        self.inner.read().await.operators.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::{disjoint, overlap, Rect};

    fn r(r0: usize, r1: usize, c0: usize, c1: usize) -> Rect {
        Rect { r0, r1, c0, c1 }
    }

    #[test]
    fn boxes_are_merged_until_none_overlap() {
        // a and c are apart; b joins them; d stays alone; the empty box goes.
        let (a, b, c, d) = (r(0, 10, 0, 10), r(5, 25, 5, 25), r(20, 30, 20, 30), r(50, 60, 0, 10));
        let mut out = disjoint(vec![a, c, r(3, 3, 0, 9), d, b]);
        out.sort_by_key(|x| (x.r0, x.c0));
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!((out[0].r0, out[0].r1, out[0].c0, out[0].c1), (0, 30, 0, 30));
        assert_eq!((out[1].r0, out[1].r1, out[1].c0, out[1].c1), (50, 60, 0, 10));
        // Boxes that only touch stay apart.
        assert_eq!(disjoint(vec![r(0, 10, 0, 10), r(10, 20, 0, 10)]).len(), 2);
        assert!(!overlap(r(0, 10, 0, 10), r(10, 20, 0, 10)));
    }
}

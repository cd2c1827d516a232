//! The link from a committed write to the coverage engine.
//!
//! The API does not compute coverage; after a site or measure write has
//! committed it tells whoever does (the integrator wires the engine in
//! `funkplan serve`) what changed, as a [`Change`], and waits for it before
//! answering, so that the client's next read already shows the new figures.
//! A failing hook is logged, never returned: the write itself has been
//! committed.

use chrono::NaiveDate;
use funkplan_model::{Change, CoverageSource};
use funkplan_tiles::coverage::{Block, Cell};
use funkplan_tiles::CellRect;
use futures_util::future::BoxFuture;

/// Why the hook could not reflect a change; the cause is kept (the engine's
/// error with its database error inside), so the log shows the whole chain.
pub type HookError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Called after every committed site or measure write.
pub trait CoverageHook: Send + Sync + 'static {
    /// `change` committed: its sites' coverage may have moved, and for
    /// [`funkplan_model::ChangeKind::Measures`] also the counts of
    /// completed measures (a site write never changes those, so their
    /// targets may be left alone then). Resolves when the figures and
    /// target values in the database reflect the change.
    fn changed(&self, change: Change) -> BoxFuture<'static, Result<(), HookError>>;

    /// The figures of the municipality `ags` at `date`: the coverage
    /// release in force then combined with the sites on air by then
    /// (issue 16). `Ok(None)` for an AGS without grid cells. Without an
    /// engine (the default) there are none: the API answers 503.
    fn figures_at(&self, ags: String, date: NaiveDate) -> BoxFuture<'static, Result<Option<DatedFigures>, HookError>> {
        let _ = (ags, date);
        Box::pin(async { Err(HookError::from("figures for a date need the coverage engine of `funkplan serve`")) })
    }

    /// Every municipality's figures at `date`, as [`CoverageHook::figures_at`].
    fn coverage_at(&self, date: NaiveDate) -> BoxFuture<'static, Result<DatedAll, HookError>> {
        let _ = date;
        Box::pin(async { Err(HookError::from("figures for a date need the coverage engine of `funkplan serve`")) })
    }

    /// The grid cells in `area` with their coverage in `view`, for the
    /// `coverage` tiles (issue 17), from the engine's memory.
    fn tile_cells(&self, area: CellRect, view: TileView) -> BoxFuture<'static, Result<TileCells, HookError>> {
        let _ = (area, view);
        Box::pin(async { Err(HookError::from("coverage tiles need the coverage engine of `funkplan serve`")) })
    }

    /// The cells in `area` summed into aligned blocks of `size × size`
    /// cells, for the `coverage` tiles below the cell zoom.
    fn tile_blocks(&self, area: CellRect, size: i32, view: TileView) -> BoxFuture<'static, Result<TileBlocks, HookError>> {
        let _ = (area, size, view);
        Box::pin(async { Err(HookError::from("coverage tiles need the coverage engine of `funkplan serve`")) })
    }
}

/// Which coverage a tile shows (issue 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileView {
    /// Now.
    Actual,
    /// Every planned and in-progress measure completed.
    Scenario,
    /// The release in force at the date with the sites on air then.
    At(NaiveDate),
}

/// The engine's cells for a tile.
#[derive(Debug, Clone)]
pub struct TileCells {
    /// What the counts count.
    pub source: CoverageSource,
    /// The release whose reported coverage counts.
    pub release: Option<NaiveDate>,
    /// Operators as `(bit, id)`, to name the sets.
    pub operators: Vec<(u8, String)>,
    /// The cells.
    pub cells: Vec<Cell>,
}

/// The engine's blocks for a tile.
#[derive(Debug, Clone)]
pub struct TileBlocks {
    /// What the sums count.
    pub source: CoverageSource,
    /// The release whose reported coverage counts.
    pub release: Option<NaiveDate>,
    /// The blocks.
    pub blocks: Vec<Block>,
}

/// Every municipality's figures at a date, computed by the engine (for the
/// map's date control).
#[derive(Debug, Clone, PartialEq)]
pub struct DatedAll {
    /// The date asked for.
    pub date: NaiveDate,
    /// The coverage release in force at `date` (None: none yet).
    pub release: Option<NaiveDate>,
    /// What the figures count.
    pub source: CoverageSource,
    /// Per municipality with grid cells: AGS, LTE, 5G; in AGS order.
    pub municipalities: Vec<(String, DatedTech, DatedTech)>,
}

/// A municipality's figures at a date, computed by the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct DatedFigures {
    /// The date asked for.
    pub date: NaiveDate,
    /// The coverage release in force at `date` (None: none yet).
    pub release: Option<NaiveDate>,
    /// What the figures count: the release, the modelled sites, or both.
    pub source: CoverageSource,
    /// LTE.
    pub lte: DatedTech,
    /// 5G.
    pub nr: DatedTech,
}

/// One technology's counts at a date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatedTech {
    /// Households in the municipality.
    pub households: f64,
    /// Households covered by at least one operator.
    pub households_covered: f64,
    /// Grid cells.
    pub cells: u32,
    /// Cells covered by at least one operator.
    pub cells_covered: u32,
    /// Cells with no operator.
    pub dead_cells: u32,
    /// Cells with exactly one operator.
    pub grey_cells: u32,
}

/// `e` and its causes, `: `-separated, for one log line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

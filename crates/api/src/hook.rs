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

    /// The figures of the municipality `ags` at each coverage release date
    /// (oldest first), as [`CoverageHook::figures_at`] would give them for
    /// those dates. `Ok(None)` for an AGS without grid cells.
    fn series(&self, ags: String) -> BoxFuture<'static, Result<Option<DatedSeries>, HookError>> {
        let _ = ags;
        Box::pin(async { Err(HookError::from("figures for a date need the coverage engine of `funkplan serve`")) })
    }

    /// A dead-spot closing plan (issue 23) for `req`, as the JSON of
    /// `funkplan plan --json` (ranked sites, cumulative curve, GeoJSON).
    /// [`PlanFailure::Invalid`] for a request the planner refuses (bad
    /// candidates, budget, scope, operator, or too long by its estimate).
    fn plan(&self, req: PlanBody) -> BoxFuture<'static, Result<serde_json::Value, PlanFailure>> {
        let _ = req;
        Box::pin(async { Err(PlanFailure::Engine(HookError::from("plans need the coverage engine of `funkplan serve`"))) })
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

/// A municipality's figures at each coverage release, computed by the
/// engine (for the municipality page's chart).
#[derive(Debug, Clone, PartialEq)]
pub struct DatedSeries {
    /// What the figures count.
    pub source: CoverageSource,
    /// Per release date, oldest first: the date, LTE, 5G.
    pub points: Vec<(NaiveDate, DatedTech, DatedTech)>,
}

/// Why a plan was not made.
#[derive(Debug)]
pub enum PlanFailure {
    /// The request is wrong; the text says where and why (422).
    Invalid(String),
    /// The engine failed or is missing (503).
    Engine(HookError),
}

/// A plan request (`POST /api/v1/plans`), the CLI's `funkplan plan`
/// options as JSON.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// `lte` or `5g`.
    #[schema(example = "lte")]
    pub technology: String,
    /// `households` (newly covered), `area` (km² closed) or `mix`.
    #[serde(default = "default_objective")]
    #[schema(example = "households")]
    pub objective: String,
    /// With `mix`: the weight of households, 0..1.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// How many sites to choose.
    #[schema(example = 50)]
    pub budget: usize,
    /// AGS prefix: `05` (state), 3 digits (region), 5 (district), 8
    /// (municipality). A municipality's token may plan for its own AGS only.
    #[serde(default = "default_scope")]
    #[schema(example = "05958")]
    pub scope: String,
    /// Close this operator's own gaps; absent = dead spots (no operator).
    #[serde(default)]
    pub operator: Option<String>,
    /// Also count grey cells (one operator) turning to two.
    #[serde(default)]
    pub count_grey: bool,
    /// Candidates; absent = a generated lattice (`lattice_m`) plus existing
    /// sites to share or upgrade.
    #[serde(default)]
    pub candidates: Option<Vec<PlanCandidate>>,
    /// Lattice spacing in metres when no candidates are given (500).
    #[serde(default)]
    pub lattice_m: Option<f64>,
    /// Put the chosen sites into the scenario as planned sites and measures
    /// (through the audited write path), so figures and targets show them.
    #[serde(default)]
    pub as_scenario: bool,
}

fn default_objective() -> String {
    "households".into()
}
fn default_weight() -> f64 {
    0.5
}
fn default_scope() -> String {
    "05".into()
}

/// One candidate site of a plan request (the CSV's columns).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanCandidate {
    /// Unique within the request.
    pub candidate_id: String,
    /// Operator id; absent = whichever operator builds it.
    #[serde(default)]
    pub operator: Option<String>,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// `lte` or `5g`.
    pub technology: String,
    /// Radius in metres (else the model's).
    #[serde(default)]
    pub radius_m: Option<f64>,
    /// `urban` or `rural`: the model's radius of that class.
    #[serde(default)]
    pub radius_class: Option<String>,
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

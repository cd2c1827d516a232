//! Figures for any date (issue 16): the reported coverage of the release in
//! force at that date combined with the modelled coverage of the sites on
//! air at that date.
//!
//! "On air at a date" is the history's rule ([`crate::history`]): a site
//! technology on air now counts from its `since` date on (no date: from the
//! start); decommissioned sites never count (their off-air date is not
//! recorded). The scenario has no meaning for a past date and is not
//! computed.

use chrono::NaiveDate;
use funkplan_model::CoverageSource;

use crate::engine::{aggregate_with, stamp, Figures, Masks, Rect, Scope};
use crate::grid::Grid;
use crate::model::{Model, Site};

/// The sites as on air at `date`: each technology on air now and on air
/// since `date` or earlier (or with no date), with nothing in the scenario
/// beyond that (so a stamp of them has empty `extra` masks).
#[must_use]
pub fn sites_at(sites: &[Site], date: NaiveDate) -> Vec<Site> {
    sites
        .iter()
        .filter_map(|s| {
            let on = [0, 1].map(|t| s.on_air[t] && s.since[t].is_none_or(|d| d <= date));
            on.contains(&true).then(|| Site { on_air: on, scenario: on, ..s.clone() })
        })
        .collect()
}

/// Figures of every municipality (indexed like [`Grid::ags`]) for `date`
/// and `source`: reported = the release in force at `date` (none before
/// the first release), modelled = the sites on air at `date`
/// ([`sites_at`]), union = both. `sites` must be classified (their urban
/// flag set, as [`crate::engine::classify()`] does).
///
/// Cost: the reported layers are borrowed for the latest release, else
/// copied and rewound by the changes since (see
/// [`crate::releases`]); the modelled masks are a full stamp of the sites
/// on air then (skipped for `reported`); one sum over the grid.
///
/// # Examples
/// ```
/// use chrono::NaiveDate;
/// use funkplan_coverage::dated::figures_at;
/// use funkplan_coverage::grid::{Grid, GridInput, UNKNOWN};
/// use funkplan_coverage::model::{Model, Site};
/// use funkplan_coverage::releases::{CellValue, Version};
/// use funkplan_coverage::CoverageSource;
/// # fn main() -> Result<(), funkplan_coverage::Error> {
/// let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
/// // One municipality of 10 × 10 cells, one household each.
/// let mut input = GridInput { ags: vec!["05000001".into()], ..Default::default() };
/// for n in 0..10 {
///     for e in 0..10 {
///         input.cells.push((n, e, 0));
///         input.households.push((n, e, 1.0));
///     }
/// }
/// // Two releases: 2022-10-01 reports LTE in the 10 cells of row 0; the
/// // latest, 2023-01-01, only in its first 5 (reported_coverage holds the
/// // latest release, the versions tell the older one apart).
/// input.release_dates = vec![day(2022, 10, 1), day(2023, 1, 1)];
/// let lte = CellValue { count: [1, 0], mask: [UNKNOWN, UNKNOWN] };
/// for e in 0..10 {
///     let valid_to = (e >= 5).then(|| day(2023, 1, 1));
///     input.versions.push(Version { n: 0, e, valid_from: day(2022, 10, 1), valid_to, value: lte });
///     if e < 5 {
///         input.reported.push((0, e, 1, 0, UNKNOWN, UNKNOWN));
///     }
/// }
/// let grid = Grid::build(input)?;
/// let model = Model { radius_m: [[150.0, 100.0], [100.0, 50.0]], urban_households_per_km2: 400.0, urban_density_radius_m: 1000.0 };
/// // An LTE site in the middle of cell (5, 5), on air since 2022-12-15.
/// let sites = vec![Site {
///     id: "S1".into(), bit: 2, x: 550.0, y: 550.0,
///     on_air: [true, false], scenario: [true, false], since: [Some(day(2022, 12, 15)), None], urban: false,
/// }];
/// let lte_cells = |date, source| figures_at(&grid, &model, &sites, &[2], date, source)[0][0].cells_covered;
/// assert_eq!(lte_cells(day(2022, 9, 30), CoverageSource::Reported), 0, "no release yet");
/// assert_eq!(lte_cells(day(2022, 12, 31), CoverageSource::Reported), 10);
/// assert_eq!(lte_cells(day(2023, 6, 30), CoverageSource::Reported), 5, "coverage can go down");
/// assert_eq!(lte_cells(day(2022, 12, 1), CoverageSource::Modelled), 0, "the site is not on air yet");
/// assert_eq!(lte_cells(day(2022, 12, 31), CoverageSource::Modelled), 9);
/// assert_eq!(lte_cells(day(2022, 12, 31), CoverageSource::Union), 10 + 9);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn figures_at(grid: &Grid, model: &Model, sites: &[Site], operator_bits: &[u8], date: NaiveDate, source: CoverageSource) -> Figures {
    let layers = grid.releases.layers_at(&grid.reported, grid.slots(), date);
    let mut masks = Masks::new(grid);
    if source != CoverageSource::Reported {
        stamp(grid, model, &sites_at(sites, date), &mut masks, Rect::all(grid));
    }
    let scope = Scope { source, scenario: false, munis: None, region: Rect::all(grid) };
    aggregate_with(grid, &layers, &masks, operator_bits, scope).0
}

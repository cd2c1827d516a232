//! The grid's cells as vector tiles need them (issue 17): each cell's
//! operator count and set per technology in a rectangle, or the sums of
//! square blocks of cells for low zooms — read straight from the engine's
//! memory, so a tile costs no database round trip.
//!
//! A cell's numbers are exactly those the figures count: [`combine`] of the
//! reported layer and the modelled masks for the engine's source, actual
//! (`masks.actual`) or scenario (`actual | extra`), as `aggregate` does;
//! so the sums over a municipality's cells are its figures.

use chrono::NaiveDate;
use funkplan_model::CoverageSource;

use crate::engine::Masks;
use crate::grid::{Grid, Mask, ReportedLayer, NO_MUNI};
use crate::model::combine;

/// Which coverage a tile shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The actual state now (the sites on air, the latest release).
    Actual,
    /// Every planned and in-progress measure completed.
    Scenario,
    /// The release in force at the date with the sites on air then (as
    /// [`crate::dated::figures_at`]).
    At(NaiveDate),
}

/// A half-open rectangle of cells in hectometres of EPSG:25832 (the
/// cells' south-west corners): northings `n0..n1`, eastings `e0..e1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellArea {
    /// First northing.
    pub n0: i32,
    /// Past the last northing.
    pub n1: i32,
    /// First easting.
    pub e0: i32,
    /// Past the last easting.
    pub e1: i32,
}

/// One grid cell's coverage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellState {
    /// Northing (hm).
    pub n: i32,
    /// Easting (hm).
    pub e: i32,
    /// Households.
    pub households: f32,
    /// Operators covering it, LTE and 5G.
    pub count: [u8; 2],
    /// Which operators (bits), where known.
    pub set: [Option<Mask>; 2],
}

/// One technology's sums over a block.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TechSums {
    /// Households in covered cells.
    pub households_covered: f64,
    /// Cells covered by at least one operator.
    pub cells_covered: u32,
    /// Cells with no operator.
    pub dead: u32,
    /// Cells with one operator.
    pub grey: u32,
}

/// The sums of a square block of cells (only blocks with cells).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BlockSums {
    /// Northing of the south-west corner (hm), a multiple of `size`.
    pub n: i32,
    /// Easting of the south-west corner (hm), a multiple of `size`.
    pub e: i32,
    /// Edge in cells.
    pub size: i32,
    /// Grid cells.
    pub cells: u32,
    /// Households.
    pub households: f64,
    /// LTE and 5G.
    pub tech: [TechSums; 2],
}

/// What a tile request gets from the engine.
#[derive(Debug, Clone)]
pub struct TileData<T> {
    /// The source the engine computes.
    pub source: CoverageSource,
    /// The release whose reported coverage counts (`None`: none).
    pub release: Option<NaiveDate>,
    /// Operators as `(bit, id)`.
    pub operators: Vec<(u8, String)>,
    /// Cells or blocks, row by row from the south, west to east.
    pub items: Vec<T>,
}

/// Visit every grid cell of `area` with its slot.
fn each_cell(grid: &Grid, area: CellArea, mut f: impl FnMut(i32, i32, usize)) {
    let rows = i32::try_from(grid.rows).unwrap_or(i32::MAX);
    let cols = i32::try_from(grid.cols).unwrap_or(i32::MAX);
    let (r0, r1) = ((area.n0 - grid.n0).max(0), (area.n1 - grid.n0).min(rows));
    let (c0, c1) = ((area.e0 - grid.e0).max(0), (area.e1 - grid.e0).min(cols));
    for r in r0..r1 {
        let (Ok(ru), Ok(cu0), Ok(cu1)) = (usize::try_from(r), usize::try_from(c0), usize::try_from(c1)) else { continue };
        let (s0, s1) = grid.row_span(ru);
        let base = ru * grid.cols;
        for c in cu0.max(s0)..cu1.min(s1) {
            let slot = base + c;
            if grid.muni[slot] != NO_MUNI {
                #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)] // c < cols ≤ i32::MAX
                f(grid.n0 + r, grid.e0 + c as i32, slot);
            }
        }
    }
}

/// Count and set of both technologies at a slot.
#[inline]
fn state(layers: &[ReportedLayer; 2], masks: &Masks, source: CoverageSource, scenario: bool, slot: usize) -> ([u8; 2], [Option<Mask>; 2]) {
    let mut count = [0; 2];
    let mut set = [None; 2];
    for t in 0..2 {
        let (rc, rm) = layers[t].at(slot);
        let m = if scenario { masks.actual[t][slot] | masks.extra[t][slot] } else { masks.actual[t][slot] };
        (count[t], set[t]) = combine(source, rc, rm, m);
    }
    (count, set)
}

/// Every grid cell of `area` with its coverage (`layers`: the reported
/// layers in force, `masks`: the modelled ones; `scenario` adds `extra`).
#[must_use]
pub fn cells_in(grid: &Grid, layers: &[ReportedLayer; 2], masks: &Masks, source: CoverageSource, scenario: bool, area: CellArea) -> Vec<CellState> {
    let mut out = Vec::new();
    each_cell(grid, area, |n, e, slot| {
        let (count, set) = state(layers, masks, source, scenario, slot);
        out.push(CellState { n, e, households: grid.households[slot], count, set });
    });
    out
}

/// The grid cells of `area` summed into blocks of `size × size` cells
/// aligned to multiples of `size` (hm). Blocks without cells are left out.
#[must_use]
pub fn blocks_in(grid: &Grid, layers: &[ReportedLayer; 2], masks: &Masks, source: CoverageSource, scenario: bool, area: CellArea, size: i32) -> Vec<BlockSums> {
    let size = size.max(1);
    let bn0 = area.n0.div_euclid(size);
    let be0 = area.e0.div_euclid(size);
    let bcols = usize::try_from((area.e1 - 1).div_euclid(size) - be0 + 1).unwrap_or(0);
    let brows = usize::try_from((area.n1 - 1).div_euclid(size) - bn0 + 1).unwrap_or(0);
    let mut acc: Vec<BlockSums> = Vec::new();
    if brows.saturating_mul(bcols) > 1 << 22 {
        return acc;
    }
    acc.resize(brows * bcols, BlockSums::default());
    each_cell(grid, area, |n, e, slot| {
        let (Ok(br), Ok(bc)) = (usize::try_from(n.div_euclid(size) - bn0), usize::try_from(e.div_euclid(size) - be0)) else { return };
        let b = &mut acc[br * bcols + bc];
        let h = f64::from(grid.households[slot]);
        b.cells += 1;
        b.households += h;
        let (count, _) = state(layers, masks, source, scenario, slot);
        for (x, &c) in b.tech.iter_mut().zip(&count) {
            x.households_covered += if c > 0 { h } else { 0.0 };
            x.cells_covered += u32::from(c > 0);
            x.dead += u32::from(c == 0);
            x.grey += u32::from(c == 1);
        }
    });
    let mut out = Vec::new();
    for (i, mut b) in acc.into_iter().enumerate() {
        if b.cells > 0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)] // < 2^22 blocks
            let (br, bc) = ((i / bcols) as i32, (i % bcols) as i32);
            b.n = (bn0 + br) * size;
            b.e = (be0 + bc) * size;
            b.size = size;
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{aggregate, stamp, Rect, Scope};
    use crate::grid::GridInput;
    use crate::model::{Model, Site};
    use proptest::prelude::*;

    fn world(sites: &[(f64, f64, u8)]) -> (Grid, Masks, Vec<u8>) {
        let mut input = GridInput { ags: vec!["05000001".into(), "05000002".into()], ..Default::default() };
        for n in 100..140 {
            for e in 200..250 {
                input.cells.push((n, e, u16::from(e >= 225)));
                input.households.push((n, e, f32::from(u8::try_from((n + e) % 7).unwrap_or(0))));
            }
        }
        let grid = Grid::build(input).expect("grid");
        let model = Model { radius_m: [[800.0, 500.0], [400.0, 300.0]], urban_households_per_km2: 1e9, urban_density_radius_m: 1000.0 };
        let mut ss: Vec<Site> = sites
            .iter()
            .enumerate()
            .map(|(i, &(x, y, bit))| Site {
                id: format!("S{i}"),
                bit,
                x,
                y,
                on_air: [true, i % 2 == 0],
                scenario: [true, true],
                since: [None, None],
                urban: false,
            })
            .collect();
        crate::engine::classify(&grid, &model, &mut ss);
        let mut masks = Masks::new(&grid);
        stamp(&grid, &model, &ss, &mut masks, Rect::all(&grid));
        (grid, masks, vec![0, 1, 2])
    }

    proptest! {
        /// Blocks of any size over the whole grid sum to the engine's
        /// figures per municipality (cells, households, covered, dead,
        /// grey), actual and scenario; and the cells of the grid are every
        /// grid cell once, with counts that sum to the same figures.
        #[test]
        fn blocks_and_cells_sum_to_the_figures(
            sites in proptest::collection::vec((20_000.0..25_000.0f64, 10_000.0..14_000.0f64, 0u8..3), 0..6),
            size in 1i32..9,
            scenario in any::<bool>(),
        ) {
            let (grid, masks, bits) = world(&sites);
            let layers = &grid.reported;
            let source = CoverageSource::Modelled;
            let fig = aggregate(&grid, &masks, &bits, Scope { source, scenario, munis: None, region: Rect::all(&grid) });
            // Municipality 0 is e < 225, 1 is e ≥ 225: blocks of a size that
            // divides 225 stay inside one; compare over both together.
            let area = CellArea { n0: 90, n1: 150, e0: 190, e1: 260 };
            let blocks = blocks_in(&grid, layers, &masks, source, scenario, area, size);
            let cells = cells_in(&grid, layers, &masks, source, scenario, area);
            prop_assert_eq!(cells.len(), 40 * 50);
            for t in 0..2 {
                let want_cov: u32 = fig.iter().map(|f| f[t].cells_covered).sum();
                let want_dead: u32 = fig.iter().map(|f| f[t].dead_cells).sum();
                let want_grey: u32 = fig.iter().map(|f| f[t].grey_cells).sum();
                let want_hh: f64 = fig.iter().map(|f| f[t].households_covered).sum();
                prop_assert_eq!(blocks.iter().map(|b| b.tech[t].cells_covered).sum::<u32>(), want_cov);
                prop_assert_eq!(blocks.iter().map(|b| b.tech[t].dead).sum::<u32>(), want_dead);
                prop_assert_eq!(blocks.iter().map(|b| b.tech[t].grey).sum::<u32>(), want_grey);
                prop_assert!((blocks.iter().map(|b| b.tech[t].households_covered).sum::<f64>() - want_hh).abs() < 1e-6);
                prop_assert_eq!(cells.iter().filter(|c| c.count[t] > 0).count() as u32, want_cov);
                prop_assert_eq!(cells.iter().filter(|c| c.count[t] == 1).count() as u32, want_grey);
                // Per operator: cells whose set holds the bit.
                for (m, f) in fig.iter().enumerate() {
                    let ops = f[t].operators.as_ref().expect("modelled sets are known");
                    for o in ops {
                        let mine = cells.iter().filter(|c| (c.e >= 225) == (m == 1) && c.set[t].is_some_and(|s| s & (1 << o.bit) != 0)).count();
                        prop_assert_eq!(mine as u32, o.cells_covered);
                    }
                }
            }
            prop_assert_eq!(blocks.iter().map(|b| b.cells).sum::<u32>(), 2000);
            for b in &blocks {
                prop_assert!(b.n % size == 0 && b.e % size == 0 && b.size == size);
            }
        }
    }

    #[test]
    fn an_area_outside_the_grid_has_no_cells() {
        let (grid, masks, _) = world(&[(22_000.0, 12_000.0, 1)]);
        let far = CellArea { n0: 0, n1: 50, e0: 0, e1: 50 };
        assert!(cells_in(&grid, &grid.reported, &masks, CoverageSource::Modelled, false, far).is_empty());
        assert!(blocks_in(&grid, &grid.reported, &masks, CoverageSource::Modelled, false, far, 4).is_empty());
        let part = CellArea { n0: 130, n1: 200, e0: 240, e1: 300 };
        assert_eq!(cells_in(&grid, &grid.reported, &masks, CoverageSource::Modelled, false, part).len(), 10 * 10);
    }
}

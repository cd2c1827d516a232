//! Rectangles of slots and the municipalities they hold: the regions a
//! run stamps and sums.

use crate::grid::{Grid, NO_MUNI};

/// A rectangle of slots: rows `r0..r1`, columns `c0..c1` (half-open).
///
/// # Examples
/// ```
/// use funkplan_coverage::engine::Rect;
/// let a = Rect { r0: 0, r1: 2, c0: 0, c1: 2 };
/// let b = Rect { r0: 5, r1: 6, c0: 1, c1: 3 };
/// assert_eq!(a.union(b), Rect { r0: 0, r1: 6, c0: 0, c1: 3 });
/// let empty = Rect { r0: 3, r1: 3, c0: 0, c1: 9 };
/// assert!(empty.is_empty());
/// assert_eq!(empty.union(a), a);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// First row.
    pub r0: usize,
    /// One past the last row.
    pub r1: usize,
    /// First column.
    pub c0: usize,
    /// One past the last column.
    pub c1: usize,
}

impl Rect {
    /// The whole grid.
    #[must_use]
    pub fn all(grid: &Grid) -> Self {
        Self { r0: 0, r1: grid.rows, c0: 0, c1: grid.cols }
    }

    /// The smallest rectangle holding both.
    #[must_use]
    pub fn union(self, o: Self) -> Self {
        if self.is_empty() {
            return o;
        }
        if o.is_empty() {
            return self;
        }
        Self { r0: self.r0.min(o.r0), r1: self.r1.max(o.r1), c0: self.c0.min(o.c0), c1: self.c1.max(o.c1) }
    }

    /// The slots of municipality `m`'s bounding box; `None` when it has no
    /// cell (or no such municipality).
    #[must_use]
    pub fn of_muni(grid: &Grid, m: usize) -> Option<Self> {
        let [r0, r1, c0, c1] = grid.muni_box.get(m).copied().flatten()?;
        Some(Self {
            r0,
            r1: r1 + 1,
            c0,
            c1: c1 + 1,
        })
    }

    /// Whether `o` lies within this rectangle.
    #[must_use]
    pub fn contains(&self, o: &Self) -> bool {
        self.r0 <= o.r0 && o.r1 <= self.r1 && self.c0 <= o.c0 && o.c1 <= self.c1
    }

    /// Whether the rectangle holds no slot.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.r0 >= self.r1 || self.c0 >= self.c1
    }

    /// The slots within `r` metres (bounding box) of point `(x, y)`,
    /// clipped to the grid.
    #[must_use]
    pub fn around(grid: &Grid, x: f64, y: f64, r: f64) -> Self {
        let (r0, r1) = axis_range(y - r, y + r, grid.n0, grid.rows);
        let (c0, c1) = axis_range(x - r, x + r, grid.e0, grid.cols);
        Self { r0, r1, c0, c1 }
    }
}

/// Slot range along one axis whose cell centres may fall in `[lo, hi]`
/// metres, with one cell of slack, clipped to `0..len`.
fn axis_range(lo: f64, hi: f64, origin: i32, len: usize) -> (usize, usize) {
    #[allow(clippy::cast_possible_truncation)]
    let a = ((lo - 50.0) / 100.0).floor() as i64 - i64::from(origin) - 1;
    #[allow(clippy::cast_possible_truncation)]
    let b = ((hi - 50.0) / 100.0).ceil() as i64 - i64::from(origin) + 2;
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let clip = |v: i64| usize::try_from(v.clamp(0, len)).unwrap_or(0);
    (clip(a), clip(b))
}

/// The rectangle holding every cell of the flagged municipalities.
///
/// # Examples
/// ```
/// # use funkplan_coverage::engine::{munis_in, munis_rect, Rect};
/// # use funkplan_coverage::grid::{Grid, GridInput};
/// # use funkplan_coverage::model::{Model, Site};
/// # fn main() -> Result<(), funkplan_coverage::Error> {
/// // A 1 km × 1 km grid of 100 cells, one household each, one municipality.
/// let mut input = GridInput { ags: vec!["05000001".into()], ..Default::default() };
/// for n in 0..10 {
///     for e in 0..10 {
///         input.cells.push((n, e, 0));
///         input.households.push((n, e, 1.0));
///     }
/// }
/// let grid = Grid::build(input)?;
/// // Radii [[LTE rural, urban], [5G rural, urban]]; urban above 400 households/km² within 1 km.
/// let model = Model { radius_m: [[150.0, 100.0], [100.0, 50.0]], urban_households_per_km2: 400.0, urban_density_radius_m: 1000.0 };
/// // One LTE site of operator bit 2 in the middle of cell (5, 5).
/// let mut sites = vec![Site {
///     id: "S1".into(), bit: 2, x: 550.0, y: 550.0,
///     on_air: [true, false], scenario: [true, false], since: [None, None], urban: false,
/// }];
/// assert_eq!(munis_rect(&grid, &[true]), Rect::all(&grid));
/// // Which municipalities a site's change can reach: those with cells
/// // around it.
/// let reach = Rect::around(&grid, 550.0, 550.0, 150.0);
/// let mut flags = vec![false];
/// munis_in(&grid, reach, &mut flags);
/// assert_eq!(flags, [true]);
/// # let _ = (&model, &mut sites);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn munis_rect(grid: &Grid, munis: &[bool]) -> Rect {
    let none = Rect {
        r0: 0,
        r1: 0,
        c0: 0,
        c1: 0,
    };
    (0..grid.muni_box.len())
        .filter(|&i| munis[i])
        .filter_map(|i| Rect::of_muni(grid, i))
        .fold(none, Rect::union)
}

/// Flags of the municipalities with cells in `rect`.
pub fn munis_in(grid: &Grid, rect: Rect, flags: &mut [bool]) {
    for row in rect.r0..rect.r1 {
        let base = row * grid.cols;
        for &m in &grid.muni[base + rect.c0..base + rect.c1] {
            if m != NO_MUNI {
                flags[usize::from(m)] = true;
            }
        }
    }
}

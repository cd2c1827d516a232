//! Stamping the sites' disks into per-technology operator masks.

use super::disk::centre;
use super::{disk_runs, threads, Rect};
use crate::grid::{Grid, Mask};
use crate::model::{Model, Site};

/// The modelled operator masks per technology: `actual` from the sites on
/// air, `extra` from what the scenario adds (sites and technologies that
/// planned measures would bring on air). Scenario = `actual | extra`.
/// Defined at grid cells; slots of the box that are no cell hold 0.
#[derive(Debug, Clone)]
pub struct Masks {
    /// Per technology (engine order), per slot: the operators on air.
    pub actual: [Vec<Mask>; 2],
    /// Per technology, per slot: the operators the scenario adds.
    pub extra: [Vec<Mask>; 2],
}

impl Masks {
    /// All-zero masks for a grid.
    #[must_use]
    pub fn new(grid: &Grid) -> Self {
        let z = || vec![0 as Mask; grid.slots()];
        Self { actual: [z(), z()], extra: [z(), z()] }
    }
}

/// Rows stamped together: the operator bit rows of one sub-band stay in
/// the cache between setting the runs and expanding them into the masks.
const SUB_BAND: usize = 128;

/// The sites of one (layer, technology, operator): layer 0 = on air now,
/// 1 = added by the scenario.
struct Group {
    /// Index into the four mask layers: `layer * 2 + tech`.
    lt: usize,
    bit: u8,
    /// `(y, x, radius)` of each site's disk, sorted by northing so the
    /// disks reaching a band of rows are one slice (and read in order).
    disks: Vec<(f64, f64, f64)>,
    /// The largest radius among them.
    reach: f64,
}

/// Stamp every site whose disks reach `region` into the masks, replacing
/// what the region held. Split over threads by bands of rows, so no two
/// threads write one slot. The masks are defined at grid cells; other
/// slots of the region are left 0.
///
/// Why bit rows rather than OR-ing each disk into the masks: at NRW
/// density rural LTE disks overlap some 40 times, so writing each disk's
/// cells wrote every slot dozens of times, and merging the runs first
/// meant sorting them. Instead each (layer, technology, operator) gets one
/// bit per cell for a band of rows: a disk's run on a row sets a few
/// words whatever its length and in any order, and each band is expanded
/// once into the `u16` masks, 4 slots per table lookup. The runs are the
/// same exact per-disk runs (`disk_runs`), so the masks are bit for bit
/// what OR-ing every disk would give.
///
/// # Examples
/// ```
/// # use funkplan_coverage::engine::{classify, stamp, Masks, Rect};
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
/// classify(&grid, &model, &mut sites);
/// assert!(!sites[0].urban, "100 households on π km² is rural");
/// let mut masks = Masks::new(&grid);
/// stamp(&grid, &model, &sites, &mut masks, Rect::all(&grid));
/// // The rural LTE radius of 150 m reaches the cell and its 8 neighbours
/// // (centres 100 m and 141 m away), each set to the operator's bit.
/// let lte = &masks.actual[0];
/// assert_eq!(lte.iter().filter(|&&m| m == 1 << 2).count(), 9);
/// assert!(lte.iter().all(|&m| m == 0 || m == 1 << 2));
/// assert!(masks.actual[1].iter().all(|&m| m == 0), "no 5G on air");
/// # Ok(())
/// # }
/// ```
pub fn stamp(grid: &Grid, model: &Model, sites: &[Site], masks: &mut Masks, region: Rect) {
    if region.is_empty() {
        return;
    }
    let mut groups: Vec<Group> = Vec::new();
    for s in sites {
        for tech in 0..2 {
            let layer = if s.on_air[tech] {
                0
            } else if s.scenario[tech] {
                1
            } else {
                continue;
            };
            let lt = layer * 2 + tech;
            let disk = (s.y, s.x, model.radius_m[tech][usize::from(s.urban)]);
            match groups.iter_mut().find(|g| g.lt == lt && g.bit == s.bit) {
                Some(g) => g.disks.push(disk),
                None => groups.push(Group { lt, bit: s.bit, disks: vec![disk], reach: model.radius_m[tech][0].max(model.radius_m[tech][1]) }),
            }
        }
    }
    for g in &mut groups {
        g.disks.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    }
    groups.sort_unstable_by_key(|g| (g.lt, g.bit));
    let t = threads();
    let band = region.r1.div_ceil(t).max(1);
    let cols = grid.cols;
    let groups = &groups;
    let Masks { actual: [a0, a1], extra: [x0, x1] } = masks;
    std::thread::scope(|scope| {
        let chunks = a0
            .chunks_mut(band * cols)
            .zip(a1.chunks_mut(band * cols))
            .zip(x0.chunks_mut(band * cols).zip(x1.chunks_mut(band * cols)))
            .enumerate();
        for (i, ((a0, a1), (x0, x1))) in chunks {
            let b0 = i * band;
            let clip = Rect { r0: region.r0.max(b0), r1: region.r1.min(b0 + band), ..region };
            if clip.is_empty() {
                continue;
            }
            scope.spawn(move || stamp_band(grid, groups, [a0, a1, x0, x1], b0, clip));
        }
    });
}

/// [`stamp`] for the rows of one thread: `out` are the band's rows of the
/// masks indexed by [`Group::lt`] (actual LTE, actual 5G, extra LTE,
/// extra 5G), starting at row `b0`. Kept out of line so that profiles
/// name it.
#[inline(never)]
fn stamp_band(grid: &Grid, groups: &[Group], mut out: [&mut [Mask]; 4], b0: usize, clip: Rect) {
    let cols = grid.cols;
    let width = clip.c1 - clip.c0;
    let nw = width.div_ceil(64);
    let per_group = SUB_BAND * nw;
    let mut bits = vec![0u64; groups.len() * per_group];
    for s0 in (clip.r0..clip.r1).step_by(SUB_BAND) {
        let s1 = (s0 + SUB_BAND).min(clip.r1);
        let sub = Rect { r0: s0, r1: s1, ..clip };
        bits.fill(0);
        let (y_lo, y_hi) = (centre(grid.n0, i64::try_from(s0).unwrap_or(0)), centre(grid.n0, i64::try_from(s1 - 1).unwrap_or(0)));
        for (g, gb) in groups.iter().zip(bits.chunks_mut(per_group.max(1))) {
            let from = g.disks.partition_point(|d| d.0 < y_lo - g.reach);
            let to = g.disks.partition_point(|d| d.0 <= y_hi + g.reach);
            for &(y, x, r) in &g.disks[from..to.max(from)] {
                disk_runs(grid, sub, x, y, r, |row, lo, hi| {
                    // Only grid cells get bits: slots outside the row's
                    // cells stay 0 whichever region was stamped.
                    let (a, b) = grid.row_span(row);
                    let (lo, hi) = (lo.max(a), hi.min(b.saturating_sub(1)));
                    if b > a && lo <= hi {
                        set_bits(&mut gb[(row - s0) * nw..(row - s0 + 1) * nw], lo - clip.c0, hi - clip.c0);
                    }
                });
            }
        }
        for row in s0..s1 {
            let o = (row - b0) * cols;
            let (a, b) = grid.row_span(row);
            let (a, b) = (a.max(clip.c0) - clip.c0, b.min(clip.c1).saturating_sub(clip.c0));
            for (lt, m) in out.iter_mut().enumerate() {
                let m = &mut m[o + clip.c0..o + clip.c1];
                if a >= b {
                    m.fill(0);
                    continue;
                }
                // Whole words from the one holding the row's first cell to
                // the one holding its last; zeros around them.
                let (w0, w1) = (a / 64, b.div_ceil(64));
                m[..w0 * 64].fill(0);
                m[(w1 * 64).min(width)..].fill(0);
                // This layer's operators: where their bit row starts (at
                // most 15 of them: operator bits are 0..=MAX_BIT).
                let mut ops = [(0usize, 0u8); 16];
                let mut n = 0;
                for (gi, g) in groups.iter().enumerate() {
                    if g.lt == lt && n < ops.len() {
                        ops[n] = (gi * per_group + (row - s0) * nw, g.bit);
                        n += 1;
                    }
                }
                let mut words = [(0u64, 0u8); 16];
                for wi in w0..w1 {
                    for (w, &(at, bit)) in words.iter_mut().zip(&ops[..n]) {
                        *w = (bits[at + wi], bit);
                    }
                    expand_word(&words[..n], &mut m[wi * 64..((wi + 1) * 64).min(width)]);
                }
            }
        }
    }
}

/// Set bits `lo..=hi` of a row of words.
#[inline]
fn set_bits(row: &mut [u64], lo: usize, hi: usize) {
    let (wl, wh) = (lo / 64, hi / 64);
    let ml = !0u64 << (lo % 64);
    let mh = !0u64 >> (63 - hi % 64);
    if wl == wh {
        row[wl] |= ml & mh;
    } else {
        row[wl] |= ml;
        row[wl + 1..wh].fill(!0);
        row[wh] |= mh;
    }
}

/// Per nibble value, four 16-bit lanes holding its bits (lane i = bit i):
/// shifted left by an operator's bit (< 16) it is that operator's part of
/// four masks, with no carry between lanes.
const NIBBLE: [u64; 16] = {
    let mut t = [0u64; 16];
    let mut v = 0;
    while v < 16 {
        let mut i = 0;
        while i < 4 {
            if v >> i & 1 == 1 {
                t[v] |= 1 << (16 * i);
            }
            i += 1;
        }
        v += 1;
    }
    t
};

/// Write the masks of up to 64 slots from each operator's word of bits.
/// An operator's word is mostly all set or all clear (a word is 6.4 km of
/// a row): those go into one constant, only the others are spread out.
#[inline]
fn expand_word(words: &[(u64, u8)], dst: &mut [Mask]) {
    let mut full: Mask = 0;
    let mut partial = false;
    // 64 masks, four per u64 (little-endian lanes = slot order).
    let mut acc = [0u64; 16];
    for &(w, bit) in words {
        if w == !0 {
            full |= 1 << bit;
        } else if w != 0 {
            partial = true;
            for (n, a) in acc.iter_mut().enumerate() {
                *a |= NIBBLE[usize::try_from((w >> (4 * n)) & 15).unwrap_or(0)] << bit;
            }
        }
    }
    if !partial {
        dst.fill(full);
        return;
    }
    let splat = u64::from(full) * 0x0001_0001_0001_0001;
    for (lanes, a) in dst.chunks_mut(4).zip(acc) {
        let v = a | splat;
        for (k, d) in lanes.iter_mut().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // one 16-bit lane
            {
                *d = (v >> (16 * k)) as Mask;
            }
        }
    }
}

//! The pure computation: classify sites urban/rural, stamp their disks into
//! per-technology operator masks, and sum per municipality. No I/O here.
//!
//! Coverage rule (the PostGIS reference uses the same): a site covers a cell
//! when the distance from the site to the cell's CENTRE is at most the
//! radius — inclusive, `hypot(dx, dy) <= r`, as `ST_DWithin` is.
//!
//! Stamping goes by rows: for each site and each grid row its circle
//! reaches, the covered columns form one run `[c_lo, c_hi]` computed from
//! the circle (ends checked with the exact predicate where the rim passes
//! close to a cell centre), set as bits of the operator's row and expanded
//! into the masks once per band of rows ([`stamp`]). No cell is ever
//! tested against a site it cannot reach.

use funkplan_model::CoverageSource;

use crate::grid::{Grid, Mask, NO_MUNI, UNKNOWN};
use crate::model::{combine, Model, Site};

/// A rectangle of slots: rows `r0..r1`, columns `c0..c1` (half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub r0: usize,
    pub r1: usize,
    pub c0: usize,
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

/// Centre of a cell along an axis, in metres.
#[inline]
fn centre(origin: i32, idx: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let v = (i64::from(origin) + idx) as f64;
    v * 100.0 + 50.0
}

/// `v` rounded up / down to an integer. By hand because `f64::ceil` is a
/// call into libm on baseline x86-64 (no SSE4.1 `roundsd`), and this runs
/// twice per disk row. Exact for |v| < 2^52; `as` saturates beyond.
#[inline(always)]
fn ceil_i64(v: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let t = v as i64;
    #[allow(clippy::cast_precision_loss)]
    let up = (t as f64) < v;
    t + i64::from(up)
}

#[inline(always)]
fn floor_i64(v: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let t = v as i64;
    #[allow(clippy::cast_precision_loss)]
    let down = (t as f64) > v;
    t - i64::from(down)
}

/// How close (in columns, = 10⁻⁴ m) a disk's rim may come to a cell
/// centre before the run's ends are settled with the exact predicate.
/// Far above the rounding of the run's ends (~10⁻⁹ m for a half-width of
/// at least 1 m), far below anything that happens by chance more than
/// once in a million rows.
const RIM_SLACK: f64 = 1e-6;

/// Calls `f(row, c_lo, c_hi)` (inclusive columns) for every row of `clip`
/// where the disk of radius `r` around `(x, y)` covers cell centres.
///
/// The run of a row is where the half-width `w = √(r² − dy²)` puts it.
/// Only where a rim passes within [`RIM_SLACK`] of a cell centre (or the
/// run is under a metre wide) are the ends settled with the exact
/// predicate, `hypot(dx, dy) <= r` as PostGIS measures, so the engine and
/// `ST_DWithin` agree on cells at the rim.
#[inline]
pub(crate) fn disk_runs(grid: &Grid, clip: Rect, x: f64, y: f64, r: f64, mut f: impl FnMut(usize, usize, usize)) {
    // A disk that is nowhere covers nothing (the fast path below would
    // turn a NaN into column 0).
    if !(x.is_finite() && y.is_finite() && r.is_finite()) {
        return;
    }
    let rows = Rect::around(grid, x, y, r);
    let (r0, r1) = (rows.r0.max(clip.r0), rows.r1.min(clip.r1));
    if r0 >= r1 || clip.c0 >= clip.c1 {
        return;
    }
    let cols = i64::try_from(grid.cols).unwrap_or(i64::MAX);
    let (c_min, c_max) = (i64::try_from(clip.c0).unwrap_or(0), i64::try_from(clip.c1).unwrap_or(cols).min(cols) - 1);
    let (r2_lo, r2_hi) = (r * r * (1.0 - 1e-9), r * r * (1.0 + 1e-9));
    // Column coordinate of easting `v`: (v − 50) / 100 − e0 (rounding
    // of the product is far inside RIM_SLACK).
    let x_col = (x - 50.0) * 0.01 - f64::from(grid.e0);
    // The half-widths of a chunk of rows are computed first in a loop
    // with no branches, which the compiler turns into packed square roots;
    // the square root's latency then no longer holds up every row.
    const CHUNK: usize = 32;
    let mut ws = [0.0f64; CHUNK];
    for first in (r0..r1).step_by(CHUNK) {
        // Exact, as `centre(row) - y` per row would be: the difference of
        // two close doubles is exact, and adding whole hectometres to it
        // stays exact while |dy| is under 4,000 km.
        let dy0 = centre(grid.n0, i64::try_from(first).unwrap_or(0)) - y;
        for (k, w) in ws.iter_mut().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let dy = dy0 + 100.0 * k as f64;
            *w = (r * r - dy * dy).max(0.0).sqrt();
        }
        for (k, &w) in ws.iter().enumerate().take(r1 - first) {
            #[allow(clippy::cast_precision_loss)]
            let dy = dy0 + 100.0 * k as f64;
            if dy.abs() > r {
                continue;
            }
            let row = first + k;
            let (a, b) = (x_col - w * 0.01, x_col + w * 0.01);
            let (mut lo, mut hi) = (ceil_i64(a), floor_i64(b));
            #[allow(clippy::cast_precision_loss)]
            let near = |v: f64, k: i64| (k as f64 - v).abs() < RIM_SLACK;
            if w < 1.0 || near(a, lo) || near(a, lo - 1) || near(b, hi) || near(b, hi + 1) {
                // Settle both ends with the exact predicate; the squared
                // distance decides all but a hair's breadth around the rim,
                // where hypot itself is asked.
                let dy2 = dy * dy;
                let within = |c: i64| {
                    let dx = centre(grid.e0, c) - x;
                    let d2 = dx * dx + dy2;
                    if d2 < r2_lo {
                        true
                    } else if d2 > r2_hi {
                        false
                    } else {
                        dx.hypot(dy) <= r
                    }
                };
                while within(lo - 1) {
                    lo -= 1;
                }
                while lo <= hi && !within(lo) {
                    lo += 1;
                }
                while within(hi + 1) {
                    hi += 1;
                }
                while hi >= lo && !within(hi) {
                    hi -= 1;
                }
            }
            let (lo, hi) = (lo.max(c_min), hi.min(c_max));
            if lo > hi {
                continue;
            }
            f(row, usize::try_from(lo).unwrap_or(0), usize::try_from(hi).unwrap_or(0));
        }
    }
}

/// Whether a site at `(x, y)` is urban: households in grid cells whose
/// centres lie within `urban_density_radius_m`, divided by the disk's area
/// π r² (km²), exceed `urban_households_per_km2`.
#[must_use]
pub fn is_urban(grid: &Grid, model: &Model, x: f64, y: f64) -> bool {
    let r = model.urban_density_radius_m;
    let mut sum = 0.0f64;
    disk_runs(grid, Rect::all(grid), x, y, r, |row, lo, hi| {
        let base = row * grid.cols;
        for h in &grid.households[base + lo..=base + hi] {
            sum += f64::from(*h);
        }
    });
    let area_km2 = std::f64::consts::PI * r * r / 1e6;
    sum / area_km2 > model.urban_households_per_km2
}

/// Set every site's urban flag from the grid (sites split over threads:
/// each is a disk sum of its own, ~70 ms for NRW's 27 k on one).
pub fn classify(grid: &Grid, model: &Model, sites: &mut [Site]) {
    // A write re-classifies a site or two: no threads for those.
    let per = sites.len().div_ceil(threads()).max(256);
    std::thread::scope(|scope| {
        for part in sites.chunks_mut(per) {
            scope.spawn(move || {
                for s in part {
                    s.urban = is_urban(grid, model, s.x, s.y);
                }
            });
        }
    });
}

/// The modelled operator masks per technology: `actual` from the sites on
/// air, `extra` from what the scenario adds (sites and technologies that
/// planned measures would bring on air). Scenario = `actual | extra`.
/// Defined at grid cells; slots of the box that are no cell hold 0.
#[derive(Debug, Clone)]
pub struct Masks {
    pub actual: [Vec<Mask>; 2],
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

/// How many threads the engine splits work over.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8)
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
/// same exact per-disk runs ([`disk_runs`]), so the masks are bit for bit
/// what OR-ing every disk would give.
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

/// One operator's figures in a municipality and technology.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatorFigures {
    pub bit: u8,
    pub households_covered: f64,
    pub cells_covered: u32,
}

/// Figures of one municipality and technology.
#[derive(Debug, Clone, PartialEq)]
pub struct TechFigures {
    pub households: f64,
    pub households_covered: f64,
    pub cells: u32,
    pub cells_covered: u32,
    /// Cells with no operator.
    pub dead_cells: u32,
    /// Cells with exactly one operator.
    pub grey_cells: u32,
    /// Per operator (every bit in the engine's operator list), only when
    /// the operator set of every cell of the municipality is known.
    pub operators: Option<Vec<OperatorFigures>>,
}

/// Per municipality index, per technology (engine order).
pub type Figures = Vec<[TechFigures; 2]>;

#[derive(Clone)]
struct Acc {
    hh: f64,
    hh_cov: f64,
    cells: u32,
    cov: u32,
    dead: u32,
    grey: u32,
    known: bool,
    op_hh: [f64; 16],
    op_cells: [u32; 16],
}

impl Default for Acc {
    fn default() -> Self {
        Self { hh: 0.0, hh_cov: 0.0, cells: 0, cov: 0, dead: 0, grey: 0, known: true, op_hh: [0.0; 16], op_cells: [0; 16] }
    }
}

impl Acc {
    fn merge(&mut self, o: &Self) {
        self.hh += o.hh;
        self.hh_cov += o.hh_cov;
        self.cells += o.cells;
        self.cov += o.cov;
        self.dead += o.dead;
        self.grey += o.grey;
        self.known &= o.known;
        for i in 0..16 {
            self.op_hh[i] += o.op_hh[i];
            self.op_cells[i] += o.op_cells[i];
        }
    }
}

/// What to sum: which source, actual or scenario, which municipalities
/// (`None` = all) within which rectangle (must hold all their cells).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub source: CoverageSource,
    pub scenario: bool,
    pub munis: Option<&'a [bool]>,
    pub region: Rect,
}

/// Sum per municipality and technology, actual or scenario as
/// `sc.scenario` says. Municipalities outside the scope come back with zero
/// figures (callers keep only those in scope). The product path wants both
/// and calls [`aggregate_pair`]; this is the one-sided view of it (for the
/// criterion benches and tests), not a second summing loop to keep equal.
#[must_use]
pub fn aggregate(grid: &Grid, masks: &Masks, operator_bits: &[u8], sc: Scope<'_>) -> Figures {
    let (actual, scenario) = aggregate_pair(grid, masks, operator_bits, sc);
    if sc.scenario {
        scenario
    } else {
        actual
    }
}

/// Actual and scenario figures in one pass over the slots: each slot's
/// municipality, households and reported layers are read once for both.
/// `sc.scenario` is ignored.
#[must_use]
pub fn aggregate_pair(grid: &Grid, masks: &Masks, operator_bits: &[u8], sc: Scope<'_>) -> (Figures, Figures) {
    let t = threads();
    let region = sc.region;
    let nm = grid.ags.len();
    let band = (region.r1.saturating_sub(region.r0)).div_ceil(t).max(1);
    let parts: Vec<Vec<[[Acc; 2]; 2]>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..t)
            .map(|i| {
                let r0 = region.r0 + i * band;
                let r1 = (r0 + band).min(region.r1);
                scope.spawn(move || {
                    let mut acc: Vec<[[Acc; 2]; 2]> = vec![Default::default(); nm];
                    match sc.source {
                        CoverageSource::Modelled => sum_rows_pair(grid, masks, operator_bits, sc, r0, r1, &mut acc, |rc, rm, m| {
                            combine(CoverageSource::Modelled, rc, rm, m)
                        }),
                        CoverageSource::Reported => sum_rows_pair(grid, masks, operator_bits, sc, r0, r1, &mut acc, |rc, rm, m| {
                            combine(CoverageSource::Reported, rc, rm, m)
                        }),
                        CoverageSource::Union => sum_rows_pair(grid, masks, operator_bits, sc, r0, r1, &mut acc, |rc, rm, m| {
                            combine(CoverageSource::Union, rc, rm, m)
                        }),
                    }
                    acc
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut total: Vec<[[Acc; 2]; 2]> = vec![Default::default(); nm];
    for p in &parts {
        for (m, a) in p.iter().enumerate() {
            for (tot, part) in total[m].iter_mut().zip(a) {
                tot[0].merge(&part[0]);
                tot[1].merge(&part[1]);
            }
        }
    }
    let mut actual = Vec::with_capacity(nm);
    let mut scenario = Vec::with_capacity(nm);
    for [[l, n], [sl, sn]] in total {
        actual.push([finish(&l, operator_bits), finish(&n, operator_bits)]);
        scenario.push([finish(&sl, operator_bits), finish(&sn, operator_bits)]);
    }
    (actual, scenario)
}

/// Add `n` cells of one coverage state holding `h` households in all to
/// an accumulator. Branch-light: counters take 0/n from comparisons,
/// covered households add `h` or `0.0`, per-operator sums walk the
/// operator bits.
#[inline(always)]
fn add_cells(a: &mut Acc, h: f64, n: u32, count: u8, set: Option<Mask>, operator_bits: &[u8]) {
    let covered = count > 0;
    a.hh += h;
    a.cells += n;
    a.dead += n * u32::from(count == 0);
    a.grey += n * u32::from(count == 1);
    a.cov += n * u32::from(covered);
    a.hh_cov += if covered { h } else { 0.0 };
    match set {
        Some(s) => {
            for &b in operator_bits {
                let b = usize::from(b) & 15;
                let on = (s >> b) & 1 != 0;
                a.op_hh[b] += if on { h } else { 0.0 };
                a.op_cells[b] += n * u32::from(on);
            }
        }
        None => a.known = false,
    }
}

/// Everything that decides a slot's figures but its households, packed
/// in two words: municipality and reported LTE/5G counts and sets, and the
/// modelled actual and extra sets of LTE and 5G. Equal keys = equal
/// coverage state.
#[inline(always)]
fn state_key(grid: &Grid, masks: &Masks, has_reported: bool, slot: usize) -> (u64, u64) {
    let (reported, counts) = if has_reported {
        let [l, n] = &grid.reported;
        (
            u64::from(l.mask[slot]) | u64::from(n.mask[slot]) << 16,
            u64::from(l.count[slot]) << 16 | u64::from(n.count[slot]) << 24,
        )
    } else {
        (u64::from(UNKNOWN) | u64::from(UNKNOWN) << 16, 0)
    };
    let k1 = u64::from(grid.muni[slot]) | counts | reported << 32;
    let [a0, a1] = &masks.actual;
    let [x0, x1] = &masks.extra;
    let k2 = u64::from(a0[slot]) | u64::from(x0[slot]) << 16 | u64::from(a1[slot]) << 32 | u64::from(x1[slot]) << 48;
    (k1, k2)
}

/// Sum rows `r0..r1` of the scope's region into `acc`, actual
/// (`acc[m][0]`) and scenario (`acc[m][1]`) at once. Within each row only
/// the columns between the row's first and last grid cell are visited
/// ([`Grid::row_span`]).
///
/// Why by runs: neighbouring cells mostly share their whole coverage state
/// (a disk is kilometres wide), so a row is read as runs of equal
/// [`state_key`] and each run's households are summed first; the state is
/// combined and counted once per run instead of once per cell.
#[allow(clippy::too_many_arguments)]
#[inline]
fn sum_rows_pair(
    grid: &Grid,
    masks: &Masks,
    operator_bits: &[u8],
    sc: Scope<'_>,
    r0: usize,
    r1: usize,
    acc: &mut [[[Acc; 2]; 2]],
    comb: impl Fn(u8, Mask, Mask) -> (u8, Option<Mask>),
) {
    let region = sc.region;
    let has_reported = grid.has_reported();
    let mut add_run = |(k1, k2): (u64, u64), h: f64, n: u32| {
        #[allow(clippy::cast_possible_truncation)] // fields of the key
        let field = |k: u64, at: u32, bits: u32| (k >> at) as u32 & ((1 << bits) - 1);
        #[allow(clippy::cast_possible_truncation)]
        let m = field(k1, 0, 16) as u16;
        if m == NO_MUNI || sc.munis.is_some_and(|f| !f[usize::from(m)]) {
            return;
        }
        let [actual, scenario] = &mut acc[usize::from(m)];
        for tech in 0..2u32 {
            #[allow(clippy::cast_possible_truncation)]
            let (rc, rm) = (field(k1, 16 + 8 * tech, 8) as u8, field(k1, 32 + 16 * tech, 16) as Mask);
            #[allow(clippy::cast_possible_truncation)]
            let (ma, mx) = (field(k2, 32 * tech, 16) as Mask, field(k2, 32 * tech + 16, 16) as Mask);
            let t = tech as usize;
            let (count, set) = comb(rc, rm, ma);
            add_cells(&mut actual[t], h, n, count, set, operator_bits);
            let (count, set) = if mx & !ma == 0 { (count, set) } else { comb(rc, rm, ma | mx) };
            add_cells(&mut scenario[t], h, n, count, set, operator_bits);
        }
    };
    for row in r0..r1 {
        let base = row * grid.cols;
        let (c0, c1) = grid.row_span(row);
        let (c0, c1) = (c0.max(region.c0), c1.min(region.c1));
        if c0 >= c1 {
            continue;
        }
        let mut key = state_key(grid, masks, has_reported, base + c0);
        let (mut h, mut n) = (0.0f64, 0u32);
        for slot in base + c0..base + c1 {
            let k = state_key(grid, masks, has_reported, slot);
            if k != key {
                add_run(key, h, n);
                (key, h, n) = (k, 0.0, 0);
            }
            h += f64::from(grid.households[slot]);
            n += 1;
        }
        add_run(key, h, n);
    }
}

fn finish(a: &Acc, bits: &[u8]) -> TechFigures {
    TechFigures {
        households: a.hh,
        households_covered: a.hh_cov,
        cells: a.cells,
        cells_covered: a.cov,
        dead_cells: a.dead,
        grey_cells: a.grey,
        operators: a.known.then(|| {
            bits.iter()
                .map(|&b| OperatorFigures {
                    bit: b,
                    households_covered: a.op_hh[usize::from(b)],
                    cells_covered: a.op_cells[usize::from(b)],
                })
                .collect()
        }),
    }
}

/// The rectangle holding every cell of the flagged municipalities.
#[must_use]
pub fn munis_rect(grid: &Grid, munis: &[bool]) -> Rect {
    let mut r = Rect { r0: 0, r1: 0, c0: 0, c1: 0 };
    for (i, b) in grid.muni_box.iter().enumerate() {
        if let (true, Some([r0, r1, c0, c1])) = (munis[i], b) {
            r = r.union(Rect { r0: *r0, r1: r1 + 1, c0: *c0, c1: c1 + 1 });
        }
    }
    r
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

/// Per slot, whether a grid cell has no LTE from any operator (actual).
#[inline]
#[must_use]
pub fn lte_dead(grid: &Grid, masks: &Masks, source: CoverageSource, slot: usize) -> bool {
    let (rc, rm) = grid.reported[0].at(slot);
    combine(source, rc, rm, masks.actual[0][slot]).0 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{GridInput, MAX_BIT};

    fn grid(n: i32, e: i32, rows: i32, cols: i32) -> Grid {
        let mut input = GridInput { ags: vec!["05000001".into()], ..Default::default() };
        for i in 0..rows {
            for j in 0..cols {
                input.cells.push((n + i, e + j, 0));
                input.households.push((n + i, e + j, 1.0));
            }
        }
        Grid::build(input).unwrap()
    }

    fn model(r: f64) -> Model {
        Model { radius_m: [[r, r], [r / 2.0, r / 2.0]], urban_households_per_km2: 1e9, urban_density_radius_m: 1000.0 }
    }

    fn site(x: f64, y: f64, bit: u8) -> Site {
        Site {
            id: "S".into(),
            bit,
            x,
            y,
            on_air: [true, false],
            scenario: [true, true],
            since: [None, None],
            urban: false,
        }
    }

    #[test]
    fn disk_is_inclusive_and_matches_brute_force() {
        let g = grid(0, 0, 60, 60);
        for (x, y, r) in [(3000.0, 3000.0, 1000.0), (3050.0, 2950.0, 1000.0), (123.4, 5876.5, 777.7), (3000.0, 3000.0, 50.0)] {
            let mut m = Masks::new(&g);
            stamp(&g, &model(r), &[site(x, y, 2)], &mut m, Rect::all(&g));
            for row in 0..60 {
                for col in 0..60 {
                    let cx = f64::from(col) * 100.0 + 50.0;
                    let cy = f64::from(row) * 100.0 + 50.0;
                    let want = (cx - x).hypot(cy - y) <= r;
                    let slot = g.slot(row, col).unwrap();
                    assert_eq!(m.actual[0][slot] == 4, want, "cell {row},{col} for site {x},{y} r {r}");
                }
            }
        }
        // A site at a cell corner with r = 50·√2 exactly reaches the four
        // centres around it only if ≤ is inclusive: here r = 100 reaches
        // the centre 100 m straight away.
        let mut m = Masks::new(&g);
        stamp(&g, &model(100.0), &[site(3050.0, 3050.0, 0)], &mut m, Rect::all(&g));
        let covered = m.actual[0].iter().filter(|&&v| v != 0).count();
        assert_eq!(covered, 5, "centre plus four neighbours at exactly 100 m");
    }

    #[test]
    fn masks_of_many_operators_match_brute_force() {
        // 150 columns: two full words of bits and a partial one per row;
        // operator bits up to the highest the engine supports.
        let g = grid(0, 0, 40, 150);
        let bits = [0u8, 5, 9, MAX_BIT];
        let sites: Vec<Site> = (0..24)
            .map(|i| {
                let f = f64::from(i);
                site(350.0 + (f * 613.7) % 14_300.0, 120.0 + (f * 271.3) % 3_800.0, bits[i as usize % 4])
            })
            .collect();
        let mut m = Masks::new(&g);
        stamp(&g, &model(900.0), &sites, &mut m, Rect::all(&g));
        for row in 0..40 {
            for col in 0..150 {
                let (cx, cy) = (f64::from(col) * 100.0 + 50.0, f64::from(row) * 100.0 + 50.0);
                let want = sites.iter().filter(|s| (cx - s.x).hypot(cy - s.y) <= 900.0).fold(0, |a, s| a | 1 << s.bit);
                assert_eq!(m.actual[0][g.slot(row, col).unwrap()], want, "cell {row},{col}");
            }
        }
    }

    #[test]
    fn a_site_with_no_position_covers_nothing() {
        let g = grid(0, 0, 20, 20);
        for (x, y) in [(f64::NAN, 1000.0), (1000.0, f64::NAN), (f64::INFINITY, 1000.0)] {
            let mut m = Masks::new(&g);
            stamp(&g, &model(500.0), &[site(x, y, 0)], &mut m, Rect::all(&g));
            assert!(m.actual[0].iter().all(|&v| v == 0), "site at ({x}, {y})");
        }
    }

    #[test]
    fn aggregate_counts_and_scenario() {
        let g = grid(0, 0, 10, 10);
        let mut s1 = site(250.0, 250.0, 0);
        s1.on_air = [true, false];
        s1.scenario = [true, true];
        let mut m = Masks::new(&g);
        stamp(&g, &model(100.0), &[s1], &mut m, Rect::all(&g));
        let sc = Scope { source: CoverageSource::Modelled, scenario: false, munis: None, region: Rect::all(&g) };
        let f = aggregate(&g, &m, &[0, 1], sc);
        assert_eq!(f[0][0].cells, 100);
        assert_eq!(f[0][0].cells_covered, 5);
        assert_eq!(f[0][0].grey_cells, 5);
        assert_eq!(f[0][0].dead_cells, 95);
        assert!((f[0][0].households_covered - 5.0).abs() < 1e-9);
        assert_eq!(f[0][1].cells_covered, 0);
        let ops = f[0][0].operators.as_ref().unwrap();
        assert_eq!(ops[0].cells_covered, 5);
        assert_eq!(ops[1].cells_covered, 0);
        let f = aggregate(&g, &m, &[0, 1], Scope { scenario: true, ..sc });
        assert_eq!(f[0][1].cells_covered, 1, "5G radius 50 m reaches only the site's own cell");
        // Reported counts only: per-operator figures absent.
        let f = aggregate(&g, &m, &[0, 1], Scope { source: CoverageSource::Reported, ..sc });
        assert!(f[0][0].operators.is_some(), "no reported rows at all: every set is the known empty set");
    }
}

//! The pure computation: classify sites urban/rural, stamp their disks into
//! per-technology operator masks, and sum per municipality. No I/O here.
//!
//! Coverage rule (the PostGIS reference uses the same): a site covers a cell
//! when the distance from the site to the cell's CENTRE is at most the
//! radius — inclusive, `hypot(dx, dy) <= r`, as `ST_DWithin` is.
//!
//! Stamping goes by rows: for each site and each grid row its circle
//! reaches, the covered columns form one run `[c_lo, c_hi]` computed from
//! the circle (ends checked with the exact predicate), OR-ed in with a
//! tight loop. No cell is ever tested against a site it cannot reach.

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

/// Calls `f(row, c_lo, c_hi)` (inclusive columns) for every row of `clip`
/// where the disk of radius `r` around `(x, y)` covers cell centres.
#[inline]
pub(crate) fn disk_runs(grid: &Grid, clip: Rect, x: f64, y: f64, r: f64, mut f: impl FnMut(usize, usize, usize)) {
    let rows = Rect::around(grid, x, y, r);
    let (r0, r1) = (rows.r0.max(clip.r0), rows.r1.min(clip.r1));
    if r0 >= r1 || clip.c0 >= clip.c1 {
        return;
    }
    let cols = i64::try_from(grid.cols).unwrap_or(i64::MAX);
    let (r2_lo, r2_hi) = (r * r * (1.0 - 1e-9), r * r * (1.0 + 1e-9));
    for row in r0..r1 {
        let dy = centre(grid.n0, i64::try_from(row).unwrap_or(0)) - y;
        if dy.abs() > r {
            continue;
        }
        let w = (r * r - dy * dy).max(0.0).sqrt();
        #[allow(clippy::cast_possible_truncation)]
        let mut lo = ((x - w - 50.0) / 100.0).ceil() as i64 - i64::from(grid.e0);
        #[allow(clippy::cast_possible_truncation)]
        let mut hi = ((x + w - 50.0) / 100.0).floor() as i64 - i64::from(grid.e0);
        // Settle both ends with the exact predicate so that the engine and
        // ST_DWithin agree on cells at the rim (`hypot(dx, dy) <= r`, as
        // PostGIS measures); the squared distance decides all but a hair's
        // breadth around the rim, where hypot itself is asked.
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
        let lo = lo.max(i64::try_from(clip.c0).unwrap_or(0));
        let hi = hi.min(i64::try_from(clip.c1).unwrap_or(cols) - 1).min(cols - 1);
        if lo > hi {
            continue;
        }
        f(row, usize::try_from(lo).unwrap_or(0), usize::try_from(hi).unwrap_or(0));
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

/// Set every site's urban flag from the grid.
pub fn classify(grid: &Grid, model: &Model, sites: &mut [Site]) {
    for s in sites {
        s.urban = is_urban(grid, model, s.x, s.y);
    }
}

/// The modelled operator masks per technology: `actual` from the sites on
/// air, `extra` from what the scenario adds (sites and technologies that
/// planned measures would bring on air). Scenario = `actual | extra`.
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
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8)
}

/// Clear `region` in all masks and stamp every site whose disks reach it.
/// Split over threads by bands of rows, so no two threads write one slot.
///
/// Why by merged runs rather than disk by disk: at NRW density rural LTE
/// disks overlap some 40 times, so OR-ing each disk's cells in wrote every
/// slot dozens of times. Instead, per (layer, technology, operator) the
/// disks' row runs are bucketed by row, sorted and merged, and each merged
/// run gets the operator's bit once. The runs are the same exact
/// per-disk runs as before ([`disk_runs`]), so the result is bit for bit
/// the same.
pub fn stamp(grid: &Grid, model: &Model, sites: &[Site], masks: &mut Masks, region: Rect) {
    if region.is_empty() {
        return;
    }
    // Sites per (layer, technology, operator bit): layer 0 = on air now,
    // 1 = added by the scenario.
    let mut groups: Vec<((usize, usize, u8), Vec<usize>)> = Vec::new();
    for (i, s) in sites.iter().enumerate() {
        for tech in 0..2 {
            let layer = if s.on_air[tech] {
                0
            } else if s.scenario[tech] {
                1
            } else {
                continue;
            };
            let key = (layer, tech, s.bit);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(i),
                None => groups.push((key, vec![i])),
            }
        }
    }
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
            scope.spawn(move || {
                let mut layers: [[&mut [Mask]; 2]; 2] = [[a0, a1], [x0, x1]];
                for row in clip.r0..clip.r1 {
                    let o = (row - b0) * cols;
                    for layer in &mut layers {
                        for m in layer.iter_mut() {
                            m[o + clip.c0..o + clip.c1].fill(0);
                        }
                    }
                }
                // Runs per row of the clip, reused across groups.
                let mut buckets: Vec<Vec<(u32, u32)>> = vec![Vec::new(); clip.r1 - clip.r0];
                for ((layer, tech, bit), members) in groups {
                    let (layer, tech) = (*layer, *tech);
                    let bit: Mask = 1 << *bit;
                    for &si in members {
                        let s = &sites[si];
                        let r = model.radius_m[tech][usize::from(s.urban)];
                        disk_runs(grid, clip, s.x, s.y, r, |row, lo, hi| {
                            #[allow(clippy::cast_possible_truncation)]
                            buckets[row - clip.r0].push((lo as u32, hi as u32));
                        });
                    }
                    let m = &mut *layers[layer][tech];
                    for (k, runs) in buckets.iter_mut().enumerate() {
                        if runs.is_empty() {
                            continue;
                        }
                        runs.sort_unstable_by_key(|&(lo, _)| lo);
                        let o = (clip.r0 + k - b0) * cols;
                        let (mut lo, mut hi) = runs[0];
                        for &(l, h) in &runs[1..] {
                            if l <= hi + 1 {
                                hi = hi.max(h);
                            } else {
                                or_run(m, o + lo as usize, o + hi as usize, bit);
                                (lo, hi) = (l, h);
                            }
                        }
                        or_run(m, o + lo as usize, o + hi as usize, bit);
                        runs.clear();
                    }
                }
            });
        }
    });
}

/// OR `bit` into `m[lo..=hi]`.
#[inline]
fn or_run(m: &mut [Mask], lo: usize, hi: usize, bit: Mask) {
    for v in &mut m[lo..=hi] {
        *v |= bit;
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

/// Add one cell's coverage to an accumulator. Branch-light: counters take
/// 0/1 from comparisons, covered households add `h` or `0.0` (adding 0.0
/// leaves a sum unchanged, so the figures equal a branching sum bit for
/// bit), per-operator sums walk the operator bits.
#[inline(always)]
fn add_cell(a: &mut Acc, h: f64, count: u8, set: Option<Mask>, operator_bits: &[u8]) {
    let covered = count > 0;
    a.hh += h;
    a.cells += 1;
    a.dead += u32::from(count == 0);
    a.grey += u32::from(count == 1);
    a.cov += u32::from(covered);
    a.hh_cov += if covered { h } else { 0.0 };
    match set {
        Some(s) => {
            for &b in operator_bits {
                let b = usize::from(b) & 15;
                let on = (s >> b) & 1 != 0;
                a.op_hh[b] += if on { h } else { 0.0 };
                a.op_cells[b] += u32::from(on);
            }
        }
        None => a.known = false,
    }
}

/// Sum rows `r0..r1` of the scope's region into `acc`, actual
/// (`acc[m][0]`) and scenario (`acc[m][1]`) at once. Within each row only the columns between the row's first and last
/// grid cell are visited ([`Grid::row_span`]).
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
    for row in r0..r1 {
        let base = row * grid.cols;
        let (c0, c1) = grid.row_span(row);
        let (c0, c1) = (c0.max(region.c0), c1.min(region.c1));
        for slot in base + c0..base + c1 {
            let m = grid.muni[slot];
            if m == NO_MUNI {
                continue;
            }
            if let Some(f) = sc.munis {
                if !f[usize::from(m)] {
                    continue;
                }
            }
            let h = f64::from(grid.households[slot]);
            let [actual, scenario] = &mut acc[usize::from(m)];
            for tech in 0..2 {
                let (rc, rm) = if has_reported {
                    let l = &grid.reported[tech];
                    (l.count[slot], l.mask[slot])
                } else {
                    (0, UNKNOWN)
                };
                let ma = masks.actual[tech][slot];
                let ms = ma | masks.extra[tech][slot];
                let (count, set) = comb(rc, rm, ma);
                add_cell(&mut actual[tech], h, count, set, operator_bits);
                let (count, set) = if ms == ma { (count, set) } else { comb(rc, rm, ms) };
                add_cell(&mut scenario[tech], h, count, set, operator_bits);
            }
        }
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
    use crate::grid::GridInput;

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

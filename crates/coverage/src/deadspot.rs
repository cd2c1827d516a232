//! LTE dead spots as polygons: 4-connected components of dead cells within
//! one municipality, each traced into one polygon with its holes.
//!
//! Why in Rust rather than `ST_Union` in PostGIS: unioning thousands of
//! squares costs seconds state-wide and tens of milliseconds for one
//! municipality, while tracing the boundary of a component on the grid is
//! linear in its cells.
//!
//! Tracing: every cell side between a component cell and a non-member is a
//! directed edge with the component on its left (counter-clockwise around
//! the cells). Edges are chained into rings; where two component cells
//! touch only at a corner (a pinch), the ring turns right, so each ring
//! wraps one 4-connected region of non-members: the outer ring once, every
//! hole once, and rings touch at most at single points — valid OGC
//! polygons. The outer ring is the one with positive signed area.

use std::collections::HashMap;

use funkplan_model::CoverageSource;

use crate::engine::{lte_dead, threads, Masks, Rect};
use crate::grid::{Grid, NO_MUNI};

/// One dead spot: a connected group of dead cells in one municipality.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadSpot {
    /// Index of the municipality (engine order, [`Grid::ags`]).
    pub muni: u16,
    /// Ordinal within the municipality (1-based), in row-major order of the
    /// component's first cell; the id is `<AGS>-<k>`.
    pub k: u32,
    /// Dead cells in the spot.
    pub cells: u32,
    /// Rings in EPSG:25832 metres, closed (first point = last); the first is
    /// the outer ring (counter-clockwise), the rest holes.
    pub rings: Vec<Vec<(f64, f64)>>,
}

impl DeadSpot {
    /// Area in km²: a cell is 0.01 km².
    #[must_use]
    pub fn area_km2(&self) -> f64 {
        f64::from(self.cells) * 0.01
    }

    /// The polygon as WKB (little-endian MultiPolygon with one polygon).
    #[must_use]
    pub fn wkb(&self) -> Vec<u8> {
        let pts: usize = self.rings.iter().map(Vec::len).sum();
        let mut w = Vec::with_capacity(18 + self.rings.len() * 4 + pts * 16);
        let u32le = |w: &mut Vec<u8>, v: usize| w.extend_from_slice(&u32::try_from(v).unwrap_or(u32::MAX).to_le_bytes());
        w.push(1);
        u32le(&mut w, 6);
        u32le(&mut w, 1);
        w.push(1);
        u32le(&mut w, 3);
        u32le(&mut w, self.rings.len());
        for ring in &self.rings {
            u32le(&mut w, ring.len());
            for &(x, y) in ring {
                w.extend_from_slice(&x.to_le_bytes());
                w.extend_from_slice(&y.to_le_bytes());
            }
        }
        w
    }
}

/// One bit per slot of a region, each row starting on a new word (so bands
/// of rows can be filled by separate threads).
struct Bits {
    words: Vec<u64>,
    stride: usize,
}

impl Bits {
    fn new(w: usize, h: usize) -> Self {
        let stride = w.div_ceil(64);
        Self { words: vec![0; stride * h], stride }
    }
    #[inline]
    fn get(&self, r: usize, c: usize) -> bool {
        self.words[r * self.stride + c / 64] >> (c % 64) & 1 == 1
    }
    #[inline]
    fn set(&mut self, r: usize, c: usize) {
        self.words[r * self.stride + c / 64] |= 1 << (c % 64);
    }
}

/// Dead spots of the flagged municipalities (`None` = all), whose cells
/// all lie in `region`.
///
/// Dead cells and visited cells are bits, not a label per slot: a
/// component is all dead cells of one municipality reachable through 4-
/// neighbours, so a neighbour of a member belongs to it exactly when it is
/// dead and of the same municipality — no label needed to tell (and no
/// 4 bytes per slot of the box to clear on every run).
#[must_use]
pub fn dead_spots(grid: &Grid, masks: &Masks, source: CoverageSource, munis: Option<&[bool]>, region: Rect) -> Vec<DeadSpot> {
    let w = region.c1.saturating_sub(region.c0);
    let h = region.r1.saturating_sub(region.r0);
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let mut dead = Bits::new(w, h);
    // Mark the dead cells, bands of rows on separate threads.
    let stride = dead.stride;
    let band = h.div_ceil(threads()).max(1);
    std::thread::scope(|scope| {
        for (i, words) in dead.words.chunks_mut((band * stride).max(1)).enumerate() {
            scope.spawn(move || {
                for (k, row_words) in words.chunks_mut(stride.max(1)).enumerate() {
                    let row = region.r0 + i * band + k;
                    let (a, b) = grid.row_span(row);
                    let base = row * grid.cols;
                    for c in a.max(region.c0)..b.min(region.c1) {
                        let slot = base + c;
                        let m = grid.muni[slot];
                        if m == NO_MUNI || munis.is_some_and(|f| !f[usize::from(m)]) {
                            continue;
                        }
                        if lte_dead(grid, masks, source, slot) {
                            let lc = c - region.c0;
                            row_words[lc / 64] |= 1 << (lc % 64);
                        }
                    }
                }
            });
        }
    });
    let muni_at = |lr: usize, lc: usize| grid.muni[(region.r0 + lr) * grid.cols + region.c0 + lc];
    let mut seen = Bits::new(w, h);
    let mut out = Vec::new();
    let mut per_muni: HashMap<u16, u32> = HashMap::new();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut members: Vec<(usize, usize)> = Vec::new();
    for (wi, &word) in dead.words.iter().enumerate() {
        let mut todo = word;
        while todo != 0 {
            let start = (wi / stride, wi % stride * 64 + todo.trailing_zeros() as usize);
            todo &= todo - 1;
            if seen.get(start.0, start.1) {
                continue;
            }
            let m = muni_at(start.0, start.1);
            // A component is the dead cells of one municipality.
            let inside = |r: usize, c: usize| dead.get(r, c) && muni_at(r, c) == m;
            fill(start, (w, h), inside, &mut seen, &mut stack, &mut members);
            let k = per_muni.entry(m).or_insert(0);
            *k += 1;
            let rings = rings_in_metres(grid, region, trace(local(w, h, inside), &members));
            out.push(DeadSpot { muni: m, k: *k, cells: u32::try_from(members.len()).unwrap_or(u32::MAX), rings });
        }
    }
    out
}

/// Closed rings in EPSG:25832 metres, the outer ring first.
pub type Rings = Vec<Vec<(f64, f64)>>;

/// The 4-connected areas of the cells of `region` for which `member(slot)`
/// holds, each as `(cells, rings)` traced as the dead spots are (rings in
/// EPSG:25832 metres, closed, the outer ring first, counter-clockwise),
/// in row-major order of their first cell. For small regions (one
/// municipality's box): one thread, a bit per slot of the region.
#[must_use]
pub fn areas(grid: &Grid, region: Rect, member: impl Fn(usize) -> bool) -> Vec<(u32, Rings)> {
    let w = region.c1.saturating_sub(region.c0);
    let h = region.r1.saturating_sub(region.r0);
    let mut is_member = Bits::new(w, h);
    for lr in 0..h {
        for lc in 0..w {
            if member((region.r0 + lr) * grid.cols + region.c0 + lc) {
                is_member.set(lr, lc);
            }
        }
    }
    let mut seen = Bits::new(w, h);
    let mut out = Vec::new();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut members: Vec<(usize, usize)> = Vec::new();
    let inside = |r: usize, c: usize| is_member.get(r, c);
    for lr in 0..h {
        for lc in 0..w {
            if !inside(lr, lc) || seen.get(lr, lc) {
                continue;
            }
            fill((lr, lc), (w, h), inside, &mut seen, &mut stack, &mut members);
            let rings = rings_in_metres(grid, region, trace(local(w, h, inside), &members));
            out.push((u32::try_from(members.len()).unwrap_or(u32::MAX), rings));
        }
    }
    out
}

/// Collect in `members` the 4-connected component of `start` among the
/// cells of a `(w, h)` raster for which `inside` holds, marking each
/// `seen` (`start` must be inside and not yet seen).
fn fill(
    start: (usize, usize),
    (w, h): (usize, usize),
    inside: impl Fn(usize, usize) -> bool,
    seen: &mut Bits,
    stack: &mut Vec<(usize, usize)>,
    members: &mut Vec<(usize, usize)>,
) {
    members.clear();
    seen.set(start.0, start.1);
    stack.push(start);
    while let Some((lr, lc)) = stack.pop() {
        members.push((lr, lc));
        let mut visit = |r: usize, c: usize| {
            if inside(r, c) && !seen.get(r, c) {
                seen.set(r, c);
                stack.push((r, c));
            }
        };
        if lr > 0 {
            visit(lr - 1, lc);
        }
        if lr + 1 < h {
            visit(lr + 1, lc);
        }
        if lc > 0 {
            visit(lr, lc - 1);
        }
        if lc + 1 < w {
            visit(lr, lc + 1);
        }
    }
}

/// `inside` as [`trace`] asks it: signed coordinates, false off the raster.
fn local(w: usize, h: usize, inside: impl Fn(usize, usize) -> bool) -> impl Fn(isize, isize) -> bool {
    move |r: isize, c: isize| {
        #[allow(clippy::cast_sign_loss)]
        let (ru, cu) = (r as usize, c as usize);
        r >= 0 && c >= 0 && ru < h && cu < w && inside(ru, cu)
    }
}

/// Traced rings (grid corners of `region`) in EPSG:25832 metres.
fn rings_in_metres(grid: &Grid, region: Rect, rings: Vec<Vec<V>>) -> Rings {
    rings
        .into_iter()
        .map(|ring| {
            ring.into_iter()
                .map(|(vr, vc)| {
                    let x = (i64::from(grid.e0) + i64::try_from(region.c0 + vc).unwrap_or(0)) * 100;
                    let y = (i64::from(grid.n0) + i64::try_from(region.r0 + vr).unwrap_or(0)) * 100;
                    #[allow(clippy::cast_precision_loss)]
                    (x as f64, y as f64)
                })
                .collect()
        })
        .collect()
}

/// Vertex = (row, col) of a grid corner (the SW corner of cell (row, col)).
type V = (usize, usize);

/// Trace the rings of the component `members` (local `(row, col)`;
/// `is_in(row, col)` tells membership). Returns closed rings of corners,
/// the outer ring first.
fn trace(is_in: impl Fn(isize, isize) -> bool, members: &[(usize, usize)]) -> Vec<Vec<V>> {
    // Directed edges (from, to), member on the left.
    let mut edges: Vec<(V, V)> = Vec::new();
    for &(r, c) in members {
        #[allow(clippy::cast_possible_wrap)]
        let (ri, ci) = (r as isize, c as isize);
        if !is_in(ri - 1, ci) {
            edges.push(((r, c), (r, c + 1)));
        }
        if !is_in(ri, ci + 1) {
            edges.push(((r, c + 1), (r + 1, c + 1)));
        }
        if !is_in(ri + 1, ci) {
            edges.push(((r + 1, c + 1), (r + 1, c)));
        }
        if !is_in(ri, ci - 1) {
            edges.push(((r + 1, c), (r, c)));
        }
    }
    let mut from: HashMap<V, [usize; 2]> = HashMap::with_capacity(edges.len());
    for (k, &(a, _)) in edges.iter().enumerate() {
        let e = from.entry(a).or_insert([usize::MAX; 2]);
        if e[0] == usize::MAX {
            e[0] = k;
        } else {
            e[1] = k;
        }
    }
    let dir = |(a, b): (V, V)| -> (isize, isize) {
        #[allow(clippy::cast_possible_wrap)]
        ((b.0 as isize - a.0 as isize), (b.1 as isize - a.1 as isize))
    };
    let mut used = vec![false; edges.len()];
    let mut rings: Vec<Vec<V>> = Vec::new();
    for first in 0..edges.len() {
        if used[first] {
            continue;
        }
        let start = edges[first].0;
        let mut ring = vec![start];
        let mut cur = first;
        loop {
            used[cur] = true;
            let v = edges[cur].1;
            ring.push(v);
            if v == start {
                break;
            }
            let Some(cands) = from.get(&v) else { break };
            let free: Vec<usize> = cands.iter().copied().filter(|&k| k != usize::MAX && !used[k]).collect();
            cur = match free.as_slice() {
                [] => break,
                [k] => *k,
                _ => {
                    // Pinch: turn right. In (row, col) = (y, x) terms the
                    // right of direction (dy, dx) is (-dx, dy).
                    let (dy, dx) = dir(edges[cur]);
                    let right = (-dx, dy);
                    *free.iter().find(|&&k| dir(edges[k]) == right).unwrap_or(&free[0])
                }
            };
        }
        rings.push(simplify(ring));
    }
    // Outer ring first: the one with the largest signed area (positive,
    // counter-clockwise in x = col, y = row).
    rings.sort_by(|a, b| signed_area(b).total_cmp(&signed_area(a)));
    rings
}

/// Drop vertices in the middle of straight runs.
fn simplify(ring: Vec<V>) -> Vec<V> {
    let n = ring.len();
    if n < 4 {
        return ring;
    }
    // ring is closed: ring[0] == ring[n-1]
    let pts = &ring[..n - 1];
    let m = pts.len();
    let mut out: Vec<V> = Vec::with_capacity(m + 1);
    for i in 0..m {
        let p = pts[(i + m - 1) % m];
        let q = pts[i];
        let r = pts[(i + 1) % m];
        let collinear = (p.0 == q.0 && q.0 == r.0) || (p.1 == q.1 && q.1 == r.1);
        if !collinear {
            out.push(q);
        }
    }
    if let Some(&f) = out.first() {
        out.push(f);
    }
    out
}

/// Shoelace area with x = col, y = row (positive = counter-clockwise).
fn signed_area(ring: &[V]) -> f64 {
    let mut s = 0i64;
    for win in ring.windows(2) {
        let (a, b) = (win[0], win[1]);
        #[allow(clippy::cast_possible_wrap)]
        let (ax, ay, bx, by) = (a.1 as i64, a.0 as i64, b.1 as i64, b.0 as i64);
        s += ax * by - bx * ay;
    }
    #[allow(clippy::cast_precision_loss)]
    let v = s as f64 / 2.0;
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::GridInput;

    /// A grid of one municipality from an ASCII picture (top row = north);
    /// `#` = dead cell, `.` = covered (reported 1 operator), ` ` = no cell.
    fn picture(rows: &[&str]) -> (Grid, Masks) {
        let mut input = GridInput { ags: vec!["05000001".into()], ..Default::default() };
        let h = i32::try_from(rows.len()).unwrap();
        for (i, line) in rows.iter().enumerate() {
            let n = h - 1 - i32::try_from(i).unwrap();
            for (j, ch) in line.chars().enumerate() {
                let e = i32::try_from(j).unwrap();
                if ch == ' ' {
                    continue;
                }
                input.cells.push((n, e, 0));
                let c = u8::from(ch == '.');
                input.reported.push((n, e, c, c, crate::grid::UNKNOWN, crate::grid::UNKNOWN));
            }
        }
        let g = Grid::build(input).unwrap();
        let m = Masks::new(&g);
        (g, m)
    }

    fn ring_area(r: &[(f64, f64)]) -> f64 {
        r.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum::<f64>() / 2.0
    }

    #[test]
    fn components_holes_and_pinches() {
        let (g, m) = picture(&[
            "#####.##",
            "#...#.#.",
            "#.#.#..#",
            "#...#...",
            "#####.#.",
            "......##",
        ]);
        let spots = dead_spots(&g, &m, CoverageSource::Reported, None, Rect::all(&g));
        let mut sizes: Vec<u32> = spots.iter().map(|s| s.cells).collect();
        sizes.sort_unstable();
        // the frame of 16 with an island of 1 inside, a 3-cell L top right,
        // a single cell, and the 3-cell L bottom right.
        assert_eq!(sizes, vec![1, 1, 3, 3, 16]);
        for s in &spots {
            let total: f64 = s.rings.iter().map(|r| ring_area(r)).sum();
            assert!((total - f64::from(s.cells) * 10_000.0).abs() < 1e-6, "area of {s:?}");
            assert!(ring_area(&s.rings[0]) > 0.0, "outer ring first and counter-clockwise");
            for r in &s.rings {
                assert_eq!(r.first(), r.last());
            }
        }
        let big = spots.iter().find(|s| s.cells == 16).unwrap();
        assert_eq!(big.rings.len(), 2, "the frame has one hole");
        assert_eq!(big.rings[0].len(), 5, "outer ring of a rectangle has 4 corners");
        assert_eq!(spots.iter().map(|s| s.k).max(), Some(5));
    }

    #[test]
    fn pinch_makes_a_hole_touching_the_shell() {
        // A ring of dead cells whose enclosed cell touches the outside only
        // at a corner: the hole must be its own ring.
        let (g, m) = picture(&[
            "###.",
            "#.#.",
            "##..",
        ]);
        let spots = dead_spots(&g, &m, CoverageSource::Reported, None, Rect::all(&g));
        assert_eq!(spots.len(), 1);
        let s = &spots[0];
        assert_eq!(s.cells, 7);
        assert_eq!(s.rings.len(), 2, "outer ring and a hole touching it at a corner: {:?}", s.rings);
        assert!(ring_area(&s.rings[1]) < 0.0);
        let wkb = s.wkb();
        assert_eq!(wkb.len(), 1 + 4 + 4 + 1 + 4 + 4 + s.rings.iter().map(|r| 4 + r.len() * 16).sum::<usize>());
    }
}

//! The 100 m grid of EPSG:25832 (crates/coverage/README.md): rasterising municipality
//! polygons into the cells whose centre they contain, and the in-memory set
//! of grid cells used to find census households outside every municipality.

/// A ring of (easting, northing) in EPSG:25832 metres; closed (last = first).
pub type Ring = Vec<(f64, f64)>;
/// Exterior ring first, then holes.
pub type Polygon = Vec<Ring>;
pub type MultiPolygon = Vec<Polygon>;

/// Cells (n, e) whose centre (e*100+50, n*100+50) lies inside `mp`, by
/// scanline: per cell row, intersect the centre line with every edge and
/// fill between pairs of crossings (even-odd, so holes fall out).
///
/// Edges count when `y0 <= y < y1` (half-open) and a centre counts when
/// `x_in <= x < x_out`, so two polygons sharing an edge exactly never both
/// claim a cell, and no cell on the shared edge is lost.
pub fn rasterise(mp: &MultiPolygon, mut emit: impl FnMut(i32, i32)) {
    let mut edges: Vec<(f64, f64, f64, f64)> = Vec::new();
    let (mut ymin, mut ymax) = (f64::INFINITY, f64::NEG_INFINITY);
    for poly in mp {
        for ring in poly {
            for w in ring.windows(2) {
                let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                if y0 == y1 {
                    continue;
                }
                edges.push((x0, y0, x1, y1));
                ymin = ymin.min(y0.min(y1));
                ymax = ymax.max(y0.max(y1));
            }
        }
    }
    if edges.is_empty() {
        return;
    }
    // Row n has centre line y = n*100+50.
    #[allow(clippy::cast_possible_truncation)]
    let n_lo = ((ymin - 50.0) / 100.0).ceil() as i32;
    #[allow(clippy::cast_possible_truncation)]
    let n_hi = ((ymax - 50.0) / 100.0).ceil() as i32; // exclusive
    if n_hi <= n_lo {
        return;
    }
    #[allow(clippy::cast_sign_loss)]
    let rows = (n_hi - n_lo) as usize;
    // Bucket the edges by the first row they cross; walk rows with an active list.
    let mut starts: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (i, &(_, y0, _, y1)) in edges.iter().enumerate() {
        let lo = y0.min(y1);
        #[allow(clippy::cast_possible_truncation)]
        let first = ((lo - 50.0) / 100.0).ceil() as i32;
        let first = first.max(n_lo);
        if first < n_hi {
            #[allow(clippy::cast_sign_loss)]
            starts[(first - n_lo) as usize].push(i);
        }
    }
    let mut active: Vec<usize> = Vec::new();
    let mut xs: Vec<f64> = Vec::new();
    for (r, start) in starts.iter().enumerate() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let n = n_lo + r as i32;
        let y = f64::from(n) * 100.0 + 50.0;
        active.extend_from_slice(start);
        active.retain(|&i| {
            let (_, y0, _, y1) = edges[i];
            y < y0.max(y1)
        });
        xs.clear();
        for &i in &active {
            let (x0, y0, x1, y1) = edges[i];
            if (y0 <= y && y < y1) || (y1 <= y && y < y0) {
                xs.push(x0 + (y - y0) * (x1 - x0) / (y1 - y0));
            }
        }
        xs.sort_unstable_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            #[allow(clippy::cast_possible_truncation)]
            let e_lo = ((pair[0] - 50.0) / 100.0).ceil() as i32;
            #[allow(clippy::cast_possible_truncation)]
            let e_hi = ((pair[1] - 50.0) / 100.0).ceil() as i32;
            for e in e_lo..e_hi {
                emit(n, e);
            }
        }
    }
}

/// Pack a cell into one sortable key (row-major).
#[must_use]
#[allow(clippy::cast_sign_loss)]
pub fn key(n: i32, e: i32) -> u64 {
    (u64::from(n as u32) << 32) | u64::from(e as u32)
}

/// Unpack [`key`].
#[must_use]
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
pub fn unkey(k: u64) -> (i32, i32) {
    ((k >> 32) as u32 as i32, k as u32 as i32)
}

/// The set of grid cells, as a bitmap over their bounding box.
#[derive(Debug, Default)]
pub struct CellSet {
    n0: i32,
    e0: i32,
    width: usize,
    height: usize,
    bits: Vec<u64>,
    len: usize,
}

impl CellSet {
    #[must_use]
    pub fn from_cells(cells: &[(i32, i32)]) -> Self {
        if cells.is_empty() {
            return Self::default();
        }
        let (mut n0, mut n1, mut e0, mut e1) = (i32::MAX, i32::MIN, i32::MAX, i32::MIN);
        for &(n, e) in cells {
            n0 = n0.min(n);
            n1 = n1.max(n);
            e0 = e0.min(e);
            e1 = e1.max(e);
        }
        #[allow(clippy::cast_sign_loss)]
        let (height, width) = ((n1 - n0 + 1) as usize, (e1 - e0 + 1) as usize);
        let mut s = Self { n0, e0, width, height, bits: vec![0; (width * height).div_ceil(64)], len: 0 };
        for &(n, e) in cells {
            #[allow(clippy::cast_sign_loss)]
            let i = (n - n0) as usize * width + (e - e0) as usize;
            if s.bits[i / 64] & (1 << (i % 64)) == 0 {
                s.bits[i / 64] |= 1 << (i % 64);
                s.len += 1;
            }
        }
        s
    }

    #[must_use]
    pub fn contains(&self, n: i32, e: i32) -> bool {
        if self.width == 0 || n < self.n0 || e < self.e0 {
            return false;
        }
        #[allow(clippy::cast_sign_loss)]
        let (r, c) = ((n - self.n0) as usize, (e - self.e0) as usize);
        if r >= self.height || c >= self.width {
            return false;
        }
        let i = r * self.width + c;
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon {
        vec![vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]
    }

    fn cells(mp: &MultiPolygon) -> Vec<(i32, i32)> {
        let mut v = Vec::new();
        rasterise(mp, |n, e| v.push((n, e)));
        v.sort_unstable();
        v
    }

    #[test]
    fn a_one_km_square_has_100_cells() {
        let c = cells(&vec![square(1000.0, 2000.0, 2000.0, 3000.0)]);
        assert_eq!(c.len(), 100);
        assert_eq!(c[0], (20, 10));
        assert_eq!(c[99], (29, 19));
    }

    #[test]
    fn neighbours_sharing_an_edge_split_cells_exactly() {
        // A shared slanted edge through cell centres.
        let a = vec![vec![vec![(0.0, 0.0), (1050.0, 0.0), (450.0, 1000.0), (0.0, 1000.0), (0.0, 0.0)]]];
        let b = vec![vec![vec![(1050.0, 0.0), (2000.0, 0.0), (2000.0, 1000.0), (450.0, 1000.0), (1050.0, 0.0)]]];
        let (ca, cb) = (cells(&a), cells(&b));
        let whole = cells(&vec![square(0.0, 0.0, 2000.0, 1000.0)]);
        assert_eq!(ca.len() + cb.len(), whole.len());
        let mut u = ca.clone();
        u.extend(&cb);
        u.sort_unstable();
        assert_eq!(u, whole);
    }

    #[test]
    fn holes_are_left_out() {
        let mut p = square(0.0, 0.0, 1000.0, 1000.0);
        p.push(vec![(200.0, 200.0), (200.0, 400.0), (400.0, 400.0), (400.0, 200.0), (200.0, 200.0)]);
        assert_eq!(cells(&vec![p]).len(), 96);
    }

    #[test]
    fn cell_set() {
        let s = CellSet::from_cells(&[(5, 5), (7, 9), (5, 5)]);
        assert_eq!(s.len(), 2);
        assert!(s.contains(7, 9) && s.contains(5, 5));
        assert!(!s.contains(6, 9) && !s.contains(100, 100) && !s.contains(-1, 0));
        assert_eq!(unkey(key(58735, 4942)), (58735, 4942));
    }
}

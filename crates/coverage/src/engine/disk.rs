//! The covered cells of one disk, row by row: the exact coverage rule.

use super::Rect;
use crate::grid::Grid;

/// Centre of a cell along an axis, in metres.
#[inline]
pub(super) fn centre(origin: i32, idx: i64) -> f64 {
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

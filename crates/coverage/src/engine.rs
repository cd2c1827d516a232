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
//! into the masks once per band of rows ([`stamp()`]). No cell is ever
//! tested against a site it cannot reach.
//!
//! By job: [`regions`] (rectangles of slots, municipality scopes), `disk`
//! (one disk's covered cells, the exact rule; crate-internal),
//! [`classify`](mod@classify) (urban or rural), [`stamp`](mod@stamp) (disks into operator masks) and
//! [`aggregate`](mod@aggregate) (masks into figures per municipality). The
//! items are re-exported here, so `engine::stamp` and friends keep their
//! paths.

pub mod aggregate;
pub mod classify;
mod disk;
pub mod regions;
pub mod stamp;
#[cfg(test)]
mod tests;

pub(crate) use disk::disk_runs;

pub use aggregate::{aggregate, aggregate_pair, aggregate_with, lte_dead, Figures, OperatorFigures, Scope, TechFigures};
pub use classify::{classify, is_urban};
pub use regions::{munis_in, munis_rect, Rect};
pub use stamp::{stamp, Masks};

/// How many threads the engine splits work over.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8)
}

//! The coverage model's parameters, the sites as the engine sees them, and
//! how a cell's coverage is combined from the reported and modelled layers.

use chrono::NaiveDate;
use funkplan_model::CoverageSource;

use crate::grid::{Mask, UNKNOWN};

/// Radii and the urban/rural rule, from `coverage_radius` and
/// `coverage_param` (seeded from `seeds/coverage_model.json`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// `radius_m[tech][urban as usize]`, tech in engine order (LTE, 5G).
    pub radius_m: [[f64; 2]; 2],
    /// A site is urban when the households within
    /// `urban_density_radius_m` exceed this many per km² on average.
    pub urban_households_per_km2: f64,
    /// Radius (metres) over which that household density is averaged.
    pub urban_density_radius_m: f64,
}

impl Model {
    /// The largest radius of any technology and setting: how far a site's
    /// change can reach.
    #[must_use]
    pub fn max_radius_m(&self) -> f64 {
        self.radius_m.iter().flatten().copied().fold(0.0, f64::max)
    }
}

/// One site as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The site's id (`site.site_id`).
    pub id: String,
    /// The operator's bit (`operator.bit`).
    pub bit: u8,
    /// Easting in EPSG:25832 metres.
    pub x: f64,
    /// Northing in EPSG:25832 metres.
    pub y: f64,
    /// Technologies on air now (engine order: LTE, 5G).
    pub on_air: [bool; 2],
    /// Technologies on air in the scenario (every planned or in-progress
    /// measure completed): a superset of `on_air`.
    pub scenario: [bool; 2],
    /// Since when each technology is on air, for the history replay; `None`
    /// = no date known (counted as on air from the start).
    pub since: [Option<NaiveDate>; 2],
    /// Urban or rural, by the household density around the site (set by
    /// the engine from the grid).
    pub urban: bool,
}

/// How many operators cover a cell and, where known, which.
///
/// Rules (crates/coverage/README.md), the same in the PostGIS reference:
/// - reported: the published count; the set where the file gives it, the
///   empty set where the count is 0 (no operator is a known set), else
///   unknown;
/// - modelled: the set of operators with a covering on-air site;
/// - union: the larger of the two counts (and of the united set's size
///   where the reported set is known); the united set where known.
#[inline]
#[must_use]
pub fn combine(source: CoverageSource, rc: u8, rmask: Mask, modelled: Mask) -> (u8, Option<Mask>) {
    let rset = if rmask != UNKNOWN {
        Some(rmask)
    } else if rc == 0 {
        Some(0)
    } else {
        None
    };
    #[allow(clippy::cast_possible_truncation)]
    let pop = |m: Mask| m.count_ones() as u8;
    match source {
        CoverageSource::Modelled => (pop(modelled), Some(modelled)),
        CoverageSource::Reported => (rc.max(rset.map_or(0, pop)), rset),
        CoverageSource::Union => match rset {
            Some(r) => (rc.max(pop(r | modelled)), Some(r | modelled)),
            None => (rc.max(pop(modelled)), None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_follows_the_rules() {
        use CoverageSource::{Modelled, Reported, Union};
        assert_eq!(combine(Modelled, 3, UNKNOWN, 0b101), (2, Some(0b101)));
        assert_eq!(combine(Reported, 3, UNKNOWN, 0b101), (3, None));
        assert_eq!(combine(Reported, 0, UNKNOWN, 0b101), (0, Some(0)));
        assert_eq!(combine(Reported, 2, 0b11, 0), (2, Some(0b11)));
        assert_eq!(combine(Union, 1, UNKNOWN, 0b101), (2, None));
        assert_eq!(combine(Union, 3, UNKNOWN, 0b1), (3, None));
        assert_eq!(combine(Union, 2, 0b11, 0b110), (3, Some(0b111)));
        assert_eq!(combine(Union, 0, UNKNOWN, 0b1000), (1, Some(0b1000)));
    }
}

//! The metrics a target can name (seeds/targets.json, docs/http.md).
//!
//! Why a closed set: a target is data, but its metric is code (the
//! arithmetic lives in `funkplan-targets` and its SQL). The word is parsed
//! once where it enters — the seed file, the `target` row — so a target
//! naming an unknown metric is refused there, and adding a metric is one
//! variant here; the compiler then points at every place that must learn it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// What a target measures.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum Metric {
    /// Completed measures of some kinds (params `kinds`, optional
    /// `completed_after`); unit `count`.
    #[serde(rename = "measures_completed")]
    MeasuresCompleted,
    /// Share of households covered by a technology (param `technology`);
    /// percent, state-wide, actual coverage.
    #[serde(rename = "household_share")]
    HouseholdShare,
    /// Share of the area (grid cells) covered by a technology (param
    /// `technology`); percent.
    #[serde(rename = "area_share")]
    AreaShare,
    /// Area of the cells no operator covers with a technology (param
    /// `technology`); km², a cell being 0.01 km².
    #[serde(rename = "dead_spot_area_km2")]
    DeadSpotAreaKm2,
}

impl Metric {
    /// Every metric, in declaration order.
    pub const ALL: &'static [Self] = &[Self::MeasuresCompleted, Self::HouseholdShare, Self::AreaShare, Self::DeadSpotAreaKm2];

    /// The spelling used in seed files, the database and JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MeasuresCompleted => "measures_completed",
            Self::HouseholdShare => "household_share",
            Self::AreaShare => "area_share",
            Self::DeadSpotAreaKm2 => "dead_spot_area_km2",
        }
    }

    /// Whether the metric is computed from the coverage figures (and so
    /// takes a `technology`), as opposed to counting measures.
    #[must_use]
    pub const fn is_coverage(self) -> bool {
        !matches!(self, Self::MeasuresCompleted)
    }
}

impl FromStr for Metric {
    type Err = ParseError;

    /// # Examples
    /// ```
    /// use funkplan_model::Metric;
    /// assert_eq!("area_share".parse::<Metric>().unwrap(), Metric::AreaShare);
    /// assert!("vibes".parse::<Metric>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|m| m.as_str() == s).ok_or_else(|| ParseError::Enum {
            what: "metric",
            value: s.to_owned(),
            allowed: "measures_completed household_share area_share dead_spot_area_km2",
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for m in Metric::ALL {
            assert_eq!(m.as_str().parse::<Metric>().unwrap(), *m);
            assert_eq!(serde_json::to_string(m).unwrap(), format!("\"{m}\""));
        }
        let e = "vibes".parse::<Metric>().unwrap_err().to_string();
        assert!(e.ends_with(&Metric::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" ")), "{e}");
    }
}

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// Edge length of a grid cell in metres (EPSG:25832).
pub const CELL_SIZE_M: f64 = 100.0;

/// A 100 m × 100 m cell of the Bundesnetzagentur's grid in EPSG:25832
/// (ETRS89 / UTM zone 32N), named by its south-west corner.
///
/// `n` is the northing and `e` the easting of the corner, both in hectometres
/// (metres / 100), so `100mN58735E4942` is N 5,873,500 m, E 494,200 m. Keeping
/// integers rather than metres makes equality exact and the id lossless.
///
/// # Examples
/// ```
/// use funkplan_model::CellId;
/// let c: CellId = "100mN58735E4942".parse().unwrap();
/// assert_eq!((c.n, c.e), (58735, 4942));
/// assert_eq!(c.centre_m(), (494_250.0, 5_873_550.0));
/// assert_eq!(c.to_string(), "100mN58735E4942");
/// assert_eq!(CellId::containing(494_299.9, 5_873_500.0), c);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CellId {
    /// Northing of the south-west corner / 100 m.
    pub n: i32,
    /// Easting of the south-west corner / 100 m.
    pub e: i32,
}

impl CellId {
    /// The cell whose south-west corner is at (`e` × 100 m, `n` × 100 m).
    #[must_use]
    pub const fn new(n: i32, e: i32) -> Self {
        Self { n, e }
    }

    /// The cell containing a point given in EPSG:25832 metres (easting, northing).
    /// Points on a western or southern edge belong to the cell east/north of it.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub fn containing(easting_m: f64, northing_m: f64) -> Self {
        Self {
            n: (northing_m / CELL_SIZE_M).floor() as i32,
            e: (easting_m / CELL_SIZE_M).floor() as i32,
        }
    }

    /// The centre of the cell as (easting, northing) in EPSG:25832 metres.
    #[must_use]
    pub fn centre_m(&self) -> (f64, f64) {
        (
            f64::from(self.e) * CELL_SIZE_M + CELL_SIZE_M / 2.0,
            f64::from(self.n) * CELL_SIZE_M + CELL_SIZE_M / 2.0,
        )
    }
}

impl FromStr for CellId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseError::CellId(s.to_owned());
        let rest = s.strip_prefix("100mN").ok_or_else(err)?;
        let (n, e) = rest.split_once('E').ok_or_else(err)?;
        let digits = |t: &str| -> Option<i32> {
            if t.is_empty() || t.len() > 7 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        Ok(Self {
            n: digits(n).ok_or_else(err)?,
            e: digits(e).ok_or_else(err)?,
        })
    }
}

impl fmt::Display for CellId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "100mN{}E{}", self.n, self.e)
    }
}

impl Serialize for CellId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CellId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "100mN", "100mN58735", "100mN58735E", "100mNE4942", "1kmN5873E494",
            "100mN58735E49x2", "100mn58735e4942", "100mN-5E4", "100mN123456789E1",
        ] {
            assert!(bad.parse::<CellId>().is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn round_trip(n in 0i32..10_000_000, e in 0i32..10_000_000) {
            let c = CellId::new(n, e);
            prop_assert_eq!(c.to_string().parse::<CellId>().unwrap(), c);
        }

        #[test]
        fn centre_lies_in_cell(n in 50_000i32..60_000, e in 2_000i32..9_000) {
            let c = CellId::new(n, e);
            let (x, y) = c.centre_m();
            prop_assert_eq!(CellId::containing(x, y), c);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = s.parse::<CellId>();
        }
    }
}

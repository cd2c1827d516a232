use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// Amtlicher Gemeindeschlüssel: the 8-digit official municipality key.
///
/// Digits 1–2 are the state (`05` = North Rhine-Westphalia), 3 the
/// government region, 4–5 the district (`Kreis`), 6–8 the municipality.
/// Stored as the 8 ASCII digits so it keeps its leading zero everywhere.
///
/// # Examples
/// ```
/// use funkplan_model::Ags;
/// let ags: Ags = "05111000".parse().unwrap();
/// assert_eq!(ags.state(), "05");
/// assert_eq!(ags.district(), "05111");
/// assert!("5111000".parse::<Ags>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ags([u8; 8]);

impl Ags {
    /// The key as a string slice (always 8 ASCII digits).
    #[must_use]
    pub fn as_str(&self) -> &str {
        // The constructor only admits ASCII digits, so this cannot fail; fall
        // back to an empty string rather than panic to keep the type total.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The two-digit state key (`05` for NRW).
    #[must_use]
    pub fn state(&self) -> &str {
        &self.as_str()[..2]
    }

    /// The five-digit district (`Kreis`) key.
    #[must_use]
    pub fn district(&self) -> &str {
        &self.as_str()[..5]
    }

    /// Whether the municipality lies in the state with the given two-digit key.
    #[must_use]
    pub fn in_state(&self, state: &str) -> bool {
        self.state() == state
    }
}

impl FromStr for Ags {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::Ags(s.to_owned()));
        }
        let mut out = [0u8; 8];
        out.copy_from_slice(b);
        Ok(Self(out))
    }
}

impl TryFrom<&str> for Ags {
    type Error = ParseError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for Ags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Ags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ags({})", self.as_str())
    }
}

impl Serialize for Ags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ags {
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
    fn rejects_wrong_shapes() {
        for bad in ["", "0511100", "051110000", "05a11000", " 5111000", "０5111000"] {
            assert!(bad.parse::<Ags>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serde_round_trip() {
        let a: Ags = "05315000".parse().unwrap();
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, "\"05315000\"");
        assert_eq!(serde_json::from_str::<Ags>(&j).unwrap(), a);
        assert!(serde_json::from_str::<Ags>("\"5315000\"").is_err());
    }

    proptest! {
        #[test]
        fn any_eight_digits_round_trip(n in 0u32..100_000_000) {
            let s = format!("{n:08}");
            let a: Ags = s.parse().unwrap();
            prop_assert_eq!(a.to_string(), s);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = s.parse::<Ags>();
        }
    }
}

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// A mobile network operator's id (`telekom`, `vodafone`, `telefonica`,
/// `1und1`, …). The set is open and lives in the database; this type only
/// guarantees the spelling rule, so ids stay usable as JSON keys, file column
/// prefixes and URL parts.
///
/// # Examples
/// ```
/// use funkplan_model::OperatorId;
/// assert!("1und1".parse::<OperatorId>().is_ok());
/// assert!("Telekom".parse::<OperatorId>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OperatorId(String);

impl OperatorId {
    /// The id as written (lower-case).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OperatorId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::Operator(s.to_owned()))
        }
    }
}

impl TryFrom<String> for OperatorId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<OperatorId> for String {
    fn from(o: OperatorId) -> Self {
        o.0
    }
}

impl fmt::Display for OperatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

//! The one rule for site and measure ids, used by the HTTP API and the
//! ingest files alike (and mirrored by the schema's CHECK constraints), and
//! the id types that can only hold a valid id.
//!
//! `.` and `..` pass the character rule but are refused: as path segments
//! (`/api/v1/sites/%2e%2e`) they name a directory, not a site, and proxies or
//! clients normalise them away (issue 20, finding 7).

use std::fmt;

/// The rule in words, for messages.
pub const ID_RULE: &str = "1-64 characters of A-Z a-z 0-9 . _ : - (and not \".\" or \"..\")";

/// Longest id.
pub const ID_MAX_LEN: usize = 64;

/// Whether `s` is a valid site or measure id.
#[must_use]
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= ID_MAX_LEN
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// An id that breaks [`ID_RULE`]; the message names the field and the value
/// (`site_id "S 1" must be 1-64 characters …`), as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value:?} must be {rule}", rule = ID_RULE)]
pub struct IdError {
    /// The field the id was read from (`site_id`, `measure_id`).
    pub field: &'static str,
    /// The refused text.
    pub value: String,
}

/// Declares an id newtype: validated on construction, so a value of it is
/// a valid id wherever it travels.
macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $field:literal) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(String);

        impl $name {
            /// The field name in files, JSON and messages.
            pub const FIELD: &'static str = $field;

            /// `s` as an id, or why not.
            ///
            /// # Errors
            /// [`IdError`] when `s` breaks [`ID_RULE`].
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                Self::check(&s)?;
                Ok(Self(s))
            }

            /// Whether `s` would make a valid id, without keeping it (for
            /// readers that only check, such as the ingest).
            ///
            /// # Errors
            /// [`IdError`] when `s` breaks [`ID_RULE`].
            pub fn check(s: &str) -> Result<(), IdError> {
                if valid_id(s) {
                    Ok(())
                } else {
                    Err(IdError { field: $field, value: s.to_owned() })
                }
            }

            /// The id's text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            #[must_use]
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(
    /// The id of a site (`site_id`).
    SiteId, "site_id"
);

id_type!(
    /// The id of a measure (`measure_id`).
    MeasureId, "measure_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_schema_rule_without_dot_segments() {
        for ok in ["S-1", "S-05111000-3", "a.b", "...", ".x", "x.", "op:1_2", &"x".repeat(64)] {
            assert!(valid_id(ok), "{ok:?}");
            assert_eq!(SiteId::new(ok).unwrap().as_str(), ok);
        }
        for bad in ["", ".", "..", "S 1", "S/1", "ä", "x\0", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
            assert!(MeasureId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_field_value_and_rule() {
        assert_eq!(
            SiteId::new("S 1").unwrap_err().to_string(),
            format!("site_id \"S 1\" must be {ID_RULE}")
        );
        assert_eq!(MeasureId::check("").unwrap_err().field, "measure_id");
    }
}

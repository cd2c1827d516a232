//! The one rule for site and measure ids, used by the HTTP API and the
//! ingest files alike (and mirrored by the schema's CHECK constraints).
//!
//! `.` and `..` pass the character rule but are refused: as path segments
//! (`/api/v1/sites/%2e%2e`) they name a directory, not a site, and proxies or
//! clients normalise them away (issue 20, finding 7).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_schema_rule_without_dot_segments() {
        for ok in ["S-1", "S-05111000-3", "a.b", "...", ".x", "x.", "op:1_2", &"x".repeat(64)] {
            assert!(valid_id(ok), "{ok:?}");
        }
        for bad in ["", ".", "..", "S 1", "S/1", "ä", "x\0", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}

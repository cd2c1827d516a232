//! The statements of a place's figures — a municipality's, a district's,
//! a Regierungsbezirk's. Each names the place's rows in its own file; the
//! figures computed from them (`sql/figures.sql`) are written once and put
//! in where the file says `--@include figures.sql`, so a municipality and
//! the areas it adds up to can never be figured in two different ways.

use std::sync::LazyLock;

const MARKER: &str = "--@include figures.sql\n";

fn with_figures(sql: &str) -> String {
    sql.replacen(MARKER, include_str!("../../sql/figures.sql"), 1)
}

/// `$1` = AGS; one row with the figures as JSON text, none for an unknown AGS.
pub(crate) static MUNICIPALITY: LazyLock<String> =
    LazyLock::new(|| with_figures(include_str!("../../sql/municipality_figures.sql")));

/// `$1` = AGS prefix, `$2` = `district` or `region`; one row with the
/// figures as JSON text, none when no municipality has the prefix.
pub(crate) static AREA: LazyLock<String> =
    LazyLock::new(|| with_figures(include_str!("../../sql/area_figures.sql")));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_figures_are_put_in() {
        for sql in [&*MUNICIPALITY, &*AREA] {
            assert!(!sql.contains(MARKER), "{sql}");
            assert!(
                sql.contains("), tech AS (") && sql.contains("), latest AS ("),
                "{sql}"
            );
        }
    }
}

//! A collection's properties as columns: each property's name with the SQL
//! expression behind it and the type PostgreSQL gives that expression. The
//! CQL2 filters, `sortby`, `properties` and the queryables' query
//! parameters address properties by name and need their expressions and
//! types.
//!
//! Why read off [`Collection::props`] rather than declared a second time:
//! the props are one `json_build_object('name', expr, …)` per collection,
//! the single place a property is defined; a second list of names and
//! expressions would be a copy to keep equal. The split is a small scanner
//! over the catalog's own constant SQL (quotes and parentheses), tested for
//! every collection below. Types come from PostgreSQL (a prepared
//! `SELECT expr, … LIMIT 0`), once per collection and process, as every
//! database of a build has the same schema.

use std::sync::OnceLock;

use funkplan_db::Error as DbError;
use tokio_postgres::types::Type;

use super::Collection;

/// The kind of value a property holds, as filters and sorting treat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// Integers, floats and numerics alike: compared as `float8`.
    Number,
    Bool,
    Date,
    /// `timestamptz` (or `timestamp`, taken as UTC).
    Timestamp,
    /// `text[]` (sites' technologies).
    TextArray,
    /// Anything else (JSON): served, but neither filtered nor sorted by.
    Other,
}

impl Kind {
    fn of(t: &Type) -> Self {
        match *t {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Self::Text,
            Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => Self::Number,
            Type::BOOL => Self::Bool,
            Type::DATE => Self::Date,
            Type::TIMESTAMPTZ | Type::TIMESTAMP => Self::Timestamp,
            Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => Self::TextArray,
            _ => Self::Other,
        }
    }
}

/// One property of a collection.
#[derive(Clone, Debug)]
pub(crate) struct Column {
    pub(crate) name: &'static str,
    /// SQL over the collection's FROM.
    pub(crate) expr: &'static str,
    pub(crate) kind: Kind,
}

impl Column {
    /// The expression as compared: numbers as `float8` (so one bind type
    /// serves integer and numeric columns), everything else as it is.
    pub(crate) fn compared(&self) -> String {
        match self.kind {
            Kind::Number => format!("({})::float8", self.expr),
            _ => format!("({})", self.expr),
        }
    }
}

/// `'name', expr` pairs of a `json_build_object(…)` text, split at the
/// top-level commas (outside quotes and parentheses).
///
/// # Panics
/// Never for the catalog's props (tested); a malformed text gives fewer
/// pairs.
pub(crate) fn split_props(props: &'static str) -> Vec<(&'static str, &'static str)> {
    let Some(inner) = props.trim().strip_prefix("json_build_object(").and_then(|s| s.strip_suffix(')')) else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0_i32, false, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(inner[start..].trim());
    parts
        .chunks(2)
        .filter_map(|kv| match kv {
            [k, v] => k.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')).map(|k| (k, *v)),
            _ => None,
        })
        .collect()
}

/// A collection's columns and the SQL type of its id.
#[derive(Debug)]
pub(crate) struct Columns {
    /// The id's type, for casting a cursor's id so the comparison stays on
    /// the id's index (`char(8)` AGS, `text` otherwise).
    pub(crate) id_type: &'static str,
    pub(crate) list: Vec<Column>,
}

impl Columns {
    /// The column `name`, if the collection has it.
    pub(crate) fn get(&self, name: &str) -> Option<&Column> {
        self.list.iter().find(|c| c.name == name)
    }

    /// The columns filters and sorting can use (`Other` ones left out).
    pub(crate) fn queryable(&self) -> impl Iterator<Item = &Column> {
        self.list.iter().filter(|c| c.kind != Kind::Other)
    }

    /// Untyped columns (all text) of `c`, for unit tests without a
    /// database.
    #[cfg(test)]
    pub(crate) fn untyped(c: &Collection) -> Self {
        Self {
            id_type: "text",
            list: split_props(c.props).into_iter().map(|(name, expr)| Column { name, expr, kind: Kind::Text }).collect(),
        }
    }
}

/// Per collection (in the catalog's order), its columns once known.
static COLUMNS: OnceLock<Vec<tokio::sync::OnceCell<Columns>>> = OnceLock::new();

/// The place of `c` in the catalog, by id: not by address, as the catalog
/// is a `const` whose promoted copies may differ between codegen units (in
/// a release build, `municipalities` was found at no place and got the
/// cell of `sites`).
fn index(c: &Collection) -> Option<usize> {
    super::all().iter().position(|x| x.id == c.id)
}

/// The columns of `c` if they are known already (every call after the
/// first), without a connection.
pub(crate) fn cached(c: &'static Collection) -> Option<&'static Columns> {
    let i = index(c)?;
    COLUMNS.get()?.get(i)?.get()
}

/// The columns of `c` in the catalog's order, typed by PostgreSQL on the
/// first call.
///
/// # Errors
/// The database's, if the probe statement cannot be prepared.
pub(crate) async fn columns(conn: &tokio_postgres::Client, c: &'static Collection) -> Result<&'static Columns, crate::ApiError> {
    let cells = COLUMNS.get_or_init(|| super::all().iter().map(|_| tokio::sync::OnceCell::new()).collect());
    // `c` comes from the catalog, so it has a cell.
    let Some(cell) = index(c).and_then(|i| cells.get(i)) else {
        return Err(crate::ApiError::Internal(format!("collection {} is not in the catalog", c.id)));
    };
    let cols = cell
        .get_or_try_init(|| async {
            let pairs = split_props(c.props);
            let list: Vec<&str> = pairs.iter().map(|(_, e)| *e).collect();
            let sql = format!("SELECT {}, {} FROM {} LIMIT 0", c.id_expr, list.join(", "), c.from);
            let stmt = conn.prepare(&sql).await.map_err(DbError::pg("typing the collection's properties"))?;
            let id_type = match stmt.columns().first().map(|col| col.type_().clone()) {
                Some(Type::BPCHAR) => "bpchar",
                Some(Type::VARCHAR) => "varchar",
                _ => "text",
            };
            let list = pairs
                .iter()
                .zip(stmt.columns().iter().skip(1))
                .map(|((name, expr), col)| Column { name, expr, kind: Kind::of(col.type_()) })
                .collect();
            Ok::<_, DbError>(Columns { id_type, list })
        })
        .await?;
    Ok(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collection_splits_into_its_properties() {
        for c in super::super::all() {
            let pairs = split_props(c.props);
            // As many pairs as the object has keys ('name', followed by a comma).
            let keys = c.props.matches("', ").count();
            assert!(pairs.len() >= 4, "{}: {pairs:?}", c.id);
            assert!(pairs.len() <= keys, "{}: {pairs:?}", c.id);
            let mut names: Vec<&str> = pairs.iter().map(|p| p.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), pairs.len(), "{}: duplicate names", c.id);
            for (k, v) in &pairs {
                assert!(k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'), "{}: key {k:?}", c.id);
                assert!(!v.is_empty() && v.matches('(').count() == v.matches(')').count(), "{}: {k} = {v:?}", c.id);
            }
        }
        let sites = split_props(super::super::get("sites").map(|c| c.props).unwrap_or(""));
        assert_eq!(
            sites.iter().map(|p| p.0).collect::<Vec<_>>(),
            ["site_id", "operator", "status", "technologies", "planned_date", "on_air_date", "ags"]
        );
        assert_eq!(sites[1].1, "t.operator_id");
        let m = split_props(super::super::get("municipalities").map(|c| c.props).unwrap_or(""));
        let hs = m.iter().find(|p| p.0 == "household_share_5g").map(|p| p.1);
        assert_eq!(hs, Some("round((c5.households_covered / nullif(c5.households, 0))::numeric, 6)::float8"));
    }

    #[test]
    fn every_collection_has_its_own_place() {
        for (i, c) in super::super::all().iter().enumerate() {
            assert_eq!(index(c), Some(i), "{}", c.id);
        }
    }

    #[test]
    fn a_text_that_is_no_object_gives_nothing() {
        assert!(split_props("row_to_json(t)").is_empty());
    }
}

//! The types of a collection's properties, read off its values: for the
//! JSON Schemas of the OGC API (`/schema`, `/queryables`) and the columns
//! of the GeoPackage export, so both type a property alike.
//!
//! Why from the values rather than declared per collection: the catalog's
//! properties are one SQL `json_build_object` each, and a second list of
//! their types would be a copy to keep equal; PostgreSQL's JSON already
//! tells numbers, strings and booleans apart, and dates are recognised by
//! their ISO form.

use funkplan_db::Error as DbError;
use serde_json::{Map, Value};

use super::Collection;

/// The type of a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PropType {
    Integer,
    Number,
    Boolean,
    Date,
    DateTime,
    /// A JSON array (of strings: technologies).
    Array,
    Text,
}

impl PropType {
    /// The narrowest type holding `v` (`None` for null: no evidence).
    pub(crate) fn of(v: &Value) -> Option<Self> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(_) => Self::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => Self::Integer,
            Value::Number(_) => Self::Number,
            Value::String(s) if s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => Self::Date,
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Self::DateTime,
            Value::Array(_) => Self::Array,
            _ => Self::Text,
        })
    }

    /// The type holding values of both `self` and `o`.
    pub(crate) fn join(self, o: Self) -> Self {
        match (self, o) {
            (a, b) if a == b => a,
            (Self::Integer, Self::Number) | (Self::Number, Self::Integer) => Self::Number,
            _ => Self::Text,
        }
    }

    /// The JSON Schema of the type.
    pub(crate) fn json_schema(self) -> Value {
        match self {
            Self::Integer => serde_json::json!({"type": "integer"}),
            Self::Number => serde_json::json!({"type": "number"}),
            Self::Boolean => serde_json::json!({"type": "boolean"}),
            Self::Date => serde_json::json!({"type": "string", "format": "date"}),
            Self::DateTime => serde_json::json!({"type": "string", "format": "date-time"}),
            Self::Array => serde_json::json!({"type": "array", "items": {"type": "string"}}),
            Self::Text => serde_json::json!({"type": "string"}),
        }
    }
}

/// Each of `columns`' type over the property objects `rows` (text when no
/// row has a value).
pub(crate) fn types_of<'a>(columns: &[String], rows: impl Iterator<Item = &'a Map<String, Value>> + Clone) -> Vec<PropType> {
    columns
        .iter()
        .map(|c| rows.clone().filter_map(|r| r.get(c).and_then(PropType::of)).reduce(PropType::join).unwrap_or(PropType::Text))
        .collect()
}

/// The collection's properties in the catalog's order with their types,
/// read off every feature's values, and the geometry type of its features
/// (GeoJSON name, `None` when mixed or none).
pub(crate) async fn properties(conn: &funkplan_db::Conn, c: &Collection) -> Result<(Vec<(String, PropType)>, Option<String>), DbError> {
    let what = "reading the collection's properties";
    // Keys in the catalog's order from one row (PostgreSQL's json keeps
    // it); the values of all rows for their types.
    let sql = format!(
        "SELECT ({props})::text AS p, GeometryType({geom}) AS g FROM {from}",
        props = c.props,
        geom = c.geom_filter,
        from = c.from
    );
    let rows = conn.query(&sql, &[]).await.map_err(DbError::pg(what))?;
    let keys_sql = format!("SELECT array_agg(key) AS keys FROM (SELECT {props} AS p FROM {from} LIMIT 1) x, json_object_keys(x.p) AS key", props = c.props, from = c.from);
    let keys: Option<Vec<String>> = conn.query_one(&keys_sql, &[]).await.and_then(|r| r.try_get("keys")).map_err(DbError::pg(what))?;
    let mut objects = Vec::with_capacity(rows.len());
    let mut kinds = std::collections::BTreeSet::new();
    for r in &rows {
        let text: String = r.try_get("p").map_err(DbError::pg(what))?;
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text) {
            objects.push(m);
        }
        if let Some(g) = r.try_get::<_, Option<String>>("g").map_err(DbError::pg(what))? {
            kinds.insert(g);
        }
    }
    let keys = keys.unwrap_or_default();
    let types = types_of(&keys, objects.iter());
    let geometry = (kinds.len() == 1).then(|| kinds.into_iter().next()).flatten();
    Ok((keys.into_iter().zip(types).collect(), geometry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_come_from_the_values() {
        let rows = [
            json!({"n": 1, "x": 1, "d": "2024-01-31", "t": "2024-01-31T10:00:00Z", "b": true, "s": "a", "none": null, "arr": ["a"]}),
            json!({"n": 2, "x": 1.5, "d": null, "t": "2024-02-01T00:00:00+01:00", "b": false, "s": "2024-01-01", "arr": []}),
        ];
        let objs: Vec<Map<String, Value>> = rows.iter().map(|r| r.as_object().unwrap().clone()).collect();
        let cols: Vec<String> = ["n", "x", "d", "t", "b", "s", "none", "arr"].map(String::from).to_vec();
        use PropType::*;
        assert_eq!(types_of(&cols, objs.iter()), [Integer, Number, Date, DateTime, Boolean, Text, Text, Array]);
        assert_eq!(Date.json_schema(), json!({"type": "string", "format": "date"}));
    }
}

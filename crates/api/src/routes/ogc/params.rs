//! The query parameters of the OGC routes, parsed and checked before any
//! SQL is written: a bad value is a 400 that says which parameter and what
//! would have been accepted.

use chrono::{DateTime, NaiveDate, Utc};

use super::filter::{self, Sql, Value};
use super::predicate::{self, Pred};
use super::{CRS84, EPSG25832, GEOJSON, JSON};
use crate::catalog::columns::{Column, Columns, Kind};
use crate::catalog::{Collection, Filter, Time};
use crate::http::QueryPairs;
use crate::{ApiError, ApiResult};

/// A CRS the API speaks, from a `crs` / `bbox-crs` value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Crs {
    Crs84,
    Utm32,
}

impl Crs {
    fn parse(v: &str, param: &str) -> ApiResult<Self> {
        let v = v.trim().trim_start_matches('[').trim_end_matches(']');
        match v {
            CRS84 | "CRS84" | "OGC:CRS84" | "urn:ogc:def:crs:OGC:1.3:CRS84" => Ok(Self::Crs84),
            EPSG25832 | "EPSG:25832" | "urn:ogc:def:crs:EPSG::25832" | "http://www.opengis.net/def/crs/EPSG/0/25832/" => Ok(Self::Utm32),
            _ => Err(ApiError::BadRequest(format!("parameter '{param}': CRS {v:?} is not supported; use {CRS84} or {EPSG25832}"))),
        }
    }

    /// The CRS named by parameter `param`, CRS84 when absent.
    pub(super) fn from_query(q: &QueryPairs, param: &str) -> ApiResult<Self> {
        q.get(param).map_or(Ok(Self::Crs84), |v| Self::parse(v, param))
    }

    pub(super) fn uri(self) -> &'static str {
        match self {
            Self::Crs84 => CRS84,
            Self::Utm32 => EPSG25832,
        }
    }

    pub(super) fn srid(self) -> i32 {
        match self {
            Self::Crs84 => 4326,
            Self::Utm32 => 25832,
        }
    }

    /// Decimal places of output coordinates: 6 for degrees (~0.1 m), 2 for
    /// metres (1 cm).
    pub(super) fn digits(self) -> i32 {
        match self {
            Self::Crs84 => 6,
            Self::Utm32 => 2,
        }
    }
}

/// `f` selects the media type: `json` (application/json) or `geojson`
/// (application/geo+json) for features; anything else is refused.
pub(super) fn media(q: &QueryPairs, features: bool) -> ApiResult<&'static str> {
    match q.get("f") {
        None => Ok(if features { GEOJSON } else { JSON }),
        Some("json") => Ok(JSON),
        Some("geojson") if features => Ok(GEOJSON),
        Some(other) => Err(ApiError::BadRequest(format!(
            "parameter 'f': format {other:?} is not offered; use {}",
            if features { "geojson or json" } else { "json" }
        ))),
    }
}

/// `geometry`: whether the full geometry is asked for (`full`) rather
/// than the simplified default (`simplified` or absent).
pub(super) fn full_geometry(q: &QueryPairs) -> ApiResult<bool> {
    match q.get("geometry") {
        None | Some("simplified") => Ok(false),
        Some("full") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!("parameter 'geometry': {other:?}; use full or simplified"))),
    }
}

/// A parsed `datetime`: an instant or a half-open or closed interval.
pub(super) struct TimeFilter {
    pub(super) start: Option<DateTime<Utc>>,
    /// Exclusive for whole days, inclusive otherwise.
    pub(super) end: Option<DateTime<Utc>>,
    pub(super) end_exclusive: bool,
}

fn parse_instant(s: &str) -> Option<(DateTime<Utc>, bool)> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.with_timezone(&Utc), false));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| (t.and_utc(), true))
}

fn parse_datetime(v: &str) -> ApiResult<TimeFilter> {
    let bad = || {
        ApiError::BadRequest(format!(
            "parameter 'datetime': {v:?} is not an RFC 3339 date-time, date or interval (e.g. 2024-01-01T00:00:00Z, \
             2024-05-01, 2024-01-01/2024-12-31, ../2024-12-31)"
        ))
    };
    let open = |s: &str| s.is_empty() || s == "..";
    if let Some((a, b)) = v.split_once('/') {
        let start = if open(a) { None } else { Some(parse_instant(a).ok_or_else(bad)?.0) };
        let (end, end_exclusive) = if open(b) {
            (None, false)
        } else {
            let (t, whole_day) = parse_instant(b).ok_or_else(bad)?;
            if whole_day {
                (Some(t + chrono::Duration::days(1)), true)
            } else {
                (Some(t), false)
            }
        };
        if start.is_none() && end.is_none() {
            return Err(bad());
        }
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(ApiError::BadRequest(format!("parameter 'datetime': interval {v:?} ends before it starts")));
            }
        }
        Ok(TimeFilter { start, end, end_exclusive })
    } else {
        let (t, whole_day) = parse_instant(v).ok_or_else(bad)?;
        if whole_day {
            Ok(TimeFilter { start: Some(t), end: Some(t + chrono::Duration::days(1)), end_exclusive: true })
        } else {
            Ok(TimeFilter { start: Some(t), end: Some(t), end_exclusive: false })
        }
    }
}

/// `datetime` on a [`Time::Release`] collection: the date whose figures
/// are served. An instant or a date: its calendar date (as written, in the
/// offset it is given with); an interval: its end (an open end: today),
/// the state the interval leads to. Between 2019-01-01 and today, as
/// `?as_of=`.
fn release_date(v: &str) -> ApiResult<NaiveDate> {
    // Well-formed and ordered as every `datetime` must be.
    let t = parse_datetime(v)?;
    let end = v.split_once('/').map_or(v, |(_, b)| b);
    let date = if end.is_empty() || end == ".." {
        Utc::now().date_naive()
    } else {
        match DateTime::parse_from_rfc3339(end) {
            Ok(t) => t.date_naive(),
            Err(_) => NaiveDate::parse_from_str(end, "%Y-%m-%d")
                .map_err(|_| ApiError::BadRequest(format!("parameter 'datetime': {end:?} is not a date-time or date")))?,
        }
    };
    if let Some(start) = t.start.filter(|s| s.date_naive() > date) {
        return Err(ApiError::BadRequest(format!(
            "parameter 'datetime': interval {v:?} starts ({}) after the date whose figures it asks for ({date})",
            start.date_naive()
        )));
    }
    crate::routes::dated::in_range("parameter 'datetime'", date)
}

fn parse_bbox(v: &str) -> ApiResult<[f64; 4]> {
    let nums: Result<Vec<f64>, _> = v.split(',').map(|s| s.trim().parse::<f64>()).collect();
    let bad = |why: &str| ApiError::BadRequest(format!("parameter 'bbox': {why}; expected minx,miny,maxx,maxy, got {v:?}"));
    let nums = nums.map_err(|_| bad("not a list of numbers"))?;
    let b = match nums.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d],
        // 3D boxes: heights are ignored (all features lie on the ground).
        [a, b, _, c, d, _] => [*a, *b, *c, *d],
        _ => return Err(bad("4 or 6 numbers needed")),
    };
    if b.iter().any(|x| !x.is_finite()) {
        return Err(bad("numbers must be finite"));
    }
    if b[0] > b[2] || b[1] > b[3] {
        return Err(bad("min must not exceed max"));
    }
    Ok(b)
}

/// One `sortby` key: a property, descending or not.
pub(super) struct SortKey {
    pub(super) column: &'static Column,
    pub(super) desc: bool,
}

/// Parameters of an items request, validated.
pub(super) struct ItemsQuery {
    pub(super) limit: i64,
    pub(super) offset: i64,
    /// CRS of the output coordinates.
    pub(super) crs: Crs,
    /// The box and the CRS it is given in.
    pub(super) bbox: Option<([f64; 4], Crs)>,
    /// `datetime` on a collection it filters by (see [`Time::Instant`]).
    pub(super) time: Option<TimeFilter>,
    /// `datetime` on a collection whose figures it dates (see
    /// [`Time::Release`]): the date of the figures.
    pub(super) at: Option<NaiveDate>,
    /// Property filters asked for, each with its values (at least one).
    pub(super) filters: Vec<(&'static Filter, Vec<String>)>,
    pub(super) full_geometry: bool,
    /// `sortby` keys, before the id that breaks ties (empty: id order).
    pub(super) sortby: Vec<SortKey>,
    /// `properties`: the ones to serve, in the order asked (`None`: all).
    pub(super) properties: Option<Vec<&'static Column>>,
    /// `skipGeometry=true`: every geometry `null`.
    pub(super) skip_geometry: bool,
    /// The CQL2 `filter` and the queryables' query parameters that are no
    /// catalog filter, translated (`None`: neither given).
    pub(super) condition: Option<Sql>,
    /// `cursor`: the sort keys and id of the last feature of the page
    /// before; the page starts after it (keyset paging).
    pub(super) cursor: Option<Sql>,
    /// The cursor's id where the order is the id's alone (the in-memory
    /// path continues after it).
    pub(super) after_id: Option<String>,
    /// `condition` as the in-memory path evaluates it (`None`: no
    /// condition, or one only SQL answers).
    pub(super) predicate: Option<Pred>,
}

const ITEMS_PARAMS: [&str; 15] = [
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "f",
    "geometry",
    "properties",
    "sortby",
    "skipGeometry",
    "filter",
    "filter-lang",
    "filter-crs",
    "cursor",
];

impl ItemsQuery {
    /// The parameters of an items request on collection `c` with columns
    /// `cols`; an unknown parameter is refused with the collection's
    /// queryables named.
    pub(super) fn parse(c: &'static Collection, cols: &'static Columns, q: &QueryPairs) -> ApiResult<Self> {
        let queryable = |k: &str| cols.get(k).is_some_and(|col| col.kind != Kind::Other);
        q.check(&ITEMS_PARAMS, |k| c.filter(k).is_some() || queryable(k)).map_err(|e| match e {
            ApiError::BadRequest(m) => {
                ApiError::BadRequest(format!("{m}; queryables of {} (as query parameters): {}", c.id, queryables(c, cols).join(", ")))
            }
            other => other,
        })?;
        let limit = q.int("limit", 100, 1, 10_000, true)?;
        let offset = q.int("offset", 0, 0, i64::from(i32::MAX), false)?;
        let crs = Crs::from_query(q, "crs")?;
        let bbox_crs = Crs::from_query(q, "bbox-crs")?;
        let bbox = q.get("bbox").map(parse_bbox).transpose()?.map(|b| (b, bbox_crs));
        if bbox.is_none() && q.get("bbox-crs").is_some() {
            return Err(ApiError::BadRequest("parameter 'bbox-crs' given without 'bbox'".into()));
        }
        let (time, at) = match c.datetime {
            Time::Instant(_) => (q.get("datetime").map(parse_datetime).transpose()?, None),
            Time::Release => (None, q.get("datetime").map(release_date).transpose()?),
        };
        let full_geometry = full_geometry(q)?;
        let mut filters = Vec::new();
        for f in c.filters {
            if let Some(v) = q.get(f.name) {
                let values: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                if values.is_empty() {
                    return Err(ApiError::BadRequest(format!("parameter '{}' is empty", f.name)));
                }
                filters.push((f, values));
            }
        }
        let sortby = q.get("sortby").map(|v| parse_sortby(c, cols, v)).transpose()?.unwrap_or_default();
        let properties = q.get("properties").map(|v| parse_properties(c, cols, v)).transpose()?;
        let skip_geometry = match q.get("skipGeometry") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(ApiError::BadRequest(format!("parameter 'skipGeometry': {other:?}; use true or false"))),
        };
        // The filter, and the queryables' parameters that are no catalog
        // filter (equality with the value read as the property's type).
        let mut parts: Vec<Sql> = Vec::new();
        // The same as a predicate the in-memory path evaluates, while every
        // part has one.
        let mut preds: Option<Vec<Pred>> = Some(Vec::new());
        for (i, col) in cols.list.iter().enumerate() {
            if col.kind != Kind::Other && c.filter(col.name).is_none() && !ITEMS_PARAMS.contains(&col.name) {
                if let Some(v) = q.get(col.name) {
                    let (sql, value) = filter::equals(col, v)?;
                    parts.push(sql);
                    preds = preds.and_then(|mut ps| {
                        ps.push(predicate::equals(&cols.list, i, value)?);
                        Some(ps)
                    });
                }
            }
        }
        let lang = filter::Lang::parse(q.get("filter-lang"))?;
        let filter_crs = Crs::from_query(q, "filter-crs")?;
        match q.get("filter") {
            Some(text) => {
                let expr = filter::parse(text, lang)?;
                let ctx = filter::Ctx { collection: c, columns: &cols.list, crs: filter_crs };
                parts.push(ctx.translate(&expr)?);
                preds = preds.and_then(|mut ps| {
                    ps.push(ctx.predicate(&expr)?);
                    Some(ps)
                });
            }
            None if q.get("filter-lang").is_some() || q.get("filter-crs").is_some() => {
                return Err(ApiError::BadRequest("parameter 'filter-lang' or 'filter-crs' given without 'filter'".into()));
            }
            None => {}
        }
        let predicate = if parts.is_empty() { None } else { preds.map(Pred::And) };
        let condition = (!parts.is_empty()).then(|| {
            let mut s = Sql::default();
            for (i, p) in parts.into_iter().enumerate() {
                if i > 0 {
                    s.push(" AND ");
                }
                s.append(p);
            }
            s
        });
        let cursor = q.get("cursor").map(|v| parse_cursor(c, cols, &sortby, v)).transpose()?;
        let after_id = match (q.get("cursor"), sortby.is_empty()) {
            (Some(v), true) => serde_json::from_str::<[String; 1]>(v).ok().map(|[id]| id),
            _ => None,
        };
        if cursor.is_some() && q.get("offset").is_some() {
            return Err(ApiError::BadRequest(
                "parameters 'cursor' and 'offset' exclude each other: a cursor continues after a feature".into(),
            ));
        }
        Ok(Self {
            limit,
            offset,
            crs,
            bbox,
            time,
            at,
            filters,
            full_geometry,
            sortby,
            properties,
            skip_geometry,
            condition,
            cursor,
            after_id,
            predicate,
        })
    }

    /// Whether the request asks for more than the in-memory path answers
    /// (sorting, a property selection, no geometries, a CQL2 filter or a
    /// queryable's parameter it cannot evaluate: see [`super::predicate`]):
    /// such requests are answered from SQL (see [`super::memory`]); a
    /// cursor in the id order is not one of them.
    pub(super) fn needs_sql(&self) -> bool {
        !self.sortby.is_empty() || self.properties.is_some() || self.skip_geometry || (self.condition.is_some() && self.predicate.is_none())
    }
}

/// The names a collection takes as query parameters for filtering: its
/// catalog filters and its queryable properties.
pub(super) fn queryables(c: &Collection, cols: &Columns) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = c.filters.iter().map(|f| f.name).collect();
    for col in cols.queryable() {
        if !names.contains(&col.name) {
            names.push(col.name);
        }
    }
    names
}

fn column<'a>(c: &Collection, cols: &'a Columns, name: &str, param: &str) -> ApiResult<&'a Column> {
    cols.get(name).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "parameter '{param}': {name:?} is no property of {}; properties: {}",
            c.id,
            cols.list.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// `sortby=+a,-b,c`: properties, each ascending (`+` or none; a `+` that
/// arrived as a space is one too) or descending (`-`).
fn parse_sortby(c: &Collection, cols: &'static Columns, v: &str) -> ApiResult<Vec<SortKey>> {
    let mut keys: Vec<SortKey> = Vec::new();
    for item in v.split(',') {
        let item = item.trim_end();
        let (name, desc) = if let Some(n) = item.strip_prefix('-') {
            (n, true)
        } else {
            (item.trim_start().strip_prefix('+').unwrap_or(item.trim_start()), false)
        };
        if name.is_empty() {
            return Err(ApiError::BadRequest(format!("parameter 'sortby': empty key in {v:?}")));
        }
        let column = column(c, cols, name, "sortby")?;
        if matches!(column.kind, Kind::TextArray | Kind::Other) {
            return Err(ApiError::BadRequest(format!("parameter 'sortby': property {name:?} is a list and cannot be sorted by")));
        }
        if keys.iter().any(|k| std::ptr::eq(k.column, column)) {
            return Err(ApiError::BadRequest(format!("parameter 'sortby': property {name:?} given twice")));
        }
        keys.push(SortKey { column, desc });
    }
    Ok(keys)
}

/// `properties=a,b`: the properties to serve, in this order.
fn parse_properties(c: &Collection, cols: &'static Columns, v: &str) -> ApiResult<Vec<&'static Column>> {
    let mut out: Vec<&'static Column> = Vec::new();
    for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let col = column(c, cols, name, "properties")?;
        if !out.iter().any(|o| std::ptr::eq(*o, col)) {
            out.push(col);
        }
    }
    Ok(out)
}

/// `cursor`: a JSON array of the sort keys and the id of the last feature
/// seen (as the `next` link writes it), as the condition "after it in the
/// page order". Each value is checked against its property's type here,
/// so no cast can fail in the database.
fn parse_cursor(c: &Collection, cols: &Columns, sortby: &[SortKey], v: &str) -> ApiResult<Sql> {
    let bad =
        |why: &str| ApiError::BadRequest(format!("parameter 'cursor': {why}; take the cursor from a 'next' link of the same request"));
    let values: Vec<serde_json::Value> = serde_json::from_str(v).map_err(|_| bad("not a JSON array"))?;
    if values.len() != sortby.len() + 1 {
        return Err(bad(&format!("{} values for {} sort keys and the id", values.len(), sortby.len())));
    }
    let Some(serde_json::Value::String(id)) = values.last() else {
        return Err(bad("the last value is the id, a string"));
    };
    // Per key: `Some(value)` or `None` for NULL.
    let mut keys: Vec<(String, bool, Option<Value>)> = Vec::with_capacity(sortby.len());
    for (k, v) in sortby.iter().zip(&values) {
        let col = k.column;
        let mismatch = || bad(&format!("value {v} does not fit property {:?}", col.name));
        let value = match (col.kind, v) {
            (_, serde_json::Value::Null) => None,
            (Kind::Text, serde_json::Value::String(s)) => Some(Value::Text(s.clone())),
            (Kind::Number, serde_json::Value::Number(n)) => Some(Value::Float(n.as_f64().ok_or_else(mismatch)?)),
            (Kind::Bool, serde_json::Value::Bool(b)) => Some(Value::Bool(*b)),
            (Kind::Date, serde_json::Value::String(s)) => {
                Some(Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| mismatch())?))
            }
            (Kind::Timestamp, serde_json::Value::String(s)) => {
                Some(Value::Instant(DateTime::parse_from_rfc3339(s).map_err(|_| mismatch())?.with_timezone(&Utc)))
            }
            _ => return Err(mismatch()),
        };
        keys.push((col.compared(), k.desc, value));
    }
    // After (k1, …, kn, id) in the order ORDER BY gives (ascending: NULLs
    // last; descending: NULLs first): for some i, the keys before i are
    // equal and key i comes later.
    let mut alternatives: Vec<Sql> = Vec::new();
    let mut equal_so_far = Sql::text("TRUE");
    for (expr, desc, value) in &keys {
        let mut later = equal_so_far.clone();
        match (desc, value) {
            (false, None) => later = Sql::text("FALSE"),
            (false, Some(v)) => {
                later.push(&format!(" AND ({expr} > ")).value(v.clone()).push(&format!(" OR {expr} IS NULL)"));
            }
            (true, None) => {
                later.push(&format!(" AND {expr} IS NOT NULL"));
            }
            (true, Some(v)) => {
                later.push(&format!(" AND {expr} < ")).value(v.clone());
            }
        }
        alternatives.push(later);
        match value {
            None => equal_so_far.push(&format!(" AND {expr} IS NULL")),
            Some(v) => equal_so_far.push(&format!(" AND {expr} = ")).value(v.clone()),
        };
    }
    let mut last = equal_so_far;
    last.push(&format!(" AND {} > CAST(", c.id_expr)).value(Value::Text(id.clone())).push(&format!(" AS {})", cols.id_type));
    alternatives.push(last);
    let mut s = Sql::text("(");
    for (i, a) in alternatives.into_iter().enumerate() {
        if i > 0 {
            s.push(" OR ");
        }
        s.push("(").append(a).push(")");
    }
    s.push(")");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_forms() {
        let t = parse_datetime("2024-05-01").unwrap();
        assert_eq!(t.start.unwrap().to_rfc3339(), "2024-05-01T00:00:00+00:00");
        assert_eq!(t.end.unwrap().to_rfc3339(), "2024-05-02T00:00:00+00:00");
        assert!(t.end_exclusive);
        let t = parse_datetime("../2024-12-31T00:00:00Z").unwrap();
        assert!(t.start.is_none());
        assert!(!t.end_exclusive);
        assert!(parse_datetime("../..").is_err());
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2024-02-01/2024-01-01").is_err());
    }

    #[test]
    fn the_date_of_the_figures() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = Utc::now().date_naive();
        assert_eq!(release_date("2022-12-31").unwrap(), d("2022-12-31"));
        assert_eq!(release_date("2022-12-31T23:30:00+01:00").unwrap(), d("2022-12-31"), "the date as written");
        assert_eq!(release_date("2023-01-01T00:30:00+01:00").unwrap(), d("2023-01-01"));
        assert_eq!(release_date("2021-01-01/2022-06-30").unwrap(), d("2022-06-30"), "an interval: its end");
        assert_eq!(release_date("../2022-06-30T12:00:00Z").unwrap(), d("2022-06-30"));
        assert_eq!(release_date("2021-01-01/..").unwrap(), today, "an open end: today");
        for (bad, words) in [
            ("2018-12-31", "lies outside 2019-01-01"),
            ("2100-01-01", "lies outside"),
            ("2100-01-01/..", "starts (2100-01-01) after"),
            ("2022-06-30/2021-01-01", "ends before it starts"),
            ("../..", "is not an RFC 3339"),
            ("last year", "is not an RFC 3339"),
        ] {
            let e = release_date(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("parameter 'datetime'") && e.contains(words), "{bad}: {e}");
        }
    }

    #[test]
    fn bbox_forms() {
        assert_eq!(parse_bbox("6.7,51.1,6.9,51.3").unwrap(), [6.7, 51.1, 6.9, 51.3]);
        assert!(parse_bbox("6.9,51.1,6.7,51.3").is_err());
        assert!(parse_bbox("1,2,3").is_err());
        assert!(parse_bbox("a,b,c,d").is_err());
        assert!(parse_bbox("1,2,NaN,4").is_err());
    }

    #[test]
    fn crs_forms() {
        assert_eq!(Crs::parse("EPSG:25832", "crs").ok(), Some(Crs::Utm32));
        assert_eq!(Crs::parse("[OGC:CRS84]", "crs").ok(), Some(Crs::Crs84));
        assert!(Crs::parse("EPSG:4326", "crs").is_err());
    }
}

//! The query parameters of the OGC routes, parsed and checked before any
//! SQL is written: a bad value is a 400 that says which parameter and what
//! would have been accepted.

use chrono::{DateTime, NaiveDate, Utc};

use super::{CRS84, EPSG25832, GEOJSON, JSON};
use crate::catalog::{Collection, Filter};
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
            EPSG25832 | "EPSG:25832" | "urn:ogc:def:crs:EPSG::25832" | "http://www.opengis.net/def/crs/EPSG/0/25832/" => {
                Ok(Self::Utm32)
            }
            _ => Err(ApiError::BadRequest(format!(
                "parameter '{param}': CRS {v:?} is not supported; use {CRS84} or {EPSG25832}"
            ))),
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
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| (t.and_utc(), true))
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

/// Parameters of an items request, validated.
pub(super) struct ItemsQuery {
    pub(super) limit: i64,
    pub(super) offset: i64,
    /// CRS of the output coordinates.
    pub(super) crs: Crs,
    /// The box and the CRS it is given in.
    pub(super) bbox: Option<([f64; 4], Crs)>,
    pub(super) time: Option<TimeFilter>,
    /// Property filters asked for, each with its values (at least one).
    pub(super) filters: Vec<(&'static Filter, Vec<String>)>,
    pub(super) full_geometry: bool,
}

const ITEMS_PARAMS: [&str; 9] = ["limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f", "geometry", "properties"];

impl ItemsQuery {
    /// The parameters of an items request on collection `c`; an unknown
    /// parameter is refused with the collection's property filters named.
    pub(super) fn parse(c: &Collection, q: &QueryPairs) -> ApiResult<Self> {
        q.check(&ITEMS_PARAMS, |k| c.filter(k).is_some()).map_err(|e| match e {
            ApiError::BadRequest(m) => {
                ApiError::BadRequest(format!("{m}; property filters of {}: {}", c.id, c.filter_names()))
            }
            other => other,
        })?;
        if q.get("properties").is_some() {
            return Err(ApiError::BadRequest("parameter 'properties' (property selection) is not supported".into()));
        }
        let limit = q.int("limit", 100, 1, 10_000, true)?;
        let offset = q.int("offset", 0, 0, i64::from(i32::MAX), false)?;
        let crs = Crs::from_query(q, "crs")?;
        let bbox_crs = Crs::from_query(q, "bbox-crs")?;
        let bbox = q.get("bbox").map(parse_bbox).transpose()?.map(|b| (b, bbox_crs));
        if bbox.is_none() && q.get("bbox-crs").is_some() {
            return Err(ApiError::BadRequest("parameter 'bbox-crs' given without 'bbox'".into()));
        }
        let time = q.get("datetime").map(parse_datetime).transpose()?;
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
        Ok(Self { limit, offset, crs, bbox, time, filters, full_geometry })
    }
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

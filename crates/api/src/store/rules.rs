//! The rules a write must pass that need no database: preconditions, role,
//! ids, positions, date windows, completion. Each answers in the words the
//! API has always used (the write tests pin them).

use chrono::NaiveDate;
use funkplan_model::{
    plausible_date, Ags, DateField, Lifecycle, MeasureId, MeasureStatus, Position, Role, SiteId, Technology,
};

use super::IfMatch;
use crate::auth::Caller;
use crate::{ApiError, ApiResult};

/// 428 without If-Match, 412 when it names another version.
///
/// The comparison is strong (RFC 9110 §13.1.1): `http::etag_matches` is the
/// weak one If-None-Match needs. Two forms are refused although RFC 9110
/// would let them pass, because each skips the lost-update protection the
/// header is required for (issue 20, finding 5):
/// - `*` ("any version") — 428, like a missing header: the request lacks
///   the precondition this API requires (RFC 6585 §3), and no version could
///   ever satisfy it, so 412 ("your version is stale") would mislead;
/// - a weak `W/"n"` — 412: weak validators cannot be used for If-Match.
pub(crate) fn check_if_match(if_match: IfMatch<'_>, version: i64, what: &str) -> ApiResult<()> {
    let Some(v) = if_match.0 else {
        return Err(ApiError::PreconditionRequired(format!(
            "updating a {what} needs an If-Match header with the ETag from GET (so that no update is lost)"
        )));
    };
    let v = v.to_str().map_err(|_| ApiError::BadRequest("If-Match is not readable text".into()))?;
    let tags: Vec<&str> = v.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    if tags.contains(&"*") {
        return Err(ApiError::PreconditionRequired(format!(
            "If-Match: * would update any version of the {what}; send the concrete ETag from GET (e.g. If-Match: \"{version}\") so that no update is lost"
        )));
    }
    if tags.iter().any(|t| t.starts_with("W/")) {
        return Err(ApiError::PreconditionFailed(format!(
            "If-Match {v} is a weak validator, and weak validators cannot be used for If-Match (RFC 9110 §13.1.1); send the strong ETag from GET, e.g. \"{version}\""
        )));
    }
    if tags.contains(&format!("\"{version}\"").as_str()) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(format!(
            "the {what} was changed meanwhile (now version \"{version}\", If-Match said {v}); GET it again and re-apply your change"
        )))
    }
}

/// 403 unless the caller may write an object lying in `ags` (a
/// municipality only in its own).
pub(crate) fn check_role(caller: &Caller, ags: Option<&str>, what: &str) -> ApiResult<()> {
    let ags: Option<Ags> = ags.and_then(|a| a.parse().ok());
    if caller.role.may_write_for(ags.as_ref()) {
        return Ok(());
    }
    let Role::Municipality(own) = caller.role else {
        return Err(ApiError::Forbidden(format!("role {} may not write this {what}", caller.role)));
    };
    Err(ApiError::Forbidden(format!(
        "role {} may only write {what}s located in municipality {own}; this one lies in {}",
        caller.role,
        ags.map_or_else(|| "no known municipality".to_owned(), |a| a.to_string())
    )))
}

/// 422 unless lon/lat is a position this system covers.
pub(crate) fn position(lon: f64, lat: f64) -> ApiResult<Position> {
    Position::new(lon, lat).map_err(|e| ApiError::Unprocessable(e.to_string()))
}

/// 422 unless `id` is a valid site id.
pub(crate) fn site_id(id: &str) -> ApiResult<SiteId> {
    SiteId::new(id).map_err(|e| ApiError::Unprocessable(e.to_string()))
}

/// 422 unless `id` is a valid measure id.
pub(crate) fn measure_id(id: &str) -> ApiResult<MeasureId> {
    MeasureId::new(id).map_err(|e| ApiError::Unprocessable(e.to_string()))
}

/// 409 unless the status may move from `old` to `new`; the detail lists the
/// allowed next states.
pub(crate) fn transition<S: Lifecycle>(what: &str, id: &str, old: S, new: S) -> ApiResult<S> {
    old.transition(new).map_err(|e| ApiError::Conflict(format!("{what} {id} {e}")))
}

/// Today, for the date windows (UTC, like the default completion date).
fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// 422 naming the field unless each given date lies in its field's
/// window (funkplan_model::plausible_date, the rule the ingest uses too).
pub(crate) fn check_dates(dates: &[(DateField, Option<NaiveDate>)]) -> ApiResult<()> {
    let today = today();
    for (field, d) in dates {
        if let Some(d) = d {
            plausible_date(*field, *d, today).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
        }
    }
    Ok(())
}

/// A PATCH date: only a date being set is checked (`null` clears, absent
/// keeps what is stored).
pub(crate) fn patched(d: Option<Option<NaiveDate>>) -> Option<NaiveDate> {
    d.flatten()
}

/// Dates of a measure in the given status: `completed` needs a completion
/// date (today when none is given), any other status must have none.
pub(crate) fn completion(status: MeasureStatus, date: Option<NaiveDate>) -> ApiResult<Option<NaiveDate>> {
    match (status, date) {
        (MeasureStatus::Completed, None) => Ok(Some(today())),
        (MeasureStatus::Completed, d) => Ok(d),
        (s, Some(d)) => Err(ApiError::Unprocessable(format!(
            "completed_date {d} given, but status is {s}; only completed measures have a completion date"
        ))),
        (_, None) => Ok(None),
    }
}

/// Technologies as stored: sorted, each once.
pub(crate) fn techs(t: &[Technology]) -> Vec<String> {
    let mut v: Vec<String> = t.iter().map(|t| t.as_str().to_owned()).collect();
    v.sort();
    v.dedup();
    v
}

//! Figures at a date (issue 16): `?as_of=` on a municipality. The figures
//! of today are stored by the engine's runs; those of another date are
//! computed on request by the engine `funkplan serve` keeps in memory (the
//! release in force then and the sites on air by then), through the
//! [`CoverageHook`](crate::CoverageHook).

use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use funkplan_db::Error as DbError;
use funkplan_model::Ags;
use serde_json::{json, Value};

use crate::hook::{chain, DatedTech};
use crate::{ApiError, ApiResult, AppState};

/// The earliest date figures can be asked for: no release or target
/// history lies before.
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2019, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// `as_of` as a date between [`EARLIEST`] and today.
pub(crate) fn parse_as_of(s: &str) -> ApiResult<NaiveDate> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("as_of: `{s}` is not a date (YYYY-MM-DD)")))?;
    let today = Utc::now().date_naive();
    if d < EARLIEST || d > today {
        return Err(ApiError::BadRequest(format!("as_of: {d} lies outside {EARLIEST} … {today} (today)")));
    }
    Ok(d)
}

/// One technology's figures as the API names them (shares 0..1, km²).
fn tech(t: &DatedTech, lte: bool) -> Value {
    let share = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
    let mut v = json!({
        "households_covered": t.households_covered,
        "household_share": share(t.households_covered, t.households),
        "area_share": share(f64::from(t.cells_covered), f64::from(t.cells)),
    });
    if lte {
        v["dead_spot_area_km2"] = json!(f64::from(t.dead_cells) * 0.01);
        v["grey_spot_area_km2"] = json!(f64::from(t.grey_cells) * 0.01);
    }
    v
}

/// `GET /api/v1/municipalities/{ags}?as_of=DATE`.
pub(crate) async fn municipality(state: &AppState, ags: &Ags, as_of: &str) -> ApiResult<Response> {
    let date = parse_as_of(as_of)?;
    let c = state.db().conn().await?;
    let what = "reading the municipality";
    let stmt = c.prepare_cached("SELECT name FROM municipality WHERE ags = $1").await.map_err(DbError::pg(what))?;
    let Some(row) = c.query_opt(&stmt, &[&ags.as_str()]).await.map_err(DbError::pg(what))? else {
        return Err(ApiError::NotFound(format!("no municipality with AGS {ags}")));
    };
    let name: String = row.try_get("name").map_err(DbError::pg(what))?;
    drop(c);
    let Some(hook) = state.hook() else {
        return Err(ApiError::EngineUnavailable("figures for a date need the coverage engine of `funkplan serve`".into()));
    };
    let f = hook.figures_at(ags.as_str().to_owned(), date).await.map_err(|e| {
        tracing::warn!(error = %chain(&*e), %date, "figures at a date failed");
        ApiError::EngineUnavailable(format!("the figures at {date} could not be computed: {}", e))
    })?;
    let Some(f) = f else {
        return Err(ApiError::NotFound(format!("municipality {ags} has no grid cells: no figures at {date}")));
    };
    Ok(Json(json!({
        "ags": ags.as_str(),
        "name": name,
        "as_of": f.date,
        "release": f.release,
        "source": f.source,
        "households": f.lte.households,
        "coverage": {"5g": tech(&f.nr, false), "lte": tech(&f.lte, true)},
    }))
    .into_response())
}

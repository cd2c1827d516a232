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

/// The query parameter `key`'s value `s` as a `YYYY-MM-DD` date.
pub(crate) fn parse_date(key: &str, s: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("{key}: `{s}` is not a date (YYYY-MM-DD)")))
}

/// `as_of` as a date between [`EARLIEST`] and today.
pub(crate) fn parse_as_of(s: &str) -> ApiResult<NaiveDate> {
    in_range("as_of", parse_date("as_of", s)?)
}

/// `d`, the date of parameter `key`, if figures can be asked for it:
/// between [`EARLIEST`] and today.
pub(crate) fn in_range(key: &str, d: NaiveDate) -> ApiResult<NaiveDate> {
    let today = Utc::now().date_naive();
    if d < EARLIEST || d > today {
        return Err(ApiError::BadRequest(format!(
            "{key}: {d} lies outside {EARLIEST} … {today} (today)"
        )));
    }
    Ok(d)
}

/// Every municipality's figures at `date` from the engine (503 without
/// one or when it fails).
pub(crate) async fn coverage_at(state: &AppState, date: NaiveDate) -> ApiResult<crate::hook::DatedAll> {
    let what = format!("the figures at {date}");
    engine(state)?
        .coverage_at(date)
        .await
        .map_err(engine_failed(&what))
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

/// The name of municipality `ags`, or 404: the dated answers name the
/// municipality as the answer of today does.
async fn municipality_name(state: &AppState, ags: &Ags) -> ApiResult<String> {
    let c = state.db().conn().await?;
    let what = "reading the municipality";
    let stmt = c
        .prepare_cached("SELECT name FROM municipality WHERE ags = $1")
        .await
        .map_err(DbError::pg(what))?;
    let Some(row) = c
        .query_opt(&stmt, &[&ags.as_str()])
        .await
        .map_err(DbError::pg(what))?
    else {
        return Err(ApiError::NotFound(format!(
            "no municipality with AGS {ags}"
        )));
    };
    Ok(row.try_get("name").map_err(DbError::pg(what))?)
}

/// The engine of `funkplan serve`, or 503: figures at a date are computed
/// on request, never stored.
fn engine(state: &AppState) -> ApiResult<&std::sync::Arc<dyn crate::CoverageHook>> {
    state.hook().ok_or_else(|| {
        ApiError::EngineUnavailable(
            "figures for a date need the coverage engine of `funkplan serve`".into(),
        )
    })
}

/// An engine failure as the 503 the client sees, logged with its chain.
fn engine_failed(what: &str) -> impl FnOnce(crate::hook::HookError) -> ApiError + '_ {
    move |e| {
        tracing::warn!(error = %chain(&*e), "{what} failed");
        ApiError::EngineUnavailable(format!("{what} could not be computed: {e}"))
    }
}

/// `GET /api/v1/municipalities/{ags}?as_of=DATE`.
pub(crate) async fn municipality(state: &AppState, ags: &Ags, as_of: &str) -> ApiResult<Response> {
    let date = parse_as_of(as_of)?;
    let name = municipality_name(state, ags).await?;
    let what = format!("the figures at {date}");
    let f = engine(state)?
        .figures_at(ags.as_str().to_owned(), date)
        .await
        .map_err(engine_failed(&what))?;
    let Some(f) = f else {
        return Err(ApiError::NotFound(format!(
            "municipality {ags} has no grid cells: no figures at {date}"
        )));
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

/// The counts of `a` and `b` together: an area's figures are its
/// municipalities' counts added up and divided once, never a sum of shares.
fn add(a: DatedTech, b: &DatedTech) -> DatedTech {
    DatedTech {
        households: a.households + b.households,
        households_covered: a.households_covered + b.households_covered,
        cells: a.cells + b.cells,
        cells_covered: a.cells_covered + b.cells_covered,
        dead_cells: a.dead_cells + b.dead_cells,
        grey_cells: a.grey_cells + b.grey_cells,
    }
}

const NO_TECH: DatedTech = DatedTech {
    households: 0.0,
    households_covered: 0.0,
    cells: 0,
    cells_covered: 0,
    dead_cells: 0,
    grey_cells: 0,
};

/// `GET /api/v1/districts/{ags5}?as_of=DATE` and the same for a region:
/// `today` is the area's answer of today (its name, kind and members come
/// from there), the figures are the engine's at `date`, the members' counts
/// added up.
pub(crate) async fn area(state: &AppState, today: &str, date: NaiveDate) -> ApiResult<Response> {
    let today: Value = serde_json::from_str(today)
        .map_err(|e| ApiError::Internal(format!("the area's figures are not JSON: {e}")))?;
    let members: Vec<(&str, Option<&str>)> = today["municipalities"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| Some((m["ags"].as_str()?, m["name"].as_str())))
                .collect()
        })
        .unwrap_or_default();
    let all = coverage_at(state, date).await?;
    let by_ags: std::collections::HashMap<&str, (&DatedTech, &DatedTech)> = all
        .municipalities
        .iter()
        .map(|(a, l, n)| (a.as_str(), (l, n)))
        .collect();
    let (mut lte, mut nr) = (NO_TECH, NO_TECH);
    let mut rows = Vec::with_capacity(members.len());
    for (ags, name) in members {
        let Some((l, n)) = by_ags.get(ags) else {
            continue;
        };
        lte = add(lte, l);
        nr = add(nr, n);
        rows.push(json!({"ags": ags, "name": name, "households": l.households, "coverage": {"5g": tech(n, false), "lte": tech(l, true)}}));
    }
    Ok(Json(json!({
        "ags": today["ags"],
        "level": today["level"],
        "name": today["name"],
        "kind": today["kind"],
        "as_of": all.date,
        "release": all.release,
        "source": all.source,
        "households": lte.households,
        "coverage": {"5g": tech(&nr, false), "lte": tech(&lte, true)},
        "municipalities": rows,
    }))
    .into_response())
}

/// Every municipality's shares at a date, for the map's date control:
/// the release in force then and the sites on air by then. Without
/// `as_of`: today.
#[utoipa::path(get, path = "/api/v1/coverage", tag = "coverage",
    params(("as_of" = Option<String>, Query, description = "The date (YYYY-MM-DD, 2019-01-01 … today); default today")),
    responses(
        (status = 200, description = "Per municipality the shares at the date (`release`: the release in force)", body = Object),
        (status = 400, description = "Malformed or impossible date, unknown parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The coverage engine of `funkplan serve` is not there", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn coverage(
    axum::extract::State(state): axum::extract::State<AppState>,
    q: crate::http::QueryPairs,
) -> ApiResult<Response> {
    q.check(&["as_of"], |_| false)?;
    let date = match q.get("as_of") {
        Some(s) => parse_as_of(s)?,
        None => Utc::now().date_naive(),
    };
    let all = coverage_at(&state, date).await?;
    let share = |a: f64, b: f64| {
        if b > 0.0 {
            Some((a / b * 1e6).round() / 1e6)
        } else {
            None
        }
    };
    let rows: Vec<Value> = all
        .municipalities
        .iter()
        .map(|(ags, lte, nr)| {
            json!({
                "ags": ags,
                "household_share_5g": share(nr.households_covered, nr.households),
                "area_share_5g": share(f64::from(nr.cells_covered), f64::from(nr.cells)),
                "household_share_lte": share(lte.households_covered, lte.households),
                "area_share_lte": share(f64::from(lte.cells_covered), f64::from(lte.cells)),
                "dead_spot_area_km2": (f64::from(lte.dead_cells) * 0.01 * 100.0).round() / 100.0,
            })
        })
        .collect();
    Ok(Json(json!({"as_of": all.date, "release": all.release, "source": all.source, "municipalities": rows})).into_response())
}

/// A municipality's figures at each coverage release (issue 16: the
/// municipality page charts its 5G and LTE household share over the
/// releases), from the engine: the release of that date and the sites on
/// air by then, as `?as_of=` would give them for each release date.
#[utoipa::path(get, path = "/api/v1/municipalities/{ags}/releases", tag = "coverage",
    params(("ags" = String, Path, description = "8-digit official municipality key (AGS)", example = "05111000")),
    responses(
        (status = 200, description = "Per release date, oldest first, the municipality's figures at that date", body = Object),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed AGS, unknown parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown AGS, or no grid cells", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The coverage engine of `funkplan serve` is not there", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn series(
    axum::extract::State(state): axum::extract::State<AppState>,
    crate::http::ApiPath(ags): crate::http::ApiPath<String>,
    q: crate::http::QueryPairs,
) -> ApiResult<Response> {
    q.check(&[], |_| false)?;
    let ags = super::municipalities::parse_ags(&ags)?;
    let name = municipality_name(&state, &ags).await?;
    let s = engine(&state)?
        .series(ags.as_str().to_owned())
        .await
        .map_err(engine_failed("the figures over the releases"))?;
    let Some(s) = s else {
        return Err(ApiError::NotFound(format!(
            "municipality {ags} has no grid cells: no figures"
        )));
    };
    let points: Vec<Value> = s
        .points
        .iter()
        .map(|(date, lte, nr)| json!({"date": date, "households": lte.households, "coverage": {"5g": tech(nr, false), "lte": tech(lte, true)}}))
        .collect();
    Ok(
        Json(json!({"ags": ags.as_str(), "name": name, "source": s.source, "releases": points}))
            .into_response(),
    )
}

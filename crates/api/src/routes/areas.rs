//! Districts (Kreise and kreisfreie Städte, AGS digits 1–5) and
//! Regierungsbezirke (digits 1–3): the figures of their municipalities
//! added up (issue 15). Counts are summed and shares divided once in
//! `sql/figures.sql`, as for one municipality, so an area's share is the
//! engine's for the area, not a sum of rounded shares.

use axum::extract::State;
use axum::response::Response;
use funkplan_db::Error as DbError;

use super::municipalities::json_bytes;
use crate::http::{ApiPath, QueryPairs};
use crate::openapi::schema;
use crate::{ApiError, ApiResult, AppState};

/// The level of an area and the digits of its key.
#[derive(Clone, Copy)]
enum Level {
    District,
    Region,
}

impl Level {
    fn digits(self) -> usize {
        match self {
            Self::District => 5,
            Self::Region => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Region => "region",
        }
    }

    /// The key, checked: digits of the right length (so the SQL's prefix
    /// match can never widen to other areas).
    fn key(self, s: &str) -> ApiResult<String> {
        let ok = s.len() == self.digits() && s.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(s.to_owned())
        } else {
            Err(ApiError::BadRequest(match self {
                Self::District => format!("{s:?} is not a district key: the first 5 AGS digits, e.g. 05158 (Kreis Mettmann) or 05111 (Düsseldorf)"),
                Self::Region => format!("{s:?} is not a Regierungsbezirk key: the first 3 AGS digits, e.g. 051 (Düsseldorf)"),
            }))
        }
    }
}

async fn area(state: &AppState, level: Level, key: &str, q: &QueryPairs) -> ApiResult<Response> {
    q.check(&["as_of"], |_| false)?;
    let key = level.key(key)?;
    let date = q.get("as_of").map(super::dated::parse_as_of).transpose()?;
    let c = state.db().conn().await?;
    let stmt = c
        .prepare_cached(&super::figures::AREA)
        .await
        .map_err(DbError::pg("preparing the area figures"))?;
    let what = "reading the area figures";
    let row = c.query_opt(&stmt, &[&key, &level.name()]).await.map_err(DbError::pg(what))?;
    let Some(row) = row else {
        return Err(ApiError::NotFound(format!("no municipality has an AGS starting with {key}")));
    };
    let figures: String = row.try_get("figures").map_err(DbError::pg(what))?;
    drop(c);
    match date {
        None => Ok(json_bytes(figures, "application/json")),
        Some(date) => super::dated::area(state, &figures, date).await,
    }
}

/// The figures of a district (Kreis or kreisfreie Stadt) with its
/// municipalities.
#[utoipa::path(get, path = "/api/v1/districts/{ags5}", tag = "coverage",
    params(("ags5" = String, Path, description = "The first 5 AGS digits", example = "05158"), ("as_of" = Option<String>, Query, description = "The figures at this date (YYYY-MM-DD, 2019-01-01 … today), summed from its municipalities' engine counts at that date: the coverage release in force then and the sites on air by then")),
    responses(
        (status = 200, description = "Figures of the district, summed from its municipalities", body = schema::AreaFigures),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed key or date", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such district", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A date asked of a server without the coverage engine", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn district(State(state): State<AppState>, ApiPath(ags5): ApiPath<String>, q: QueryPairs) -> ApiResult<Response> {
    area(&state, Level::District, &ags5, &q).await
}

/// The figures of a Regierungsbezirk with its municipalities.
#[utoipa::path(get, path = "/api/v1/regions/{ags3}", tag = "coverage",
    params(("ags3" = String, Path, description = "The first 3 AGS digits", example = "051"), ("as_of" = Option<String>, Query, description = "The figures at this date (YYYY-MM-DD, 2019-01-01 … today), summed from its municipalities' engine counts at that date: the coverage release in force then and the sites on air by then")),
    responses(
        (status = 200, description = "Figures of the Regierungsbezirk, summed from its municipalities", body = schema::AreaFigures),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed key or date", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such Regierungsbezirk", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A date asked of a server without the coverage engine", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn region(State(state): State<AppState>, ApiPath(ags3): ApiPath<String>, q: QueryPairs) -> ApiResult<Response> {
    area(&state, Level::Region, &ags3, &q).await
}

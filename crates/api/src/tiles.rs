//! Vector tiles (issue 17): where each tileset's features come from, and
//! the SQL of the PostGIS tilesets (all of it here, one place).
//!
//! - `coverage` comes from the engine's memory through the
//!   [`CoverageHook`](crate::CoverageHook) (no database round trip per
//!   tile) and is encoded by `funkplan-tiles` (the `fast-mvt` crate).
//! - `dead-spots`, `sites`, `municipalities`, `districts`, `regions` are
//!   `ST_AsMVT` in PostGIS. Why not the engine: these are a few thousand
//!   stored polygons and points, not millions of cells; their geometries
//!   live in the database (the engine holds cells, not outlines), and
//!   PostGIS clips and simplifies polygons per tile with indexes already
//!   in place. Districts and regions are the union of their
//!   municipalities' simplified outlines within the tile.
//!
//! Empty tiles are `None` (204); the ETag is the hash of the bytes (set by
//! the conditional-GET layer), so it changes exactly for the tiles whose
//! content a change touched.

use chrono::NaiveDate;
use funkplan_db::Error as DbError;
use funkplan_tiles::coverage;
use funkplan_tiles::{TileId, Tileset};

use crate::hook::{chain, TileView};
use crate::{ApiError, ApiResult, AppState};

/// The media type of a Mapbox Vector Tile.
pub(crate) const MVT: &str = "application/vnd.mapbox-vector-tile";

impl From<funkplan_tiles::Error> for ApiError {
    fn from(e: funkplan_tiles::Error) -> Self {
        match e {
            funkplan_tiles::Error::BadTile(m) => Self::BadRequest(format!("bad tile address: {m}")),
            funkplan_tiles::Error::OutOfRange(m) => Self::NotFound(format!("no such tile: {m}")),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The tileset named `id` (404 naming the ones there are).
pub(crate) fn tileset(id: &str) -> ApiResult<&'static Tileset> {
    Tileset::get(id).ok_or_else(|| {
        let ids: Vec<&str> = funkplan_tiles::TILESETS.iter().map(|t| t.id).collect();
        ApiError::NotFound(format!("no tileset {id:?}; there are {}", ids.join(", ")))
    })
}

/// The coverage view from `?scenario=` and `?datetime=` (a date, as the
/// figures' `as_of`); the other tilesets take no parameters.
pub(crate) fn view(ts: &Tileset, q: &crate::http::QueryPairs) -> ApiResult<TileView> {
    if ts.id != "coverage" {
        q.check(&["f"], |_| false)?;
        return Ok(TileView::Actual);
    }
    q.check(&["scenario", "datetime", "f"], |_| false)?;
    let scenario = match q.get("scenario") {
        None | Some("false") => false,
        Some("true") => true,
        Some(s) => return Err(ApiError::BadRequest(format!("scenario: {s:?} is neither true nor false"))),
    };
    let date: Option<NaiveDate> = q.get("datetime").map(crate::routes::dated::parse_as_of).transpose().map_err(|e| match e {
        ApiError::BadRequest(m) => ApiError::BadRequest(m.replacen("as_of", "datetime", 1)),
        other => other,
    })?;
    match (scenario, date) {
        (true, Some(_)) => Err(ApiError::BadRequest("scenario and datetime together: the scenario has no date (it completes every planned measure)".into())),
        (true, None) => Ok(TileView::Scenario),
        (false, Some(d)) => Ok(TileView::At(d)),
        (false, None) => Ok(TileView::Actual),
    }
}

/// The tile `t` of `ts` in `view`; `None` when it holds no feature.
#[tracing::instrument(skip(state, ts), fields(tileset = ts.id))]
pub(crate) async fn tile(state: &AppState, ts: &Tileset, t: TileId, view: TileView) -> ApiResult<Option<Vec<u8>>> {
    if t.z < ts.minzoom {
        return Err(ApiError::NotFound(format!("tileset {} starts at zoom {} (asked {})", ts.id, ts.minzoom, t.z)));
    }
    if ts.id == "coverage" {
        return coverage_tile(state, t, view).await;
    }
    let sql = match ts.id {
        "dead-spots" => DEAD_SPOTS.to_owned(),
        "sites" => SITES.to_owned(),
        "municipalities" => MUNICIPALITIES.to_owned(),
        "districts" => areas(5, "districts"),
        "regions" => areas(3, "regions"),
        other => return Err(ApiError::Internal(format!("tileset {other} has no source"))),
    };
    let what = "building a vector tile";
    let c = state.db().conn().await?;
    let stmt = c.prepare_cached(&sql).await.map_err(DbError::pg(what))?;
    let (z, x, y) = (i32::from(t.z), i64::from(t.x), i64::from(t.y));
    let (x, y) = (i32::try_from(x).map_err(|_| ApiError::BadRequest("x".into()))?, i32::try_from(y).map_err(|_| ApiError::BadRequest("y".into()))?);
    let row = c.query_one(&stmt, &[&z, &x, &y]).await.map_err(DbError::pg(what))?;
    let bytes: Option<Vec<u8>> = row.try_get(0).map_err(DbError::pg(what))?;
    Ok(bytes.filter(|b| !b.is_empty()))
}

/// How many coverage tiles are cut and encoded at once: one per core.
/// A tile is CPU only (the engine's memory, then the encoder), so more at
/// once finish no sooner; they only hold more half-built tiles in memory
/// (a z 11 tile is ~4,000 features, some MB while encoding) on more
/// blocking threads. A map's, or 64 clients', further tiles wait at the
/// server's gate ([`AppState::tile_encoders`]), on the async side, for a
/// core.
pub(crate) fn encoder_slots() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// A `coverage` tile from the engine: cells from zoom 12, blocks below.
async fn coverage_tile(state: &AppState, t: TileId, view: TileView) -> ApiResult<Option<Vec<u8>>> {
    let Some(hook) = state.hook() else {
        return Err(ApiError::EngineUnavailable("coverage tiles need the coverage engine of `funkplan serve`".into()));
    };
    let _core = state.tile_encoders().acquire().await.map_err(|e| ApiError::Internal(format!("tile encoder gate: {e}")))?;
    let rect = coverage::request_rect(&t);
    let unavailable = |e: crate::HookError| {
        tracing::warn!(error = %chain(&*e), "coverage tile failed");
        ApiError::EngineUnavailable(format!("the coverage tile could not be computed: {e}"))
    };
    let bytes = if t.z >= coverage::CELL_ZOOM {
        let cells = hook.tile_cells(rect, view).await.map_err(unavailable)?;
        let ops = cells.operators;
        let cells = cells.cells;
        tokio::task::spawn_blocking(move || coverage::encode_cells(&t, rect, &cells, &ops))
            .await
            .map_err(|e| ApiError::Internal(format!("tile encoding stopped: {e}")))??
    } else {
        let size = coverage::block_size(t.z);
        let blocks = hook.tile_blocks(rect, size, view).await.map_err(unavailable)?.blocks;
        tokio::task::spawn_blocking(move || coverage::encode_blocks(&t, rect, &blocks))
            .await
            .map_err(|e| ApiError::Internal(format!("tile encoding stopped: {e}")))??
    };
    Ok(bytes)
}

/// The tile envelope (EPSG:3857) and the same area as an EPSG:25832
/// search box (densified before transforming: a tile edge is a curve in
/// UTM).
const ENV: &str = "WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e), \
    box AS (SELECT e, ST_Transform(ST_Segmentize(e, (ST_XMax(e) - ST_XMin(e)) / 16), 25832) AS b FROM env)";

/// LTE dead spots.
const DEAD_SPOTS: &str = "WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e), \
    box AS (SELECT e, ST_Transform(ST_Segmentize(e, (ST_XMax(e) - ST_XMin(e)) / 16), 25832) AS b FROM env), \
    f AS (SELECT d.id, d.ags::text AS ags, d.cells, d.area_km2, \
                 ST_AsMVTGeom(ST_Transform(d.geom, 3857), box.e, 4096, 64, true) AS geom \
          FROM dead_spot d, box WHERE d.geom && box.b) \
    SELECT ST_AsMVT(f, 'dead-spots', 4096, 'geom') FROM f WHERE geom IS NOT NULL";

/// Sites.
const SITES: &str = "WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e), \
    box AS (SELECT e, ST_Transform(ST_Segmentize(e, (ST_XMax(e) - ST_XMin(e)) / 16), 25832) AS b FROM env), \
    f AS (SELECT s.site_id, s.operator_id AS operator, s.status, array_to_string(s.technologies, ',') AS technologies, \
                 ST_AsMVTGeom(ST_Transform(s.geom, 3857), box.e, 4096, 64, true) AS geom \
          FROM site s, box WHERE s.geom && box.b) \
    SELECT ST_AsMVT(f, 'sites', 4096, 'geom') FROM f WHERE geom IS NOT NULL";

/// Municipalities with their current (actual) figures.
const MUNICIPALITIES: &str = "WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e), \
    box AS (SELECT e, ST_Transform(ST_Segmentize(e, (ST_XMax(e) - ST_XMin(e)) / 16), 25832) AS b FROM env), \
    f AS (SELECT m.ags::text AS ags, m.name, l.households, \
                 l.households_covered / nullif(l.households, 0) AS lte_household_share, \
                 n.households_covered / nullif(n.households, 0) AS \"5g_household_share\", \
                 l.cells_covered::float8 / nullif(l.cells, 0) AS lte_area_share, \
                 n.cells_covered::float8 / nullif(n.cells, 0) AS \"5g_area_share\", \
                 ST_AsMVTGeom(ST_Transform(m.geom_simple, 3857), box.e, 4096, 64, true) AS geom \
          FROM municipality m CROSS JOIN box \
          LEFT JOIN coverage_result l ON l.ags = m.ags AND NOT l.scenario AND l.technology = 'lte' \
          LEFT JOIN coverage_result n ON n.ags = m.ags AND NOT n.scenario AND n.technology = '5g' \
          WHERE m.geom_simple && box.b) \
    SELECT ST_AsMVT(f, 'municipalities', 4096, 'geom') FROM f WHERE geom IS NOT NULL";

/// Districts (`digits` 5) or regions (3): the union of their
/// municipalities' outlines that reach the tile, with the figures of all
/// their municipalities summed.
fn areas(digits: i32, layer: &str) -> String {
    format!(
        "{ENV}, \
         parts AS (SELECT substr(m.ags, 1, {digits}) AS ags, ST_Union(m.geom_simple) AS g \
                   FROM municipality m, box WHERE m.geom_simple && box.b GROUP BY 1), \
         sums AS (SELECT substr(r.ags, 1, {digits}) AS ags, r.technology, sum(r.households) AS hh, sum(r.households_covered) AS hh_cov, \
                         sum(r.cells) AS cells, sum(r.cells_covered) AS cov \
                  FROM coverage_result r WHERE NOT r.scenario AND substr(r.ags, 1, {digits}) IN (SELECT ags FROM parts) GROUP BY 1, 2), \
         f AS (SELECT p.ags, coalesce(a.name, (SELECT min(m.name) FROM municipality m WHERE substr(m.ags, 1, {digits}) = p.ags)) AS name, \
                      l.hh AS households, l.hh_cov / nullif(l.hh, 0) AS lte_household_share, n.hh_cov / nullif(n.hh, 0) AS \"5g_household_share\", \
                      l.cov::float8 / nullif(l.cells, 0) AS lte_area_share, n.cov::float8 / nullif(n.cells, 0) AS \"5g_area_share\", \
                      ST_AsMVTGeom(ST_Transform(p.g, 3857), box.e, 4096, 64, true) AS geom \
               FROM parts p CROSS JOIN box \
               LEFT JOIN area_name a ON a.ags = p.ags \
               LEFT JOIN sums l ON l.ags = p.ags AND l.technology = 'lte' \
               LEFT JOIN sums n ON n.ags = p.ags AND n.technology = '5g') \
         SELECT ST_AsMVT(f, '{layer}', 4096, 'geom') FROM f WHERE geom IS NOT NULL"
    )
}

//! Every route in one table, so that the router, the route list the
//! OpenAPI test checks and the OpenAPI document's paths come from the same
//! declarations.

pub(crate) mod areas;
pub(crate) mod audit;
pub(crate) mod dated;
pub(crate) mod export;
pub(crate) mod figures;
pub(crate) mod health;
pub(crate) mod meta;
pub(crate) mod municipalities;
pub(crate) mod ogc;
pub(crate) mod plans;
pub(crate) mod releases;
pub(crate) mod targets;
pub(crate) mod tiles;
pub(crate) mod web;
pub(crate) mod writes;

use axum::http::Method;
use axum::routing::{self, MethodFilter, MethodRouter};
use axum::Router;
use utoipa::OpenApi;

use crate::AppState;

/// Where routes are declared to: the real router, or a list of them.
trait Registry {
    fn add(&mut self, method: Method, path: &'static str, cached: bool, mr: impl FnOnce() -> MethodRouter<AppState>);
}

/// Declares every route once: `METHOD "path" cache => handler;`, where
/// cache is `cached` (public data served through the response cache) or
/// `live`. From the one list come the router ([`build`]), the route table
/// ([`route_table`]) and the paths of the OpenAPI document ([`paths`], from
/// each handler's `#[utoipa::path]`), so a new endpoint is one line here.
macro_rules! routes {
    (@cached cached) => { true };
    (@cached live) => { false };
    ($($method:ident $path:literal $cache:ident => $($handler:ident)::+;)*) => {
        /// All routes of the API.
        fn declare(r: &mut impl Registry) {
            $(r.add(Method::$method, $path, routes!(@cached $cache), || routing::on(MethodFilter::$method, $($handler)::+));)*
        }

        /// The OpenAPI paths of all routes.
        #[derive(OpenApi)]
        #[openapi(paths($($($handler)::+),*))]
        struct Paths;
    };
}

routes! {
    GET "/healthz" live => health::healthz;
    GET "/api/v1/targets" cached => targets::list;
    GET "/api/v1/targets/{id}/history" cached => targets::history;
    GET "/api/v1/municipalities" cached => municipalities::search;
    GET "/api/v1/municipalities/{ags}" cached => municipalities::figures;
    GET "/api/v1/municipalities/{ags}/dead-spots" cached => municipalities::dead_spots;
    GET "/api/v1/municipalities/{ags}/neighbours" cached => municipalities::neighbours;
    GET "/api/v1/municipalities/{ags}/changes" cached => releases::changes;
    GET "/api/v1/releases" cached => releases::list;
    GET "/api/v1/coverage" cached => dated::coverage;
    GET "/api/v1/municipalities/{ags}/releases" cached => dated::series;
    GET "/api/v1/export/{file}" cached => export::download;
    GET "/api/v1/districts/{ags5}" cached => areas::district;
    GET "/api/v1/regions/{ags3}" cached => areas::region;
    POST "/api/v1/sites" live => writes::create_site;
    GET "/api/v1/sites/{id}" live => writes::get_site;
    PATCH "/api/v1/sites/{id}" live => writes::patch_site;
    POST "/api/v1/measures" live => writes::create_measure;
    GET "/api/v1/measures/{id}" live => writes::get_measure;
    PATCH "/api/v1/measures/{id}" live => writes::patch_measure;
    GET "/api/v1/audit" live => audit::list;
    GET "/api/openapi.json" live => meta::openapi;
    GET "/metrics" live => meta::metrics;
    GET "/ogc" live => ogc::landing::landing;
    GET "/ogc/conformance" live => ogc::landing::conformance;
    GET "/ogc/collections" cached => ogc::collections::collections;
    GET "/ogc/collections/{collectionId}" cached => ogc::collections::collection_meta;
    GET "/ogc/collections/{collectionId}/schema" cached => ogc::schema::schema;
    GET "/ogc/collections/{collectionId}/queryables" cached => ogc::schema::queryables;
    GET "/ogc/collections/{collectionId}/items" cached => ogc::features::items;
    GET "/ogc/collections/{collectionId}/items/{featureId}" cached => ogc::features::item;
    POST "/api/v1/plans" live => plans::create_plan;
    GET "/api/v1/plans/{id}" live => plans::get_plan;
    GET "/tiles/{tileset}" live => tiles::tilejson;
    GET "/tiles/{tileset}/{z}/{x}/{y}" cached => tiles::tile;
    GET "/ogc/collections/{collectionId}/tiles" live => tiles::ogc_tilesets;
    GET "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}" live => tiles::ogc_tileset;
    GET "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}" cached => tiles::ogc_tile;
    GET "/ogc/tileMatrixSets" live => tiles::tile_matrix_sets;
    GET "/ogc/tileMatrixSets/{tileMatrixSetId}" live => tiles::tile_matrix_set;
}

/// The paths of the OpenAPI document: every route's, as its handler's
/// `#[utoipa::path]` describes it, with the schemas they name.
pub(crate) fn paths() -> utoipa::openapi::OpenApi {
    Paths::openapi()
}

struct Build {
    router: Router<AppState>,
    state: AppState,
}

impl Registry for Build {
    fn add(&mut self, _m: Method, path: &'static str, cached: bool, mr: impl FnOnce() -> MethodRouter<AppState>) {
        let mut mr = mr();
        if cached {
            mr = mr.layer(axum::middleware::from_fn_with_state(self.state.clone(), crate::cache::layer));
        }
        let router = std::mem::take(&mut self.router);
        self.router = router.route(path, mr);
    }
}

struct Table(Vec<(Method, &'static str)>);

impl Registry for Table {
    fn add(&mut self, m: Method, path: &'static str, _cached: bool, _mr: impl FnOnce() -> MethodRouter<AppState>) {
        self.0.push((m, path));
    }
}

/// Every (method, path template) the router serves.
#[must_use]
pub fn route_table() -> Vec<(Method, &'static str)> {
    let mut t = Table(Vec::new());
    declare(&mut t);
    t.0
}

pub(crate) fn build(state: AppState) -> Router {
    let mut b = Build { router: Router::new(), state: state.clone() };
    declare(&mut b);
    b.router
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::observe))
        .fallback(web::fallback)
        .with_state(state)
}

//! Every route in one table, so that the router and the route list the
//! OpenAPI test checks come from the same declarations.

pub(crate) mod areas;
pub(crate) mod audit;
mod figures;
pub(crate) mod health;
pub(crate) mod meta;
pub(crate) mod municipalities;
pub(crate) mod ogc;
pub(crate) mod targets;
pub(crate) mod web;
pub(crate) mod writes;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use axum::Router;

use crate::AppState;

/// Where routes are declared to: the real router, or a list of them.
trait Registry {
    fn add(&mut self, method: Method, path: &'static str, cached: bool, mr: impl FnOnce() -> MethodRouter<AppState>);

    fn get<H: Handler<T, AppState>, T: 'static>(&mut self, path: &'static str, cached: bool, h: H) {
        self.add(Method::GET, path, cached, || routing::get(h));
    }
    fn post<H: Handler<T, AppState>, T: 'static>(&mut self, path: &'static str, h: H) {
        self.add(Method::POST, path, false, || routing::post(h));
    }
    fn patch<H: Handler<T, AppState>, T: 'static>(&mut self, path: &'static str, h: H) {
        self.add(Method::PATCH, path, false, || routing::patch(h));
    }
}

/// All routes of the API. `cached`: public data served through the
/// response cache.
fn declare(r: &mut impl Registry) {
    r.get("/healthz", false, health::healthz);
    r.get("/api/v1/targets", true, targets::list);
    r.get("/api/v1/targets/{id}/history", true, targets::history);
    r.get("/api/v1/municipalities", true, municipalities::search);
    r.get("/api/v1/municipalities/{ags}", true, municipalities::figures);
    r.get("/api/v1/municipalities/{ags}/dead-spots", true, municipalities::dead_spots);
    r.get("/api/v1/districts/{ags5}", true, areas::district);
    r.get("/api/v1/regions/{ags3}", true, areas::region);
    r.post("/api/v1/sites", writes::create_site);
    r.get("/api/v1/sites/{id}", false, writes::get_site);
    r.patch("/api/v1/sites/{id}", writes::patch_site);
    r.post("/api/v1/measures", writes::create_measure);
    r.get("/api/v1/measures/{id}", false, writes::get_measure);
    r.patch("/api/v1/measures/{id}", writes::patch_measure);
    r.get("/api/v1/audit", false, audit::list);
    r.get("/api/openapi.json", false, meta::openapi);
    r.get("/metrics", false, meta::metrics);
    r.get("/ogc", false, ogc::landing::landing);
    r.get("/ogc/conformance", false, ogc::landing::conformance);
    r.get("/ogc/collections", true, ogc::collections::collections);
    r.get("/ogc/collections/{collectionId}", true, ogc::collections::collection_meta);
    r.get("/ogc/collections/{collectionId}/items", true, ogc::features::items);
    r.get("/ogc/collections/{collectionId}/items/{featureId}", true, ogc::features::item);
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

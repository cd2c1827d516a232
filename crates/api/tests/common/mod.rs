//! Shared test helpers: a router on a fresh database with fixture rows.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use funkplan_api::{router, AppState, CoverageHook};
use funkplan_db::testing::TestDb;
use futures_util::future::BoxFuture;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: bytes::Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes))
        })
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }
    /// Assert a problem+json body with this status and return its detail.
    pub fn problem(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.bytes));
        assert_eq!(self.header("content-type").as_deref(), Some("application/problem+json"));
        let j = self.json();
        assert_eq!(j["status"].as_u64(), Some(u64::from(status.as_u16())));
        j["detail"].as_str().unwrap().to_owned()
    }
}

pub struct App {
    pub db: TestDb,
    pub state: AppState,
    pub router: axum::Router,
}

impl App {
    pub async fn new() -> Self {
        Self::with_hook(None).await
    }

    pub async fn with_hook(hook: Option<Arc<dyn CoverageHook>>) -> Self {
        let db = TestDb::new().await;
        let mut state = AppState::new(db.db().await).with_web_dir("/nonexistent/web/dist");
        if let Some(h) = hook {
            state = state.with_coverage_hook(h);
        }
        let router = router(state.clone());
        assert!(state.wait_until_caching(std::time::Duration::from_secs(10)).await, "change listener did not connect");
        Self { db, state, router }
    }

    /// Run SQL on another connection and wait for the server to hear of
    /// the change (the database's notification, not a shortcut).
    pub async fn sql(&self, sql: &str) {
        let before = self.state.data_version();
        let c = self.db.client().await;
        c.batch_execute(sql).await.unwrap_or_else(|e| panic!("{}: {sql}", funkplan_db::pg_detail(&e)));
        for _ in 0..200 {
            if self.state.data_version() != before {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no change notification within 2 s after: {sql}");
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, bytes }
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.send(Request::get(uri).header("host", "test.local").body(Body::empty()).unwrap()).await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Resp {
        let mut b = Request::get(uri).header("host", "test.local");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    pub async fn write(&self, method: Method, uri: &str, token: Option<&str>, if_match: Option<&str>, body: &Value) -> Resp {
        let mut b = Request::builder().method(method).uri(uri).header("content-type", "application/json");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some(m) = if_match {
            b = b.header("if-match", m);
        }
        self.send(b.body(Body::from(body.to_string())).unwrap()).await
    }

    pub async fn token(&self, role: &str) -> String {
        funkplan_api::create_token(self.state.db(), &role.parse().unwrap(), Some("test")).await.unwrap().token
    }

    /// Municipalities, sites, measures and computed figures, known to the tests.
    pub async fn fixture(&self) {
        self.sql(FIXTURE).await;
    }
}

/// Three square municipalities (10 km sides, EPSG:25832), sites and
/// measures in them, one coverage run with per-operator figures for
/// Düsseldorf only, and two dead spots there.
pub const FIXTURE: &str = r"
INSERT INTO municipality (ags, name, kind, population, households, geom) VALUES
 ('05111000', 'Düsseldorf', 'Stadt', 620000, 341000, ST_Multi(ST_MakeEnvelope(340000, 5670000, 350000, 5680000, 25832))),
 ('05112000', 'Duisburg', 'Stadt', 500000, 250000, ST_Multi(ST_MakeEnvelope(330000, 5700000, 340000, 5710000, 25832))),
 ('05315000', 'Köln', 'Stadt', 1080000, 550000, ST_Multi(ST_MakeEnvelope(350000, 5640000, 360000, 5650000, 25832)));
INSERT INTO site (site_id, operator_id, geom, status, technologies, planned_date, on_air_date) VALUES
 ('S-1', 'telekom', ST_SetSRID(ST_MakePoint(344000, 5675000), 25832), 'on_air', '{lte}', NULL, '2023-03-01'),
 ('S-2', 'vodafone', ST_SetSRID(ST_MakePoint(345000, 5676000), 25832), 'planned', '{}', '2025-06-01', NULL),
 ('S-3', 'telekom', ST_SetSRID(ST_MakePoint(335000, 5705000), 25832), 'construction', '{}', NULL, NULL),
 ('S-4', 'telefonica', ST_SetSRID(ST_MakePoint(355000, 5645000), 25832), 'on_air', '{lte,5g}', NULL, '2024-07-15');
INSERT INTO measure (measure_id, site_id, kind, status, planned_date, completed_date) VALUES
 ('M-1', 'S-1', '5g_upgrade', 'planned', '2025-01-01', NULL),
 ('M-2', 'S-1', 'lte_upgrade', 'completed', NULL, '2023-03-01'),
 ('M-3', 'S-4', '5g_upgrade', 'completed', NULL, '2024-07-15');
INSERT INTO coverage_run (run_id, source, scenario, computed_at) VALUES (1, 'reported', false, '2026-11-23T10:00:00Z');
SELECT setval('coverage_run_run_id_seq', 1);
INSERT INTO coverage_result (scenario, ags, technology, households, households_covered, cells, cells_covered, dead_cells, grey_cells, source, run_id, computed_at) VALUES
 (false, '05111000', '5g', 1000, 800, 10000, 7000, 3000, 1000, 'reported', 1, '2026-11-23T10:00:00Z'),
 (false, '05111000', 'lte', 1000, 990, 10000, 9900, 40, 210, 'reported', 1, '2026-11-23T10:00:00Z'),
 (true, '05111000', '5g', 1000, 950, 10000, 9000, 1000, 500, 'reported', 1, '2026-11-23T10:00:00Z'),
 (true, '05111000', 'lte', 1000, 1000, 10000, 10000, 0, 100, 'reported', 1, '2026-11-23T10:00:00Z'),
 (false, '05112000', '5g', 500, 100, 10000, 2500, 7500, 2000, 'reported', 1, '2026-11-23T10:00:00Z'),
 (false, '05112000', 'lte', 500, 500, 10000, 10000, 0, 0, 'reported', 1, '2026-11-23T10:00:00Z');
INSERT INTO coverage_operator_result (scenario, ags, technology, operator_id, households_covered, cells_covered) VALUES
 (false, '05111000', '5g', 'telekom', 750, 6000),
 (false, '05111000', '5g', 'vodafone', 500, 4000);
INSERT INTO dead_spot (id, ags, cells, area_km2, geom, computed_at) VALUES
 ('05111000-1', '05111000', 4, 0.04, ST_Multi(ST_MakeEnvelope(341000, 5671000, 341200, 5671200, 25832)), '2026-11-23T10:00:00Z'),
 ('05111000-2', '05111000', 1, 0.01, ST_Multi(ST_MakeEnvelope(348000, 5678000, 348100, 5678100, 25832)), '2026-11-23T10:00:00Z');
";

/// A hook that records what it was told and, like the real engine, bumps
/// coverage figures so that the write shows in them.
#[derive(Default)]
pub struct RecordingHook {
    pub calls: Mutex<Vec<Vec<String>>>,
    pub url: Mutex<Option<String>>,
}

impl CoverageHook for RecordingHook {
    fn changed(&self, change: funkplan_model::Change) -> BoxFuture<'static, Result<(), funkplan_api::HookError>> {
        self.calls.lock().unwrap().push(change.site_ids());
        let url = self.url.lock().unwrap().clone();
        Box::pin(async move {
            let Some(url) = url else { return Ok(()) };
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            // Stand-in for the engine: 5G covers every household of the
            // municipalities of on-air 5G sites.
            c.batch_execute(
                "UPDATE coverage_result r SET households_covered = r.households, cells_covered = r.cells, dead_cells = 0
                 WHERE NOT r.scenario AND r.technology = '5g'
                   AND r.ags IN (SELECT ags FROM site WHERE status = 'on_air' AND '5g' = ANY (technologies))",
            )
            .await?;
            Ok(())
        })
    }
}

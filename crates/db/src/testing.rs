//! One fresh database per test, cloned from a migrated and seeded template
//! (crates.io's test-db pattern), so tests run in parallel and leave nothing
//! behind.
//!
//! The server comes from `FUNKPLAN_TEST_DATABASE_URL` (a superuser URL, set
//! by `scripts/test`). Without it a test fails loudly: a test that needs the
//! database never skips silently.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{pg_detail, with_dbname, Db, PoolOptions};

/// Key of the advisory lock held while building the template.
const TEMPLATE_LOCK: i64 = 0x6670_7465_6d70_6c74;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database that exists for the life of this value.
pub struct TestDb {
    /// Connection string of the test database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDb {
    /// Create a fresh database from the current template.
    ///
    /// # Panics
    /// When `FUNKPLAN_TEST_DATABASE_URL` is unset or the server is away:
    /// tests that need PostGIS must not pass without it.
    pub async fn new() -> Self {
        let admin_url = admin_url();
        let template = format!("funkplan_tpl_{}_{}", crate::migrate::fingerprint(), crate::seed::fingerprint());
        let (admin, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("test database server unreachable at {}: {}", crate::redact(&admin_url), pg_detail(&e)));
        let conn = tokio::spawn(conn);
        admin.execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK]).await.expect("template lock");
        let exists = admin
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
            .await
            .expect("look up template")
            .is_some();
        if !exists {
            build_template(&admin, &admin_url, &template).await;
        }
        admin.execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK]).await.expect("template unlock");
        let name = format!(
            "funkplan_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {}", pg_detail(&e)));
        drop(admin);
        let _ = conn.await;
        Self { url: with_dbname(&admin_url, &name), admin_url, name }
    }

    /// A pool on this database.
    pub async fn db(&self) -> Db {
        Db::connect(&self.url, &PoolOptions::default()).await.expect("connect to test database")
    }

    /// A plain client on this database (its connection task is spawned).
    pub async fn client(&self) -> tokio_postgres::Client {
        let (c, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.expect("connect to test database");
        tokio::spawn(conn);
        c
    }

    /// The database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop may run inside a runtime, which cannot be blocked on; a
        // short-lived thread with its own runtime can.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok((c, conn)) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
                    let h = tokio::spawn(conn);
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    drop(c);
                    let _ = h.await;
                }
            });
        })
        .join();
    }
}

/// The superuser URL tests use, or a panic that says how to get one.
#[must_use]
pub fn admin_url() -> String {
    match std::env::var("FUNKPLAN_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "FUNKPLAN_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts a PostGIS cluster, \
             or point it at a PostgreSQL superuser connection with PostGIS installed"
        ),
    }
}

async fn build_template(admin: &tokio_postgres::Client, admin_url: &str, template: &str) {
    let building = format!("{template}_building");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).await.expect("drop stale template");
    admin.batch_execute(&format!("CREATE DATABASE {building}")).await.expect("create template");
    let url = with_dbname(admin_url, &building);
    crate::migrate::run(&url).await.unwrap_or_else(|e| panic!("migrating the test template: {e}"));
    let (mut c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect template");
    let h = tokio::spawn(conn);
    let seeds = crate::seed::Seeds::embedded().expect("seeds");
    crate::seed::run(&mut c, &seeds).await.unwrap_or_else(|e| panic!("seeding the test template: {e}"));
    drop(c);
    let _ = h.await;
    // Renaming makes the finished template appear atomically.
    admin
        .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
        .await
        .expect("rename template");
}

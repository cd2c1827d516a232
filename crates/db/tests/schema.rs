//! Migrations and seeds against a real PostGIS (each test its own database).
#![allow(clippy::unwrap_used)]

use funkplan_db::testing::{admin_url, TestDb};
use funkplan_db::with_dbname;

/// A checksum over every row of the tables that hold reference data.
async fn checksum(c: &tokio_postgres::Client) -> String {
    c.query_one(
        "SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
            SELECT format('%s', o) AS t FROM operator o
            UNION ALL SELECT format('%s', t) FROM target t
            UNION ALL SELECT format('%s', r) FROM coverage_radius r
            UNION ALL SELECT format('%s', p) FROM coverage_param p) x",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn migrations_apply_from_empty_and_twice_is_a_no_op() {
    // An empty database (not the template): create one by hand.
    let admin = admin_url();
    let name = format!("funkplan_empty_{}", std::process::id());
    let (c, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = with_dbname(&admin, &name);

    let first = funkplan_db::migrate::run(&url).await.unwrap();
    assert!(!first.applied.is_empty(), "nothing applied to an empty database");
    let second = funkplan_db::migrate::run(&url).await.unwrap();
    assert!(second.applied.is_empty(), "second run applied {:?}", second.applied);

    let (d, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let srid: i32 = d
        .query_one("SELECT srid FROM geometry_columns WHERE f_table_name = 'municipality' AND f_geometry_column = 'geom'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(srid, 25832);
    let gist: i64 = d
        .query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'municipality_geom_gix' AND indexdef ILIKE '%gist%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(gist, 1);
    drop(d);
    c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
}

#[tokio::test]
async fn seeding_twice_changes_nothing() {
    let t = TestDb::new().await;
    let mut c = t.client().await;
    let before = checksum(&c).await;
    let seeds = funkplan_db::seed::Seeds::embedded().unwrap();
    funkplan_db::seed::run(&mut c, &seeds).await.unwrap();
    funkplan_db::seed::run(&mut c, &seeds).await.unwrap();
    assert_eq!(checksum(&c).await, before);
    let n: i64 = c.query_one("SELECT count(*) FROM target", &[]).await.unwrap().get(0);
    assert_eq!(n, 5);
}

#[tokio::test]
async fn a_failing_migration_leaves_the_schema_as_it_was() {
    // The grouped runner runs all pending migrations in one transaction; show
    // that PostgreSQL DDL in a failed transaction leaves no trace, which is
    // what that guarantee rests on.
    let t = TestDb::new().await;
    let mut c = t.client().await;
    let tx = c.transaction().await.unwrap();
    tx.batch_execute("CREATE TABLE half_done (x int)").await.unwrap();
    assert!(tx.batch_execute("ALTER TABLE no_such_table ADD COLUMN y int").await.is_err());
    drop(tx); // rolled back
    let n: i64 = c
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_name = 'half_done'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn test_databases_are_isolated() {
    let a = TestDb::new().await;
    let b = TestDb::new().await;
    assert_ne!(a.name(), b.name());
    a.client().await.batch_execute("DELETE FROM target WHERE id = '5g-area'").await.unwrap();
    let n: i64 = b.client().await.query_one("SELECT count(*) FROM target", &[]).await.unwrap().get(0);
    assert_eq!(n, 5);
}

#[tokio::test]
async fn schema_invariants_hold() {
    let t = TestDb::new().await;
    let c = t.client().await;
    c.batch_execute(
        "INSERT INTO municipality (ags, name, geom) VALUES ('05111000', 'Testdorf',
            ST_Multi(ST_MakeEnvelope(340000, 5670000, 350000, 5680000, 25832)));
         INSERT INTO site (site_id, operator_id, geom, status, technologies)
            VALUES ('S-1', 'telekom', ST_SetSRID(ST_MakePoint(345000, 5675000), 25832), 'construction', '{}');
         INSERT INTO measure (measure_id, site_id, kind, status, planned_date)
            VALUES ('M-1', 'S-1', '5g_upgrade', 'planned', '2024-01-01');",
    )
    .await
    .unwrap();
    let r = c.query_one("SELECT ags, version, status FROM site WHERE site_id = 'S-1'", &[]).await.unwrap();
    assert_eq!(r.get::<_, Option<String>>(0).as_deref(), Some("05111000"));
    let v0: i64 = r.get(1);

    // An update that changes nothing keeps the version (idempotent re-ingest).
    c.batch_execute("UPDATE site SET status = 'construction' WHERE site_id = 'S-1'").await.unwrap();
    let v1: i64 = c.query_one("SELECT version FROM site WHERE site_id = 'S-1'", &[]).await.unwrap().get(0);
    assert_eq!(v0, v1);

    // Completing the 5G upgrade puts 5G on air at its site.
    c.batch_execute("UPDATE measure SET status = 'completed', completed_date = '2024-06-01' WHERE measure_id = 'M-1'")
        .await
        .unwrap();
    let r = c
        .query_one("SELECT technologies, status, on_air_date::text, version FROM site WHERE site_id = 'S-1'", &[])
        .await
        .unwrap();
    assert_eq!(r.get::<_, Vec<String>>(0), vec!["5g".to_owned()]);
    assert_eq!(r.get::<_, String>(1), "on_air");
    assert_eq!(r.get::<_, Option<String>>(2).as_deref(), Some("2024-06-01"));
    assert!(r.get::<_, i64>(3) > v1);
}

//! The binary's start-up: the embedded cluster's life cycle and the one-line
//! errors for bad conditions (issue: foundation).
#![allow(clippy::unwrap_used)]

use funkplan_e2e::{run, text};

fn tmp_home(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("funkplan-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    lines[0]
}

#[test]
fn embedded_cluster_starts_is_reused_and_keeps_data_across_stop_start() {
    let home = tmp_home("cluster");
    let h = home.to_str().unwrap();
    let env = [("FUNKPLAN_HOME", h)];
    let o = run(&["db", "start", "--no-fsync"], &env);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("created and started"), "{:?}", text(&o));
    let o = run(&["db", "start"], &env);
    assert!(text(&o).0.contains("already running"), "{:?}", text(&o));
    assert!(run(&["migrate"], &env).status.success());
    assert!(run(&["seed"], &env).status.success());

    // Data written before a stop is there after the next start.
    let url = text(&run(&["db", "url"], &env)).0.trim().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        c.batch_execute("UPDATE target SET note = 'kept' WHERE id = '5g-area'").await.unwrap();
    });
    let o = run(&["db", "stop"], &env);
    assert!(text(&o).0.contains("stopped"), "{:?}", text(&o));
    assert!(text(&run(&["db", "status"], &env)).0.starts_with("stopped"));
    assert!(run(&["db", "start"], &env).status.success());
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let note: String = c.query_one("SELECT note FROM target WHERE id = '5g-area'", &[]).await.unwrap().get(0);
        assert_eq!(note, "kept");
    });

    // A data directory made by another major version is refused in one line.
    assert!(run(&["db", "stop"], &env).status.success());
    let status = text(&run(&["db", "status"], &env)).0;
    let data_dir = status.trim().trim_start_matches("stopped, data ").to_owned();
    let pgv = std::path::Path::new(&data_dir).join("PG_VERSION");
    let real = std::fs::read_to_string(&pgv).unwrap();
    std::fs::write(&pgv, "9\n").unwrap();
    let o = run(&["db", "start"], &env);
    assert!(!o.status.success());
    let line = text(&o).1;
    let line = one_error_line(&line);
    assert!(line.contains("created by PostgreSQL 9"), "{line}");
    std::fs::write(&pgv, real).unwrap();
    let _ = std::fs::remove_dir_all(std::path::Path::new(&data_dir).parent().unwrap());
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn unreachable_database_url_is_one_clear_line() {
    let o = run(&["migrate"], &[("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")]);
    assert!(!o.status.success());
    let err = text(&o).1;
    let line = one_error_line(&err);
    assert!(line.contains("cannot connect to the database at postgresql://nobody@127.0.0.1:1/none"), "{line}");
}

#[test]
fn password_in_database_url_is_never_printed() {
    let o = run(&["migrate"], &[("DATABASE_URL", "postgresql://u:s3cr3t@127.0.0.1:1/none")]);
    let (out, err) = text(&o);
    assert!(!out.contains("s3cr3t") && !err.contains("s3cr3t"), "{err}");
}

#[test]
fn missing_postgresql_binaries_say_what_to_install() {
    let home = tmp_home("nopg");
    let o = run(
        &["db", "start"],
        &[("FUNKPLAN_HOME", home.to_str().unwrap()), ("FUNKPLAN_PG_BINDIR", "/nonexistent/bin")],
    );
    assert!(!o.status.success());
    let err = text(&o).1;
    let line = one_error_line(&err);
    assert!(line.contains("apt-get install postgresql-15"), "{line}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn port_in_use_is_one_clear_line() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let o = run(&["serve", "--addr", &addr], &[("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")]);
    assert!(!o.status.success());
    let err = text(&o).1;
    let line = one_error_line(&err);
    assert!(line.contains(&format!("cannot listen on {addr}")), "{line}");
}

#[test]
fn missing_postgis_is_recognised_from_the_servers_own_message() {
    // A server without PostGIS cannot be made here without uninstalling it;
    // instead ask the real server for an extension it does not have and
    // check that the classifier `migrate` uses recognises that exact text.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let t = funkplan_db::testing::TestDb::new().await;
        let c = t.client().await;
        let err = c.batch_execute("CREATE EXTENSION no_such_extension_funkplan").await.unwrap_err();
        let msg = funkplan_db::pg_detail(&err);
        assert!(funkplan_db::migrate::is_missing_extension(&msg), "{msg}");
    });
}

/// `funkplan … | head -1`: a reader that has gone is not an error of the
/// command (it panicked on the broken pipe before).
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let home = tmp_home("pipe");
    let mut child = std::process::Command::new(funkplan_e2e::bin())
        .args(["demo-data", "--help"])
        .env("FUNKPLAN_HOME", &home)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the command gets to print.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let o = std::process::Command::new(funkplan_e2e::bin())
        .args(["db", "url"])
        .env("FUNKPLAN_HOME", &home)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            drop(c.stdout.take());
            c.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(o.status.success(), "{stderr}");
}

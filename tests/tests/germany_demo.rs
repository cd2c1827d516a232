//! The Germany demo set (issue 24, item 1) at a reduced size: `demo-data
//! --scale de --state 04,11` (Bremen and Berlin, both SYNTHETIC, side by
//! side in the layout) ingests with the product's own commands, as
//! scripts/demo loads NRW; `recompute --state all` covers both states; each
//! state's figures computed alone (`--state 04`, `--state 11`) equal its
//! figures within the two; and a state generated alone writes the same
//! files as its share of the set.
#![allow(clippy::unwrap_used)]

use funkplan_db::testing::TestDb;
use funkplan_e2e::ok;

/// `ags → "technology households covered cells covered dead"` of the
/// actual scenario, for the AGS starting with `prefix`.
async fn figures(c: &tokio_postgres::Client, prefix: &str) -> Vec<String> {
    let sql = "SELECT concat_ws(' ', ags, technology, households, households_covered, cells, cells_covered, dead_cells, grey_cells) \
               FROM coverage_result WHERE NOT scenario AND ags LIKE $1 || '%' ORDER BY ags, technology";
    c.query(sql, &[&prefix]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

fn ingest_all(dir: &str, url: &str) {
    for (kind, file) in [("municipalities", "municipalities.geojson"), ("households", "households.csv"), ("sites", "sites.csv"), ("measures", "measures.csv")] {
        ok(&["ingest", kind, &format!("{dir}/{file}")], url);
    }
    // The quarterly releases, the first whole and the later ones their
    // changes, as scripts/demo and the bench load them.
    let mut releases: Vec<String> = std::fs::read_dir(format!("{dir}/releases"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with("_coverage.csv"))
        .collect();
    releases.sort();
    assert!(releases.len() > 20, "{releases:?}");
    let mut args = vec!["ingest", "coverage"];
    args.extend(releases.iter().map(String::as_str));
    args.push("--partial");
    ok(&args, url);
}

#[test]
fn two_generated_states_ingest_and_each_ones_figures_equal_its_figures_alone() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(TestDb::new());
    let c = rt.block_on(t.client());
    let url = t.url.clone();
    let base = std::env::temp_dir().join(format!("funkplan-e2e-germany-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let both = base.join("both").to_string_lossy().into_owned();
    let bremen = base.join("bremen").to_string_lossy().into_owned();

    let said = ok(&["demo-data", "--scale", "de", "--state", "11,04", &both], &url);
    assert!(said.contains("states 04,11 (2 with SYNTHETIC outlines and households)"), "{said}");
    let readme = std::fs::read_to_string(format!("{both}/README.txt")).unwrap();
    assert!(readme.contains("ALL OTHER STATES ARE SYNTHETIC") && readme.contains("04 Bremen (SYNTHETIC outlines and households)"), "{readme}");
    let geo: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{both}/municipalities.geojson")).unwrap()).unwrap();
    let feats = geo["features"].as_array().unwrap();
    assert_eq!(feats.len(), 3, "Bremen's two municipalities and Berlin");
    assert!(feats.iter().all(|f| f["properties"]["synthetic"] == true && f["properties"]["GEN"].as_str().unwrap().ends_with("(synthetisch)")));

    // A state alone is its share of the set, byte for byte (states in AGS
    // order, so Bremen's lines come first).
    ok(&["demo-data", "--scale", "de", "--state", "04", &bremen], &url);
    for f in ["households.csv", "sites.csv", "measures.csv", "coverage.csv", "releases/202010_coverage.csv"] {
        let alone = std::fs::read_to_string(format!("{bremen}/{f}")).unwrap();
        let all = std::fs::read_to_string(format!("{both}/{f}")).unwrap();
        assert!(all.starts_with(&alone) && all.len() > alone.len(), "{f}: Bremen alone is not the start of the set");
    }
    // Other states exist only in the Germany set.
    let o = funkplan_e2e::run(&["demo-data", "--scale", "nrw", "--state", "09", &bremen], &[]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("needs --scale de"));
    let o = funkplan_e2e::run(&["demo-data", "--scale", "de", "--state", "17", &bremen], &[]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("01 … 16"));

    ingest_all(&both, &url);
    let out = ok(&["recompute", "--state", "all", "--json"], &url);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["municipalities"], 3, "{out}");
    let all_04 = rt.block_on(figures(&c, "04"));
    let all_11 = rt.block_on(figures(&c, "11"));
    assert!(!all_04.is_empty() && !all_11.is_empty());
    // Households reached the cells: Berlin has more than a million.
    let hh: i64 = rt.block_on(c.query_one("SELECT sum(households)::int8 FROM coverage_result WHERE NOT scenario AND ags LIKE '11%' AND technology = 'lte'", &[])).unwrap().get(0);
    assert!(hh > 1_000_000, "{hh}");

    ok(&["recompute", "--state", "04"], &url);
    assert_eq!(rt.block_on(figures(&c, "04")), all_04, "Bremen alone");
    ok(&["recompute", "--state", "11"], &url);
    assert_eq!(rt.block_on(figures(&c, "11")), all_11, "Berlin alone");
    let _ = std::fs::remove_dir_all(&base);
}

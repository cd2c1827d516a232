//! OGC `datetime` on the coverage collections (issue 16) through `funkplan
//! serve` on the small demo with its quarterly releases: at dates before the
//! first release, on release dates, between them and today, every feature
//! of `municipalities`, `districts` and `regions` carries the figures
//! `?as_of=` gives for the same date (the release in force then with the
//! sites on air then, from the real engine), and the page names that
//! release.
#![allow(clippy::unwrap_used)]

use funkplan_e2e::{http_get, ingest_small_demo_with, ok, DemoCoverage, Served};
use serde_json::Value;

fn get_json(addr: &str, path: &str) -> (u16, Value) {
    let (status, body) = http_get(addr, path).unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")),
    )
}

/// `a` and `b` equal as numbers, `a` rounded to `digits` decimals by
/// PostgreSQL (half away from zero), or both null.
fn close(a: &Value, b: &Value, digits: i32) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 0.5 * 10f64.powi(-digits) + 1e-9 * y.abs().max(1.0),
        _ => a.is_null() && b.is_null(),
    }
}

#[test]
fn ogc_datetime_gives_the_figures_of_the_release_in_force() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(funkplan_db::testing::TestDb::new());
    let url = db.url.as_str();
    let dir = std::env::temp_dir().join(format!("funkplan-ogc-dated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    ingest_small_demo_with(d, url, DemoCoverage::Releases);
    ok(&["recompute"], url);

    let server = Served::start(url, 120);
    let addr = server.addr.as_str();
    let (_, list) = get_json(addr, "/api/v1/releases");
    let dates: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["as_of"].as_str().unwrap().to_owned())
        .collect();
    let (first, last) = (dates[0].clone(), dates[dates.len() - 1].clone());
    // Between two releases: the 20th of a release's month.
    let mid = format!("{}20", &dates[dates.len() / 2][..8]);
    // Today, as the server knows it (the map's coverage without a date).
    let today = get_json(addr, "/api/v1/coverage").1["as_of"].as_str().unwrap().to_owned();
    // The collections' temporal extent: the release dates.
    let (_, c) = get_json(addr, "/ogc/collections/municipalities");
    assert_eq!(c["extent"]["temporal"]["interval"][0][0], format!("{first}T00:00:00Z"));
    assert_eq!(c["extent"]["temporal"]["interval"][0][1], format!("{last}T00:00:00Z"));

    let mut shares: Vec<f64> = Vec::new();
    for date in ["2019-06-30".to_owned(), first.clone(), mid, last.clone(), today] {
        for (collection, api) in [
            ("municipalities", "municipalities"),
            ("districts", "districts"),
            ("regions", "regions"),
        ] {
            let (st, page) = get_json(
                addr,
                &format!("/ogc/collections/{collection}/items?datetime={date}&limit=10000&skipGeometry=true"),
            );
            assert_eq!(st, 200, "{collection} at {date}: {page}");
            assert_eq!(page["as_of"], date.as_str());
            let features = page["features"].as_array().unwrap();
            assert_eq!(
                page["numberMatched"].as_u64(),
                Some(features.len() as u64),
                "{collection} at {date}: all in one page"
            );
            let mut compared = 0;
            for f in features {
                let p = &f["properties"];
                let ags = f["id"].as_str().unwrap();
                let (st, v) = get_json(addr, &format!("/api/v1/{api}/{ags}?as_of={date}"));
                if st == 404 {
                    // A municipality without grid cells has no figures at a date.
                    assert!(p["household_share_lte"].is_null(), "{collection} {ags} at {date}: {p}");
                    continue;
                }
                assert_eq!(st, 200, "{api}/{ags} at {date}: {v}");
                assert_eq!(page["release"], v["release"], "{date}");
                assert_eq!(p["source"], v["source"], "{collection} {ags} at {date}");
                let what = format!("{collection} {ags} at {date}");
                for (prop, tech, key, digits) in [
                    ("household_share_5g", "5g", "household_share", 6),
                    ("area_share_5g", "5g", "area_share", 6),
                    ("household_share_lte", "lte", "household_share", 6),
                    ("area_share_lte", "lte", "area_share", 6),
                    ("dead_spot_area_km2", "lte", "dead_spot_area_km2", 2),
                ] {
                    assert!(
                        close(&p[prop], &v["coverage"][tech][key], digits),
                        "{what}: {prop} {} ≠ {}",
                        p[prop],
                        v["coverage"][tech][key]
                    );
                }
                assert!(
                    close(&p["households"], &v["households"], 1),
                    "{what}: households {} ≠ {}",
                    p["households"],
                    v["households"]
                );
                if collection == "municipalities" {
                    assert!(close(&p["households_5g"], &v["coverage"]["5g"]["households_covered"], 1), "{what}");
                    assert!(
                        close(&p["grey_spot_area_km2"], &v["coverage"]["lte"]["grey_spot_area_km2"], 2),
                        "{what}"
                    );
                    if ags == features[0]["id"] {
                        shares.push(p["household_share_5g"].as_f64().unwrap_or(0.0) + p["household_share_lte"].as_f64().unwrap_or(0.0));
                    }
                }
                assert!(p["household_share_5g_scenario"].is_null(), "{what}: no scenario at a date");
                compared += 1;
            }
            assert!(compared >= 1, "{collection} at {date}: nothing compared");
        }
    }
    // Before the first release none is in force; the dates differ.
    let (_, early) = get_json(addr, "/ogc/collections/regions/items?datetime=2019-06-30&limit=1");
    assert!(early["release"].is_null(), "{}", early["release"]);
    let (_, late) = get_json(addr, &format!("/ogc/collections/regions/items?datetime={last}&limit=1"));
    assert_eq!(late["release"], last.as_str());
    assert!(
        shares.windows(2).any(|w| w[0] != w[1]),
        "the figures did not change over the dates: {shares:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! `ingest households`: census grid formats, mapping onto the 25832 grid,
//! suppressed values, outside households, validation.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::crs::{Crs, Transformer};
use funkplan_ingest::Kind;

/// The 3035 census 100 m cell whose centre maps into the 25832 cell (n, e).
fn census_100m_in(n: i32, e: i32) -> (i64, i64) {
    let t = Transformer::new(Crs::UTM32, Crs::LAEA).unwrap();
    let (x, y) = t.transform(f64::from(e) * 100.0 + 50.0, f64::from(n) * 100.0 + 50.0).unwrap();
    ((y / 100.0).floor() as i64 * 100, (x / 100.0).floor() as i64 * 100)
}

#[tokio::test]
async fn maps_100m_and_1km_cells_and_counts_outside_households() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Municipalities, &tmp_file("m.geojson", &two_squares()), &opts()).await.unwrap();
    // A 100 m census cell inside the first square, one suppressed, one far outside (Berlin).
    let (n1, e1) = census_100m_in(56405, 3505);
    let body = format!(
        "GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner;Haushalte\n\
         CRS3035RES100mN{n1}E{e1};{};{};21;10\n\
         CRS3035RES100mN{}E{e1};{};{};–;–\n\
         CRS3035RES100mN3270000E4550000;4550050;3270050;8;4,5\n",
        e1 + 50,
        n1 + 50,
        n1 + 100,
        e1 + 50,
        n1 + 150,
    );
    let s = ingest(&mut c, Kind::Households, &tmp_file("hh.csv", &body), &opts()).await.unwrap();
    assert_eq!(s.rows, 3);
    assert_eq!(s.detail["suppressed"], 1);
    assert_eq!(s.detail["outside_cells"], 1);
    assert_eq!(s.detail["outside_households"], 4.5);
    let r = c.query_one("SELECT households, population FROM household_cell WHERE n = 56405 AND e = 3505", &[]).await.unwrap();
    assert_eq!((r.get::<_, f32>(0), r.get::<_, Option<f32>>(1)), (10.0, Some(21.0)));
    assert!(s.paragraph().contains("4 households in 1 cells lie outside every municipality") || s.paragraph().contains("5 households in 1 cells lie outside"), "{}", s.paragraph());

    // 1 km cells with population / household size (the real file's layout): spread over 100 sub-cells.
    let body = "GITTER_ID_1km,x_mp_1km,y_mp_1km,Einwohner,HHGroesse_D\n\
                CRS3035RES1000mN3090000E4100000,4100500,3090500,200,2.0\n\
                CRS3035RES1000mN3091000E4100000,4100500,3091500,-1,-1\n\
                CRS3035RES1000mN3092000E4100000,4100500,3092500,15,-1\n";
    let s = ingest(&mut c, Kind::Households, &tmp_file("hh1km.csv", body), &opts()).await.unwrap();
    assert_eq!(s.detail["households_total"], 100.0);
    assert_eq!(s.detail["population_without_household_size"], 1);
    assert!(s.paragraph().contains("households = population / size"));
    let (cells, sum): (i64, f64) = {
        let r = c.query_one("SELECT count(*), sum(households::float8) FROM household_cell", &[]).await.unwrap();
        (r.get(0), r.get(1))
    };
    // Replaced as a whole: only the 1 km cell's sub-cells remain (100 centres in ~100-102 cells).
    assert!((98..=102).contains(&cells), "{cells}");
    assert!((sum - 100.0).abs() < 1e-3, "{sum}");

    // Re-ingest of the same file leaves the same table.
    let before = c.query_one("SELECT md5(string_agg(h::text, '|' ORDER BY n, e)) FROM household_cell h", &[]).await.unwrap().get::<_, String>(0);
    ingest(&mut c, Kind::Households, &tmp_file("hh1km.csv", body), &opts()).await.unwrap();
    let after = c.query_one("SELECT md5(string_agg(h::text, '|' ORDER BY n, e)) FROM household_cell h", &[]).await.unwrap().get::<_, String>(0);
    assert_eq!(before, after);
}

#[tokio::test]
async fn centre_columns_work_like_ids() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let (n1, e1) = census_100m_in(56405, 3505);
    let body = format!("x_mp_100m,y_mp_100m,households\n{},{},7\n", e1 + 50, n1 + 50);
    ingest(&mut c, Kind::Households, &tmp_file("centres.csv", &body), &opts()).await.unwrap();
    let h: f32 = c.query_one("SELECT households FROM household_cell WHERE n = 56405 AND e = 3505", &[]).await.unwrap().get(0);
    assert_eq!(h, 7.0);
}

#[tokio::test]
async fn every_bad_row_is_reported_and_nothing_changes() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Municipalities, &tmp_file("m.geojson", &two_squares()), &opts()).await.unwrap();
    ingest(&mut c, Kind::Households, &tmp_file("ok.csv", "GITTER_ID_1km,Einwohner,HHGroesse_D\nCRS3035RES1000mN3090000E4100000,10,2\n"), &opts())
        .await
        .unwrap();
    let body = "GITTER_ID_100m;Einwohner;Haushalte\n\
                CRS3035RES100mN3090000E4100000;10;5\n\
                100mN58735E4942;10;5\n\
                CRS3035RES100mN3090050E4100000;10;5\n\
                CRS3035RES100mN3090100E4100000;10;viele\n\
                CRS3035RES100mN3090200E4100000;10;-3\n\
                CRS3035RES100mN3090000E4100000;10;5\n\
                CRS3035RES100mN3090300E4100000;10\n\
                CRS3035RES100mN3090400E4100000;10;5;extra\n\
                CRS3035RES100mN0E0;10;5\n";
    let lines = must_fail(&mut c, Kind::Households, &tmp_file("bad-hh.csv", body), &opts()).await;
    has(&lines, &["bad-hh.csv", "line 3", "GITTER_ID_100m", "100mN58735E4942", "malformed census cell id"]);
    has(&lines, &["line 4", "not on the 100 m grid"]);
    has(&lines, &["line 5", "Haushalte", "viele", "not a number"]);
    has(&lines, &["line 6", "Haushalte", "-3", "≥ 0"]);
    has(&lines, &["line 7", "duplicate census cell"]);
    has(&lines, &["line 8", "missing columns"]);
    has(&lines, &["line 9", "extra columns"]);
    has(&lines, &["line 10", "outside the valid area of EPSG:3035"]);
    assert_eq!(lines.len(), 8, "{lines:#?}");

    let lines = must_fail(&mut c, Kind::Households, &tmp_file("nohh.csv", "GITTER_ID_1km,Flaeche\nCRS3035RES1000mN3090000E4100000,10\n"), &opts()).await;
    has(&lines, &["nohh.csv", "line 1", "header", "no household column"]);
}

#[tokio::test]
async fn the_cap_keeps_100_problems_and_counts_all() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let mut body = String::from("GITTER_ID_100m,Haushalte\n");
    for i in 0..250 {
        body.push_str(&format!("bad{i},1\n"));
    }
    let err = ingest(&mut c, Kind::Households, &tmp_file("many.csv", &body), &opts()).await.unwrap_err();
    match &err {
        funkplan_ingest::Error::Invalid { problems, total, .. } => {
            assert_eq!(problems.len(), 100);
            assert_eq!(*total, 250);
        }
        e => panic!("{e}"),
    }
    assert!(err.to_string().starts_with("many.csv: 250 bad rows, nothing was changed; first: many.csv: line 2: field `GITTER_ID_100m` = \"bad0\""), "{err}");
    assert!(err.problem_list().unwrap().ends_with("… and 150 more (250 bad rows in all)\n"));
}

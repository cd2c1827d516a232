//! Random but deterministic SQL fixtures for the coverage tests: three
//! municipalities side by side over a 40 × 40 cell block (a few cells left
//! out of the grid), a fourth without cells, households (some outside the
//! grid), reported coverage with and without operator sets, sites in every
//! status with open and completed measures, and small radii so disks are a
//! few cells wide.

#![allow(dead_code, clippy::unwrap_used, clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use tokio_postgres::Client;

pub const N0: i32 = 57_000;
pub const E0: i32 = 3_500;
pub const SIDE: i32 = 40;

pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next() * f64::from(n)) as u32 % n
    }
}

/// Municipality of a cell by its easting index (column bands).
pub fn muni_of(e: i32) -> &'static str {
    match e - E0 {
        c if c < 13 => "05000001",
        c if c < 27 => "05000002",
        _ => "05000003",
    }
}

pub async fn municipalities(c: &Client) {
    let x0 = f64::from(E0) * 100.0;
    let y0 = f64::from(N0) * 100.0;
    let y1 = y0 + f64::from(SIDE) * 100.0;
    let bands = [("05000001", x0, x0 + 1300.0), ("05000002", x0 + 1300.0, x0 + 2700.0), ("05000003", x0 + 2700.0, x0 + 4000.0)];
    for (ags, a, b) in bands {
        c.execute(
            "INSERT INTO municipality (ags, name, geom) VALUES ($1::text, $1::text, ST_Multi(ST_MakeEnvelope($2, $3, $4, $5, 25832)))",
            &[&ags, &a, &y0, &b, &y1],
        )
        .await
        .unwrap();
    }
    c.execute(
        "INSERT INTO municipality (ags, name, geom) VALUES ('05000009', 'ohne Zellen', ST_Multi(ST_MakeEnvelope(0, 0, 10, 10, 25832)))",
        &[],
    )
    .await
    .unwrap();
}

/// The whole fixture; `reported` = also import a reported grid.
pub async fn fixture(c: &Client, seed: u64, reported: bool) {
    let mut r = Lcg(seed);
    municipalities(c).await;
    c.batch_execute(
        "UPDATE coverage_radius SET radius_m = CASE technology || '/' || setting
             WHEN 'lte/urban' THEN 300 WHEN 'lte/rural' THEN 650 WHEN '5g/urban' THEN 200 ELSE 450 END;
         UPDATE coverage_param SET value = 1000 WHERE key = 'urban_households_per_km2';
         UPDATE coverage_param SET value = 400 WHERE key = 'urban_density_radius_m';",
    )
    .await
    .unwrap();
    let (mut gn, mut ge, mut ga) = (Vec::new(), Vec::new(), Vec::new());
    let (mut hn, mut he, mut hh) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rn, mut re, mut rl, mut rr, mut rlm, mut rrm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..SIDE {
        for j in 0..SIDE {
            let (n, e) = (N0 + i, E0 + j);
            if r.next() < 0.04 {
                continue; // a hole in the grid
            }
            gn.push(n);
            ge.push(e);
            ga.push(muni_of(e).to_owned());
            if r.next() < 0.75 {
                hn.push(n);
                he.push(e);
                // Dense in the middle band, sparse at the edges.
                let w = if muni_of(e) == "05000002" { 25.0 } else { 6.0 };
                hh.push((r.next() * w) as f32);
            }
            if reported && r.next() < 0.8 {
                rn.push(n);
                re.push(e);
                for (counts, masks) in [(&mut rl, &mut rlm), (&mut rr, &mut rrm)] {
                    if r.next() < 0.5 {
                        let m = r.below(16) as i32;
                        counts.push(m.count_ones() as i16);
                        masks.push(Some(m));
                    } else {
                        counts.push(r.below(4) as i16);
                        masks.push(None::<i32>);
                    }
                }
            }
        }
    }
    // Households outside the grid: must be ignored.
    hn.push(N0 - 5);
    he.push(E0);
    hh.push(99.0);
    c.execute("INSERT INTO grid_cell (n, e, ags) SELECT * FROM unnest($1::int[], $2::int[], $3::text[])", &[&gn, &ge, &ga])
        .await
        .unwrap();
    c.execute("INSERT INTO household_cell (n, e, households) SELECT * FROM unnest($1::int[], $2::int[], $3::real[])", &[&hn, &he, &hh])
        .await
        .unwrap();
    if reported {
        c.execute(
            "INSERT INTO reported_coverage (n, e, lte_count, nr_count, lte_operators, nr_operators)
             SELECT * FROM unnest($1::int[], $2::int[], $3::smallint[], $4::smallint[], $5::int[], $6::int[])",
            &[&rn, &re, &rl, &rr, &rlm, &rrm],
        )
        .await
        .unwrap();
    }
    sites(c, &mut r, 28).await;
}

pub const OPERATORS: [&str; 4] = ["telekom", "vodafone", "telefonica", "1und1"];

/// `count` random sites (ids S-0..) with random measures.
pub async fn sites(c: &Client, r: &mut Lcg, count: usize) {
    let statuses = ["planned", "permitting", "construction", "on_air", "on_air", "on_air", "decommissioned"];
    let techs: [&[&str]; 4] = [&[], &["lte"], &["5g"], &["lte", "5g"]];
    for i in 0..count {
        let x = f64::from(E0) * 100.0 - 400.0 + r.next() * (f64::from(SIDE) * 100.0 + 800.0);
        let y = f64::from(N0) * 100.0 - 400.0 + r.next() * (f64::from(SIDE) * 100.0 + 800.0);
        let op = OPERATORS[r.below(4) as usize];
        let status = statuses[r.below(statuses.len() as u32) as usize];
        let t: Vec<String> = techs[r.below(4) as usize].iter().map(|s| (*s).to_owned()).collect();
        let id = format!("S-{i}");
        c.execute(
            "INSERT INTO site (site_id, operator_id, geom, status, technologies, on_air_date)
             VALUES ($1, $2, ST_Point($3, $4, 25832), $5, $6, CASE WHEN $5 = 'on_air' THEN DATE '2020-01-01' END)",
            &[&id, &op, &x, &y, &status, &t],
        )
        .await
        .unwrap();
        for k in 0..r.below(3) {
            let kind = ["5g_upgrade", "lte_new_site", "lte_upgrade"][r.below(3) as usize];
            let mstatus = ["planned", "in_progress", "completed"][r.below(3) as usize];
            let done = (mstatus == "completed").then(|| chrono::NaiveDate::from_ymd_opt(2021, 1 + r.below(12), 1 + r.below(28)).unwrap());
            c.execute(
                "INSERT INTO measure (measure_id, site_id, kind, status, completed_date) VALUES ($1, $2, $3, $4, $5)",
                &[&format!("M-{i}-{k}"), &id, &kind, &mstatus, &done],
            )
            .await
            .unwrap();
        }
    }
}

/// The release dates [`releases`] writes.
pub const RELEASES: [&str; 3] = ["2021-01-01", "2022-01-01", "2023-01-01"];

/// Turn the fixture's reported coverage into three dated releases (issue
/// 16), written as the schema keeps them (`coverage_release` and the
/// per-cell versions, stretches of equal values), the latest equal to
/// `reported_coverage` (the invariant the ingest keeps). Between releases
/// cells are gained, lost and changed: release 1 lacks every cell with
/// `(n + e) % 7 == 0` (gained in release 2) and reports one operator more
/// where `(3n + e) % 11 == 0`; release 2 lacks every cell with
/// `(n + 2e) % 5 == 0` (lost, regained in release 3). Also spreads the
/// on-air sites' on-air dates over 2020–2023, so that the sites on air
/// differ between the dates too.
pub async fn releases(c: &Client) {
    type Value = (i16, i16, Option<i32>, Option<i32>);
    let rows = c
        .query("SELECT n, e, lte_count, nr_count, lte_operators, nr_operators FROM reported_coverage ORDER BY n, e", &[])
        .await
        .unwrap();
    let dates: Vec<chrono::NaiveDate> = RELEASES.iter().map(|d| d.parse().unwrap()).collect();
    let (mut vn, mut ve, mut vf, mut vt) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut vl, mut vr, mut vlm, mut vrm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cells = [0i64; 3];
    for row in &rows {
        let (n, e): (i32, i32) = (row.get(0), row.get(1));
        let latest: Value = (row.get(2), row.get(3), row.get(4), row.get(5));
        let first: Option<Value> = ((n + e) % 7 != 0).then(|| {
            if (3 * n + e) % 11 == 0 {
                (latest.0 + 1, latest.1, None, latest.3)
            } else {
                latest
            }
        });
        let second: Option<Value> = ((n + 2 * e) % 5 != 0).then_some(latest);
        let per = [first, second, Some(latest)];
        let mut r = 0;
        while r < 3 {
            let Some(v) = per[r] else {
                r += 1;
                continue;
            };
            let start = r;
            while r + 1 < 3 && per[r + 1] == Some(v) {
                r += 1;
            }
            for n in &mut cells[start..=r] {
                *n += 1;
            }
            vn.push(n);
            ve.push(e);
            vf.push(dates[start]);
            vt.push((r + 1 < 3).then(|| dates[r + 1]));
            vl.push(v.0);
            vr.push(v.1);
            vlm.push(v.2);
            vrm.push(v.3);
            r += 1;
        }
    }
    for (d, n) in dates.iter().zip(cells) {
        c.execute(
            "INSERT INTO coverage_release (as_of, cells, checksum, source_file, source_sha256) VALUES ($1, $2, 'fixture', 'fixture', repeat('0', 64))",
            &[d, &n],
        )
        .await
        .unwrap();
    }
    c.execute(
        "INSERT INTO reported_coverage_version (n, e, valid_from, valid_to, lte_count, nr_count, lte_operators, nr_operators)
         SELECT * FROM unnest($1::int[], $2::int[], $3::date[], $4::date[], $5::smallint[], $6::smallint[], $7::int[], $8::int[])",
        &[&vn, &ve, &vf, &vt, &vl, &vr, &vlm, &vrm],
    )
    .await
    .unwrap();
    c.batch_execute("UPDATE site SET on_air_date = DATE '2020-01-01' + abs(hashtext(site_id)) % 1400 WHERE status = 'on_air'")
        .await
        .unwrap();
}

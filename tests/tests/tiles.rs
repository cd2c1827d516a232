//! Vector tiles (issue 17) through `funkplan serve` on the demo data: the
//! `coverage` tiles decode (with a decoder that is not our encoder) to
//! exactly the engine's cells — the tile's cells are those PostGIS finds in
//! the tile, and over all tiles the counts per operator class add up to the
//! engine's stored figures; the blocks below zoom 12 add up to the same
//! sums; a site write changes the ETags of tiles within the site's reach
//! only; 204/400/404/304; TileJSON; the PostGIS tilesets.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

use funkplan_e2e::{bin, free_addr, ingest_small_demo_with, run, text, wait_http_ok, DemoCoverage};
use mvt_reader::feature::Value;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Status, lower-case headers and the raw body.
fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<String>, Vec<u8>) {
    raw(addr, "GET", path, headers, None)
}

fn raw(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, Vec<String>, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    s.write_all(funkplan_e2e::request("HTTP/1.0", addr, method, path, headers, body).as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let at = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..at]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap();
    (status, lines.map(str::to_owned).collect(), buf[at + 4..].to_vec())
}

/// A header's value as sent (names compared without case).
fn header(h: &[String], name: &str) -> Option<String> {
    h.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// Decoded features of a tile's one layer: (id, properties).
fn features(bytes: Vec<u8>, layer: &str) -> Vec<(u64, HashMap<String, Value>)> {
    let r = mvt_reader::Reader::new(bytes).unwrap();
    assert_eq!(r.get_layer_names().unwrap(), vec![layer.to_owned()]);
    r.get_features(0).unwrap().into_iter().map(|f| (f.id.unwrap_or(u64::MAX), f.properties.unwrap_or_default())).collect()
}

fn num(p: &HashMap<String, Value>, k: &str) -> f64 {
    match p.get(k) {
        Some(Value::UInt(v)) => *v as f64,
        Some(Value::Int(v) | Value::SInt(v)) => *v as f64,
        Some(Value::Double(v)) => *v,
        Some(Value::Float(v)) => f64::from(*v),
        other => panic!("{k}: {other:?} in {p:?}"),
    }
}

/// Web Mercator tile of a lon/lat.
fn tile_of(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

#[test]
fn coverage_tiles_are_the_engines_cells() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(funkplan_db::testing::TestDb::new());
    let env = [("DATABASE_URL", db.url.as_str())];
    let dir = std::env::temp_dir().join(format!("funkplan-tiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    ingest_small_demo_with(dir.to_str().unwrap(), &db.url, DemoCoverage::Releases);
    let o = run(&["recompute"], &env);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = run(&["token", "create", "--role", "staff", "--label", "tiles"], &env);
    let token = text(&o).0.lines().last().unwrap().trim().to_owned();

    let addr = free_addr();
    let child = Command::new(bin())
        .args(["serve", "--addr", &addr, "--web-dir", "/nonexistent/dist"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    assert!(wait_http_ok(&addr, "/healthz", 120), "server did not come up");
    let c = rt.block_on(db.client());

    // The demo's extent in lon/lat, from PostGIS.
    let r = rt
        .block_on(c.query_one(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Transform(ST_Envelope(ST_Collect(geom)), 4326) AS b FROM municipality) t",
            &[],
        ))
        .unwrap();
    let (w, s, e, n): (f64, f64, f64, f64) = (r.get(0), r.get(1), r.get(2), r.get(3));
    let tiles_at = |z: u8| {
        let (x0, y0) = tile_of(z, w, n);
        let (x1, y1) = tile_of(z, e, s);
        let mut v = Vec::new();
        for x in x0..=x1 {
            for y in y0..=y1 {
                v.push((x, y));
            }
        }
        v
    };

    // The engine's stored figures (written by `recompute` from the same
    // engine), summed over the state.
    let fig = |tech: &str| -> [f64; 5] {
        let r = rt
            .block_on(c.query_one(
                "SELECT sum(cells)::float8, sum(cells_covered)::float8, sum(dead_cells)::float8, sum(grey_cells)::float8, sum(households_covered) \
                 FROM coverage_result WHERE NOT scenario AND technology = $1",
                &[&tech],
            ))
            .unwrap();
        [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)]
    };
    let ops: BTreeMap<(String, String), f64> = rt
        .block_on(c.query("SELECT technology, operator_id, sum(cells_covered)::float8 FROM coverage_operator_result WHERE NOT scenario GROUP BY 1, 2", &[]))
        .unwrap()
        .iter()
        .map(|r| ((r.get::<_, String>(0), r.get::<_, String>(1)), r.get::<_, f64>(2)))
        .collect();

    // z 12: every cell once (deduplicated by id across tiles), with the
    // counts per operator class the figures count.
    let mut cells: HashMap<u64, HashMap<String, Value>> = HashMap::new();
    let mut etags: HashMap<(u32, u32), String> = HashMap::new();
    let mut sizes = Vec::new();
    let all12 = tiles_at(12);
    for &(x, y) in &all12 {
        let (st, h, body) = get(&addr, &format!("/tiles/coverage/12/{x}/{y}.mvt"), &[]);
        match st {
            200 => {
                assert_eq!(header(&h, "content-type").as_deref(), Some("application/vnd.mapbox-vector-tile"));
                etags.insert((x, y), header(&h, "etag").unwrap());
                sizes.push(body.len());
                let fs = features(body, "coverage");
                // The tile's cells are exactly those whose square PostGIS
                // finds overlapping the tile (the same && test ST_AsMVT
                // pipelines use), checked on every fourth tile.
                if (x + y) % 4 == 0 {
                    // PROJ (PostGIS) and proj4rs (the server) may differ by
                    // far less than a millimetre: a square within 1 cm of
                    // the tile's edge may fall either way.
                    let within = |margin: f64| -> HashSet<u64> {
                        rt.block_on(c.query(
                            // `&&` compares single-precision boxes: a
                            // pre-filter only, then the exact bounds.
                            "WITH t AS (SELECT ST_Expand(ST_TileEnvelope(12, $1, $2), $3) AS t), \
                                  c AS (SELECT n, e, ST_Transform(ST_MakeEnvelope(e * 100, n * 100, e * 100 + 100, n * 100 + 100, 25832), 3857) AS g \
                                        FROM grid_cell, t WHERE ST_Transform(ST_MakeEnvelope(e * 100, n * 100, e * 100 + 100, n * 100 + 100, 25832), 3857) && ST_Expand(t.t, 1)) \
                             SELECT (n::bigint * 100000 + e)::bigint FROM c, t \
                             WHERE ST_XMin(g) < ST_XMax(t.t) AND ST_XMax(g) > ST_XMin(t.t) AND ST_YMin(g) < ST_YMax(t.t) AND ST_YMax(g) > ST_YMin(t.t)",
                            &[&(x as i32), &(y as i32), &margin],
                        ))
                        .unwrap()
                        .iter()
                        .map(|r| r.get::<_, i64>(0) as u64)
                        .collect()
                    };
                    let (inner, outer) = (within(-0.01), within(0.01));
                    let got: HashSet<u64> = fs.iter().map(|(id, _)| *id).collect();
                    assert_eq!(got.len(), fs.len(), "a cell twice in tile 12/{x}/{y}");
                    let missing: Vec<_> = inner.difference(&got).collect();
                    let extra: Vec<_> = got.difference(&outer).collect();
                    assert!(extra.is_empty() && missing.is_empty(), "cells of tile 12/{x}/{y}: not in PostGIS's {extra:?}, missing {missing:?}");
                    assert!(outer.len() - inner.len() <= 2, "a tile edge along the grid?");
                }
                for (id, p) in fs {
                    cells.insert(id, p);
                }
            }
            204 => assert!(body.is_empty()),
            other => panic!("tile 12/{x}/{y}: {other}"),
        }
    }
    let grid_cells: i64 = rt.block_on(c.query_one("SELECT count(*) FROM grid_cell", &[])).unwrap().get(0);
    assert_eq!(cells.len() as i64, grid_cells, "every grid cell in some tile");
    for (tech, key) in [("lte", "lte"), ("5g", "5g")] {
        let f = fig(tech);
        let count = |pred: &dyn Fn(f64) -> bool| cells.values().filter(|p| pred(num(p, key))).count() as f64;
        assert_eq!(count(&|c| c > 0.0), f[1], "{tech} cells covered");
        assert_eq!(count(&|c| c == 0.0), f[2], "{tech} dead cells");
        assert_eq!(count(&|c| c == 1.0), f[3], "{tech} grey cells");
        assert_eq!(cells.len() as f64, f[0]);
        // Per operator where the sets are known.
        for ((t, op), want) in &ops {
            if t == tech {
                let got = cells
                    .values()
                    .filter(|p| matches!(p.get(&format!("{key}_ops")), Some(Value::String(s)) if s.split(',').any(|o| o == op)))
                    .count() as f64;
                assert_eq!(got, *want, "{tech} {op}");
            }
        }
    }
    sizes.sort_unstable();
    assert!(*sizes.last().unwrap() <= 500_000, "largest tile {} bytes", sizes.last().unwrap());

    // z 9: blocks of 8 × 8 cells, deduplicated by id, add up to the figures.
    let mut blocks: HashMap<u64, HashMap<String, Value>> = HashMap::new();
    for (x, y) in tiles_at(9) {
        let (st, _, body) = get(&addr, &format!("/tiles/coverage/9/{x}/{y}.mvt"), &[]);
        if st == 200 {
            for (id, p) in features(body, "coverage") {
                assert_eq!(num(&p, "block_m"), 800.0);
                blocks.insert(id, p);
            }
        }
    }
    for tech in ["lte", "5g"] {
        let f = fig(tech);
        let sum = |k: &str| blocks.values().map(|p| num(p, k)).sum::<f64>();
        assert_eq!(sum("cells"), f[0]);
        assert_eq!(sum(&format!("{tech}_cells_covered")), f[1], "{tech}");
        assert_eq!(sum(&format!("{tech}_dead_cells")), f[2], "{tech}");
        assert_eq!(sum(&format!("{tech}_grey_cells")), f[3], "{tech}");
        assert!((sum(&format!("{tech}_households_covered")) - f[4]).abs() < 1e-3 * f[4].max(1.0), "{tech}");
    }

    // A past date: the blocks add up to the engine's figures at that date
    // (the release in force then with the sites on air then).
    let date = "2021-06-30";
    let mut dated: HashMap<u64, HashMap<String, Value>> = HashMap::new();
    for (x, y) in tiles_at(9) {
        let (st, _, body) = get(&addr, &format!("/tiles/coverage/9/{x}/{y}.mvt?datetime={date}"), &[]);
        if st == 200 {
            dated.extend(features(body, "coverage"));
        }
    }
    let agss: Vec<String> = rt.block_on(c.query("SELECT ags::text FROM municipality", &[])).unwrap().iter().map(|r| r.get(0)).collect();
    let (mut lte_hh, mut nr_hh, mut lte_dead) = (0.0, 0.0, 0.0);
    for ags in &agss {
        let (st, _, body) = get(&addr, &format!("/api/v1/municipalities/{ags}?as_of={date}"), &[]);
        if st == 404 {
            continue; // no grid cells
        }
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        lte_hh += v["coverage"]["lte"]["households_covered"].as_f64().unwrap();
        nr_hh += v["coverage"]["5g"]["households_covered"].as_f64().unwrap();
        lte_dead += (v["coverage"]["lte"]["dead_spot_area_km2"].as_f64().unwrap() * 100.0).round();
    }
    let sum = |k: &str| dated.values().map(|p| num(p, k)).sum::<f64>();
    assert!((sum("lte_households_covered") - lte_hh).abs() < 1e-3 * lte_hh.max(1.0), "LTE households at {date}");
    assert!((sum("5g_households_covered") - nr_hh).abs() < 1e-3 * nr_hh.max(1.0), "5G households at {date}");
    assert_eq!(sum("lte_dead_cells"), lte_dead, "LTE dead cells at {date}");
    assert_ne!(sum("5g_households_covered"), blocks.values().map(|p| num(p, "5g_households_covered")).sum::<f64>(), "{date} is not today");

    // Addressing: 204 outside, 400 no number, 404 out of range or unknown.
    let (x, y) = tile_of(12, -3.7, 40.4); // Madrid
    assert_eq!(get(&addr, &format!("/tiles/coverage/12/{x}/{y}.mvt"), &[]).0, 204);
    assert_eq!(get(&addr, "/tiles/coverage/a/0/0.mvt", &[]).0, 400);
    assert_eq!(get(&addr, "/tiles/coverage/12/0/0.png", &[]).0, 400);
    assert_eq!(get(&addr, "/tiles/coverage/17/0/0.mvt", &[]).0, 404);
    assert_eq!(get(&addr, "/tiles/coverage/3/8/0.mvt", &[]).0, 404);
    assert_eq!(get(&addr, "/tiles/roads/3/0/0.mvt", &[]).0, 404);
    assert_eq!(get(&addr, "/tiles/sites/8/133/85.mvt", &[]).0, 404, "sites start at zoom 9");
    assert_eq!(get(&addr, "/tiles/coverage/12/0/0.mvt?scenario=maybe", &[]).0, 400);
    // 304 for the ETag just served.
    let (&(x, y), tag) = etags.iter().next().unwrap();
    assert_eq!(get(&addr, &format!("/tiles/coverage/12/{x}/{y}.mvt"), &[("If-None-Match", tag)]).0, 304);
    // The OGC path serves the same tile (row before column).
    let (st, h, _) = get(&addr, &format!("/ogc/collections/coverage/tiles/WebMercatorQuad/12/{y}/{x}"), &[]);
    assert_eq!((st, header(&h, "etag").as_ref()), (200, Some(tag)));
    // Scenario and a past release are views of their own.
    let (st, _, _) = get(&addr, &format!("/tiles/coverage/12/{x}/{y}.mvt?scenario=true"), &[]);
    assert_eq!(st, 200);
    let (st, _, _) = get(&addr, &format!("/tiles/coverage/12/{x}/{y}.mvt?datetime=2021-06-30"), &[]);
    assert!(st == 200 || st == 204, "{st}");

    // TileJSON 3.0 and the OGC documents.
    let (st, _, body) = get(&addr, "/tiles/coverage.json?scenario=true", &[]);
    assert_eq!(st, 200);
    let tj: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    let url = tj["tiles"][0].as_str().unwrap();
    assert!(url.ends_with("/tiles/coverage/{z}/{x}/{y}.mvt?scenario=true"), "{url}");
    assert_eq!(tj["vector_layers"][0]["id"], "coverage");
    assert!(tj["description"].as_str().unwrap().contains("households_covered / households"));
    let (_, _, body) = get(&addr, "/ogc/conformance", &[]);
    assert!(String::from_utf8_lossy(&body).contains("ogcapi-tiles-1/1.0/conf/core"));
    let (st, _, body) = get(&addr, "/ogc/tileMatrixSets/WebMercatorQuad", &[]);
    assert_eq!(st, 200);
    let tms: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(tms["tileMatrices"][12]["matrixWidth"], 4096);
    let (st, _, body) = get(&addr, "/ogc/collections/coverage/tiles/WebMercatorQuad", &[]);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    let (_, _, body) = get(&addr, "/ogc/collections/municipalities", &[]);
    assert!(String::from_utf8_lossy(&body).contains("/ogc/collections/municipalities/tiles"), "the collection links its tiles");

    // The PostGIS tilesets.
    let (x, y) = tile_of(8, (w + e) / 2.0, (s + n) / 2.0);
    let (x9, y9) = tile_of(9, 6.78, 51.225); // Düsseldorf
    for (set, key, z) in [("municipalities", "name", 8), ("districts", "name", 8), ("regions", "name", 8), ("sites", "site_id", 9), ("dead-spots", "id", 8)] {
        let (x, y) = if z == 9 { (x9, y9) } else { (x, y) };
        let (st, _, body) = get(&addr, &format!("/tiles/{set}/{z}/{x}/{y}.mvt"), &[]);
        assert_eq!(st, 200, "{set}: {}", String::from_utf8_lossy(&body));
        let fs = features(body, set);
        assert!(!fs.is_empty() && fs.iter().all(|(_, p)| p.contains_key(key)), "{set}");
    }
    let (_, _, body) = get(&addr, &format!("/tiles/municipalities/8/{x}/{y}.mvt"), &[]);
    let names: Vec<String> = features(body, "municipalities").into_iter().filter_map(|(_, p)| match p.get("name") { Some(Value::String(s)) => Some(s.clone()), _ => None }).collect();
    assert!(names.iter().any(|n| n == "Düsseldorf"), "{names:?}");

    // A site write changes the ETags of the tiles within the site's reach
    // and of no other: a new LTE site on air in a dead spot.
    let r = rt
        .block_on(c.query_one(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) AS p FROM dead_spot ORDER BY cells DESC LIMIT 1) t",
            &[],
        ))
        .unwrap();
    let (lon, lat): (f64, f64) = (r.get(0), r.get(1));
    let reach: f64 = rt.block_on(c.query_one("SELECT max(radius_m) FROM coverage_radius", &[])).unwrap().get(0);
    let site = format!(r#"{{"site_id":"TILE-1","operator":"telekom","lon":{lon},"lat":{lat},"status":"on_air","technologies":["lte"]}}"#);
    let auth = format!("Bearer {token}");
    let (st, _, body) = raw(&addr, "POST", "/api/v1/sites", &[("Authorization", &auth)], Some(&site));
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    // The tiles the site's reach can touch: its box widened by a cell.
    let deg_lat = (reach + 200.0) / 111_000.0;
    let deg_lon = deg_lat / lat.to_radians().cos();
    let (ax, ay) = tile_of(12, lon - deg_lon, lat + deg_lat);
    let (bx, by) = tile_of(12, lon + deg_lon, lat - deg_lat);
    let mut changed = Vec::new();
    for &(x, y) in &all12 {
        let (st, h, _) = get(&addr, &format!("/tiles/coverage/12/{x}/{y}.mvt"), &[]);
        let now = if st == 200 { header(&h, "etag") } else { None };
        if now.as_ref() != etags.get(&(x, y)) {
            changed.push((x, y));
        }
    }
    assert!(!changed.is_empty(), "the new site changed no tile");
    assert!(changed.contains(&tile_of(12, lon, lat)), "the site's own tile kept its ETag: {changed:?}");
    for (x, y) in &changed {
        assert!((ax..=bx).contains(x) && (ay..=by).contains(y), "tile 12/{x}/{y} changed, beyond the site's reach ({ax}…{bx}, {ay}…{by})");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

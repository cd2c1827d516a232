//! Step 1: the real municipalities of the scale, and the 100 m raster of
//! which cell belongs to which of them.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::{Scale, Stats, REAL_MUNICIPALITIES, REAL_REGISTER};
use crate::crs::{Crs, Transformer};
use crate::grid::{self, MultiPolygon};
use crate::{Error, Result};

/// One real municipality of the scale.
pub(super) struct Muni {
    /// The feature of the real file, written out unchanged but for the
    /// properties added (`EWZ`, `synthetic: false`).
    pub feature: serde_json::Value,
    pub ags: String,
    /// Outline in EPSG:25832.
    pub geom: MultiPolygon,
    pub households: f64,
    pub cells: u64,
    /// Sum of the 25832 cell centres, for the centre of the municipality.
    pub sum_e: f64,
    pub sum_n: f64,
}

/// Population per AGS from the municipality register (`bevoelkerung`,
/// spaces as thousands separators).
fn register_population() -> HashMap<String, i64> {
    let mut out = HashMap::new();
    let mut lines = REAL_REGISTER.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(land), Some(rb), Some(kreis), Some(gem), Some(pop)) =
        (col("land"), col("rb"), col("kreis"), col("gemeinde"), col("bevoelkerung"))
    else {
        return out;
    };
    for line in lines {
        // Quoted names hold commas; the columns needed lie before them
        // (AGS parts) or are read from a split that respects quotes.
        let fields = split_csv(line);
        let get = |i: usize| fields.get(i).map(String::as_str).unwrap_or_default();
        let ags = format!("{}{}{}{}", get(land), get(rb), get(kreis), get(gem));
        if let Ok(p) = get(pop).replace(' ', "").parse::<i64>() {
            out.insert(ags, p);
        }
    }
    out
}

/// A CSV line split at commas outside double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().map_or((), |s| s.push(c)),
        }
    }
    out
}

/// The real municipalities of `scale`, outlines in EPSG:25832, with the
/// register's population added to their features.
pub(super) fn read(scale: Scale) -> Result<Vec<Muni>> {
    let to_utm_wgs = Transformer::new(Crs::WGS84, Crs::UTM32).map_err(Error::Usage)?;
    let doc: serde_json::Value =
        serde_json::from_str(REAL_MUNICIPALITIES).map_err(|e| Error::Usage(format!("the shipped municipalities: {e}")))?;
    let population = register_population();
    let mut munis: Vec<Muni> = Vec::new();
    for f in doc["features"].as_array().map_or(&[][..], Vec::as_slice) {
        let Some(ags) = f["properties"]["AGS"].as_str() else { continue };
        if !scale.includes(ags) {
            continue;
        }
        let polys: Vec<&serde_json::Value> = match f["geometry"]["type"].as_str() {
            Some("Polygon") => vec![&f["geometry"]["coordinates"]],
            Some("MultiPolygon") => f["geometry"]["coordinates"].as_array().map(|a| a.iter().collect()).unwrap_or_default(),
            _ => continue,
        };
        let mut geom: MultiPolygon = Vec::new();
        for p in polys {
            let mut poly = Vec::new();
            for r in p.as_array().map_or(&[][..], Vec::as_slice) {
                let mut ring = Vec::new();
                for pt in r.as_array().map_or(&[][..], Vec::as_slice) {
                    let (Some(lon), Some(lat)) = (pt[0].as_f64(), pt[1].as_f64()) else { continue };
                    ring.push(to_utm_wgs.transform(lon, lat).map_err(Error::Usage)?);
                }
                poly.push(ring);
            }
            geom.push(poly);
        }
        let mut feature = f.clone();
        if let Some(props) = feature["properties"].as_object_mut() {
            if let Some(p) = population.get(ags) {
                props.insert("EWZ".into(), (*p).into());
            }
            props.insert("synthetic".into(), false.into());
        }
        munis.push(Muni { feature, ags: ags.to_owned(), geom, households: 0.0, cells: 0, sum_e: 0.0, sum_n: 0.0 });
    }
    Ok(munis)
}

/// `municipalities.geojson`: the real features, WGS84 as published.
pub(super) fn write(out: &Path, munis: &[Muni]) -> Result<()> {
    let features: Vec<&serde_json::Value> = munis.iter().map(|m| &m.feature).collect();
    let doc = serde_json::json!({
        "type": "FeatureCollection",
        "name": "NRW municipalities, VG5000 (© GeoBasis-DE / BKG 2021, Daten verändert; dl-de/by-2-0)",
        "features": features,
    });
    let f = std::fs::File::create(out.join("municipalities.geojson")).map_err(Error::io("creating municipalities.geojson"))?;
    let mut w = BufWriter::new(f);
    serde_json::to_writer(&mut w, &doc).map_err(|e| Error::Usage(format!("writing municipalities.geojson: {e}")))?;
    w.flush().map_err(Error::io("writing municipalities.geojson"))
}

/// The 25832 grid over the municipalities' extent (with a margin of 15
/// cells): which municipality owns each cell.
pub(super) struct Raster {
    /// Northing / easting index (`/ 100 m`) of slot 0.
    pub bn0: i32,
    pub be0: i32,
    /// Columns and rows.
    pub bw: i32,
    pub bh: i32,
    /// Per slot: 0 = no municipality, `k + 1` = municipality `k`.
    pub owner: Vec<u16>,
}

impl Raster {
    /// Rasterise `munis` (first come, first served at borders), counting
    /// each one's cells and summing their centres.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub(super) fn of(munis: &mut [Muni], stats: &mut Stats) -> Self {
        let (mut e_min, mut n_min, mut e_max, mut n_max) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for m in munis.iter() {
            for &(e, n) in m.geom.iter().flatten().flatten() {
                e_min = e_min.min(e);
                n_min = n_min.min(n);
                e_max = e_max.max(e);
                n_max = n_max.max(n);
            }
        }
        let (be0, bn0) = ((e_min / 100.0).floor() as i32 - 15, (n_min / 100.0).floor() as i32 - 15);
        let bw = ((e_max - e_min) / 100.0) as i32 + 31;
        let bh = ((n_max - n_min) / 100.0) as i32 + 31;
        let mut raster = Self { bn0, be0, bw, bh, owner: vec![0; (bw * bh) as usize] };
        for (k, m) in munis.iter_mut().enumerate() {
            grid::rasterise(&m.geom, |n, e| {
                if let Some(i) = raster.at(n, e) {
                    if raster.owner[i] == 0 {
                        raster.owner[i] = k as u16 + 1;
                        stats.grid_cells += 1;
                        m.cells += 1;
                        m.sum_e += f64::from(e) * 100.0 + 50.0;
                        m.sum_n += f64::from(n) * 100.0 + 50.0;
                    }
                }
            });
        }
        raster
    }

    /// The slot of cell (`n`, `e`) (indices of 100 m), if in the raster.
    #[allow(clippy::cast_sign_loss)]
    pub(super) fn at(&self, n: i32, e: i32) -> Option<usize> {
        let (r, c) = (n - self.bn0, e - self.be0);
        (r >= 0 && c >= 0 && r < self.bh && c < self.bw).then(|| (r * self.bw + c) as usize)
    }

    /// The cell (`n`, `e`) of slot `i`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    pub(super) fn cell(&self, i: usize) -> (i32, i32) {
        let i = i as i32;
        (i / self.bw + self.bn0, i % self.bw + self.be0)
    }
}

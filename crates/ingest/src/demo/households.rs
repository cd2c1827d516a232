//! Step 2: households — the real census 2022 1 km grid written out for the
//! cells of the scale, its 100 m layout synthesised, and the households
//! spread over the 25832 cells for placing sites.

use std::io::{BufWriter, Write};
use std::path::Path;

use super::municipalities::{Muni, Raster};
use super::rng::h01;
use super::Stats;
use crate::crs::{Crs, Transformer};
use crate::{Error, Result};

/// Columns of the census file (`data/nrw-zensus2022-1km.csv`): the cell
/// centre (EPSG:3035), inhabitants and average household size.
const X: usize = 1;
const Y: usize = 2;
const POPULATION: usize = 3;
const HH_SIZE: usize = 4;

/// Write `households.csv` from the census text (the real
/// `data/nrw-zensus2022-1km.csv`, or a synthetic state's, issue 24) (and `households-100m.csv`) and return the
/// households per slot of `raster` (households = population / average
/// household size, as the ingest computes them, spread over the 25832
/// cells the way `ingest households` spreads them); adds each
/// municipality's households.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn write(out: &Path, census: &str, raster: &Raster, munis: &mut [Muni], stats: &mut Stats) -> Result<Vec<f32>> {
    let to_utm = Transformer::new(Crs::LAEA, Crs::UTM32).map_err(Error::Usage)?;
    let mut hh_utm: Vec<f32> = vec![0.0; raster.owner.len()];
    let f = std::fs::File::create(out.join("households.csv")).map_err(Error::io("creating households.csv"))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let f100 = std::fs::File::create(out.join("households-100m.csv")).map_err(Error::io("creating households-100m.csv"))?;
    let mut w100 = BufWriter::with_capacity(1 << 20, f100);
    w100.write_all(b"GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner;Haushalte\n").map_err(Error::io("writing households-100m.csv"))?;
    let mut line100 = String::with_capacity(96);
    let mut lines = census.lines();
    let header = lines.next().unwrap_or_default();
    w.write_all(header.as_bytes()).and_then(|()| w.write_all(b"\n")).map_err(Error::io("writing households.csv"))?;
    for line in lines {
        // GITTER_ID_1km,x_mp_1km,y_mp_1km,Einwohner,HHGroesse_D
        let f: Vec<&str> = line.split(',').collect();
        let (Some(x), Some(y), Some(pop), Some(size)) = (f.get(X), f.get(Y), f.get(POPULATION), f.get(HH_SIZE)) else { continue };
        let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) else { continue };
        let (ce, cn) = to_utm.transform(x, y).map_err(Error::Usage)?;
        let centre = funkplan_model::CellId::containing(ce, cn);
        // A cell of the scale: its centre in one of its municipalities
        // (border cells go wholly to one side, as near enough for a demo).
        if raster.at(centre.n, centre.e).is_none_or(|i| raster.owner[i] == 0) {
            continue;
        }
        stats.census_cells += 1;
        w.write_all(line.as_bytes()).and_then(|()| w.write_all(b"\n")).map_err(Error::io("writing households.csv"))?;
        let (Ok(pop), Ok(size)) = (pop.parse::<f64>(), size.parse::<f64>()) else { continue };
        if pop <= 0.0 || size <= 0.0 {
            continue;
        }
        let hh = pop / size;
        stats.households += hh.round() as u64;
        write_100m(&mut w100, &mut line100, x, y, pop, size)?;
        for i in 0..10 {
            for j in 0..10 {
                let (sx, sy) = (x - 500.0 + f64::from(j) * 100.0 + 50.0, y - 500.0 + f64::from(i) * 100.0 + 50.0);
                let (ue, un) = to_utm.transform(sx, sy).map_err(Error::Usage)?;
                let c = funkplan_model::CellId::containing(ue, un);
                if let Some(k) = raster.at(c.n, c.e) {
                    hh_utm[k] += (hh / 100.0) as f32;
                    if raster.owner[k] != 0 {
                        munis[raster.owner[k] as usize - 1].households += hh / 100.0;
                    }
                }
            }
        }
    }
    w.flush().map_err(Error::io("writing households.csv"))?;
    w100.flush().map_err(Error::io("writing households-100m.csv"))?;
    Ok(hh_utm)
}

/// The 1 km census cell with centre (`x`, `y`) as the census's published
/// 100 m layout (`;`-separated, inhabited cells only): its population spread
/// over the 100 sub-cells by fixed pseudo-random weights (a third empty),
/// households = population / the cell's average household size. SYNTHETIC
/// detail of real totals: it exists for benchmarks of the 100 m layout
/// (the real 100 m file is not shipped), not for the demo's figures.
#[allow(clippy::cast_possible_truncation)]
fn write_100m(w: &mut BufWriter<std::fs::File>, line: &mut String, x: f64, y: f64, pop: f64, size: f64) -> Result<()> {
    use std::fmt::Write as _;
    let (e0, n0) = ((x - 500.0) as i64, (y - 500.0) as i64);
    let weight = |i: i64, j: i64| {
        let r = h01(n0 + i * 100, e0 + j * 100, 12);
        if r < 0.33 {
            0.0
        } else {
            r
        }
    };
    let total: f64 = (0..10).flat_map(|i| (0..10).map(move |j| (i, j))).map(|(i, j)| weight(i, j)).sum();
    for i in 0..10 {
        for j in 0..10 {
            let share = pop * weight(i, j) / total;
            let p = (share + h01(n0 + i * 100, e0 + j * 100, 13)).floor();
            if p <= 0.0 {
                continue;
            }
            let (n, e) = (n0 + i * 100, e0 + j * 100);
            line.clear();
            let _ = writeln!(line, "CRS3035RES100mN{n}E{e};{};{};{p};{}", e + 50, n + 50, (p / size).round());
            w.write_all(line.as_bytes()).map_err(Error::io("writing households-100m.csv"))?;
        }
    }
    Ok(())
}

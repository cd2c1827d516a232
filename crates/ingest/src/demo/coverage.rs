//! Step 5: the reported coverage, drawn from the on-air sites with the
//! seeded model (radius by technology and setting, urban by household
//! density), in the regulator's format.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::municipalities::Raster;
use super::seeds::Model;
use super::sites::Site;
use super::Stats;
use crate::{Error, Result};

/// Operator masks (bits of [`Model::op_bits`]) per slot of the raster.
struct Masks {
    lte: Vec<u8>,
    nr: Vec<u8>,
}

/// Whether the site in cell (`n`, `e`) is urban: the households of the
/// cells within the model's density radius, per km² of that disk, above
/// the model's threshold.
#[allow(clippy::cast_possible_truncation)]
fn is_urban(raster: &Raster, hh_utm: &[f32], model: &Model, n: i32, e: i32) -> bool {
    let rc = (model.urban_density_radius_m / 100.0) as i32;
    let mut hh = 0.0;
    for dn in -rc..=rc {
        for de in -rc..=rc {
            if dn * dn + de * de <= rc * rc {
                if let Some(i) = raster.at(n + dn, e + de) {
                    hh += f64::from(hh_utm[i]);
                }
            }
        }
    }
    let km = model.urban_density_radius_m / 1000.0;
    hh / (std::f64::consts::PI * km * km) > model.urban_households_per_km2
}

/// Stamp every on-air site's disks into the masks.
#[allow(clippy::cast_possible_truncation)]
fn stamp(raster: &Raster, hh_utm: &[f32], model: &Model, sites: &[Site]) -> Masks {
    let mut masks = Masks { lte: vec![0u8; raster.owner.len()], nr: vec![0u8; raster.owner.len()] };
    for s in sites.iter().filter(|s| s.status == "on_air") {
        let c = funkplan_model::CellId::containing(s.utm.0, s.utm.1);
        let setting = usize::from(is_urban(raster, hh_utm, model, c.n, c.e));
        let bit = model.op_bits[s.op];
        for (on, mask, r) in [(s.lte, &mut masks.lte, model.radius_m[0][setting]), (s.nr, &mut masks.nr, model.radius_m[1][setting])] {
            if !on {
                continue;
            }
            let rc = (r / 100.0) as i32 + 1;
            for dn in -rc..=rc {
                for de in -rc..=rc {
                    let (n, e) = (c.n + dn, c.e + de);
                    let (x, y) = (f64::from(e) * 100.0 + 50.0, f64::from(n) * 100.0 + 50.0);
                    if (x - s.utm.0).powi(2) + (y - s.utm.1).powi(2) <= r * r {
                        if let Some(i) = raster.at(n, e) {
                            mask[i] |= bit;
                        }
                    }
                }
            }
        }
    }
    masks
}

/// `coverage.csv` for every cell of the raster's municipalities.
pub(super) fn write(out: &Path, raster: &Raster, hh_utm: &[f32], model: &Model, sites: &[Site], stats: &mut Stats) -> Result<()> {
    let masks = stamp(raster, hh_utm, model, sites);
    let f = std::fs::File::create(out.join("coverage.csv")).map_err(Error::io("creating coverage.csv"))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    w.write_all(b"id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n").map_err(Error::io("writing coverage.csv"))?;
    let mut line = String::with_capacity(64);
    for (i, &o) in raster.owner.iter().enumerate() {
        if o == 0 {
            continue;
        }
        let (n, e) = raster.cell(i);
        let (l, nr) = (masks.lte[i].count_ones(), masks.nr[i].count_ones());
        if l == 0 {
            stats.lte_dead_cells += 1;
        }
        // Not every operator runs GSM; 5G splits into DSS (on LTE sites)
        // and NSA/SA.
        let gsm = (masks.lte[i] & model.gsm_mask).count_ones();
        let dss = nr.min(1);
        line.clear();
        let _ = writeln!(line, "100mN{n}E{e},{gsm},{l},{dss},{nr},{nr}");
        w.write_all(line.as_bytes()).map_err(Error::io("writing coverage.csv"))?;
        stats.coverage_cells += 1;
    }
    w.flush().map_err(Error::io("writing coverage.csv"))
}

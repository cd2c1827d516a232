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
pub(super) struct Masks {
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
fn stamp(raster: &Raster, hh_utm: &[f32], model: &Model, sites: &[Site]) -> Masks {
    let mut masks = Masks::empty(raster);
    for s in sites.iter().filter(|s| s.status == "on_air") {
        stamp_site(&mut masks, raster, hh_utm, model, s, s.lte, s.nr);
    }
    masks
}

impl Masks {
    pub(super) fn empty(raster: &Raster) -> Self {
        Self { lte: vec![0u8; raster.owner.len()], nr: vec![0u8; raster.owner.len()] }
    }
}

/// Stamp site `s`'s LTE disk (when `lte`) and 5G disk (when `nr`) into the
/// masks.
#[allow(clippy::cast_possible_truncation)]
pub(super) fn stamp_site(masks: &mut Masks, raster: &Raster, hh_utm: &[f32], model: &Model, s: &Site, lte: bool, nr: bool) {
    let c = funkplan_model::CellId::containing(s.utm.0, s.utm.1);
    let setting = usize::from(is_urban(raster, hh_utm, model, c.n, c.e));
    let bit = model.op_bits[s.op];
    for (on, mask, r) in [(lte, &mut masks.lte, model.radius_m[0][setting]), (nr, &mut masks.nr, model.radius_m[1][setting])] {
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

/// The regulator's counts of slot `i`: (gsm, lte, nr_dss, nr) operators.
/// Not every operator runs GSM; 5G splits into DSS (on LTE sites) and
/// NSA/SA.
#[allow(clippy::cast_possible_truncation)]
pub(super) fn counts(masks: &Masks, model: &Model, i: usize) -> [u8; 4] {
    let (l, nr) = (masks.lte[i].count_ones(), masks.nr[i].count_ones());
    let gsm = (masks.lte[i] & model.gsm_mask).count_ones();
    [gsm as u8, l as u8, nr.min(1) as u8, nr as u8]
}

/// One line of the regulator's format for cell (`n`, `e`).
pub(super) fn line(out: &mut String, n: i32, e: i32, [gsm, l, dss, nr]: [u8; 4]) {
    out.clear();
    let _ = writeln!(out, "100mN{n}E{e},{gsm},{l},{dss},{nr},{nr}");
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
        let c = counts(&masks, model, i);
        if c[1] == 0 {
            stats.lte_dead_cells += 1;
        }
        self::line(&mut line, n, e, c);
        w.write_all(line.as_bytes()).map_err(Error::io("writing coverage.csv"))?;
        stats.coverage_cells += 1;
    }
    w.flush().map_err(Error::io("writing coverage.csv"))
}

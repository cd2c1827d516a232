//! Step 6: the regulator's quarterly coverage releases (issue 16),
//! `releases/YYYYMM_coverage.csv` from 2020-10 to [`LAST`], consistent with
//! the sites' timeline: a release sees the LTE sites on air at its date and
//! the 5G upgrades completed by then, plus noise — in each release but the
//! newest a few cells (0.3 %) have one LTE operator fewer, regained in the
//! next.
//!
//! The first file is the release whole; each later one holds only the cells
//! that differ from the release before (lost, gained, regained), to be
//! ingested with `--partial` (merged into a copy of the release before):
//! the series takes the space of one state plus its changes, on disk as in
//! the database. Every release lists every cell of the municipalities (a
//! dead cell with zero operators), so a difference is always a changed
//! value, never a cell missing. The newest release equals `coverage.csv`
//! (nothing is completed after the story's end in 2026 Q1).

use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate};

use super::coverage::{self, Masks};
use super::municipalities::Raster;
use super::rng::h01;
use super::seeds::Model;
use super::sites::Plan;
use super::Stats;
use crate::{Error, Result};

/// The first release of the series: the regulator's monitoring is
/// quarterly since October 2020.
const FIRST: NaiveDate = match NaiveDate::from_ymd_opt(2020, 10, 1) {
    Some(d) => d,
    None => panic!("2020-10-01 is a date"),
};

/// The newest release: fixed (not "the last quarter before today") so the
/// same seed gives the same files on any day; the quarter after the story's
/// last completion (2026-03-31), so it equals `coverage.csv`. scripts/lib.sh
/// dates `coverage.csv` by it too.
pub const LAST: NaiveDate = match NaiveDate::from_ymd_opt(2026, 10, 1) {
    Some(d) => d,
    None => panic!("2026-10-01 is a date"),
};

/// The share of cells with an LTE operator that lose one in a release
/// (regained in the next).
const NOISE: f64 = 0.003;

/// The release dates, quarterly from 2020-10-01 (`FIRST`) to [`LAST`].
#[must_use]
pub fn dates() -> Vec<NaiveDate> {
    std::iter::successors(Some(FIRST), |d| d.checked_add_months(Months::new(3))).take_while(|d| *d <= LAST).collect()
}

/// When each site's LTE and 5G come on air: (date, site, lte, nr), in date order.
fn events(plan: &Plan) -> Vec<(NaiveDate, usize, bool, bool)> {
    let mut ev: Vec<(NaiveDate, usize, bool, bool)> = plan
        .sites
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == "on_air" && s.lte)
        .filter_map(|(i, s)| Some((s.on_air?, i, true, false)))
        .collect();
    ev.extend(plan.measures.iter().filter(|m| m.kind == "5g_upgrade").filter_map(|m| Some((m.completed?, m.site, false, true))));
    ev.sort_unstable_by_key(|&(d, i, lte, _)| (d, i, !lte));
    ev
}

/// Write the series into `out/releases/`.
pub(super) fn write(out: &Path, raster: &Raster, hh_utm: &[f32], model: &Model, plan: &Plan, stats: &mut Stats) -> Result<()> {
    let dir = out.join("releases");
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let events = events(plan);
    let dates = dates();
    let mut masks = Masks::empty(raster);
    let mut next_event = 0;
    let mut prev: Vec<[u8; 4]> = Vec::new();
    let mut line = String::with_capacity(64);
    for (k, &date) in dates.iter().enumerate() {
        while let Some(&(d, site, lte, nr)) = events.get(next_event) {
            if d > date {
                break;
            }
            coverage::stamp_site(&mut masks, raster, hh_utm, model, &plan.sites[site], lte, nr);
            next_event += 1;
        }
        let newest = k + 1 == dates.len();
        let name = format!("{:04}{:02}_coverage.csv", date.year(), date.month());
        let f = std::fs::File::create(dir.join(&name)).map_err(Error::io(format!("creating releases/{name}")))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(b"id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n").map_err(Error::io(format!("writing releases/{name}")))?;
        let mut now = Vec::with_capacity(raster.owner.len());
        for (i, &o) in raster.owner.iter().enumerate() {
            let mut c = coverage::counts(&masks, model, i);
            #[allow(clippy::cast_possible_wrap)]
            if !newest && c[1] > 0 && h01(i as i64, date.num_days_from_ce().into(), 16) < NOISE {
                c[1] -= 1;
                c[0] = c[0].min(c[1]);
            }
            now.push(c);
            if o == 0 || prev.get(i) == Some(&c) {
                continue;
            }
            let (n, e) = raster.cell(i);
            coverage::line(&mut line, n, e, c);
            w.write_all(line.as_bytes()).map_err(Error::io(format!("writing releases/{name}")))?;
        }
        w.flush().map_err(Error::io(format!("writing releases/{name}")))?;
        prev = now;
        stats.coverage_releases += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarterly_from_2020_10_to_the_last() {
        let d = dates();
        assert_eq!(d.first(), Some(&FIRST));
        assert_eq!(d.last(), Some(&LAST));
        assert_eq!(d.len(), 25);
        assert!(d.windows(2).all(|w| w[0].checked_add_months(Months::new(3)) == Some(w[1])));
    }
}

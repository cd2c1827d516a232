//! Dated releases of the reported coverage (issue 16), kept compactly: the
//! latest release is the grid's reported layer ([`Grid::reported`], read
//! from `reported_coverage`, which always holds the latest release), and
//! each older release is the sparse list of slots whose value differs
//! from the release after it ("back steps"), with their value in the older
//! release.
//!
//! Why backwards from the latest: "now" is what nearly every reader asks
//! for, and it stays the plain dense layer with no indirection; an older
//! release costs only what changed since, so 16 quarterly releases of NRW
//! take one dense layer plus the changes (~12 bytes per changed cell), not
//! 16 layers. Going to release `i` from the latest applies the back steps
//! of releases `latest-1 ..= i`, newest first.
//!
//! A cell absent from a release is [`CellValue::ABSENT`] there (count 0,
//! operators unknown), as a slot with no `reported_coverage` row is in the
//! latest layer.
//!
//! [`Grid::reported`]: crate::grid::Grid::reported

use std::borrow::Cow;

use chrono::NaiveDate;

use crate::grid::{Mask, ReportedLayer, UNKNOWN};
use crate::model::combine;
use crate::{CoverageSource, Error, Result};

/// A cell's reported values in one release, per technology (engine order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellValue {
    /// Operators covering the cell as published.
    pub count: [u8; 2],
    /// The operator set where published, else [`UNKNOWN`].
    pub mask: [Mask; 2],
}

impl CellValue {
    /// The value of a cell missing from a release.
    pub const ABSENT: Self = Self { count: [0, 0], mask: [UNKNOWN, UNKNOWN] };

    /// Whether the release counts technology `tech` as present in the cell
    /// (by the reported rule of [`combine`]).
    #[inline]
    #[must_use]
    pub fn covers(self, tech: usize) -> bool {
        covers(self.count[tech], self.mask[tech])
    }
}

/// Whether a reported count and mask count as covered (the reported rule
/// of [`combine`]).
#[inline]
#[must_use]
pub fn covers(count: u8, mask: Mask) -> bool {
    combine(CoverageSource::Reported, count, mask, 0).0 > 0
}

/// One row of `reported_coverage_version` as read from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Northing / 100 (EPSG:25832).
    pub n: i32,
    /// Easting / 100 (EPSG:25832).
    pub e: i32,
    /// The release from which the values are in force.
    pub valid_from: NaiveDate,
    /// The release from which they no longer are (`None`: still in force
    /// in the latest release).
    pub valid_to: Option<NaiveDate>,
    /// The values.
    pub value: CellValue,
}

/// One slot's value in an older release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The slot of the grid.
    pub slot: u32,
    /// Its value in the older release.
    pub value: CellValue,
}

/// The release dates and the back steps between them (see the module
/// docs).
#[derive(Debug, Clone, Default)]
pub struct Releases {
    /// Release dates, ascending.
    dates: Vec<NaiveDate>,
    /// `back[i]`: the slots whose value in release `i` differs from release
    /// `i + 1`, with the value in release `i`, by slot.
    back: Vec<Vec<Step>>,
    /// Reported coverage without any release row (a database written
    /// before releases and not migrated, or a test fixture): one release in
    /// force at every date, as the engine counted it before releases.
    undated: bool,
}

impl Releases {
    /// Releases from their dates and the versions that differ from the
    /// earliest release's open-ended rows (those may be given too; they
    /// change nothing). `slot` maps a cell to its grid slot (`None`:
    /// outside the grid, ignored). `has_reported`: whether the latest layer
    /// holds any row (reported coverage with no release is undated).
    ///
    /// # Errors
    /// A version whose `valid_from` or `valid_to` is no release date, or
    /// that ends before it starts.
    pub fn build(mut dates: Vec<NaiveDate>, versions: &[Version], has_reported: bool, slot: impl Fn(i32, i32) -> Option<usize>) -> Result<Self> {
        dates.sort_unstable();
        dates.dedup();
        if dates.is_empty() {
            if has_reported {
                tracing::warn!("reported coverage without a release: counted as in force at every date");
            }
            return Ok(Self { dates, back: Vec::new(), undated: has_reported });
        }
        let index = |d: NaiveDate, what: &str, v: &Version| {
            dates.binary_search(&d).map_err(|_| {
                Error::Data(format!("reported_coverage_version ({}, {}): {what} {d} is no release date", v.n, v.e))
            })
        };
        // Per back step list, (slot, priority, value): a version ending at
        // release j gives the cell's value in release j - 1 (priority 0); a
        // version starting at release j > 0 with none ending there means
        // the cell was absent in release j - 1 (priority 1, overridden).
        let mut raw: Vec<Vec<(u32, u8, CellValue)>> = vec![Vec::new(); dates.len() - 1];
        for v in versions {
            let from = index(v.valid_from, "valid_from", v)?;
            let Some(s) = slot(v.n, v.e).and_then(|s| u32::try_from(s).ok()) else { continue };
            if let Some(to) = v.valid_to {
                let to = index(to, "valid_to", v)?;
                if to <= from {
                    return Err(Error::Data(format!(
                        "reported_coverage_version ({}, {}): valid_to {} is not after valid_from {}",
                        v.n, v.e, dates[to], dates[from]
                    )));
                }
                raw[to - 1].push((s, 0, v.value));
            }
            if from > 0 {
                raw[from - 1].push((s, 1, CellValue::ABSENT));
            }
        }
        let back = raw
            .into_iter()
            .map(|mut r| {
                r.sort_unstable_by_key(|&(s, p, _)| (s, p));
                r.dedup_by_key(|&mut (s, _, _)| s);
                r.into_iter().map(|(slot, _, value)| Step { slot, value }).collect()
            })
            .collect();
        Ok(Self { dates, back, undated: false })
    }

    /// Everything it holds (dates, back steps, undated), for the grid
    /// snapshot ([`crate::snapshot`]) to write.
    pub(crate) fn parts(&self) -> (&[NaiveDate], &[Vec<Step>], bool) {
        (&self.dates, &self.back, self.undated)
    }

    /// Back from [`Releases::parts`], as the grid snapshot read them.
    pub(crate) fn from_parts(dates: Vec<NaiveDate>, back: Vec<Vec<Step>>, undated: bool) -> Self {
        Self { dates, back, undated }
    }

    /// The release dates, ascending (empty when undated).
    #[must_use]
    pub fn dates(&self) -> &[NaiveDate] {
        if self.undated {
            &[]
        } else {
            &self.dates
        }
    }

    /// Index of the release in force at `date` (the latest with
    /// `as_of <= date`); `None` before the first. Undated reported coverage
    /// is release 0 at every date.
    #[must_use]
    pub fn index_at(&self, date: NaiveDate) -> Option<usize> {
        if self.undated {
            return Some(0);
        }
        self.dates.partition_point(|&d| d <= date).checked_sub(1)
    }

    /// The date of the release in force at `date` (`None` before the first
    /// release, and for undated reported coverage).
    #[must_use]
    pub fn release_at(&self, date: NaiveDate) -> Option<NaiveDate> {
        if self.undated {
            return None;
        }
        self.index_at(date).map(|i| self.dates[i])
    }

    /// Number of releases the layers can be rewound to (1 when undated).
    #[must_use]
    pub fn len(&self) -> usize {
        if self.undated {
            1
        } else {
            self.dates.len()
        }
    }

    /// No release at all (and no undated reported coverage).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The back steps from release `i + 1` to release `i`.
    #[must_use]
    pub fn back_steps(&self, i: usize) -> &[Step] {
        self.back.get(i).map_or(&[], Vec::as_slice)
    }

    /// Back steps held in all (the memory the older releases cost beyond
    /// the latest layer: about 12 bytes each).
    #[must_use]
    pub fn steps(&self) -> usize {
        self.back.iter().map(Vec::len).sum()
    }

    /// Bytes the older releases take beyond the latest layer (their back
    /// steps).
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.steps() * std::mem::size_of::<Step>()
    }

    /// The reported layers in force at `date`, from the latest layers
    /// (`latest`, as [`Grid::reported`](crate::grid::Grid::reported)) of a
    /// grid of `slots` slots: borrowed when the latest release is in force,
    /// empty before the first release, else a copy rewound by the back
    /// steps.
    #[must_use]
    pub fn layers_at<'a>(&self, latest: &'a [ReportedLayer; 2], slots: usize, date: NaiveDate) -> Cow<'a, [ReportedLayer; 2]> {
        let Some(i) = self.index_at(date) else {
            return Cow::Owned([ReportedLayer::default(), ReportedLayer::default()]);
        };
        if i + 1 >= self.len() {
            return Cow::Borrowed(latest);
        }
        let mut layers = latest.clone();
        for l in &mut layers {
            if l.count.is_empty() {
                l.count = vec![0; slots];
                l.mask = vec![UNKNOWN; slots];
            }
        }
        for j in (i..self.len() - 1).rev() {
            for st in self.back_steps(j) {
                let s = st.slot as usize;
                for (t, l) in layers.iter_mut().enumerate() {
                    l.count[s] = st.value.count[t];
                    l.mask[s] = st.value.mask[t];
                }
            }
        }
        Cow::Owned(layers)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2023, m, 1).unwrap()
    }
    fn val(c: u8) -> CellValue {
        CellValue { count: [c, 0], mask: [UNKNOWN, UNKNOWN] }
    }
    fn ver(e: i32, from: u32, to: Option<u32>, c: u8) -> Version {
        Version { n: 0, e, valid_from: d(from), valid_to: to.map(d), value: val(c) }
    }

    #[test]
    fn rewinding_gives_each_release_and_nothing_before_the_first() {
        // Cells e = 0..4 of one row; releases in months 1, 4, 7.
        // e0: 1 from month 1 on; e1: 2 until month 4, then 3; e2: only
        // from month 4; e3: only until month 7 (dropped in the latest).
        let versions = [ver(0, 1, None, 1), ver(1, 1, Some(4), 2), ver(1, 4, None, 3), ver(2, 4, None, 1), ver(3, 1, Some(7), 2)];
        let r = Releases::build(vec![d(7), d(1), d(4)], &versions, true, |n, e| usize::try_from(e).ok().filter(|&s| n == 0 && s < 4)).unwrap();
        assert_eq!(r.dates(), &[d(1), d(4), d(7)]);
        // The latest layer as reported_coverage holds it.
        let latest = [ReportedLayer { count: vec![1, 3, 1, 0], mask: vec![UNKNOWN; 4] }, ReportedLayer { count: vec![0; 4], mask: vec![UNKNOWN; 4] }];
        let at = |m: u32| r.layers_at(&latest, 4, d(m)).into_owned()[0].count.clone();
        assert!(r.layers_at(&latest, 4, NaiveDate::from_ymd_opt(2022, 12, 31).unwrap())[0].count.is_empty());
        assert_eq!(at(1), vec![1, 2, 0, 2]);
        assert_eq!(at(3), vec![1, 2, 0, 2]);
        assert_eq!(at(4), vec![1, 3, 1, 2]);
        assert_eq!(at(7), vec![1, 3, 1, 0]);
        assert!(matches!(r.layers_at(&latest, 4, d(9)), Cow::Borrowed(_)));
        assert_eq!(r.release_at(d(5)), Some(d(4)));
        assert_eq!(r.release_at(NaiveDate::from_ymd_opt(2022, 1, 1).unwrap()), None);
        // Only the changes are held: e1 and e2 between 1 and 4, e3 between 4 and 7.
        assert_eq!(r.steps(), 3);
        assert_eq!(r.bytes(), 3 * 12, "12 bytes a changed cell");
    }

    #[test]
    fn undated_reported_coverage_is_in_force_always() {
        let r = Releases::build(Vec::new(), &[], true, |_, _| None).unwrap();
        assert_eq!(r.index_at(NaiveDate::MIN), Some(0));
        assert_eq!(r.release_at(d(1)), None);
        assert!(r.dates().is_empty());
        let none = Releases::build(Vec::new(), &[], false, |_, _| None).unwrap();
        assert_eq!(none.index_at(d(1)), None);
    }

    #[test]
    fn versions_off_the_release_dates_are_refused() {
        let e = Releases::build(vec![d(1)], &[ver(0, 2, None, 1)], true, |_, _| Some(0)).unwrap_err();
        assert!(e.to_string().contains("valid_from 2023-02-01 is no release date"), "{e}");
        let e = Releases::build(vec![d(1), d(2)], &[ver(0, 2, Some(1), 1)], true, |_, _| Some(0)).unwrap_err();
        assert!(e.to_string().contains("is not after"), "{e}");
    }
}

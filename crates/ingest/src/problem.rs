//! One bad row (or feature) of an input file, and the collector that keeps
//! all of them up to a cap while counting the rest.

use std::fmt;

/// At most this many problems are kept; the total is always counted.
pub const CAP: usize = 100;

/// Where in the file a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loc {
    /// The file as a whole (header, JSON structure, CRS member).
    File,
    /// 1-based line number of a CSV file (the header is line 1).
    Line(u64),
    /// 1-based position of a feature in a GeoJSON FeatureCollection.
    Feature(u64),
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File => f.write_str("file"),
            Self::Line(n) => write!(f, "line {n}"),
            Self::Feature(n) => write!(f, "feature {n}"),
        }
    }
}

/// A bad value: file, where, which field, the value and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub loc: Loc,
    pub field: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v: String = self.value.chars().take(60).collect();
        if self.value.chars().count() > 60 {
            v.push('…');
        }
        write!(f, "{}: {}: field `{}` = {:?}: {}", self.file, self.loc, self.field, v, self.reason)
    }
}

/// Collects problems of one file.
#[derive(Debug)]
pub struct Problems {
    file: String,
    kept: Vec<Problem>,
    total: u64,
}

impl Problems {
    #[must_use]
    pub fn new(file: impl Into<String>) -> Self {
        Self { file: file.into(), kept: Vec::new(), total: 0 }
    }

    pub fn add(&mut self, loc: Loc, field: impl Into<String>, value: impl Into<String>, reason: impl Into<String>) {
        self.total += 1;
        if self.kept.len() < CAP {
            self.kept.push(Problem {
                file: self.file.clone(),
                loc,
                field: field.into(),
                value: value.into(),
                reason: reason.into(),
            });
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    #[must_use]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `Ok(())` when no problem was found, else the `Invalid` error.
    pub fn into_result(self) -> crate::Result<()> {
        if self.total == 0 {
            Ok(())
        } else {
            // Line order reads best, whatever order the checks ran in.
            let mut problems = self.kept;
            problems.sort_by_key(|p| match p.loc {
                Loc::File => 0,
                Loc::Line(n) | Loc::Feature(n) => n,
            });
            Err(crate::Error::Invalid { file: self.file, problems, total: self.total })
        }
    }
}

//! Errors of the ingest. A file with bad rows is one error value carrying
//! every problem found (capped), so the caller can print them all.

use std::fmt;

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file has bad rows; nothing was changed.
    #[error("{}", invalid_line(.file, *.total, .problems))]
    Invalid {
        file: String,
        /// Every bad row found (all of them, up to [`crate::problem::CAP`]).
        problems: Vec<Problem>,
        /// How many bad rows there were in all.
        total: u64,
    },

    #[error("I/O error while {what}: {source}")]
    Io { what: String, source: std::io::Error },

    #[error(transparent)]
    Db(#[from] funkplan_db::Error),

    #[error("{0}")]
    Usage(String),
}

fn invalid_line(file: &str, total: u64, problems: &[Problem]) -> String {
    let first = problems.first().map(ToString::to_string).unwrap_or_default();
    let s = if total == 1 { "" } else { "s" };
    format!("{file}: {total} bad row{s}, nothing was changed; first: {first}")
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }

    pub(crate) fn pg(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |e| Self::Db(funkplan_db::Error::pg(what)(e))
    }

    /// The list of problems of an `Invalid` error, one per line, with the
    /// total when the list was capped.
    #[must_use]
    pub fn problem_list(&self) -> Option<String> {
        match self {
            Self::Invalid { problems, total, .. } => {
                let mut out = String::new();
                for p in problems {
                    out.push_str(&p.to_string());
                    out.push('\n');
                }
                if *total > problems.len() as u64 {
                    out.push_str(&format!("… and {} more ({} bad rows in all)\n", *total - problems.len() as u64, total));
                }
                Some(out)
            }
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which kind of file is being ingested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Municipalities,
    Households,
    Sites,
    Measures,
    Coverage,
}

impl Kind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Municipalities => "municipalities",
            Self::Households => "households",
            Self::Sites => "sites",
            Self::Measures => "measures",
            Self::Coverage => "coverage",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "municipalities" => Self::Municipalities,
            "households" => Self::Households,
            "sites" => Self::Sites,
            "measures" => Self::Measures,
            "coverage" => Self::Coverage,
            _ => return Err(Error::Usage(format!("unknown ingest kind {s:?}: municipalities, households, sites, measures or coverage"))),
        })
    }
}

/// Everything that can go wrong in the database layer. Each variant says
/// what was being done, so a one-line CLI message is enough to act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PostgreSQL server programs are not installed.
    #[error("PostgreSQL server programs not found ({0}); install them, e.g. `apt-get install postgresql-15 postgresql-15-postgis-3`, or set DATABASE_URL to an existing server")]
    PgMissing(String),

    #[error("the data directory {dir} was created by PostgreSQL {found}, but the installed server is PostgreSQL {installed}; install PostgreSQL {found} or move the directory away to start afresh")]
    /// The data directory belongs to another PostgreSQL major version.
    VersionMismatch {
        /// The data directory.
        dir: String,
        /// The version that created it.
        found: String,
        /// The version installed.
        installed: String,
    },

    #[error("{what} failed: {detail}")]
    /// A program (initdb, pg_ctl …) failed.
    Command {
        /// What was being run.
        what: String,
        /// Its output.
        detail: String,
    },

    #[error("I/O error while {what}: {source}")]
    /// A file or directory could not be read or written.
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },

    #[error("cannot connect to the database at {url}: {detail}")]
    /// No connection could be made.
    Connect {
        /// The URL, its password redacted.
        url: String,
        /// Why.
        detail: String,
    },

    #[error("PostgreSQL {found} is too old; Funkplan needs PostgreSQL 14 or newer")]
    /// The server is older than PostgreSQL 14.
    ServerTooOld {
        /// Its version.
        found: String,
    },

    /// The PostGIS extension is missing on the server.
    #[error("PostGIS is not available on the database server ({0}); install it there, e.g. `apt-get install postgresql-15-postgis-3`")]
    PostgisMissing(String),

    /// A statement failed. The driver's error is kept whole (its SQLSTATE,
    /// constraint and cause), so that the HTTP edge can map it once to a
    /// status, and `{:#}`-style reporters can walk the chain.
    #[error("Postgres error while {what}: {}", pg_detail(source))]
    Postgres {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// SQLSTATE 53100 (`disk_full`): the server could not extend a file. The
    /// failed transaction was rolled back, so nothing of it is stored; the
    /// cure is outside Funkplan, hence the message says what to do.
    #[error("the database server's disk is full (while {what}: {detail}); the transaction was rolled back and nothing of it was stored; free or add disk space where the database keeps its data, then run it again")]
    DiskFull {
        /// What was being done.
        what: &'static str,
        /// The server's message.
        detail: String,
    },

    /// The pool could not hand out a connection.
    #[error("no database connection available: {0}")]
    Pool(String),

    /// A migration failed (and was rolled back).
    #[error("migration failed, schema left unchanged: {0}")]
    Migration(String),

    #[error("seed {file}: {reason}")]
    /// A seed file is broken.
    Seed {
        /// The seed file.
        file: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The useful part of a Postgres error: the server's message, detail and
/// hint, which `tokio_postgres::Error`'s `Display` leaves out ("db error").
#[must_use]
pub fn pg_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_owned();
            if let Some(d) = db.detail() {
                s.push_str(" (");
                s.push_str(d);
                s.push(')');
            }
            if let Some(h) = db.hint() {
                s.push_str("; hint: ");
                s.push_str(h);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}

impl Error {
    /// Wrap a Postgres error with what we were doing; SQLSTATE 53100
    /// becomes [`Error::DiskFull`]. The one constructor for driver errors:
    /// callers in every crate go through it, and the API maps the result
    /// once (`From<funkplan_db::Error> for ApiError`).
    pub fn pg(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |e| {
            if e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL) {
                Self::DiskFull { what, detail: pg_detail(&e) }
            } else {
                Self::Postgres { what, source: e }
            }
        }
    }

    /// The driver's error behind a failed statement, with what was being
    /// done; `None` for every other kind of error.
    #[must_use]
    pub fn postgres(&self) -> Option<(&'static str, &tokio_postgres::Error)> {
        match self {
            Self::Postgres { what, source } => Some((what, source)),
            _ => None,
        }
    }

    /// Wrap an I/O error with what we were doing.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }

    /// Whether the error means the database is away (so HTTP should say 503).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Pool(_) | Self::Connect { .. })
    }

    /// Whether the server's disk is full (so HTTP should say 507).
    #[must_use]
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::DiskFull { .. })
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Pool(match &e {
            deadpool_postgres::PoolError::Backend(pe) => pg_detail(pe),
            other => other.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real server error with SQLSTATE 53100, as PostgreSQL raises it when
    /// it cannot extend a file (raised on purpose: no disk needs to fill).
    #[tokio::test]
    async fn disk_full_is_classified_and_said_plainly() {
        let url = std::env::var("FUNKPLAN_TEST_DATABASE_URL").expect("FUNKPLAN_TEST_DATABASE_URL (set by scripts/test)");
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        let raise = |code: &'static str| {
            format!("DO $$ BEGIN RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' USING ERRCODE = '{code}', HINT = 'Check free disk space.'; END $$")
        };
        let e = c.batch_execute(&raise("disk_full")).await.map_err(Error::pg("copying households")).unwrap_err();
        assert!(e.is_disk_full(), "{e:?}");
        assert!(!e.is_unavailable());
        let msg = e.to_string();
        assert!(msg.starts_with("the database server's disk is full (while copying households: could not extend file"), "{msg}");
        assert!(msg.contains("No space left on device"), "{msg}");
        assert!(msg.contains("free or add disk space"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");

        // Other errors keep their class.
        let e = c.batch_execute(&raise("check_violation")).await.map_err(Error::pg("copying households")).unwrap_err();
        assert!(matches!(e, Error::Postgres { .. }) && !e.is_disk_full(), "{e:?}");
        let (what, source) = e.postgres().expect("a driver error");
        assert_eq!((what, source.code()), ("copying households", Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION)));
        assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
        assert!(e.to_string().contains("No space left on device"), "the server's text is said: {e}");
    }
}

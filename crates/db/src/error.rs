/// Everything that can go wrong in the database layer. Each variant says
/// what was being done, so a one-line CLI message is enough to act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("PostgreSQL server programs not found ({0}); install them, e.g. `apt-get install postgresql-15 postgresql-15-postgis-3`, or set DATABASE_URL to an existing server")]
    PgMissing(String),

    #[error("the data directory {dir} was created by PostgreSQL {found}, but the installed server is PostgreSQL {installed}; install PostgreSQL {found} or move the directory away to start afresh")]
    VersionMismatch { dir: String, found: String, installed: String },

    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },

    #[error("I/O error while {what}: {source}")]
    Io { what: String, source: std::io::Error },

    #[error("cannot connect to the database at {url}: {detail}")]
    Connect { url: String, detail: String },

    #[error("PostgreSQL {found} is too old; Funkplan needs PostgreSQL 14 or newer")]
    ServerTooOld { found: String },

    #[error("PostGIS is not available on the database server ({0}); install it there, e.g. `apt-get install postgresql-15-postgis-3`")]
    PostgisMissing(String),

    #[error("Postgres error while {what}: {detail}")]
    Postgres { what: &'static str, detail: String },

    #[error("no database connection available: {0}")]
    Pool(String),

    #[error("migration failed, schema left unchanged: {0}")]
    Migration(String),

    #[error("seed {file}: {reason}")]
    Seed { file: &'static str, reason: String },
}

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
    /// Wrap a Postgres error with what we were doing.
    #[must_use]
    pub fn pg(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |e| Self::Postgres { what, detail: pg_detail(&e) }
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
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Pool(match &e {
            deadpool_postgres::PoolError::Backend(pe) => pg_detail(pe),
            other => other.to_string(),
        })
    }
}

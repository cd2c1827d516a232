//! The embedded default database (docs/operations.md): a private PostgreSQL cluster
//! made with the installed `initdb` and run with `pg_ctl`.
//!
//! It listens on a unix socket only (no TCP port to collide with or to
//! expose). PostgreSQL refuses to run as root, so when we are root the
//! cluster runs as the `postgres` system user that the Debian package
//! creates, and its data and socket live under `/var/lib/funkplan/<hash>`
//! because a checkout under `/root` or a `mktemp -d` is not traversable by
//! that user. The hash is of the home directory, so each checkout keeps its
//! own cluster.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The database the application uses inside the cluster.
pub const APP_DB: &str = "funkplan";
/// The cluster's superuser (trust authentication over the private socket).
pub const SUPERUSER: &str = "funkplan";
/// The socket "port": only names the socket file, no TCP port is opened.
pub const PORT: u16 = 5432;
/// Where clusters of root-run checkouts live (see the module docs).
const ROOT_BASE: &str = "/var/lib/funkplan";
/// Unix socket paths are limited to 107 bytes; stay well below.
const MAX_SOCKET_DIR: usize = 80;

/// Options for [`Cluster::start`].
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Turn off `fsync` for a throw-away cluster (tests, benchmarks of other
    /// things). Never for data you want to keep across a power cut.
    pub no_fsync: bool,
}

/// What [`Cluster::start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// A new cluster was initialised and started.
    Created,
    /// An existing, stopped cluster was started.
    Started,
    /// It was already running; nothing was done.
    AlreadyRunning,
}

/// The state of the cluster as `pg_ctl status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No data directory yet (`funkplan db start` creates it).
    NotInitialised,
    /// Initialised but not running.
    Stopped,
    /// Running, with its postmaster's pid when `pg_ctl` names it.
    Running {
        /// The postmaster's process id.
        pid: Option<u32>,
    },
}

/// Where a private cluster lives and how to run its programs.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// `$FUNKPLAN_HOME` or `./.funkplan`.
    pub home: PathBuf,
    /// The cluster's data directory.
    pub data_dir: PathBuf,
    /// Where the server puts its Unix socket (connections go there).
    pub socket_dir: PathBuf,
    /// The server's log.
    pub log_file: PathBuf,
    bin_dir: PathBuf,
    /// Run server programs as the `postgres` user (we are root).
    as_postgres: bool,
}

impl Cluster {
    /// Work out where the cluster for `home` lives; creates nothing.
    ///
    /// `home` defaults to `$FUNKPLAN_HOME`, then `./.funkplan`.
    pub fn locate(home: Option<&Path>) -> Result<Self> {
        let home = match home {
            Some(h) => h.to_path_buf(),
            None => match std::env::var_os("FUNKPLAN_HOME") {
                Some(h) if !h.is_empty() => PathBuf::from(h),
                _ => PathBuf::from(".funkplan"),
            },
        };
        fs::create_dir_all(&home).map_err(Error::io(format!("creating {}", home.display())))?;
        let home = home.canonicalize().map_err(Error::io(format!("resolving {}", home.display())))?;
        let bin_dir = find_bin_dir()?;
        let as_postgres = is_root();
        let hash = short_hash(&home);
        let (base, socket_dir) = if as_postgres {
            let base = PathBuf::from(ROOT_BASE).join(&hash);
            (base.clone(), base.join("run"))
        } else {
            let run = home.join("run");
            let socket = if run.as_os_str().len() > MAX_SOCKET_DIR {
                std::env::temp_dir().join(format!("funkplan-{hash}"))
            } else {
                run
            };
            (home.clone(), socket)
        };
        Ok(Self {
            data_dir: base.join("pgdata"),
            log_file: base.join("postgres.log"),
            socket_dir,
            home,
            bin_dir,
            as_postgres,
        })
    }

    /// The connection string for database `db` in this cluster.
    #[must_use]
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@/{db}?host={}&port={PORT}",
            self.socket_dir.display()
        )
    }

    /// Start the cluster, creating it first if needed; reuse it when it is
    /// already running. Safe to call from several processes at once: a file
    /// lock in the home directory serialises them.
    pub fn start(&self, opts: &StartOptions) -> Result<Started> {
        let _lock = self.lock()?;
        let mut outcome = Started::Started;
        match self.status()? {
            Status::Running { .. } => return Ok(Started::AlreadyRunning),
            Status::NotInitialised => {
                self.init(opts)?;
                outcome = Started::Created;
            }
            Status::Stopped => self.check_version()?,
        }
        self.prepare_dirs()?;
        let fsync = if opts.no_fsync { "off" } else { "on" };
        let out = self.run_server_cmd(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data_dir.as_os_str(),
                "-l".as_ref(),
                self.log_file.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-o".as_ref(),
                format!("-c fsync={fsync}").as_ref(),
                "start".as_ref(),
            ],
        )?;
        if !out.status.success() {
            let log_tail = tail(&self.log_file, 5);
            return Err(Error::Command {
                what: "starting PostgreSQL".into(),
                detail: format!("{}{log_tail}", one_line(&out)),
            });
        }
        tracing::info!(data_dir = %self.data_dir.display(), socket = %self.socket_dir.display(), "embedded PostgreSQL started");
        Ok(outcome)
    }

    /// Stop the cluster (fast shutdown: sessions are ended, data is kept).
    /// Returns whether it was running.
    pub fn stop(&self) -> Result<bool> {
        let _lock = self.lock()?;
        if !matches!(self.status()?, Status::Running { .. }) {
            return Ok(false);
        }
        let out = self.run_server_cmd(
            "pg_ctl",
            &["-D".as_ref(), self.data_dir.as_os_str(), "-m".as_ref(), "fast".as_ref(), "-w".as_ref(), "stop".as_ref()],
        )?;
        if !out.status.success() {
            return Err(Error::Command { what: "stopping PostgreSQL".into(), detail: one_line(&out) });
        }
        Ok(true)
    }

    /// Whether the cluster exists and runs.
    pub fn status(&self) -> Result<Status> {
        if !self.data_dir.join("PG_VERSION").exists() {
            return Ok(Status::NotInitialised);
        }
        let out = self.run_server_cmd("pg_ctl", &["-D".as_ref(), self.data_dir.as_os_str(), "status".as_ref()])?;
        match out.status.code() {
            Some(0) => {
                let text = String::from_utf8_lossy(&out.stdout);
                let pid = text
                    .split("PID: ")
                    .nth(1)
                    .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|s| s.parse().ok());
                Ok(Status::Running { pid })
            }
            Some(3) => Ok(Status::Stopped),
            Some(4) => Ok(Status::NotInitialised),
            _ => Err(Error::Command { what: "asking pg_ctl for the cluster status".into(), detail: one_line(&out) }),
        }
    }

    /// Create database `db` in the running cluster unless it exists.
    pub async fn ensure_database(&self, db: &str) -> Result<()> {
        let url = self.url("postgres");
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .map_err(|e| Error::Connect { url: url.clone(), detail: crate::pg_detail(&e) })?;
        let conn = tokio::spawn(conn);
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])
            .await
            .map_err(Error::pg("looking up the application database"))?
            .is_some();
        if !exists {
            // Identifiers cannot be bound as parameters; `db` is one of our
            // own constants or a generated name, quoted all the same.
            let sql = format!("CREATE DATABASE \"{}\"", db.replace('"', "\"\""));
            if let Err(e) = client.batch_execute(&sql).await {
                // Another process may have won the race; that is fine.
                if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) {
                    return Err(Error::pg("creating the application database")(e));
                }
            }
        }
        drop(client);
        let _ = conn.await;
        Ok(())
    }

    fn init(&self, opts: &StartOptions) -> Result<()> {
        self.prepare_dirs()?;
        let out = self.run_server_cmd(
            "initdb",
            &[
                "-D".as_ref(),
                self.data_dir.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        if !out.status.success() {
            return Err(Error::Command { what: "initdb".into(), detail: one_line(&out) });
        }
        // Our settings go after the defaults so they win; `fsync` is given
        // on the command line at each start instead.
        let _ = opts;
        let conf = format!(
            "\n# --- Funkplan embedded cluster ---\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{}'\n\
             port = {PORT}\n\
             max_connections = 300\n\
             shared_buffers = '512MB'\n\
             work_mem = '32MB'\n\
             maintenance_work_mem = '512MB'\n\
             max_wal_size = '4GB'\n\
             checkpoint_timeout = '15min'\n\
             jit = off\n\
             log_min_duration_statement = 5000\n",
            self.socket_dir.display()
        );
        let conf_path = self.data_dir.join("postgresql.conf");
        let mut f = OpenOptions::new()
            .append(true)
            .open(&conf_path)
            .map_err(Error::io(format!("opening {}", conf_path.display())))?;
        std::io::Write::write_all(&mut f, conf.as_bytes()).map_err(Error::io("writing postgresql.conf"))?;
        tracing::info!(data_dir = %self.data_dir.display(), "initialised a new embedded PostgreSQL cluster");
        Ok(())
    }

    /// Make the base and socket directories, owned by `postgres` when we are root.
    fn prepare_dirs(&self) -> Result<()> {
        let base = self.data_dir.parent().unwrap_or(&self.data_dir);
        for d in [base, self.socket_dir.as_path()] {
            fs::create_dir_all(d).map_err(Error::io(format!("creating {}", d.display())))?;
        }
        if self.as_postgres {
            // The parents must be traversable, the base owned by postgres.
            let parent = Path::new(ROOT_BASE);
            set_mode(parent, 0o755)?;
            for d in [base, self.socket_dir.as_path()] {
                chown_postgres(d)?;
            }
        }
        Ok(())
    }

    fn check_version(&self) -> Result<()> {
        let found = fs::read_to_string(self.data_dir.join("PG_VERSION"))
            .map_err(Error::io("reading PG_VERSION"))?
            .trim()
            .to_owned();
        let installed = self.installed_major()?;
        if found != installed {
            return Err(Error::VersionMismatch { dir: self.data_dir.display().to_string(), found, installed });
        }
        Ok(())
    }

    fn installed_major(&self) -> Result<String> {
        let out = Command::new(self.bin_dir.join("pg_ctl"))
            .arg("--version")
            .output()
            .map_err(Error::io("running pg_ctl --version"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "pg_ctl (PostgreSQL) 15.18 (Debian ...)"
        text.split_whitespace()
            .nth(2)
            .and_then(|v| v.split('.').next())
            .map(str::to_owned)
            .ok_or_else(|| Error::Command { what: "reading the PostgreSQL version".into(), detail: text.trim().to_owned() })
    }

    fn lock(&self) -> Result<File> {
        let path = self.home.join("cluster.lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io(format!("opening {}", path.display())))?;
        f.lock().map_err(Error::io(format!("locking {}", path.display())))?;
        Ok(f)
    }

    fn run_server_cmd(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output> {
        let exe = self.bin_dir.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.arg("-u").arg("postgres").arg("--").arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(if self.as_postgres { Path::new("/") } else { self.home.as_path() });
        cmd.stdin(std::process::Stdio::null());
        cmd.env("LC_ALL", "C");
        cmd.output().map_err(Error::io(format!("running {}", exe.display())))
    }
}

/// The directory holding `initdb` and `pg_ctl`: `$FUNKPLAN_PG_BINDIR`, else
/// the newest `/usr/lib/postgresql/<major>/bin` (Debian keeps them off PATH),
/// else `initdb` on PATH.
fn find_bin_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("FUNKPLAN_PG_BINDIR") {
        let d = PathBuf::from(d);
        return if d.join("initdb").exists() && d.join("pg_ctl").exists() {
            Ok(d)
        } else {
            Err(Error::PgMissing(format!("no initdb/pg_ctl in FUNKPLAN_PG_BINDIR={}", d.display())))
        };
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(rd) = fs::read_dir("/usr/lib/postgresql") {
        for entry in rd.flatten() {
            let Some(major) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let bin = entry.path().join("bin");
            if bin.join("initdb").exists() && bin.join("pg_ctl").exists() && best.as_ref().is_none_or(|(m, _)| major > *m) {
                best = Some((major, bin));
            }
        }
    }
    if let Some((_, bin)) = best {
        return Ok(bin);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return Ok(dir);
            }
        }
    }
    Err(Error::PgMissing("initdb and pg_ctl are neither in /usr/lib/postgresql/*/bin nor on PATH".into()))
}

fn is_root() -> bool {
    // Without libc: the effective uid is in /proc/self/status ("Uid: r e s f").
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn chown_postgres(path: &Path) -> Result<()> {
    let out = Command::new("chown")
        .arg("postgres:postgres")
        .arg(path)
        .output()
        .map_err(Error::io("running chown"))?;
    if !out.status.success() {
        return Err(Error::Command {
            what: format!("giving {} to the postgres user (is the postgresql package installed?)", path.display()),
            detail: one_line(&out),
        });
    }
    set_mode(path, 0o700)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(Error::io(format!("chmod {}", path.display())))
}

fn short_hash(p: &Path) -> String {
    let d = Sha256::digest(p.as_os_str().as_encoded_bytes());
    hex::encode(&d[..6])
}

fn one_line(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if s.is_empty() {
        s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    }
    s.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("; ")
}

fn tail(path: &Path, n: usize) -> String {
    match fs::read_to_string(path) {
        Ok(s) => {
            let lines: Vec<&str> = s.lines().collect();
            let start = lines.len().saturating_sub(n);
            format!(" (log {}: {})", path.display(), lines[start..].join(" | "))
        }
        Err(_) => String::new(),
    }
}

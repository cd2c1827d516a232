//! `COPY ... FROM STDIN (FORMAT binary)` written by hand: the rows here are
//! a few fixed-width columns, and encoding them straight into large buffers
//! is several times faster than `BinaryCopyInWriter`'s per-row `ToSql`
//! dispatch, which matters at 3.4 M rows (BENCHMARKS.md: ≤ 10 s).

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, TryStreamExt};
use tokio_postgres::Transaction;

use crate::grid::CellSet;
use crate::{Error, Result};

const CHUNK: usize = 4 << 20;

/// Builds the binary COPY stream in chunks.
pub struct CopyBuf {
    buf: BytesMut,
    chunks: Vec<Bytes>,
    pub rows: u64,
}

impl Default for CopyBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl CopyBuf {
    #[must_use]
    pub fn new() -> Self {
        let mut buf = BytesMut::with_capacity(CHUNK + 1024);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0); // flags
        buf.put_i32(0); // header extension length
        Self { buf, chunks: Vec::new(), rows: 0 }
    }

    /// Start a row of `fields` columns.
    pub fn row(&mut self, fields: i16) {
        if self.buf.len() >= CHUNK {
            let full = std::mem::replace(&mut self.buf, BytesMut::with_capacity(CHUNK + 1024));
            self.chunks.push(full.freeze());
        }
        self.buf.put_i16(fields);
        self.rows += 1;
    }

    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(4);
        self.buf.put_i32(v);
    }

    pub fn f32(&mut self, v: f32) {
        self.buf.put_i32(4);
        self.buf.put_f32(v);
    }

    pub fn f64(&mut self, v: f64) {
        self.buf.put_i32(8);
        self.buf.put_f64(v);
    }

    pub fn i16(&mut self, v: i16) {
        self.buf.put_i32(2);
        self.buf.put_i16(v);
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.put_i32(8);
        self.buf.put_i64(v);
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.put_i32(1);
        self.buf.put_u8(u8::from(v));
    }

    /// text, varchar and bpchar all travel as their UTF-8 bytes.
    pub fn text(&mut self, s: &str) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        self.buf.put_i32(s.len() as i32);
        self.buf.put_slice(s.as_bytes());
    }

    /// A date as days since 2000-01-01 (PostgreSQL's epoch).
    pub fn date(&mut self, d: Option<chrono::NaiveDate>) {
        match d {
            None => self.null(),
            Some(d) => {
                let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
                #[allow(clippy::cast_possible_truncation)]
                let days = (d - epoch).num_days() as i32;
                self.i32(days);
            }
        }
    }

    pub fn null(&mut self) {
        self.buf.put_i32(-1);
    }

    pub fn opt_i32(&mut self, v: Option<i32>) {
        match v {
            Some(v) => self.i32(v),
            None => self.null(),
        }
    }

    pub fn opt_i16(&mut self, v: Option<i16>) {
        match v {
            Some(v) => self.i16(v),
            None => self.null(),
        }
    }

    /// A one-dimensional text[] (element type oid 25).
    pub fn text_array(&mut self, items: &[&str]) {
        let body: usize = 20 + items.iter().map(|s| 4 + s.len()).sum::<usize>();
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        {
            self.buf.put_i32(body as i32);
            self.buf.put_i32(1); // dimensions
            self.buf.put_i32(0); // has nulls
            self.buf.put_u32(25); // text
            self.buf.put_i32(items.len() as i32);
            self.buf.put_i32(1); // lower bound
            for s in items {
                self.buf.put_i32(s.len() as i32);
                self.buf.put_slice(s.as_bytes());
            }
        }
    }

    /// Whether full chunks wait to be sent ([`CopyIn::flush`]).
    #[must_use]
    pub fn has_full_chunks(&self) -> bool {
        !self.chunks.is_empty()
    }

    /// Send everything with `sql` (a `COPY ... FROM STDIN (FORMAT binary)`).
    pub async fn send(self, tx: &Transaction<'_>, sql: &str, what: &'static str) -> Result<u64> {
        let copy = CopyIn::start(tx, sql, what).await?;
        copy.finish(self).await
    }
}

/// A `COPY ... FROM STDIN (FORMAT binary)` in progress, fed chunk by chunk
/// so that the whole stream never sits in memory at once. Dropped without
/// [`CopyIn::finish`], the COPY is aborted (and with it the transaction).
pub struct CopyIn {
    sink: std::pin::Pin<Box<tokio_postgres::CopyInSink<Bytes>>>,
    what: &'static str,
}

impl CopyIn {
    pub async fn start(tx: &Transaction<'_>, sql: &str, what: &'static str) -> Result<Self> {
        let sink = tx.copy_in::<_, Bytes>(sql).await.map_err(Error::pg(what))?;
        Ok(Self { sink: Box::pin(sink), what })
    }

    /// Send the full chunks of `buf`, keeping the one being filled.
    pub async fn flush(&mut self, buf: &mut CopyBuf) -> Result<()> {
        for c in std::mem::take(&mut buf.chunks) {
            self.sink.send(c).await.map_err(Error::pg(self.what))?;
        }
        Ok(())
    }

    /// Send the rest of `buf` and end the COPY; the rows copied.
    pub async fn finish(mut self, mut buf: CopyBuf) -> Result<u64> {
        buf.buf.put_i16(-1);
        let last = std::mem::take(&mut buf.buf).freeze();
        buf.chunks.push(last);
        self.flush(&mut buf).await?;
        self.sink.as_mut().finish().await.map_err(Error::pg(self.what))
    }
}

/// Replace all rows of `table` with the rows of `buf` ([`Replace`]).
pub async fn replace_table(tx: &Transaction<'_>, table: &str, columns: &str, buf: CopyBuf, what: &'static str) -> Result<u64> {
    let replace = Replace::begin(tx, table).await?;
    let t1 = std::time::Instant::now();
    let rows = buf.send(tx, &replace.copy_sql(columns), what).await?;
    tracing::debug!(table, copy_ms = t1.elapsed().as_secs_f64() * 1e3, "table copied");
    replace.finish(tx).await?;
    Ok(rows)
}

/// A whole-table replacement, for callers that stream their rows: begun by
/// [`Replace::begin`], filled by a `COPY` of [`Replace::copy_sql`], put in
/// place by [`Replace::finish`], all inside the caller's transaction.
///
/// The rows go into a new table made like the old one (a *shadow*), without
/// indexes; then the indexes are built (one sorted build is far cheaper than
/// 3.4 M index insertions), the new table is analysed and swapped in for
/// the old one: `DROP` the old, `RENAME` the new. Until that swap the
/// ingest holds nothing on the old table that stops readers (only `SHARE ROW
/// EXCLUSIVE`, which keeps other writers out), so readers (the API, `serve`'s
/// engine load, `recompute`) do not wait for the load (~5 s at NRW scale)
/// the way they did behind a `TRUNCATE`: only for the swap, which takes the
/// old table's `ACCESS EXCLUSIVE` lock with a short `lock_timeout`, retried
/// ([`SWAP_LOCK_TIMEOUT_MS`]), so a reader is never queued behind it for
/// longer than that plus the rest of the ingest's transaction.
///
/// A failure anywhere rolls the whole transaction back: the old table is
/// untouched and the shadow never existed for anyone else.
///
/// A swap makes a new table (a new OID), so what is bound to the old one
/// rather than its name is carried over (indexes and constraints under their
/// names, triggers, grants, owner, comment, storage parameters) or, where it
/// cannot be (views, foreign keys, sequences, …: `sql/swap_blockers.sql`),
/// the table is replaced in place as before (`TRUNCATE`, readers wait) and
/// the reason is logged.
pub struct Replace {
    table: String,
    mode: Mode,
}

enum Mode {
    Swap(Swap),
    /// Emptied by `TRUNCATE`; the indexes and constraints to rebuild.
    InPlace(Vec<String>),
}

struct Swap {
    shadow: String,
    /// (statement building an index on the shadow, its name there, its final name)
    indexes: Vec<(String, String, String)>,
}

/// How long one attempt to take the old table's lock for the swap may wait
/// (and so, how long a reader queued behind that attempt may wait).
pub const SWAP_LOCK_TIMEOUT_MS: u64 = 50;

/// How long the swap keeps retrying before the ingest gives up (and rolls
/// back), unless the session sets `funkplan.swap_wait_ms`. Readers are not
/// held up meanwhile; a reader holding the table this long (an engine load
/// takes seconds) is not expected.
const SWAP_WAIT_MS: u64 = 300_000;

impl Replace {
    /// The `COPY` statement that fills the new (or emptied) table.
    #[must_use]
    pub fn copy_sql(&self, columns: &str) -> String {
        let target = match &self.mode {
            Mode::Swap(s) => &s.shadow,
            Mode::InPlace(_) => &self.table,
        };
        format!("COPY {target} ({columns}) FROM STDIN (FORMAT binary, FREEZE)")
    }

    /// Whether the rows go into a new table swapped in at the end (`false`:
    /// the table is emptied in place).
    #[must_use]
    pub fn swaps(&self) -> bool {
        matches!(self.mode, Mode::Swap(_))
    }

    pub async fn begin(tx: &Transaction<'_>, table: &str) -> Result<Self> {
        // Keeps other writers (a second ingest) out until commit; readers
        // are not affected.
        tx.batch_execute(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")).await.map_err(Error::pg("locking a table for replacement"))?;
        let blockers: Vec<String> = tx
            .query(include_str!("../sql/swap_blockers.sql"), &[&table])
            .await
            .map_err(Error::pg("checking what depends on a table"))?
            .iter()
            .map(|r| crate::col(r, "reason", "checking what depends on a table"))
            .collect::<Result<_>>()?;
        if !blockers.is_empty() {
            tracing::warn!(table, reasons = blockers.join("; "), "replacing the table in place: readers wait for the whole load");
            return Self::begin_in_place(tx, table).await;
        }
        let r = tx.query_one(include_str!("../sql/swap_table.sql"), &[&table]).await.map_err(Error::pg("reading a table's definition"))?;
        const W: &str = "reading a table's definition";
        let (qualified, schema, owner, comment, options): (String, String, String, Option<String>, Option<String>) = (
            crate::col(&r, "qualified", W)?,
            crate::col(&r, "schema", W)?,
            crate::col(&r, "owner", W)?,
            crate::col(&r, "comment", W)?,
            crate::col(&r, "options", W)?,
        );
        let shadow = format!("{schema}.{table}__ingest_new");
        let mut ddl = format!("CREATE TABLE {shadow} (LIKE {qualified} INCLUDING ALL EXCLUDING INDEXES); ALTER TABLE {shadow} OWNER TO {owner};");
        if let Some(o) = options.filter(|o| !o.is_empty()) {
            ddl.push_str(&format!("ALTER TABLE {shadow} SET ({o});"));
        }
        if let Some(c) = comment {
            ddl.push_str(&format!("COMMENT ON TABLE {shadow} IS {c};"));
        }
        for g in tx.query(include_str!("../sql/swap_grants.sql"), &[&table]).await.map_err(Error::pg("reading a table's grants"))? {
            const W: &str = "reading a table's grants";
            let (privilege, grantee, grantable): (String, String, bool) =
                (crate::col(&g, "privilege", W)?, crate::col(&g, "grantee", W)?, crate::col(&g, "grantable", W)?);
            let option = if grantable { " WITH GRANT OPTION" } else { "" };
            ddl.push_str(&format!("GRANT {privilege} ON {shadow} TO {grantee}{option};"));
        }
        tx.batch_execute(&ddl).await.map_err(Error::pg("creating the table to load into"))?;
        // Triggers before the load, so that the load fires them as an
        // in-place rewrite did (the API's change notification: V30, V31).
        for r in tx.query(include_str!("../sql/swap_triggers.sql"), &[&table]).await.map_err(Error::pg("reading a table's triggers"))? {
            let (name, def): (String, String) =
                (crate::col(&r, "name", "reading a table's triggers")?, crate::col(&r, "def", "reading a table's triggers")?);
            let sql = retarget(&def, &format!("CREATE TRIGGER {name} "), &format!(" ON {qualified} "), &format!(" ON {shadow} "))
                .ok_or_else(|| Error::Usage(format!("{table}: cannot read the definition of trigger {name}: {def}")))?;
            tx.batch_execute(&sql).await.map_err(Error::pg("copying a trigger to the table to load into"))?;
            // The enabled state too: the grid snapshot's generation triggers
            // (V90) must stay ENABLE ALWAYS, or the engine stops trusting
            // its snapshot (crates/coverage/src/snapshot.rs).
            let enabled: String = crate::col(&r, "enabled", "reading a table's triggers")?;
            let how = match enabled.as_str() {
                "A" => Some("ENABLE ALWAYS"),
                "R" => Some("ENABLE REPLICA"),
                "D" => Some("DISABLE"),
                _ => None,
            };
            if let Some(how) = how {
                tx.batch_execute(&format!("ALTER TABLE {shadow} {how} TRIGGER {name}"))
                    .await
                    .map_err(Error::pg("copying a trigger's enabled state to the table to load into"))?;
            }
        }
        let mut indexes = Vec::new();
        for (k, r) in tx.query(include_str!("../sql/table_indexes.sql"), &[&table]).await.map_err(Error::pg("reading table indexes"))?.iter().enumerate() {
            let IndexRow { def, constraint, quoted, cdef, .. } = IndexRow::read(r)?;
            let temp = format!("{table}__ingest_new_{k}");
            let sql = match (constraint, cdef) {
                (Some(_), Some(cdef)) => format!("ALTER TABLE {shadow} ADD CONSTRAINT {temp} {cdef}"),
                _ => retarget(&def, "CREATE ", &format!("INDEX {quoted} ON {qualified} "), &format!("INDEX {temp} ON {shadow} "))
                    .ok_or_else(|| Error::Usage(format!("{table}: cannot read the definition of index {quoted}: {def}")))?,
            };
            indexes.push((sql, temp, quoted));
        }
        tracing::debug!(table, shadow, "loading into a new table, to be swapped in");
        Ok(Self { table: table.to_owned(), mode: Mode::Swap(Swap { shadow, indexes }) })
    }

    /// Empty `table` in place and drop its indexes and constraints (unless a
    /// foreign key references it): readers wait until commit.
    async fn begin_in_place(tx: &Transaction<'_>, table: &str) -> Result<Self> {
        let idx = tx.query(include_str!("../sql/table_indexes.sql"), &[&table]).await.map_err(Error::pg("reading table indexes"))?;
        let idx = idx.iter().map(IndexRow::read).collect::<Result<Vec<_>>>()?;
        let referenced = idx.iter().any(|r| r.referenced);
        tx.batch_execute(&format!("TRUNCATE {table}")).await.map_err(Error::pg("truncating a table for replacement"))?;
        let mut rebuild: Vec<String> = Vec::new();
        if !referenced {
            for IndexRow { name, def, constraint, cdef, .. } in idx {
                if let (Some(c), Some(cdef)) = (constraint, cdef) {
                    tx.batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {c}")).await.map_err(Error::pg("dropping a constraint for the bulk load"))?;
                    rebuild.push(format!("ALTER TABLE {table} ADD CONSTRAINT {c} {cdef}"));
                } else {
                    tx.batch_execute(&format!("DROP INDEX {name}")).await.map_err(Error::pg("dropping an index for the bulk load"))?;
                    rebuild.push(def);
                }
            }
        }
        Ok(Self { table: table.to_owned(), mode: Mode::InPlace(rebuild) })
    }

    /// Build the indexes and put the new rows in place.
    pub async fn finish(self, tx: &Transaction<'_>) -> Result<()> {
        let t = std::time::Instant::now();
        let swap = match self.mode {
            Mode::InPlace(rebuild) => {
                for sql in &rebuild {
                    tx.batch_execute(sql).await.map_err(Error::pg("rebuilding an index after the bulk load"))?;
                }
                tracing::debug!(table = self.table, index_ms = t.elapsed().as_secs_f64() * 1e3, "indexes rebuilt");
                return Ok(());
            }
            Mode::Swap(swap) => swap,
        };
        for (sql, _, _) in &swap.indexes {
            tx.batch_execute(sql).await.map_err(Error::pg("building an index of the new table"))?;
        }
        tracing::debug!(table = self.table, index_ms = t.elapsed().as_secs_f64() * 1e3, "indexes built");
        // The planner's statistics, before readers see the table.
        tx.batch_execute(&format!("ANALYZE {}", swap.shadow)).await.map_err(Error::pg("analysing the new table"))?;
        let mut sql = format!("DROP TABLE {}; ALTER TABLE {} RENAME TO {};", self.table, swap.shadow, self.table);
        for (_, temp, name) in &swap.indexes {
            sql.push_str(&format!("ALTER INDEX {temp} RENAME TO {name};"));
        }
        let waited = lock_for_swap(tx, &self.table, &sql).await?;
        tracing::debug!(table = self.table, wait_ms = waited.as_secs_f64() * 1e3, "new table swapped in");
        Ok(())
    }
}

/// Take `table`'s `ACCESS EXCLUSIVE` lock for the swap, one short attempt
/// at a time: a reader arriving while an attempt waits queues behind it, so
/// no attempt may wait long; between attempts the readers get through.
/// Once it has the lock, `swap` runs in the same round trip (readers queue
/// behind the lock from then until commit). Returns how long it took.
/// One index of a table (`table_indexes.sql`).
struct IndexRow {
    name: String,
    def: String,
    /// The constraint owning the index (primary key, unique), if any.
    constraint: Option<String>,
    /// Whether a foreign key points at the table (then its indexes stay).
    referenced: bool,
    quoted: String,
    cdef: Option<String>,
}

impl IndexRow {
    fn read(r: &tokio_postgres::Row) -> Result<Self> {
        const W: &str = "reading table indexes";
        Ok(Self {
            name: crate::col(r, "name", W)?,
            def: crate::col(r, "def", W)?,
            constraint: crate::col(r, "constraint_name", W)?,
            referenced: crate::col(r, "referenced", W)?,
            quoted: crate::col(r, "quoted", W)?,
            cdef: crate::col(r, "constraint_def", W)?,
        })
    }
}

async fn lock_for_swap(tx: &Transaction<'_>, table: &str, swap: &str) -> Result<std::time::Duration> {
    let started = std::time::Instant::now();
    let budget_ms: u64 = tx
        .query_one("SELECT current_setting('funkplan.swap_wait_ms', true) AS wait_ms", &[])
        .await
        .and_then(|r| r.try_get::<_, Option<String>>("wait_ms"))
        .map_err(Error::pg("reading funkplan.swap_wait_ms"))?
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(SWAP_WAIT_MS);
    let previous: String = tx
        .query_one("SELECT current_setting('lock_timeout') AS lock_timeout", &[])
        .await
        .and_then(|r| r.try_get("lock_timeout"))
        .map_err(Error::pg("reading lock_timeout"))?;
    // One string, so one round trip: a statement that fails skips the rest.
    let lock = format!(
        "SAVEPOINT funkplan_swap; SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT_MS}ms'; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; \
         SELECT set_config('lock_timeout', '{}', true); RELEASE SAVEPOINT funkplan_swap; {swap}",
        previous.replace('\'', "''")
    );
    let (mut pause_ms, mut attempt) = (10u64, 0u32);
    loop {
        attempt += 1;
        match tx.batch_execute(&lock).await {
            Ok(()) => {
                if attempt > 1 {
                    tracing::info!(table, attempt, wait_ms = started.elapsed().as_secs_f64() * 1e3, "readers let the swap through");
                }
                return Ok(started.elapsed());
            }
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT funkplan_swap; RELEASE SAVEPOINT funkplan_swap")
                    .await
                    .map_err(Error::pg("ending a swap attempt"))?;
                let waited = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                if waited >= budget_ms {
                    return Err(Error::Usage(format!(
                        "{table}: could not swap in the new table: other sessions held it for {:.1} s ({attempt} attempts; \
                         funkplan.swap_wait_ms = {budget_ms}); nothing was changed",
                        started.elapsed().as_secs_f64()
                    )));
                }
                tracing::debug!(table, attempt, "table busy, swap retried");
                tokio::time::sleep(std::time::Duration::from_millis(pause_ms.min(budget_ms - waited))).await;
                pause_ms = (pause_ms * 2).min(500);
            }
            Err(e) => return Err(Error::pg("swapping in the new table")(e)),
        }
    }
}

/// `def` (as pg_get_indexdef / pg_get_triggerdef print it, starting with
/// `prefix`) with the first `from` after the prefix replaced by `to`.
fn retarget(def: &str, prefix: &str, from: &str, to: &str) -> Option<String> {
    let rest = def.strip_prefix(prefix)?;
    let at = rest.find(from)?;
    Some(format!("{prefix}{}{to}{}", &rest[..at], &rest[at + from.len()..]))
}

/// All grid cells, read with binary COPY (18 bytes a row) into a bitmap.
pub(crate) async fn read_grid(tx: &Transaction<'_>) -> Result<CellSet> {
    let mut cells = Vec::new();
    let bad = || Error::Usage("grid_cell: unexpected binary COPY row".into());
    copy_out_rows(tx, "COPY grid_cell (n, e) TO STDOUT (FORMAT binary)", "reading grid_cell", |f| {
        let get = |k: usize| -> Result<i32> {
            let b = f.get(k).copied().flatten().ok_or_else(bad)?;
            <[u8; 4]>::try_from(b).map(i32::from_be_bytes).map_err(|_| bad())
        };
        cells.push((get(0)?, get(1)?));
        Ok(())
    })
    .await?;
    Ok(CellSet::from_cells(&cells))
}

/// The rows of a `COPY ... TO STDOUT (FORMAT binary)`, decoded as they
/// arrive (never the whole stream in memory): `row` gets each row's fields,
/// `None` for NULL.
pub(crate) async fn copy_out_rows(tx: &Transaction<'_>, sql: &str, what: &'static str, mut row: impl FnMut(&[Option<&[u8]>]) -> Result<()>) -> Result<()> {
    let stream = tx.copy_out(sql).await.map_err(Error::pg(what))?;
    futures_util::pin_mut!(stream);
    let mut buf = BytesMut::new();
    let mut header_done = false;
    let be_i32 = |b: &[u8], at: usize| i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    while let Some(chunk) = stream.try_next().await.map_err(Error::pg(what))? {
        buf.extend_from_slice(&chunk);
        let mut pos = 0;
        if !header_done {
            if buf.len() < 19 {
                continue;
            }
            let ext = usize::try_from(be_i32(&buf, 15)).unwrap_or(0);
            if buf.len() < 19 + ext {
                continue;
            }
            pos = 19 + ext;
            header_done = true;
        }
        let mut ranges: Vec<Option<(usize, usize)>> = Vec::new();
        while buf.len() >= pos + 2 {
            let nf = i16::from_be_bytes([buf[pos], buf[pos + 1]]);
            if nf < 0 {
                pos += 2; // trailer
                break;
            }
            ranges.clear();
            let mut p = pos + 2;
            let mut complete = true;
            for _ in 0..nf {
                if buf.len() < p + 4 {
                    complete = false;
                    break;
                }
                let len = be_i32(&buf, p);
                p += 4;
                match usize::try_from(len) {
                    Err(_) => ranges.push(None),
                    Ok(len) if buf.len() >= p + len => {
                        ranges.push(Some((p, p + len)));
                        p += len;
                    }
                    Ok(_) => {
                        complete = false;
                        break;
                    }
                }
            }
            if !complete {
                break;
            }
            let fields: Vec<Option<&[u8]>> = ranges.iter().map(|r| r.map(|(a, b)| &buf[a..b])).collect();
            row(&fields)?;
            pos = p;
        }
        let _ = buf.split_to(pos);
    }
    Ok(())
}

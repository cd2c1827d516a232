//! Reading input files: SHA-256 while streaming, CSV with the delimiter
//! detected from the header, field lookup by (case-insensitive) name.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use funkplan_model::{plausible_date, DateField};
use sha2::{Digest, Sha256};

use crate::problem::{Loc, Problems};
use crate::{Error, Progress, Result};

/// Longest line a CSV input may have. Real rows are well under 1 KiB; a
/// file without line breaks (or a binary file) would otherwise make the CSV
/// reader buffer it whole.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

/// Largest GeoJSON file read (GeoJSON is parsed as a whole). All of
/// Germany's municipalities at full VG250 resolution are well below this.
pub const MAX_GEOJSON_BYTES: u64 = 512 << 20;

/// A reader that hashes what passes through it and refuses a line longer
/// than [`MAX_LINE_BYTES`], so memory stays bounded whatever the input.
pub struct Hashing<R> {
    inner: R,
    hasher: Arc<Mutex<Sha256>>,
    bytes: Arc<std::sync::atomic::AtomicU64>,
    /// Bytes since the last line break, and the 1-based current line.
    since_break: u64,
    line: u64,
    /// After a refused line the reader reports end of file, so callers
    /// that continue after an error do not loop on it.
    tripped: bool,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.tripped {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        match chunk.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
                self.since_break = (n - last - 1) as u64;
            }
            None => self.since_break += n as u64,
        }
        if self.since_break > MAX_LINE_BYTES {
            self.tripped = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {} is longer than {} MiB without a line break: not a row of this format",
                    self.line + 1,
                    MAX_LINE_BYTES >> 20
                ),
            ));
        }
        if let Ok(mut h) = self.hasher.lock() {
            h.update(chunk);
        }
        self.bytes.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// The SHA-256 of everything read so far, and the byte count.
#[derive(Clone)]
pub struct Digester {
    hasher: Arc<Mutex<Sha256>>,
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl Digester {
    #[must_use]
    pub fn hex(&self) -> String {
        self.hasher.lock().map(|h| hex::encode(h.clone().finalize())).unwrap_or_default()
    }
}

/// An input file opened for streaming: buffered, hashed, line-length bounded.
pub type Stream = BufReader<Hashing<Box<dyn Read + Send>>>;

/// Open `path` for streaming; the digester sees every byte read. A `.zip`
/// is read through its CSV member, inflated as it streams (issue 15), and
/// the digest is then of that CSV, the same as for the file unzipped.
pub fn open(path: &Path) -> Result<(Stream, Digester)> {
    let f = crate::formats::open_stream(path)?;
    let d = Digester { hasher: Arc::new(Mutex::new(Sha256::new())), bytes: Arc::default() };
    let r = Hashing { inner: f, hasher: d.hasher.clone(), bytes: d.bytes.clone(), since_break: 0, line: 0, tripped: false };
    Ok((BufReader::with_capacity(1 << 20, r), d))
}

/// Read all of `path` (for GeoJSON, which is parsed as a whole) and its
/// SHA-256, refusing files over [`MAX_GEOJSON_BYTES`] before reading them.
/// A leading UTF-8 byte-order mark (written by some Windows tools) is
/// dropped from the returned bytes, as RFC 8259 §8.1 allows; the hash is of
/// the file as it is.
pub fn read_all(path: &Path) -> Result<(Vec<u8>, String)> {
    let what = || format!("reading {}", path.display());
    let size = std::fs::metadata(path).map_err(Error::io(what()))?.len();
    if size > MAX_GEOJSON_BYTES {
        return Err(Error::Io {
            what: what(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the file is {} MiB, over the {} MiB limit for GeoJSON input", size >> 20, MAX_GEOJSON_BYTES >> 20),
            ),
        });
    }
    let mut bytes = std::fs::read(path).map_err(Error::io(what()))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    Ok((bytes, sha))
}

/// A CSV file: its reader, the delimiter found and the header names.
pub struct Csv<R: Read> {
    pub reader: csv::Reader<R>,
    pub delimiter: u8,
    /// Header names, trimmed, BOM removed.
    pub header: Vec<String>,
    /// Lines end in CRLF: the csv crate then reports a record's line one
    /// too low (it starts the record between `\r` and `\n`).
    pub crlf: bool,
}

impl<R: Read> Csv<R> {
    /// The 1-based line of a record or error position in the file.
    #[must_use]
    pub fn line(&self, pos: Option<&csv::Position>, fallback: u64) -> u64 {
        pos.map_or(fallback, |p| p.line() + u64::from(self.crlf))
    }
}

/// Open a CSV, detecting `,` or `;` (or tab) from the header line.
pub fn csv<R: Read>(mut r: BufReader<R>, problems: &mut Problems) -> Result<Option<Csv<BufReader<R>>>> {
    let buf = r.fill_buf().map_err(Error::io("reading the CSV header"))?;
    let first_line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first_line.iter().filter(|&&b| b == c).count();
    let delimiter = [b';', b',', b'\t'].into_iter().max_by_key(|&c| count(c)).unwrap_or(b',');
    let crlf = first_line.ends_with(b"\r");
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(r);
    let header = match reader.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim_start_matches('\u{feff}').trim().to_owned())
            .collect::<Vec<_>>(),
        Err(e) => {
            problems.add(Loc::Line(1), "header", "", format!("cannot read the CSV header: {e}"));
            return Ok(None);
        }
    };
    if header.iter().all(String::is_empty) {
        problems.add(Loc::File, "header", "", "the file is empty or has no header line");
        return Ok(None);
    }
    let mut seen = std::collections::HashSet::new();
    for h in &header {
        if !seen.insert(h.to_ascii_lowercase()) {
            problems.add(Loc::Line(1), h.clone(), h.clone(), "column appears twice in the header");
        }
    }
    Ok(Some(Csv { reader, delimiter, header, crlf }))
}

/// Records read between two progress updates (an atomic add and, on a
/// terminal, a redraw per row would cost more than parsing some rows).
const PROGRESS_STEP: u64 = 4096;

/// A read error after this many problems ends the file: the input is not a
/// CSV file of this kind, and more messages would say nothing new.
const MAX_PROBLEMS_WHILE_READING: u64 = 10_000;

/// The data rows of a CSV file, with the checks every CSV ingest makes
/// before it looks at a field: a malformed record is reported (file, line)
/// and skipped, every record read is counted and shown as progress, and a
/// record with more or fewer fields than the header is reported and skipped.
pub struct Rows<'p> {
    rec: csv::ByteRecord,
    width: usize,
    count: u64,
    done: bool,
    progress: &'p Progress,
}

impl<'p> Rows<'p> {
    /// Rows of `width` fields (the header's), progress shown on `progress`.
    #[must_use]
    pub fn new(width: usize, progress: &'p Progress) -> Self {
        Self { rec: csv::ByteRecord::new(), width, count: 0, done: false, progress }
    }

    /// The next well-formed row and its 1-based line in the file, or `None`
    /// at the end of the file.
    pub fn next<R: Read>(&mut self, csv: &mut Csv<R>, problems: &mut Problems) -> Option<(&csv::ByteRecord, u64)> {
        if self.done {
            return None;
        }
        loop {
            match csv.reader.read_byte_record(&mut self.rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    problems.add(Loc::Line(csv.line(e.position(), 0)), "(row)", "", format!("malformed CSV: {e}"));
                    if problems.total() > MAX_PROBLEMS_WHILE_READING {
                        break;
                    }
                    continue;
                }
            }
            self.count += 1;
            if self.count.is_multiple_of(PROGRESS_STEP) {
                self.progress.inc(PROGRESS_STEP);
            }
            let line = csv.line(self.rec.position(), self.count + 1);
            if check_width(&self.rec, self.width, line, problems) {
                return Some((&self.rec, line));
            }
        }
        self.done = true;
        self.progress.inc(self.count % PROGRESS_STEP);
        None
    }

    /// Records read so far (well-formed ones, of any width).
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Position of a column by case-insensitive name, trying several aliases.
#[must_use]
pub fn col(header: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| header.iter().position(|h| h.eq_ignore_ascii_case(n)))
}

/// A field as trimmed UTF-8, or a problem.
pub fn field(rec: &csv::ByteRecord, i: usize) -> Result<&str, String> {
    let raw = rec.get(i).unwrap_or_default();
    std::str::from_utf8(raw).map(str::trim).map_err(|_| "not valid UTF-8".to_owned())
}

/// Check a record has exactly as many fields as the header.
pub fn check_width(rec: &csv::ByteRecord, width: usize, line: u64, problems: &mut Problems) -> bool {
    if rec.len() == width {
        return true;
    }
    let what = if rec.len() < width { "missing" } else { "extra" };
    problems.add(
        Loc::Line(line),
        "(row)",
        String::from_utf8_lossy(&rec.as_slice().iter().copied().take(80).collect::<Vec<_>>()).into_owned(),
        format!("{what} columns: expected {width} fields as in the header, found {}", rec.len()),
    );
    false
}

/// Parse an ISO date `YYYY-MM-DD` of a `field` and check it lies in the
/// field's plausible window (funkplan_model::plausible_date, the rule the
/// API applies too); empty = None.
pub fn date(s: &str, field: DateField, today: chrono::NaiveDate) -> Result<Option<chrono::NaiveDate>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "not a date (expected YYYY-MM-DD)".to_owned())?;
    plausible_date(field, d, today).map(Some).map_err(|e| e.reason())
}

/// The file name shown in messages and stored in provenance.
#[must_use]
pub fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

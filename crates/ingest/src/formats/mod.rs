//! The formats the open data is published in (issue 15, item 4), opened in
//! one place: a CSV inside a `.zip` (the census 100 m grid), a GeoPackage
//! (the BKG's VG250) and an ESRI Shapefile (`.shp` beside its `.dbf`/`.prj`,
//! or all of it in a `.zip`).
//!
//! The format is told by the extension *and* the first bytes (`PK\x03\x04`,
//! `SQLite format 3\0`, the shapefile file code 9994), never by guessing
//! from the contents alone; a file whose extension and bytes disagree is
//! refused. Plain GeoJSON and CSV are not touched here, so their paths stay
//! exactly as fast as before.
//!
//! Vector formats are handed to the municipality parser as GeoJSON-shaped
//! features (`serde_json::Value`): one parser checks every feature, whatever
//! the file it came from. Municipality files are small (396 features in NRW,
//! ~11,000 in Germany), so the conversion costs little.

mod gpkg;
mod shp;
mod zip;

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::problem::{Loc, Problem, Problems};
use crate::{source, Crs, Error, Kind, Options, Result};

pub use self::zip::{MAX_EXPANSION_RATIO, MAX_UNCOMPRESSED_BYTES};

/// What a file is, by extension and magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// GeoJSON or CSV: read by the existing parsers, unchanged.
    Plain,
    Zip,
    GeoPackage,
    Shapefile,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// An empty zip (no entries) starts with the end-of-central-directory record.
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// File code 9994, big-endian, at the start of every `.shp`.
const SHP_MAGIC: &[u8] = &[0x00, 0x00, 0x27, 0x0a];

fn ext(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

/// The format of `path`, or a located refusal when the extension names a
/// format whose bytes the file does not have.
pub fn detect(path: &Path) -> Result<Format> {
    let e = ext(path);
    let wanted = match e.as_str() {
        "zip" => Format::Zip,
        "gpkg" => Format::GeoPackage,
        "shp" => Format::Shapefile,
        _ => return Ok(Format::Plain),
    };
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]).map_err(Error::io(format!("reading {}", path.display())))? {
            0 => break,
            k => n += k,
        }
    }
    let head = &head[..n];
    let ok = match wanted {
        Format::Zip => head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC),
        Format::GeoPackage => head.starts_with(SQLITE_MAGIC),
        Format::Shapefile => head.starts_with(SHP_MAGIC),
        Format::Plain => true,
    };
    if !ok {
        let what = match wanted {
            Format::Zip => "a zip archive (it does not start with PK\\x03\\x04)",
            Format::GeoPackage => "a GeoPackage (it is not an SQLite database)",
            _ => "an ESRI Shapefile (it does not start with file code 9994)",
        };
        return Err(refusal(&source::display_name(path), "(format)", format!(".{e}"), format!("the name says .{e} but the file is not {what}")));
    }
    Ok(wanted)
}

/// A byte stream of CSV rows for `path`: the file itself, or the CSV inside
/// a `.zip`, inflated while it is read (never written out, never held whole),
/// A CSV member is the only `.csv` of the archive, or among several the one
/// with the census's published name.
pub fn open_stream(path: &Path) -> Result<Box<dyn Read + Send>> {
    match detect(path)? {
        Format::Zip => zip::open_csv(path),
        Format::Plain => {
            let f = std::fs::File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
            Ok(Box::new(f))
        }
        f => Err(refusal(
            &source::display_name(path),
            "(format)",
            format!("{f:?}"),
            "this kind is read from CSV (or a CSV inside a .zip), not from this format",
        )),
    }
}

/// The name shown in messages for a CSV-kind input: the member for a zip.
pub fn display_name(path: &Path, kind: Kind) -> String {
    if kind != Kind::Municipalities && ext(path) == "zip" {
        if let Ok(Some(member)) = zip::csv_member_name(path) {
            return format!("{}/{member}", source::display_name(path));
        }
    }
    source::display_name(path)
}

/// Municipality features read from a GeoPackage or Shapefile (or a zip of
/// one), in the CRS of the file.
pub struct Features {
    pub features: Vec<Value>,
    pub crs: Crs,
    pub sha256: String,
    /// Where they came from, for messages: `vg250.gpkg layer vg250_gem`.
    pub name: String,
}

/// The features of a vector file that is not GeoJSON, or `None` for a
/// GeoJSON (or other plain) file, which the caller reads as before.
pub fn read_features(path: &Path, opts: &Options) -> Result<Option<Features>> {
    match detect(path)? {
        Format::Plain => Ok(None),
        Format::GeoPackage => gpkg::read(path, opts).map(Some),
        Format::Shapefile => shp::read_path(path, opts).map(Some),
        Format::Zip => zip::read_shapefile(path, opts).map(Some),
    }
}

/// The CRS of the features: the file's own, else `--crs`; both given and
/// different is refused.
fn choose_crs(file: Option<Crs>, cli: Option<Crs>, where_: &str, problems: &mut Problems) -> Option<Crs> {
    match (file, cli) {
        (Some(f), Some(c)) if f != c => {
            problems.add(Loc::File, "crs", f.to_string(), format!("{where_} says {f} but --crs says {c}"));
            None
        }
        (Some(f), _) | (None, Some(f)) => Some(f),
        (None, None) => {
            problems.add(Loc::File, "crs", "(none)", format!("{where_} gives no CRS: name it with --crs (e.g. --crs EPSG:25832)"));
            None
        }
    }
}

/// The whole file refused for one reason (nothing has been read into the
/// database yet, so nothing changes).
fn refusal(name: &str, field: &str, value: impl Into<String>, reason: impl Into<String>) -> Error {
    let problem = Problem { file: name.to_owned(), loc: Loc::File, field: field.to_owned(), value: value.into(), reason: reason.into() };
    Error::Invalid { file: name.to_owned(), problems: vec![problem], total: 1 }
}

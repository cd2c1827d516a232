//! Zip archives: the one usable member, inflated as a stream with a guard
//! against zip bombs.
//!
//! The member's compressed bytes are read straight from the file (offset
//! and length from the central directory) through a raw-deflate decoder
//! that this module owns, so the stream can be handed to the CSV parsers
//! without borrowing the archive and without a temporary file.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use ::zip::{CompressionMethod, ZipArchive};

use super::{refusal, shp, Features};
use crate::{source, Error, Options, Result};

/// No member may expand past 4 GiB (the published census 100 m CSV of all
/// of Germany is ~1.5 GiB) …
pub const MAX_UNCOMPRESSED_BYTES: u64 = 4 << 30;
/// … nor past 200 times its compressed size (plus 1 MiB for tiny members).
/// Real CSV and DBF compress 3–20×; deflate cannot exceed ~1,032×, which is
/// what a zip bomb aims for.
pub const MAX_EXPANSION_RATIO: u64 = 200;

fn limit(compressed: u64) -> u64 {
    MAX_UNCOMPRESSED_BYTES.min(compressed.saturating_mul(MAX_EXPANSION_RATIO).saturating_add(1 << 20))
}

/// One member of the archive, as the central directory declares it.
struct Member {
    index: usize,
    name: String,
    size: u64,
    compressed: u64,
}

fn open_archive(path: &Path) -> Result<(ZipArchive<BufReader<File>>, Vec<Member>)> {
    let name = source::display_name(path);
    let f = File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
    let mut z = ZipArchive::new(BufReader::new(f)).map_err(|e| refusal(&name, "(zip)", "", format!("not a readable zip archive: {e}")))?;
    let mut members = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        let m = z.by_index_raw(i).map_err(|e| refusal(&name, "(zip)", format!("entry {}", i + 1), format!("unreadable zip entry: {e}")))?;
        if m.is_dir() {
            continue;
        }
        let member_name = m.name().map(std::borrow::Cow::into_owned).unwrap_or_else(|_| format!("entry {}", i + 1));
        members.push(Member { index: i, name: member_name, size: m.size(), compressed: m.compressed_size() });
    }
    Ok((z, members))
}

fn base(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn list(members: &[Member]) -> String {
    if members.is_empty() {
        return "it is empty".into();
    }
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).take(20).collect();
    let more = if members.len() > 20 { format!(" and {} more", members.len() - 20) } else { String::new() };
    format!("it holds {}{more}", names.join(", "))
}

/// The published name of the census 100 m population grid; a zip with
/// several CSVs is read by this one when it is among them.
const CENSUS_100M: &str = "zensus2022_bevoelkerungszahl_100m-gitter.csv";

/// The CSV member to read for `kind`: the only `.csv`, or among several the
/// one with the published name; `None` (with the reason) otherwise.
fn pick_csv(members: &[Member]) -> Result<usize, String> {
    let csvs: Vec<usize> =
        (0..members.len()).filter(|&i| base(&members[i].name).to_ascii_lowercase().ends_with(".csv")).collect();
    match csvs.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("no .csv file to read: {}", list(members))),
        several => {
            let published: Vec<usize> = several
                .iter()
                .copied()
                .filter(|&i| base(&members[i].name).eq_ignore_ascii_case(CENSUS_100M))
                .collect();
            if let [one] = published.as_slice() {
                return Ok(*one);
            }
            let names: Vec<&str> = several.iter().map(|&i| members[i].name.as_str()).collect();
            Err(format!("several .csv files, none with a published name: {}; unzip the one you mean", names.join(", ")))
        }
    }
}

/// The CSV member's name, for messages.
pub(super) fn csv_member_name(path: &Path) -> Result<Option<String>> {
    let (_, members) = open_archive(path)?;
    Ok(pick_csv(&members).ok().map(|i| members[i].name.clone()))
}

/// The size checks made before a byte is inflated.
fn check_declared(m: &Member) -> Result<(), String> {
    if m.size > limit(m.compressed) {
        return Err(format!(
            "declares {} bytes from {} compressed, past the limit of {} GiB or {MAX_EXPANSION_RATIO}× the compressed size: a zip bomb?",
            m.size,
            m.compressed,
            MAX_UNCOMPRESSED_BYTES >> 30
        ));
    }
    Ok(())
}

/// The member `index` as a stream of its inflated bytes.
fn stream(path: &Path, z: &mut ZipArchive<BufReader<File>>, m: &Member) -> Result<Inflating> {
    let name = format!("{}/{}", source::display_name(path), m.name);
    check_declared(m).map_err(|e| refusal(&name, "(zip)", m.size.to_string(), e))?;
    let entry = z.by_index_raw(m.index).map_err(|e| refusal(&name, "(zip)", "", format!("unreadable zip entry: {e}")))?;
    if entry.encrypted() {
        return Err(refusal(&name, "(zip)", "", "the entry is encrypted"));
    }
    let method = entry.compression();
    let crc = entry.crc32();
    let start = entry.data_start().ok_or_else(|| refusal(&name, "(zip)", "", "cannot find the entry's data"))?;
    drop(entry);
    let mut f = File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
    f.seek(SeekFrom::Start(start)).map_err(Error::io(format!("seeking in {}", path.display())))?;
    let raw = BufReader::with_capacity(1 << 16, f).take(m.compressed);
    let inner: Box<dyn Read + Send> = match method {
        CompressionMethod::Stored => Box::new(raw),
        CompressionMethod::Deflated => Box::new(flate2::bufread::DeflateDecoder::new(raw)),
        other => return Err(refusal(&name, "(zip)", format!("{other:?}"), "compression method not supported (only stored and deflate)")),
    };
    Ok(Inflating { inner, name, read: 0, declared: m.size, limit: limit(m.compressed), crc: crc32fast::Hasher::new(), expected_crc: crc, tripped: false })
}

/// Inflated bytes of one member, counted while they come: past the limit,
/// past the declared size, or ending short of it or with the wrong CRC-32,
/// the stream fails with a message that names the member.
struct Inflating {
    inner: Box<dyn Read + Send>,
    name: String,
    read: u64,
    declared: u64,
    limit: u64,
    crc: crc32fast::Hasher,
    expected_crc: u32,
    /// After an error the stream ends, so a reader that goes on after it
    /// (the CSV reader does) does not report it again and again.
    tripped: bool,
}

impl Inflating {
    fn bad(&mut self, why: String) -> std::io::Error {
        self.tripped = true;
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {why}", self.name))
    }
}

impl Read for Inflating {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.tripped {
            return Ok(0);
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => return Err(self.bad(format!("cannot inflate: {e}"))),
        };
        self.read += n as u64;
        if self.read > self.limit {
            return Err(self.bad(format!(
                "expands past {} bytes (limit {} GiB or {MAX_EXPANSION_RATIO}× the compressed size): a zip bomb?",
                self.limit,
                MAX_UNCOMPRESSED_BYTES >> 30
            )));
        }
        if self.read > self.declared {
            return Err(self.bad(format!("expands past the {} bytes its header declares: damaged or forged archive", self.declared)));
        }
        self.crc.update(&buf[..n]);
        if n == 0 && !buf.is_empty() {
            if self.read != self.declared {
                return Err(self.bad(format!("ends after {} of its {} bytes: truncated archive", self.read, self.declared)));
            }
            let crc = self.crc.clone().finalize();
            if crc != self.expected_crc {
                return Err(self.bad(format!("CRC-32 {crc:08x} differs from the {:08x} in its header: damaged archive", self.expected_crc)));
            }
        }
        Ok(n)
    }
}

/// The CSV inside a zip, as a stream, and `archive.zip/member.csv`.
pub(super) fn open_csv(path: &Path) -> Result<Box<dyn Read + Send>> {
    let (mut z, members) = open_archive(path)?;
    let i = pick_csv(&members).map_err(|e| refusal(&source::display_name(path), "(zip)", "", e))?;
    Ok(Box::new(stream(path, &mut z, &members[i])?))
}

/// A whole (small) member in memory, within the same limits.
fn read_member(path: &Path, z: &mut ZipArchive<BufReader<File>>, m: &Member) -> Result<Vec<u8>> {
    let mut s = stream(path, z, m)?;
    let mut out = Vec::with_capacity(usize::try_from(m.size.min(64 << 20)).unwrap_or(0));
    let name = s.name.clone();
    s.read_to_end(&mut out).map_err(|e| refusal(&name, "(zip)", "", e.to_string()))?;
    Ok(out)
}

/// The Shapefile inside a zip: its `.shp` with the `.dbf`, `.prj`, `.cpg`
/// of the same base name, read into memory (municipality files are small;
/// each member is still held to the zip-bomb limits).
pub(super) fn read_shapefile(path: &Path, opts: &Options) -> Result<Features> {
    let zname = source::display_name(path);
    let (mut z, members) = open_archive(path)?;
    let shps: Vec<&Member> = members.iter().filter(|m| m.name.to_ascii_lowercase().ends_with(".shp")).collect();
    let shp_member = match shps.as_slice() {
        [one] => *one,
        [] => return Err(refusal(&zname, "(zip)", "", format!("no .shp file to read municipalities from: {}", list(&members)))),
        several => {
            let names: Vec<&str> = several.iter().map(|m| m.name.as_str()).collect();
            let layer = opts.layer.as_deref().map(str::to_ascii_lowercase);
            let chosen: Vec<&&Member> = several
                .iter()
                .filter(|m| layer.as_deref().is_some_and(|l| base(&m.name).to_ascii_lowercase() == format!("{l}.shp")))
                .collect();
            match chosen.as_slice() {
                [one] => **one,
                _ => {
                    return Err(refusal(
                        &zname,
                        "(zip)",
                        opts.layer.clone().unwrap_or_default(),
                        format!("several shapefiles could be the municipalities: {}; choose one with --layer NAME", names.join(", ")),
                    ))
                }
            }
        }
    };
    let stem = &shp_member.name[..shp_member.name.len() - 4];
    let sibling = |ext: &str| members.iter().find(|m| m.name.len() == stem.len() + 4 && m.name.to_ascii_lowercase() == format!("{}.{ext}", stem.to_ascii_lowercase()));
    let (dbf, prj, cpg) = (sibling("dbf"), sibling("prj"), sibling("cpg"));
    let shp_bytes = read_member(path, &mut z, shp_member)?;
    let dbf_bytes = match dbf {
        Some(m) => Some(read_member(path, &mut z, m)?),
        None => None,
    };
    let text = |z: &mut ZipArchive<BufReader<File>>, m: Option<&Member>| -> Result<Option<String>> {
        m.map(|m| read_member(path, z, m).map(|b| String::from_utf8_lossy(&b).into_owned())).transpose()
    };
    let prj_text = text(&mut z, prj)?;
    let cpg_text = text(&mut z, cpg)?;
    let whole = std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&whole));
    let parts = shp::Parts {
        name: format!("{zname}/{}", shp_member.name),
        shp: Cursor::new(shp_bytes),
        dbf: dbf_bytes.map(Cursor::new),
        prj: prj_text,
        cpg: cpg_text,
        sha256: sha,
    };
    shp::read(parts, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str) -> Member {
        Member { index: 0, name: name.into(), size: 10, compressed: 5 }
    }

    #[test]
    fn picks_the_only_csv_or_the_published_one() {
        let one = [m("Readme.pdf"), m("data/Zensus.csv")];
        assert_eq!(pick_csv(&one), Ok(1));
        let several = [m("a.csv"), m("Zensus2022_Bevoelkerungszahl_100m-Gitter.csv"), m("b.CSV")];
        assert_eq!(pick_csv(&several), Ok(1));
        let e = pick_csv(&several[..1].iter().chain(&several[2..]).map(|x| m(&x.name)).collect::<Vec<_>>()).unwrap_err();
        assert!(e.contains("several .csv files") && e.contains("a.csv") && e.contains("b.CSV"), "{e}");
        let e = pick_csv(&[m("x.pdf")]).unwrap_err();
        assert!(e.contains("no .csv file") && e.contains("x.pdf"), "{e}");
    }

    fn inflating(data: &[u8], declared: u64, limit: u64) -> Inflating {
        let mut crc = crc32fast::Hasher::new();
        crc.update(data);
        Inflating {
            inner: Box::new(Cursor::new(data.to_vec())),
            name: "a.zip/b.csv".into(),
            read: 0,
            declared,
            limit,
            crc: crc32fast::Hasher::new(),
            expected_crc: crc.finalize(),
            tripped: false,
        }
    }

    #[test]
    fn inflated_bytes_are_counted_against_the_limits() {
        let data = vec![b'x'; 10_000];
        let mut out = Vec::new();
        assert!(inflating(&data, 10_000, 20_000).read_to_end(&mut out).is_ok());
        assert_eq!(out.len(), 10_000);
        let e = inflating(&data, 10_000, 5_000).read_to_end(&mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("a.zip/b.csv") && e.contains("zip bomb"), "{e}");
        let e = inflating(&data, 4_000, 20_000).read_to_end(&mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("past the 4000 bytes its header declares"), "{e}");
        let e = inflating(&data, 12_000, 20_000).read_to_end(&mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut bad = inflating(&data, 10_000, 20_000);
        bad.expected_crc ^= 1;
        let e = bad.read_to_end(&mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("CRC-32"), "{e}");
        // After an error the stream ends instead of repeating it.
        let mut tripped = inflating(&data, 10_000, 5_000);
        assert!(tripped.read_to_end(&mut Vec::new()).is_err());
        assert_eq!(tripped.read(&mut [0u8; 16]).unwrap(), 0);
    }

    #[test]
    fn declared_sizes_past_the_limits_are_refused() {
        assert!(check_declared(&Member { index: 0, name: "a".into(), size: 1 << 20, compressed: 10 }).is_ok());
        assert!(check_declared(&Member { index: 0, name: "a".into(), size: 300 << 20, compressed: 1 << 20 }).is_err());
        assert!(check_declared(&Member { index: 0, name: "a".into(), size: 5 << 30, compressed: 1 << 30 }).is_err());
        assert!(check_declared(&Member { index: 0, name: "a".into(), size: 150 << 20, compressed: 1 << 20 }).is_ok());
    }
}

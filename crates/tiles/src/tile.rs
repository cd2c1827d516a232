//! The WebMercatorQuad tile matrix set and the projection between the 100 m
//! grid (EPSG:25832) and Web Mercator (EPSG:3857).
//!
//! Why proj4rs for UTM and a formula for Web Mercator: the transverse
//! Mercator of the grid needs the ellipsoid series proj4rs implements (the
//! ingest uses the same library), while spherical Web Mercator is two lines.
//! ETRS89 and WGS84 differ by well under a metre, far below a tile pixel
//! at any zoom the tilesets serve.

use std::sync::OnceLock;

use proj4rs::proj::Proj;

use crate::Error;

/// Earth radius of Web Mercator (metres).
const R: f64 = 6_378_137.0;
/// Half the width of the Web Mercator square (metres).
pub const HALF: f64 = std::f64::consts::PI * R;
/// The highest zoom any tileset serves (clients overzoom beyond their
/// tileset's `maxzoom`); WebMercatorQuad itself defines 0..=24.
pub const MAX_ZOOM: u8 = 22;

/// One tile of WebMercatorQuad: zoom (tile matrix), column `x`, row `y`
/// (row 0 at the north, as XYZ and OGC API – Tiles count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Zoom level = tile matrix id.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row (from the north).
    pub y: u32,
}

/// A box in Web Mercator metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MercBox {
    /// West.
    pub minx: f64,
    /// South.
    pub miny: f64,
    /// East.
    pub maxx: f64,
    /// North.
    pub maxy: f64,
}

/// A half-open rectangle of grid cells in hectometres of EPSG:25832
/// (`n0..n1` northings, `e0..e1` eastings of the cells' south-west corners).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRect {
    /// First northing (hm).
    pub n0: i32,
    /// Past the last northing (hm).
    pub n1: i32,
    /// First easting (hm).
    pub e0: i32,
    /// Past the last easting (hm).
    pub e1: i32,
}

impl TileId {
    /// A tile from the path's three parts, `y` possibly with its `.mvt`
    /// suffix. Not a number → [`Error::BadTile`] (400); a zoom beyond
    /// `maxzoom` or a column/row outside the zoom's matrix →
    /// [`Error::OutOfRange`] (404: a well-formed tile the tileset does not
    /// have).
    ///
    /// # Errors
    /// As above.
    pub fn parse(z: &str, x: &str, y: &str, maxzoom: u8) -> Result<Self, Error> {
        let num = |what: &'static str, s: &str| -> Result<u32, Error> {
            s.parse::<u32>().map_err(|_| Error::BadTile(format!("{what} `{s}` is not a whole number ≥ 0")))
        };
        let y = y.strip_suffix(".mvt").or_else(|| y.strip_suffix(".pbf")).unwrap_or(y);
        let (zn, xn, yn) = (num("zoom", z)?, num("column x", x)?, num("row y", y)?);
        if zn > u32::from(maxzoom) {
            return Err(Error::OutOfRange(format!("zoom {zn} is beyond this tileset's zoom levels 0…{maxzoom}")));
        }
        let z = u8::try_from(zn).map_err(|_| Error::OutOfRange(format!("zoom {zn}")))?;
        let n = 1u32 << z;
        if xn >= n || yn >= n {
            return Err(Error::OutOfRange(format!("tile {z}/{xn}/{yn}: column and row of zoom {z} run from 0 to {}", n - 1)));
        }
        Ok(Self { z, x: xn, y: yn })
    }

    /// The tile's edge length in Web Mercator metres.
    #[must_use]
    pub fn size(&self) -> f64 {
        2.0 * HALF / f64::from(1u32 << self.z)
    }

    /// The tile's bounds in Web Mercator metres.
    #[must_use]
    pub fn bounds(&self) -> MercBox {
        let s = self.size();
        let minx = -HALF + f64::from(self.x) * s;
        let maxy = HALF - f64::from(self.y) * s;
        MercBox { minx, miny: maxy - s, maxx: minx + s, maxy }
    }

    /// The grid cells (in hectometres) that may touch the tile, padded by
    /// `pad` cells: the bounding box of the tile's outline in EPSG:25832.
    /// The outline is sampled densely, since a parallel of Web Mercator is a
    /// curve in UTM (some 250 m of bow over a zoom-8 tile).
    #[must_use]
    pub fn cell_rect(&self, pad: i32) -> CellRect {
        let b = self.bounds();
        let (mut emin, mut emax, mut nmin, mut nmax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        const STEPS: u32 = 16;
        for i in 0..=STEPS {
            let t = f64::from(i) / f64::from(STEPS);
            let x = b.minx + t * (b.maxx - b.minx);
            let y = b.miny + t * (b.maxy - b.miny);
            for (px, py) in [(x, b.miny), (x, b.maxy), (b.minx, y), (b.maxx, y)] {
                let (e, n) = merc_to_utm(px, py);
                emin = emin.min(e);
                emax = emax.max(e);
                nmin = nmin.min(n);
                nmax = nmax.max(n);
            }
        }
        let hm = |v: f64| (v / 100.0).clamp(-2e9, 2e9);
        #[allow(clippy::cast_possible_truncation)] // clamped above
        CellRect {
            n0: hm(nmin).floor() as i32 - pad,
            n1: hm(nmax).floor() as i32 + 1 + pad,
            e0: hm(emin).floor() as i32 - pad,
            e1: hm(emax).floor() as i32 + 1 + pad,
        }
    }
}

impl MercBox {
    /// Whether two boxes share an area (touching edges do not count).
    #[must_use]
    pub fn overlaps(&self, o: &Self) -> bool {
        self.minx < o.maxx && o.minx < self.maxx && self.miny < o.maxy && o.miny < self.maxy
    }
}

/// The two projections of EPSG:25832 (GRS80, the ingest's definition) to
/// and from geographic coordinates; built once.
struct Utm {
    utm: Proj,
    geo: Proj,
}

fn utm() -> &'static Utm {
    static P: OnceLock<Utm> = OnceLock::new();
    P.get_or_init(|| Utm {
        // Both strings are constants that proj4rs parses (tested); a failure
        // here is a bug of this crate, not of any input.
        #[allow(clippy::expect_used)]
        utm: Proj::from_proj_string("+proj=utm +zone=32 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs").expect("UTM 32 definition"),
        #[allow(clippy::expect_used)]
        geo: Proj::from_proj_string("+proj=longlat +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +no_defs").expect("geographic definition"),
    })
}

/// Longitude and latitude (degrees) to Web Mercator metres.
#[must_use]
pub fn lonlat_to_merc(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    (R * lon.to_radians(), R * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln())
}

/// Web Mercator metres to longitude and latitude (degrees).
#[must_use]
pub fn merc_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    ((x / R).to_degrees(), (2.0 * (y / R).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees())
}

/// EPSG:25832 (easting, northing) to longitude and latitude (degrees);
/// NaN where proj4rs finds no position.
#[must_use]
pub fn utm_to_lonlat(e: f64, n: f64) -> (f64, f64) {
    let p = utm();
    let mut pt = (e, n, 0.0);
    match proj4rs::transform::transform(&p.utm, &p.geo, &mut pt) {
        Ok(()) => (pt.0.to_degrees(), pt.1.to_degrees()),
        Err(_) => (f64::NAN, f64::NAN),
    }
}

/// EPSG:25832 (easting, northing) to Web Mercator metres.
#[must_use]
pub fn utm_to_merc(e: f64, n: f64) -> (f64, f64) {
    let (lon, lat) = utm_to_lonlat(e, n);
    lonlat_to_merc(lon, lat)
}

/// Web Mercator metres to EPSG:25832 (easting, northing).
#[must_use]
pub fn merc_to_utm(x: f64, y: f64) -> (f64, f64) {
    let (lon, lat) = merc_to_lonlat(x, y);
    let p = utm();
    let mut pt = (lon.to_radians(), lat.to_radians(), 0.0);
    match proj4rs::transform::transform(&p.geo, &p.utm, &mut pt) {
        Ok(()) => (pt.0, pt.1),
        Err(_) => (f64::NAN, f64::NAN),
    }
}

/// The tile (at zoom `z`) holding a Web Mercator point.
#[must_use]
pub fn tile_at(z: u8, x: f64, y: f64) -> TileId {
    let n = f64::from(1u32 << z);
    let s = 2.0 * HALF / n;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to 0..n
    let col = |v: f64| (v / s).floor().clamp(0.0, n - 1.0) as u32;
    TileId { z, x: col(x + HALF), y: col(HALF - y) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_parsed_and_range_checked() {
        assert_eq!(TileId::parse("12", "2138", "1369.mvt", 16).ok(), Some(TileId { z: 12, x: 2138, y: 1369 }));
        assert_eq!(TileId::parse("0", "0", "0", 16).ok(), Some(TileId { z: 0, x: 0, y: 0 }));
        assert!(matches!(TileId::parse("a", "0", "0", 16), Err(Error::BadTile(_))));
        assert!(matches!(TileId::parse("1", "-1", "0", 16), Err(Error::BadTile(_))));
        assert!(matches!(TileId::parse("1", "0", "0.png", 16), Err(Error::BadTile(_))));
        assert!(matches!(TileId::parse("17", "0", "0", 16), Err(Error::OutOfRange(_))));
        assert!(matches!(TileId::parse("4", "16", "0", 16), Err(Error::OutOfRange(_))));
        assert!(matches!(TileId::parse("4", "0", "16", 16), Err(Error::OutOfRange(_))));
        assert!(matches!(TileId::parse("99999999999", "0", "0", 16), Err(Error::BadTile(_))));
    }

    #[test]
    fn projections_round_trip_and_match_known_points() {
        // A point in Düsseldorf; the reference values are GDAL's
        // (gdaltransform -s_srs EPSG:25832 -t_srs EPSG:4326 / EPSG:3857).
        let (e, n) = (344_360.0, 5_677_460.0);
        let (lon, lat) = utm_to_lonlat(e, n);
        assert!((lon - 6.770_917_563).abs() < 1e-7 && (lat - 51.227_273_560).abs() < 1e-7, "{lon} {lat}");
        let (x, y) = utm_to_merc(e, n);
        assert!((x - 753_735.095).abs() < 0.01 && (y - 6_661_594.676).abs() < 0.01, "{x} {y}");
        let (e2, n2) = merc_to_utm(x, y);
        assert!((e - e2).abs() < 1e-3 && (n - n2).abs() < 1e-3, "{e2} {n2}");
        // The tile of Düsseldorf at z 12 (as any XYZ calculator gives it).
        assert_eq!(tile_at(12, x, y), TileId { z: 12, x: 2125, y: 1367 });
    }

    #[test]
    fn a_tile_rect_holds_the_tile() {
        let t = TileId { z: 10, x: 531, y: 342 };
        let r = t.cell_rect(0);
        let b = t.bounds();
        for (x, y) in [(b.minx, b.miny), (b.maxx, b.maxy), ((b.minx + b.maxx) / 2.0, b.maxy)] {
            let (e, n) = merc_to_utm(x, y);
            let (e, n) = ((e / 100.0).floor() as i32, (n / 100.0).floor() as i32);
            assert!(r.e0 <= e && e < r.e1 && r.n0 <= n && n < r.n1);
        }
    }
}

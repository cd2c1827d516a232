//! Coordinate reference systems the ingest understands, and reprojection to
//! the working CRS EPSG:25832 with proj4rs.
//!
//! All supported systems sit on ETRS89/GRS80 or WGS84, which agree to well
//! under a metre in Germany, so no datum grid is needed; the Gauss-Krüger
//! zones (DHDN) carry the usual 7-parameter Helmert shift (which differs
//! from the official BeTA2007 grid, which PostGIS uses, by up to 2.3 m at
//! NRW's municipality centroids; tests/crs_real.rs).
//!
//! Which coordinates are accepted does not depend on a CRS's nominal zone:
//! official files span a whole state in one zone (BKG boundaries of all NRW
//! in Gauss-Krüger zone 3 reach 1.6° west of it), and proj4rs's exact
//! transverse Mercator agrees with PROJ to about a millimetre over all of
//! NRW in every supported CRS, even 9° from UTM 33's meridian. So a
//! coordinate is accepted when, projected to EPSG:25832, it lies in
//! Germany's bounding box there plus [`MARGIN_M`] ([`ACCEPTED_25832`]). A
//! coordinate that does not is refused with the likely mistake named
//! ([`Mistake`]): swapped axes, degrees for a metric CRS or metres for a
//! geographic one, a Gauss-Krüger easting without its zone prefix or with a
//! digit too many, a UTM easting with its zone number in front, or a point
//! far outside Germany. Finding the mistake costs a few extra projections,
//! but only for refused coordinates; an accepted one costs two box tests.

use std::sync::OnceLock;

use proj4rs::proj::Proj;

/// A CRS given by its EPSG code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Crs(pub u32);

impl Crs {
    pub const WGS84: Crs = Crs(4326);
    pub const ETRS89: Crs = Crs(4258);
    pub const UTM32: Crs = Crs(25832);
    pub const LAEA: Crs = Crs(3035);

    /// The codes `--crs` accepts.
    pub const SUPPORTED: &'static [u32] = &[4326, 4258, 25832, 25833, 3035, 31466, 31467];

    fn proj_string(self) -> Option<&'static str> {
        Some(match self.0 {
            4326 => "+proj=longlat +ellps=WGS84 +towgs84=0,0,0,0,0,0,0 +no_defs",
            4258 => "+proj=longlat +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +no_defs",
            25832 => "+proj=utm +zone=32 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
            25833 => "+proj=utm +zone=33 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
            3035 => "+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
            31466 => "+proj=tmerc +lat_0=0 +lon_0=6 +k=1 +x_0=2500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
            31467 => "+proj=tmerc +lat_0=0 +lon_0=9 +k=1 +x_0=3500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
            _ => return None,
        })
    }

    #[must_use]
    pub fn is_geographic(self) -> bool {
        matches!(self.0, 4326 | 4258)
    }

    /// Parse `EPSG:25832`, `epsg:25832`, `25832`, or the GeoJSON `crs`
    /// member names `urn:ogc:def:crs:EPSG::25832` and
    /// `urn:ogc:def:crs:OGC:1.3:CRS84` (= 4326 in lon/lat order).
    pub fn parse(s: &str) -> Result<Crs, String> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if lower.ends_with("crs84") {
            return Ok(Crs::WGS84);
        }
        let code = lower
            .strip_prefix("epsg:")
            .or_else(|| lower.rsplit_once("epsg::").map(|(_, c)| c))
            .or_else(|| lower.rsplit_once("/epsg/0/").map(|(_, c)| c))
            .unwrap_or(&lower);
        let n: u32 = code.parse().map_err(|_| format!("cannot read CRS {t:?}; give it as EPSG:n"))?;
        let crs = Crs(n);
        if crs.proj_string().is_none() {
            return Err(format!(
                "CRS EPSG:{n} is not supported; supported: {}",
                Self::SUPPORTED.iter().map(|c| format!("EPSG:{c}")).collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(crs)
    }

    /// A box in the CRS's own units (min x, min y, max x, max y) that holds
    /// the whole accepted region ([`ACCEPTED_25832`], Germany + margin) with
    /// a little to spare (tested): a cheap test before projecting, and what
    /// tells which coordinate of a pair is off. It is not the acceptance
    /// test itself, which [`ToUtm32::project`] makes after projecting.
    #[must_use]
    pub fn valid_area(self) -> (f64, f64, f64, f64) {
        match self.0 {
            4326 | 4258 => (2.0, 45.1, 19.2, 57.0),
            25832 => ACCEPTED_25832,
            25833 => (-400_000.0, 5_000_000.0, 760_000.0, 6_360_000.0),
            3035 => (3_810_000.0, 2_470_000.0, 4_890_000.0, 3_760_000.0),
            31466 => (2_250_000.0, 5_020_000.0, 3_370_000.0, 6_340_000.0),
            31467 => (3_070_000.0, 5_030_000.0, 4_130_000.0, 6_310_000.0),
            _ => (f64::NEG_INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::INFINITY),
        }
    }

    /// Whether (x, y) is finite and inside [`Crs::valid_area`] (without
    /// projecting); the reason, with the likely mistake, when not.
    pub fn check(self, x: f64, y: f64) -> Result<(), String> {
        if self.in_valid_area(x, y) {
            return Ok(());
        }
        Err(match ToUtm32::shared(self) {
            Some(t) => t.refusal(x, y),
            None => format!("CRS {self} is not supported"),
        })
    }

    fn in_valid_area(self, x: f64, y: f64) -> bool {
        let (x0, y0, x1, y1) = self.valid_area();
        // False for NaN too.
        x >= x0 && x <= x1 && y >= y0 && y <= y1
    }

    /// The Gauss-Krüger zone of a DHDN CRS (its eastings start with it).
    fn gk_zone(self) -> Option<u8> {
        match self.0 {
            31466 => Some(2),
            31467 => Some(3),
            _ => None,
        }
    }

    /// The UTM zone of an ETRS89 / UTM CRS.
    fn utm_zone(self) -> Option<u8> {
        match self.0 {
            25832 => Some(32),
            25833 => Some(33),
            _ => None,
        }
    }
}

/// Germany's extent in EPSG:25832 (min E, min N, max E, max N), from its
/// extreme points: Isenbruch 5.87°E, the Neiße near Zittau 15.04°E,
/// Haldenwanger Eck 47.27°N, List on Sylt 55.06°N (tested).
pub const GERMANY_25832: (f64, f64, f64, f64) = (280_000.0, 5_235_000.0, 922_000.0, 6_102_000.0);

/// How far beyond Germany's extent a coordinate may lie: 200 km, about 2.9°
/// of longitude and 1.8° of latitude. Files of border states reach into
/// the neighbours; more than this is a mistake, not data about Germany.
pub const MARGIN_M: f64 = 200_000.0;

/// The accepted region in EPSG:25832: [`GERMANY_25832`] grown by
/// [`MARGIN_M`] on every side (a box, so the test per vertex is four
/// comparisons). It spans about 2.1–19.1°E and 45.2–56.9°N.
pub const ACCEPTED_25832: (f64, f64, f64, f64) =
    (GERMANY_25832.0 - MARGIN_M, GERMANY_25832.1 - MARGIN_M, GERMANY_25832.2 + MARGIN_M, GERMANY_25832.3 + MARGIN_M);

fn accepted(e: f64, n: f64) -> bool {
    let (e0, n0, e1, n1) = ACCEPTED_25832;
    e >= e0 && e <= e1 && n >= n0 && n <= n1
}

/// What is likely wrong with a refused coordinate, most specific first
/// (see [`ToUtm32::diagnose`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Mistake {
    #[error("not a finite number")]
    NotFinite,
    #[error(
        "these look like degrees ({}), not metres: the data is probably in EPSG:4326 (WGS84 lon/lat), not in the CRS given (by --crs or the file's `crs`)",
        if *.lat_first { "latitude first" } else { "longitude, latitude" }
    )]
    Degrees { lat_first: bool },
    #[error("these look like metres of a projected CRS, not degrees: as {} they would lie in Germany; give the file's CRS with --crs", crs_list(.fits))]
    Metres { fits: Vec<Crs> },
    #[error("x and y look swapped: as ({y}, {x}) the point would lie in Germany; give the easting (or longitude) first")]
    Swapped { x: f64, y: f64 },
    #[error("the easting {x} lacks the Gauss-Krüger zone prefix: zone {zone} eastings have 7 digits and start with {zone} ({fixed})")]
    MissingZonePrefix { zone: u8, x: f64, fixed: f64 },
    #[error("the easting {x} has a digit too many (an extra zone prefix?): zone {zone} eastings have 7 digits ({fixed} would lie in Germany)")]
    ExtraDigit { zone: u8, x: f64, fixed: f64 },
    #[error("the easting starts with {found}, not {zone}: a Gauss-Krüger zone {found} coordinate, so the CRS is probably {crs}")]
    OtherZone { zone: u8, found: u8, crs: Crs },
    #[error("the easting {x} carries the UTM zone number {zone} in front; without it ({fixed}) it would lie in Germany")]
    UtmZonePrefix { zone: u8, x: f64, fixed: f64 },
    #[error("at {} it lies more than 200 km outside Germany; is the CRS right?", degrees(*.lon, *.lat))]
    OutsideGermany { lon: f64, lat: f64 },
    #[error("it is no position on Earth in this CRS; is the CRS right?")]
    NoPosition,
}

/// Where (x, y) of `crs` lies in degrees, if it is a position on Earth:
/// its longitude and latitude within ±180° and ±90°, and for a projected
/// CRS reprojecting them back gives (x, y) again (far outside its domain,
/// a projection's inverse returns numbers that are no position).
fn lon_lat(crs: Crs, x: f64, y: f64) -> Option<(f64, f64)> {
    let on_earth = |(lon, lat): (f64, f64)| lon.abs() <= 180.0 && lat.abs() <= 90.0;
    if crs.is_geographic() {
        return Some((x, y)).filter(|&p| on_earth(p));
    }
    static BOTH_WAYS: OnceLock<Vec<(Crs, Transformer, Transformer)>> = OnceLock::new();
    let all = BOTH_WAYS.get_or_init(|| {
        Crs::SUPPORTED
            .iter()
            .filter_map(|&n| Some((Crs(n), Transformer::new(Crs(n), Crs::WGS84).ok()?, Transformer::new(Crs::WGS84, Crs(n)).ok()?)))
            .collect()
    });
    let (_, to, from) = all.iter().find(|(c, _, _)| *c == crs)?;
    let p = to.transform(x, y).ok().filter(|&p| on_earth(p))?;
    let back = from.transform(p.0, p.1).ok()?;
    ((back.0 - x).abs() < 1.0 && (back.1 - y).abs() < 1.0).then_some(p)
}

fn crs_list(c: &[Crs]) -> String {
    c.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or ")
}

fn degrees(lon: f64, lat: f64) -> String {
    let (ew, ns) = (if lon < 0.0 { 'W' } else { 'E' }, if lat < 0.0 { 'S' } else { 'N' });
    format!("{:.2}°{ew} {:.2}°{ns}", lon.abs(), lat.abs())
}

impl std::fmt::Display for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EPSG:{}", self.0)
    }
}

/// Reprojects from one CRS into EPSG:25832. Cheap to clone.
#[derive(Clone)]
pub struct ToUtm32 {
    from: Crs,
    src: Proj,
    dst: Proj,
}

impl ToUtm32 {
    pub fn new(from: Crs) -> Result<Self, String> {
        let p = |c: Crs| -> Result<Proj, String> {
            let s = c.proj_string().ok_or_else(|| format!("CRS {c} is not supported"))?;
            Proj::from_proj_string(s).map_err(|e| format!("proj string for {c}: {e}"))
        };
        Ok(Self { from, src: p(from)?, dst: p(Crs::UTM32)? })
    }

    #[must_use]
    pub fn from_crs(&self) -> Crs {
        self.from
    }

    /// (x, y) in the source CRS (degrees lon/lat for geographic ones) to
    /// (easting, northing) in EPSG:25832 metres, when it lies in the
    /// accepted region ([`ACCEPTED_25832`]); the reason, with the likely
    /// mistake, when not.
    pub fn project(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        self.place(x, y).ok_or_else(|| self.refusal(x, y))
    }

    /// The position of (x, y) in EPSG:25832 if it is accepted.
    fn place(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        if !self.from.in_valid_area(x, y) {
            return None;
        }
        let (e, n) = self.transform(x, y)?;
        accepted(e, n).then_some((e, n))
    }

    /// (x, y) to EPSG:25832 without any check; `None` when it has no finite
    /// position there.
    fn transform(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        if self.from == Crs::UTM32 {
            return Some((x, y));
        }
        let mut p = if self.from.is_geographic() { (x.to_radians(), y.to_radians(), 0.0) } else { (x, y, 0.0) };
        proj4rs::transform::transform(&self.src, &self.dst, &mut p).ok()?;
        (p.0.is_finite() && p.1.is_finite()).then_some((p.0, p.1))
    }

    /// One instance per supported CRS, built on first use: a diagnosis
    /// tries several CRSs, and a bad file can have millions of refused rows.
    fn shared(c: Crs) -> Option<&'static ToUtm32> {
        static ALL: OnceLock<Vec<ToUtm32>> = OnceLock::new();
        ALL.get_or_init(|| Crs::SUPPORTED.iter().filter_map(|&n| ToUtm32::new(Crs(n)).ok()).collect()).iter().find(|t| t.from == c)
    }

    /// The message for a refused (x, y): the coordinate, the CRS and what
    /// is likely wrong.
    pub(crate) fn refusal(&self, x: f64, y: f64) -> String {
        match self.diagnose(x, y) {
            Mistake::NotFinite => "coordinate is not a finite number".to_owned(),
            m => format!("coordinate ({x}, {y}) lies outside the valid area of {} (Germany and 200 km around it): {m}", self.from),
        }
    }

    /// What is likely wrong with a refused (x, y). Each hint is tried in
    /// turn, the most specific first, and given only when the corrected
    /// coordinate would be accepted (so "swapped" means that (y, x) lies in
    /// Germany); if none fits, where the point lies. Only refused
    /// coordinates come here, so the extra projections cost nothing on
    /// good files.
    #[must_use]
    pub fn diagnose(&self, x: f64, y: f64) -> Mistake {
        if !x.is_finite() || !y.is_finite() {
            return Mistake::NotFinite;
        }
        let fits_as = |c: Crs, x: f64, y: f64| ToUtm32::shared(c).is_some_and(|t| t.place(x, y).is_some());
        if self.from.is_geographic() {
            let fits: Vec<Crs> = Crs::SUPPORTED.iter().map(|&c| Crs(c)).filter(|&c| !c.is_geographic() && fits_as(c, x, y)).collect();
            if !fits.is_empty() {
                return Mistake::Metres { fits };
            }
        } else if x.abs() <= 180.0 && y.abs() <= 90.0 {
            if fits_as(Crs::WGS84, x, y) {
                return Mistake::Degrees { lat_first: false };
            }
            if fits_as(Crs::WGS84, y, x) {
                return Mistake::Degrees { lat_first: true };
            }
        }
        if self.place(y, x).is_some() {
            return Mistake::Swapped { x, y };
        }
        if let Some(zone) = self.from.gk_zone() {
            let prefix = f64::from(zone) * 1e6;
            if (0.0..1e6).contains(&x) && self.place(x + prefix, y).is_some() {
                return Mistake::MissingZonePrefix { zone, x, fixed: x + prefix };
            }
            if x >= 1e7 {
                // 33287000 (zone digit twice) or 32870000 (a digit appended).
                if let Some(fixed) = [x % 1e7, (x / 10.0).trunc()].into_iter().find(|&f| self.place(f, y).is_some()) {
                    return Mistake::ExtraDigit { zone, x, fixed };
                }
            }
            if (1e6..1e7).contains(&x) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let found = (x / 1e6) as u8;
                let other = Crs(31464 + u32::from(found));
                if found != zone && other.gk_zone() == Some(found) && fits_as(other, x, y) {
                    return Mistake::OtherZone { zone, found, crs: other };
                }
            }
        }
        if let Some(zone) = self.from.utm_zone() {
            let fixed = x - f64::from(zone) * 1e6;
            if x >= 1e7 && self.place(fixed, y).is_some() {
                return Mistake::UtmZonePrefix { zone, x, fixed };
            }
        }
        match lon_lat(self.from, x, y) {
            Some((lon, lat)) => Mistake::OutsideGermany { lon, lat },
            None => Mistake::NoPosition,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from PostGIS 3.3 `ST_Transform` (PROJ), to the centimetre.
    #[test]
    fn wgs84_to_utm32_matches_proj() {
        let t = ToUtm32::new(Crs::WGS84).unwrap();
        // Cologne cathedral, lon 6.958, lat 50.941.
        let (e, n) = t.project(6.958, 50.941).unwrap();
        assert!((e - 356_538.262).abs() < 0.01, "{e}");
        assert!((n - 5_645_249.363).abs() < 0.01, "{n}");
        // On the central meridian 9°E the easting is exactly 500 km.
        let (e, _) = t.project(9.0, 51.0).unwrap();
        assert!((e - 500_000.0).abs() < 1e-6, "{e}");
    }

    #[test]
    fn laea_origin_and_known_point() {
        let t = ToUtm32::new(Crs::LAEA).unwrap();
        // The LAEA false origin is lon 10°E, lat 52°N.
        let (e, n) = t.project(4_321_000.0, 3_210_000.0).unwrap();
        let g = ToUtm32::new(Crs::WGS84).unwrap();
        let (e2, n2) = g.project(10.0, 52.0).unwrap();
        assert!((e - e2).abs() < 0.01 && (n - n2).abs() < 0.01, "{e} {n} vs {e2} {n2}");
        // A census cell centre near Mönchengladbach.
        let (e, n) = t.project(4_065_500.0, 3_130_500.0).unwrap();
        assert!((e - 314_320.597).abs() < 0.01 && (n - 5_678_534.897).abs() < 0.01, "{e} {n}");
    }

    #[test]
    fn parses_crs_names() {
        assert_eq!(Crs::parse("EPSG:25832").unwrap(), Crs::UTM32);
        assert_eq!(Crs::parse("urn:ogc:def:crs:EPSG::3035").unwrap(), Crs::LAEA);
        assert_eq!(Crs::parse("urn:ogc:def:crs:OGC:1.3:CRS84").unwrap(), Crs::WGS84);
        assert!(Crs::parse("EPSG:2056").unwrap_err().contains("not supported"));
        assert!(Crs::parse("foo").is_err());
    }

    #[test]
    fn rejects_outside_valid_area() {
        let t = ToUtm32::new(Crs::WGS84).unwrap();
        assert!(t.project(200.0, 51.0).is_err());
        assert!(t.project(f64::NAN, 51.0).is_err());
    }
}

/// The accepted region and the classification of mistakes (issue 15).
#[cfg(test)]
mod area_tests {
    use super::*;

    /// Germany's extreme points (lon, lat): Isenbruch (W), the Neiße near
    /// Zittau (E), Haldenwanger Eck (S), List on Sylt (N); and NRW's:
    /// Selfkant (W, the Gauss-Krüger zone 3 problem of issue 15), Höxter
    /// (E), Hallenberg (S), Rahden (N).
    const EXTREMES: [(f64, f64); 8] =
        [(5.866, 51.05), (15.042, 51.27), (10.178, 47.27), (8.416, 55.058), (5.866, 51.05), (9.46, 51.62), (8.6, 50.32), (8.7, 52.53)];

    fn from_wgs84(to: Crs, lon: f64, lat: f64) -> (f64, f64) {
        Transformer::new(Crs::WGS84, to).unwrap().transform(lon, lat).unwrap()
    }

    fn all() -> impl Iterator<Item = Crs> {
        Crs::SUPPORTED.iter().map(|&c| Crs(c))
    }

    #[test]
    fn every_crs_accepts_all_of_germany_whatever_its_zone() {
        let wgs = ToUtm32::new(Crs::WGS84).unwrap();
        for crs in all() {
            let t = ToUtm32::new(crs).unwrap();
            for &(lon, lat) in &EXTREMES {
                let (x, y) = from_wgs84(crs, lon, lat);
                let got = t.project(x, y).unwrap_or_else(|e| panic!("{crs} ({lon}, {lat}) = ({x}, {y}): {e}"));
                let want = wgs.project(lon, lat).unwrap();
                assert!((got.0 - want.0).abs() < 0.001 && (got.1 - want.1).abs() < 0.001, "{crs}: {got:?} vs {want:?}");
                assert!(crs.check(x, y).is_ok());
            }
        }
        // The whole-NRW file in zone 3 of issue 15: Selfkant lies west of 3,300,000.
        let (x, _) = from_wgs84(Crs(31467), 5.866, 51.05);
        assert!(x < 3_290_000.0, "{x}");
    }

    #[test]
    fn the_accepted_region_is_germany_and_200_km() {
        let wgs = ToUtm32::new(Crs::WGS84).unwrap();
        let (e0, n0, e1, n1) = GERMANY_25832;
        for &(lon, lat) in &EXTREMES[..4] {
            let (e, n) = Transformer::new(Crs::WGS84, Crs::UTM32).unwrap().transform(lon, lat).unwrap();
            // Each extreme point is within 2 km of its side of the box.
            assert!(e >= e0 && e <= e1 && n >= n0 && n <= n1, "({lon}, {lat}) = ({e}, {n})");
            assert!([e - e0, e1 - e, n - n0, n1 - n].iter().any(|d| *d < 2_000.0), "({lon}, {lat}) = ({e}, {n})");
            assert!(wgs.project(lon, lat).is_ok());
        }
        // Brussels, Strasbourg, Prague, Copenhagen, Szczecin: within the margin.
        for (lon, lat) in [(4.35, 50.85), (7.75, 48.58), (14.42, 50.08), (12.57, 55.68), (14.55, 53.43)] {
            assert!(wgs.project(lon, lat).is_ok(), "({lon}, {lat})");
        }
        // Madrid, London, Rome, Oslo, Warsaw: refused.
        for (lon, lat) in [(-3.70, 40.42), (-0.13, 51.51), (12.5, 41.9), (10.75, 59.91), (21.01, 52.23)] {
            let e = wgs.project(lon, lat).unwrap_err();
            assert!(e.contains("more than 200 km outside Germany"), "({lon}, {lat}): {e}");
        }
    }

    /// The raw box of each CRS holds the whole accepted region, so the cheap
    /// first test never refuses an acceptable coordinate.
    #[test]
    fn valid_area_holds_the_accepted_region() {
        let (e0, n0, e1, n1) = ACCEPTED_25832;
        let mut edge = Vec::new();
        for k in 0..=400 {
            let f = f64::from(k) / 400.0;
            let (e, n) = (e0 + f * (e1 - e0), n0 + f * (n1 - n0));
            edge.extend([(e, n0), (e, n1), (e0, n), (e1, n)]);
        }
        for crs in all() {
            let t = Transformer::new(Crs::UTM32, crs).unwrap();
            for &(e, n) in &edge {
                let (x, y) = if crs == Crs::UTM32 { (e, n) } else { t.transform(e, n).unwrap() };
                assert!(crs.in_valid_area(x, y), "{crs}: ({e}, {n}) = ({x}, {y}) outside {:?}", crs.valid_area());
            }
        }
    }

    fn diagnose(crs: Crs, x: f64, y: f64) -> Mistake {
        let t = ToUtm32::new(crs).unwrap();
        let e = t.project(x, y).expect_err("should be refused");
        let m = t.diagnose(x, y);
        if m != Mistake::NotFinite {
            assert!(e.contains(&m.to_string()) && e.contains(&format!("valid area of {crs}")), "{e}");
        }
        m
    }

    #[test]
    fn names_swapped_axes_in_every_crs() {
        for crs in all() {
            let (x, y) = from_wgs84(crs, 6.958, 50.941);
            assert_eq!(diagnose(crs, y, x), Mistake::Swapped { x: y, y: x }, "{crs}");
        }
        let e = ToUtm32::new(Crs::UTM32).unwrap().project(5_645_249.0, 356_538.0).unwrap_err();
        assert!(e.contains("x and y look swapped"), "{e}");
    }

    #[test]
    fn names_degrees_given_for_a_metric_crs() {
        for crs in all().filter(|c| !c.is_geographic()) {
            assert_eq!(diagnose(crs, 6.958, 50.941), Mistake::Degrees { lat_first: false }, "{crs}");
            assert_eq!(diagnose(crs, 50.941, 6.958), Mistake::Degrees { lat_first: true }, "{crs}");
        }
        let e = ToUtm32::new(Crs::UTM32).unwrap().project(6.958, 50.941).unwrap_err();
        assert!(e.contains("these look like degrees"), "{e}");
    }

    #[test]
    fn names_metres_given_for_a_geographic_crs() {
        let m = diagnose(Crs::WGS84, 356_538.0, 5_645_249.0);
        assert!(matches!(&m, Mistake::Metres { fits } if fits.contains(&Crs::UTM32)), "{m:?}");
        let m = diagnose(Crs::ETRS89, 4_065_500.0, 3_130_500.0);
        assert_eq!(m, Mistake::Metres { fits: vec![Crs::LAEA] });
    }

    #[test]
    fn names_gauss_krueger_zone_prefix_mistakes() {
        let gk3 = Crs(31467);
        let (x, y) = from_wgs84(gk3, 5.866, 51.05);
        let x = x.round();
        let short = x - 3_000_000.0;
        assert_eq!(diagnose(gk3, short, y), Mistake::MissingZonePrefix { zone: 3, x: short, fixed: x });
        let doubled = 30_000_000.0 + x;
        assert_eq!(diagnose(gk3, doubled, y), Mistake::ExtraDigit { zone: 3, x: doubled, fixed: x });
        let appended = x * 10.0 + 7.0;
        assert_eq!(diagnose(gk3, appended, y), Mistake::ExtraDigit { zone: 3, x: appended, fixed: x });
        // Zone 2 coordinates of Cologne given as zone 3.
        let (x2, y2) = from_wgs84(Crs(31466), 6.958, 50.941);
        assert_eq!(diagnose(gk3, x2, y2), Mistake::OtherZone { zone: 3, found: 2, crs: Crs(31466) });
        // And zone 2 without its prefix.
        let gk2 = Crs(31466);
        assert_eq!(diagnose(gk2, x2 - 2_000_000.0, y2), Mistake::MissingZonePrefix { zone: 2, x: x2 - 2_000_000.0, fixed: x2 });
        let e = ToUtm32::new(gk3).unwrap().project(short, y).unwrap_err();
        assert!(e.contains("lacks the Gauss-Krüger zone prefix"), "{e}");
    }

    #[test]
    fn names_a_utm_zone_number_in_front() {
        assert_eq!(diagnose(Crs::UTM32, 32_356_538.0, 5_645_249.0), Mistake::UtmZonePrefix { zone: 32, x: 32_356_538.0, fixed: 356_538.0 });
        let (x, y) = from_wgs84(Crs(25833), 13.4, 52.52);
        let x = x.round();
        assert_eq!(diagnose(Crs(25833), 33_000_000.0 + x, y), Mistake::UtmZonePrefix { zone: 33, x: 33_000_000.0 + x, fixed: x });
    }

    #[test]
    fn names_where_a_point_far_outside_lies() {
        for crs in all() {
            let (x, y) = from_wgs84(crs, -3.70, 40.42);
            match diagnose(crs, x, y) {
                Mistake::OutsideGermany { lon, lat } => assert!((lon + 3.70).abs() < 1e-6 && (lat - 40.42).abs() < 1e-6, "{crs}: {lon} {lat}"),
                m => panic!("{crs}: {m:?}"),
            }
        }
        let e = ToUtm32::new(Crs::WGS84).unwrap().project(-3.70, 40.42).unwrap_err();
        assert!(e.contains("at 3.70°W 40.42°N it lies more than 200 km outside Germany"), "{e}");
        assert_eq!(diagnose(Crs::UTM32, f64::NAN, 5_645_249.0), Mistake::NotFinite);
        assert_eq!(diagnose(Crs::UTM32, 351_000.0, 99_999_999.0), Mistake::NoPosition);
        assert_eq!(diagnose(Crs::WGS84, 6.9, 95.0), Mistake::NoPosition);
        // LAEA's false origin is a real place, in the Atlantic off West Africa.
        assert!(matches!(diagnose(Crs::LAEA, 0.0, 0.0), Mistake::OutsideGermany { lon, lat } if lon < -20.0 && lat < 20.0));
    }
}

/// A transformation between any two supported CRSs (geographic ones in
/// degrees), for the demo generator and tests.
#[derive(Clone)]
pub struct Transformer {
    from: Crs,
    to: Crs,
    src: Proj,
    dst: Proj,
}

impl Transformer {
    pub fn new(from: Crs, to: Crs) -> Result<Self, String> {
        let p = |c: Crs| -> Result<Proj, String> {
            let s = c.proj_string().ok_or_else(|| format!("CRS {c} is not supported"))?;
            Proj::from_proj_string(s).map_err(|e| format!("proj string for {c}: {e}"))
        };
        Ok(Self { from, to, src: p(from)?, dst: p(to)? })
    }

    pub fn transform(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        let mut p = if self.from.is_geographic() { (x.to_radians(), y.to_radians(), 0.0) } else { (x, y, 0.0) };
        proj4rs::transform::transform(&self.src, &self.dst, &mut p).map_err(|e| format!("cannot reproject ({x}, {y}): {e}"))?;
        if self.to.is_geographic() {
            p.0 = p.0.to_degrees();
            p.1 = p.1.to_degrees();
        }
        Ok((p.0, p.1))
    }
}

/// EPSG:3035 → EPSG:25832 for many points on the census grid: exact
/// projections (proj4rs) at the corners of a 1 km lattice, bilinear
/// interpolation inside. The transformation is so smooth at this scale that
/// the interpolation error stays below a millimetre (tested), while a 3.4 M
/// row census file needs only ~40 k exact projections instead of 3.4 M.
pub struct LaeaLattice {
    exact: ToUtm32,
    cache: std::collections::HashMap<(i64, i64), (f64, f64), FastHash>,
    last: Option<(LatticeCell, [(f64, f64); 4])>,
}

/// A lattice cell by its south-west corner's indices, in units of [`LATTICE_M`].
type LatticeCell = (i64, i64);

/// Lattice spacing in metres (the census 1 km grid).
const LATTICE_M: i64 = 1_000;

impl LaeaLattice {
    pub fn new() -> Result<Self, String> {
        Ok(Self { exact: ToUtm32::new(Crs::LAEA)?, cache: std::collections::HashMap::default(), last: None })
    }

    fn corner(&mut self, i: i64, j: i64) -> Result<(f64, f64), String> {
        if let Some(p) = self.cache.get(&(i, j)) {
            return Ok(*p);
        }
        // Unchecked: a corner may lie just outside the accepted region while
        // the point inside the cell does not; the point is checked instead.
        #[allow(clippy::cast_precision_loss)]
        let (x, y) = ((i * LATTICE_M) as f64, (j * LATTICE_M) as f64);
        let p = self.exact.transform(x, y).ok_or_else(|| self.exact.refusal(x, y))?;
        self.cache.insert((i, j), p);
        Ok(p)
    }

    /// (x, y) in EPSG:3035 metres → (easting, northing) in EPSG:25832.
    /// Accepts what [`ToUtm32::project`] accepts (to within the
    /// interpolation error).
    pub fn project(&mut self, x: f64, y: f64) -> Result<(f64, f64), String> {
        if !Crs::LAEA.in_valid_area(x, y) {
            return Err(self.exact.refusal(x, y));
        }
        #[allow(clippy::cast_possible_truncation)]
        let (i, j) = ((x / LATTICE_M as f64).floor() as i64, (y / LATTICE_M as f64).floor() as i64);
        let c = match self.last {
            Some((k, c)) if k == (i, j) => c,
            _ => {
                let c = [self.corner(i, j)?, self.corner(i + 1, j)?, self.corner(i, j + 1)?, self.corner(i + 1, j + 1)?];
                self.last = Some(((i, j), c));
                c
            }
        };
        #[allow(clippy::cast_precision_loss)]
        let (u, v) = ((x - (i * LATTICE_M) as f64) / LATTICE_M as f64, (y - (j * LATTICE_M) as f64) / LATTICE_M as f64);
        let lerp = |k: usize| -> f64 {
            let (a, b, cc, d) = (c[0], c[1], c[2], c[3]);
            let (pa, pb, pc, pd) = match k {
                0 => (a.0, b.0, cc.0, d.0),
                _ => (a.1, b.1, cc.1, d.1),
            };
            (pa * (1.0 - u) + pb * u) * (1.0 - v) + (pc * (1.0 - u) + pd * u) * v
        };
        let (e, n) = (lerp(0), lerp(1));
        if !accepted(e, n) {
            return Err(self.exact.refusal(x, y));
        }
        Ok((e, n))
    }
}

/// A fast multiplicative hasher for integer keys (cell ids): the default
/// SipHash costs more than the rest of a census row's work.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // murmur3's fmix64: spreads every input bit over the whole word, so
        // the table's low (bucket) and high (tag) bits both depend on n and e.
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        z ^ (z >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_i64(&mut self, i: i64) {
        #[allow(clippy::cast_sign_loss)]
        self.write_u64(i as u64);
    }
}

pub type FastHash = std::hash::BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod lattice_tests {
    use super::*;

    #[test]
    fn lattice_matches_exact_projection_below_a_millimetre() {
        let exact = ToUtm32::new(Crs::LAEA).unwrap();
        let mut lat = LaeaLattice::new().unwrap();
        let mut worst = 0f64;
        // A sweep over NRW's census extent (x 4.03–4.25 M, y 3.03–3.22 M) at odd offsets.
        for k in 0..20_000u32 {
            let x = 4_030_000.0 + f64::from(k % 211) * 1_043.7 + 50.0;
            let y = 3_030_000.0 + f64::from(k / 211) * 1_997.3 + 50.0;
            let (a, b) = (exact.project(x, y).unwrap(), lat.project(x, y).unwrap());
            worst = worst.max((a.0 - b.0).abs().max((a.1 - b.1).abs()));
        }
        assert!(worst < 0.001, "worst error {worst} m");
    }
}

//! Where a site may be placed at all: a WGS84 position inside the window
//! the system's projection serves. One rule for the HTTP writes and the
//! OGC bbox clamp.

use std::fmt;

/// The lon/lat window (west, south, east, north) this system covers.
///
/// Sites are stored in EPSG:25832 (UTM 32N); far from its zone the
/// projection distorts beyond use, and no German site lies there.
pub const WINDOW: [f64; 4] = [-6.0, 40.0, 24.0, 65.0];

/// A WGS84 position inside [`WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    lon: f64,
    lat: f64,
}

/// Why a lon/lat pair is no [`Position`]; the message is the API's 422
/// detail.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PositionError {
    /// Not a WGS84 coordinate at all (out of range or not finite).
    #[error("lon/lat ({lon}, {lat}) is not a WGS84 position (lon -180..180, lat -90..90)")]
    NotWgs84 {
        /// Longitude given.
        lon: f64,
        /// Latitude given.
        lat: f64,
    },
    /// A WGS84 coordinate, but outside [`WINDOW`].
    #[error("lon/lat ({lon}, {lat}) lies outside the area this system covers (lon -6..24, lat 40..65)")]
    OutsideWindow {
        /// Longitude given.
        lon: f64,
        /// Latitude given.
        lat: f64,
    },
}

impl Position {
    /// `lon`/`lat` as a position, or why not.
    ///
    /// # Errors
    /// [`PositionError`] when the pair is no WGS84 position or lies outside
    /// [`WINDOW`].
    ///
    /// # Examples
    /// ```
    /// use funkplan_model::Position;
    /// assert!(Position::new(7.0, 51.0).is_ok());
    /// assert!(Position::new(12.5, 41.9).is_ok()); // Rome: in the window (the margin check is the database's)
    /// assert!(Position::new(-74.0, 40.7).is_err()); // New York
    /// assert!(Position::new(f64::NAN, 51.0).is_err());
    /// ```
    pub fn new(lon: f64, lat: f64) -> Result<Self, PositionError> {
        if !(lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
            return Err(PositionError::NotWgs84 { lon, lat });
        }
        let [west, south, east, north] = WINDOW;
        if !((west..=east).contains(&lon) && (south..=north).contains(&lat)) {
            return Err(PositionError::OutsideWindow { lon, lat });
        }
        Ok(Self { lon, lat })
    }

    /// WGS84 longitude.
    #[must_use]
    pub const fn lon(self) -> f64 {
        self.lon
    }

    /// WGS84 latitude.
    #[must_use]
    pub const fn lat(self) -> f64 {
        self.lat
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.lon, self.lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_pair_and_the_rule() {
        assert_eq!(
            Position::new(200.0, 51.0).unwrap_err().to_string(),
            "lon/lat (200, 51) is not a WGS84 position (lon -180..180, lat -90..90)"
        );
        assert_eq!(
            Position::new(-74.0, 40.7).unwrap_err().to_string(),
            "lon/lat (-74, 40.7) lies outside the area this system covers (lon -6..24, lat 40..65)"
        );
        let p = Position::new(-6.0, 65.0).unwrap();
        assert_eq!((p.lon(), p.lat()), (-6.0, 65.0));
    }
}

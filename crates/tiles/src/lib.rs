#![doc = include_str!("../README.md")]

#![warn(missing_docs)]

pub mod coverage;
pub mod tile;
pub mod tilejson;

pub use tile::{CellRect, MercBox, TileId};
pub use tilejson::{Tileset, TILESETS};

/// Errors of tile addressing and encoding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tile address part is no number (400).
    #[error("bad tile address: {0}")]
    BadTile(String),
    /// A well-formed tile outside the tileset's matrix or zoom levels (404).
    #[error("no such tile: {0}")]
    OutOfRange(String),
    /// The MVT encoder refused what it was given (a bug here, not input).
    #[error("encoding a tile: {0}")]
    Encode(String),
}

impl From<fast_mvt::MvtError> for Error {
    fn from(e: fast_mvt::MvtError) -> Self {
        Self::Encode(e.to_string())
    }
}

//! The GeoJSON readers (municipalities: FeatureCollection, CRS member,
//! (Multi)Polygons, reprojection; sites: Points), without a database: never
//! a panic; accepted or refused with problems naming a place. The first
//! byte picks the kind.
#![no_main]

use funkplan_ingest::fuzzing::{check, GeoJsonKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&k, bytes)) = data.split_first() else { return };
    let kind = if k % 2 == 0 { GeoJsonKind::Municipalities } else { GeoJsonKind::Sites };
    check(funkplan_ingest::fuzzing::geojson(kind, bytes));
});

//! The catalog of feature collections: what each collection is and where
//! its rows come from, in one place, so that every way of serving them —
//! OGC API – Features today, vector tiles, exports and CQL2 filters next —
//! reads the same definition (martin's source catalog is the model).
//!
//! A collection is data, not code: all of ours are SQL over PostGIS, so a
//! struct of SQL fragments says everything a server needs. The fragments are
//! trusted constants written here; request values never enter them (they
//! travel as bind parameters).
//!
//! To add a collection, add an entry to [`collections::ALL`]: it is listed,
//! served and filterable everywhere from then on.

mod collections;
pub(crate) mod columns;
pub(crate) mod schema;

use crate::ApiError;

/// How a property filter compares its column with the requested values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    /// The column equals one of the comma-separated values.
    Eq,
    /// The array column contains (overlaps with) one of the values.
    Contains,
}

/// A property a collection can be filtered by (`?name=v1,v2`).
#[derive(Debug)]
pub(crate) struct Filter {
    /// The query parameter's name.
    pub(crate) name: &'static str,
    /// SQL expression compared (over the collection's [`Collection::from`]).
    pub(crate) expr: &'static str,
    pub(crate) how: Match,
}

impl Filter {
    /// `?name=a,b`: `expr` equals a or b.
    const fn eq(name: &'static str, expr: &'static str) -> Self {
        Self { name, expr, how: Match::Eq }
    }

    /// `?name=a,b`: the array `expr` holds a or b.
    const fn contains(name: &'static str, expr: &'static str) -> Self {
        Self { name, expr, how: Match::Contains }
    }
}

/// What the OGC `datetime` parameter means for a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Time {
    /// It filters the features by their instant, this SQL expression
    /// (`timestamptz`; also the temporal extent).
    Instant(&'static str),
    /// It selects the date of the figures (issue 16): every feature is
    /// there at every date, with the coverage of the release in force then
    /// combined with the sites on air then, as the engine computes it for
    /// `?as_of=`. The collection's FROM reads today's figures from
    /// [`FIGURES`]; at a date that relation is swapped for the engine's
    /// figures ([`Collection::sources_with`]). A time-sliced municipality is
    /// still that municipality, so filtering it out by a date would answer
    /// the wrong question ("was it computed then?").
    Release,
}

/// The relation of today's stored figures in the FROM of a
/// [`Time::Release`] collection (one row per scenario, AGS and technology).
pub(crate) const FIGURES: &str = "coverage_result";

/// One collection: where its rows come from and how they become features.
///
/// Every SQL fragment refers to the relations of [`Collection::from`];
/// geometries are in EPSG:25832 (the storage CRS), instants are
/// `timestamptz`.
#[derive(Debug)]
pub(crate) struct Collection {
    /// The collection's id in URLs (`/ogc/collections/{id}`).
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    /// FROM clause: the source relation(s) of the features.
    pub(crate) from: &'static str,
    /// Natural id of a feature, also the sort key for paging (so pages
    /// visit every feature exactly once).
    pub(crate) id_expr: &'static str,
    /// Geometry served by default.
    pub(crate) geom: &'static str,
    /// Geometry for `?geometry=full` where [`Collection::geom`] is
    /// simplified; `None` when the default is the geometry itself.
    pub(crate) geom_full: Option<&'static str>,
    /// Geometry spatial filters and the extent test: the indexed column.
    pub(crate) geom_filter: &'static str,
    /// JSON object of a feature's properties.
    pub(crate) props: &'static str,
    /// What `datetime` means for the collection.
    pub(crate) datetime: Time,
    /// Properties the collection can be filtered by.
    pub(crate) filters: &'static [Filter],
}

impl Collection {
    /// The geometry to serve: the full one where asked for and simplified
    /// by default, else the only one.
    pub(crate) fn geometry(&self, full: bool) -> &'static str {
        if full {
            self.geom_full.unwrap_or(self.geom)
        } else {
            self.geom
        }
    }

    /// The filter named `name`, if the collection has one.
    pub(crate) fn filter(&self, name: &str) -> Option<&'static Filter> {
        self.filters.iter().find(|f| f.name == name)
    }

    /// One row of the collection's extent: columns `xmin`, `ymin`, `xmax`,
    /// `ymax` (CRS84 degrees, NULL when empty) and `lo`, `hi` (the first and
    /// last instant, NULL when none; for [`Time::Release`] the first and
    /// last release date, the dates whose figures differ).
    pub(crate) fn extent_sql(&self) -> String {
        let (lo, hi) = match self.datetime {
            Time::Instant(dt) => (format!("min({dt})"), format!("max({dt})")),
            Time::Release => {
                let at = |f: &str| format!("(SELECT {f}(as_of)::timestamp AT TIME ZONE 'UTC' FROM coverage_release)");
                (at("min"), at("max"))
            }
        };
        format!(
            "SELECT ST_XMin(e) AS xmin, ST_YMin(e) AS ymin, ST_XMax(e) AS xmax, ST_YMax(e) AS ymax, lo, hi FROM (\
               SELECT ST_Transform(ST_SetSRID(ST_Extent({g})::geometry, 25832), 4326) AS e, {lo} AS lo, {hi} AS hi \
               FROM {from}) x",
            g = self.geom_filter,
            from = self.from
        )
    }

    /// The FROM clause with the figures read from `figures` (SQL of a
    /// relation with [`FIGURES`]' columns) instead of today's: the same
    /// properties, filters and sort keys then address the figures at a
    /// date. Only for [`Time::Release`] collections, whose FROM names
    /// [`FIGURES`]; `None` for the others.
    pub(crate) fn sources_with(&self, figures: &str) -> Option<String> {
        (self.datetime == Time::Release && self.from.contains(FIGURES)).then(|| self.from.replace(FIGURES, figures))
    }
}

/// Every collection, in the order they are listed.
pub(crate) fn all() -> &'static [Collection] {
    &collections::ALL
}

/// The collection `id`.
///
/// # Errors
/// [`UnknownCollection`] naming the collections there are.
pub(crate) fn get(id: &str) -> Result<&'static Collection, UnknownCollection> {
    all().iter().find(|c| c.id == id).ok_or_else(|| UnknownCollection { id: id.to_owned() })
}

/// A collection id that is not in the catalog.
#[derive(Debug, thiserror::Error)]
#[error("no collection {id:?}; collections: {}", all().iter().map(|c| c.id).collect::<Vec<_>>().join(", "))]
pub(crate) struct UnknownCollection {
    pub(crate) id: String,
}

impl From<UnknownCollection> for ApiError {
    fn from(e: UnknownCollection) -> Self {
        Self::NotFound(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_found() {
        let ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        assert_eq!(ids, ["municipalities", "sites", "measures", "dead-spots", "districts", "regions", "state"]);
        for id in ids {
            assert_eq!(get(id).map(|c| c.id).ok(), Some(id));
        }
    }

    #[test]
    fn an_unknown_id_names_the_known_ones() {
        let e = get("nothing").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("no collection \"nothing\"; collections: municipalities, sites, measures, dead-spots, districts, regions, state")
        );
    }

    #[test]
    fn the_coverage_collections_take_datetime_as_the_release_in_force() {
        let release: Vec<&str> = all().iter().filter(|c| c.datetime == Time::Release).map(|c| c.id).collect();
        assert_eq!(release, ["municipalities", "districts", "regions", "state"]);
        for c in all() {
            match c.sources_with("(SELECT 1) d") {
                Some(from) => {
                    assert!(!from.contains(FIGURES), "{}: {from}", c.id);
                    assert!(from.contains("(SELECT 1) d"), "{}", c.id);
                }
                None => assert!(matches!(c.datetime, Time::Instant(_)), "{}", c.id),
            }
        }
    }

    #[test]
    fn full_geometry_only_where_simplified() {
        let m = get("municipalities").ok();
        assert_eq!(m.map(|c| c.geometry(true)), Some("t.geom"));
        assert_eq!(m.map(|c| c.geometry(false)), Some("t.geom_simple"));
        let s = get("sites").ok();
        assert_eq!(s.map(|c| c.geometry(true)), Some("t.geom"));
    }
}

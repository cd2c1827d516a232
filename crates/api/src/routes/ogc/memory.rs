//! Collections (sites, measures, dead spots, municipalities) served from
//! memory when their items request misses the response cache (issue 19).
//!
//! A map client pans: every request is another bbox, so the response cache
//! never hits, and each request paid a PostgreSQL query (index scan, a
//! count, JSON of every feature). Here each feature's GeoJSON text is
//! rendered once by PostgreSQL with the very expressions the SQL path uses
//! ([`super::query::items`]: the catalog's id, geometry and properties,
//! `ST_AsGeoJSON(ST_Transform(…))` in both CRSs), together with its
//! extent in both CRSs, its filter values, its instant and its place in
//! `ORDER BY id` (the database's collation). A request is then a scan of a
//! slab of extents sorted by min x, the filters, a sort of the matches by
//! that place, and the concatenation of the page's texts: same features, order,
//! paging, `numberMatched` and CRS output as the SQL path, which the
//! equality test (`tests/api_ogc_equal.rs`) holds it to.
//!
//! - **Freshness.** Each collection's snapshot sits in a
//!   [`crate::reload::Reloading`]: tagged with the data version
//!   ([`crate::version`]) read before its query ran and used only while
//!   that is still the version, so it is never older than what the response
//!   cache would serve; a stale or missing snapshot sends requests to SQL
//!   and starts one reload in the background, paused so that a stream of
//!   writes cannot keep a core busy reloading.
//! - **The box.** A feature whose extent lies within the box intersects
//!   it, one whose extent lies apart does not; one across an edge is left
//!   to PostgreSQL, which decides exactly (the whole request goes to SQL).
//!   A projected EPSG:25832 box is compared with the EPSG:25832 extents
//!   exactly (a point on its edge is within the closed box, as for
//!   `ST_Intersects`). A lon/lat box is what the SQL path densifies every
//!   0.01° and projects; its edges lie within ~1 cm of the lon/lat lines,
//!   so the lon/lat extent (of the geometry projected by PostGIS) decides,
//!   with a margin per collection ([`COLLECTIONS`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use funkplan_db::{Db, Error as DbError};

use super::params::{Crs, ItemsQuery};
use super::predicate::{load_sql, Place, Pred, Truth, Val};
use crate::catalog::columns::Kind;
use crate::catalog::{Collection, Match, Time};
use crate::reload::Reloading;

/// Collections served from memory, each with the degrees around a lon/lat
/// box's edges within which a feature is left to PostgreSQL. Points: 2e-6°
/// (~0.2 m; the projected, densified edge lies within ~1 cm of the lon/lat
/// line in NRW). Polygons are decided by their lon/lat extent, which a
/// straight projected edge between two vertices can overstep by its bulge
/// (~0.6 m for a 5 km edge): 1e-4° (~7 m) for dead spots (100 m cells) and
/// the municipalities' 20 m-simplified outlines.
const COLLECTIONS: [(&str, f64); 4] = [("sites", 2e-6), ("measures", 2e-6), ("dead-spots", 1e-4), ("municipalities", 1e-4)];

/// One feature as the snapshot holds it.
struct Feature {
    /// Extent in lon/lat (of the geometry projected by PostGIS) and in
    /// EPSG:25832: min x, min y, max x, max y (a point's are its
    /// coordinates twice).
    ll: [f64; 4],
    utm: [f64; 4],
    /// The values of the collection's filters, in the catalog's order
    /// (`None` = SQL NULL, which no filter matches).
    filters: Vec<Option<Vec<String>>>,
    datetime: Option<DateTime<Utc>>,
    /// The id as text (the next page's cursor).
    id: String,
    /// GeoJSON text in CRS84 (6 decimals) and EPSG:25832 (2 decimals).
    crs84: String,
    text_utm: String,
}

/// One collection's features at one data version, in id order.
struct Snapshot {
    features: Vec<Feature>,
    /// Indexes into `features`, sorted by min lon and by min x, and the
    /// widest extent in each.
    by_lon: Vec<(f64, u32)>,
    by_x: Vec<(f64, u32)>,
    wide_lon: f64,
    wide_x: f64,
    /// Each feature's place in `features` by its id (a cursor's id).
    by_id: std::collections::HashMap<String, u32>,
    /// The catalog's columns' values as a filter compares them, column by
    /// column (`[column][feature]`: a filter scans contiguous memory), text
    /// as symbols of `symbols` ([`super::predicate`]).
    values: Vec<Vec<Val>>,
    symbols: Vec<std::collections::HashMap<String, u32>>,
}

/// A page answered from memory.
pub(super) struct Page {
    pub(super) matched: i64,
    pub(super) returned: i64,
    pub(super) features: String,
    /// Whether features follow the page.
    pub(super) more: bool,
    /// The next page's cursor: the id of the page's last feature, as the
    /// JSON array the SQL path writes.
    pub(super) last: Option<String>,
}

/// The in-memory point collections of one server.
#[derive(Default)]
pub(crate) struct Memory {
    slots: [Arc<Reloading<Snapshot>>; COLLECTIONS.len()],
}

impl Memory {
    fn slot(&self, c: &Collection) -> Option<&Arc<Reloading<Snapshot>>> {
        COLLECTIONS.iter().position(|(id, _)| *id == c.id).map(|i| &self.slots[i])
    }

    /// Requests answered from memory so far.
    pub(crate) fn served(&self) -> u64 {
        self.slots.iter().map(|s| s.served()).sum()
    }

    /// The page `iq` asks of `c` from a snapshot of data version
    /// `version`; `None` when there is none, or the request is one to
    /// leave to SQL (a point on a lon/lat edge).
    pub(super) fn page(&self, c: &Collection, iq: &ItemsQuery, version: u64) -> Option<Page> {
        let slot = self.slot(c)?;
        let snap = slot.at(version)?;
        let page = snap.value.page(c, iq)?;
        slot.answered(&snap);
        Some(page)
    }

    /// Load `c` in the background if it is served from memory and its
    /// snapshot is not of `version` (see [`Reloading::want`]).
    pub(super) fn want(&self, c: &'static Collection, version: u64, db: &Db) {
        let Some(slot) = self.slot(c) else { return };
        let db = db.clone();
        slot.want(version, c.id, async move { Snapshot::load(&db, c).await });
    }

    /// Load every in-memory collection at `version` now (tests and
    /// warm-up), so the next requests are answered from memory.
    ///
    /// # Errors
    /// The database's error.
    pub(crate) async fn load_now(&self, db: &Db, version: u64) -> Result<(), crate::ApiError> {
        for (i, (id, _)) in COLLECTIONS.iter().enumerate() {
            let c = crate::catalog::get(id)?;
            self.slots[i].put(version, Snapshot::load(db, c).await?);
        }
        Ok(())
    }
}

impl Snapshot {
    /// Every feature of `c`, its texts rendered by the SQL path's
    /// expressions.
    async fn load(db: &Db, c: &'static Collection) -> Result<Self, crate::ApiError> {
        let mut cols = String::new();
        for (i, f) in c.filters.iter().enumerate() {
            let ty = match f.how {
                Match::Eq => "ARRAY[({e})::text]",
                Match::Contains => "({e})::text[]",
            };
            cols.push_str(&format!(", {} AS f{i}", ty.replace("{e}", f.expr)));
        }
        let feature = |srid: i32, digits: i32| {
            super::query::feature_text(c.id_expr, c.geometry(false), c.props, &srid.to_string(), &digits.to_string())
        };
        let conn = db.conn().await?;
        let columns = crate::catalog::columns::columns(&conn, c).await?;
        for (i, col) in columns.list.iter().enumerate() {
            cols.push_str(&format!(", {} AS v{i}", load_sql(col).unwrap_or_else(|| "NULL::text".to_owned())));
        }
        let outer: String =
            (0..c.filters.len()).map(|i| format!(", f{i}")).chain((0..columns.list.len()).map(|i| format!(", v{i}"))).collect();
        let sql = format!(
            "SELECT ST_XMin(ll) AS lon0, ST_YMin(ll) AS lat0, ST_XMax(ll) AS lon1, ST_YMax(ll) AS lat1, \
                    ST_XMin(u) AS x0, ST_YMin(u) AS y0, ST_XMax(u) AS x1, ST_YMax(u) AS y1, \
                    dt, crs84, utm{outer}, k::text AS id \
             FROM (SELECT ST_Transform({g}, 4326)::box3d AS ll, ({g})::box3d AS u, \
                          {dt} AS dt, {f84} AS crs84, {f32} AS utm{cols}, {idx} AS k FROM {from}) q ORDER BY k",
            g = c.geom_filter,
            dt = match c.datetime {
                Time::Instant(dt) => dt,
                // `datetime` dates the figures here, it filters nothing.
                Time::Release => "NULL::timestamptz",
            },
            f84 = feature(4326, 6),
            f32 = feature(25832, 2),
            from = c.from,
            idx = c.id_expr,
        );
        let what = "loading a collection into memory";
        let rows = conn.query(&sql, &[]).await.map_err(DbError::pg(what))?;
        drop(conn);
        let get = |r: &tokio_postgres::Row, name: &str| -> Result<f64, DbError> {
            // An empty geometry has no extent: such a feature is never in a box.
            r.try_get::<_, Option<f64>>(name).map(|v| v.unwrap_or(f64::NAN)).map_err(DbError::pg(what))
        };
        let mut features = Vec::with_capacity(rows.len());
        let mut values: Vec<Vec<Val>> = columns.list.iter().map(|_| Vec::with_capacity(rows.len())).collect();
        let mut symbols: Vec<std::collections::HashMap<String, u32>> = columns.list.iter().map(|_| Default::default()).collect();
        for r in &rows {
            let mut filters = Vec::with_capacity(c.filters.len());
            for i in 0..c.filters.len() {
                let v: Option<Vec<Option<String>>> = r.try_get(11 + i).map_err(DbError::pg(what))?;
                // ARRAY[NULL] of a NULL column: no value, as in SQL.
                filters.push(v.map(|v| v.into_iter().flatten().collect::<Vec<_>>()).filter(|v| !v.is_empty()));
            }
            for (i, col) in columns.list.iter().enumerate() {
                let name = format!("v{i}");
                let pg = DbError::pg(what);
                let dict = &mut symbols[i];
                values[i].push(
                    match col.kind {
                        Kind::Text => r.try_get::<_, Option<String>>(name.as_str()).map_err(pg)?.map(|t| {
                            let n = dict.len() as u32;
                            Val::Sym(*dict.entry(t).or_insert(n))
                        }),
                        Kind::Number => r.try_get::<_, Option<f64>>(name.as_str()).map_err(pg)?.map(Val::Num),
                        Kind::Bool => r.try_get::<_, Option<bool>>(name.as_str()).map_err(pg)?.map(Val::Bool),
                        Kind::Date => r.try_get::<_, Option<chrono::NaiveDate>>(name.as_str()).map_err(pg)?.map(Val::Date),
                        Kind::Timestamp => r.try_get::<_, Option<DateTime<Utc>>>(name.as_str()).map_err(pg)?.map(Val::At),
                        Kind::TextArray => r
                            .try_get::<_, Option<Vec<Option<String>>>>(name.as_str())
                            .map_err(pg)?
                            .map(|v| Val::Texts(v.into_iter().flatten().collect())),
                        Kind::Other => None,
                    }
                    .unwrap_or(Val::Null),
                );
            }
            features.push(Feature {
                ll: [get(r, "lon0")?, get(r, "lat0")?, get(r, "lon1")?, get(r, "lat1")?],
                utm: [get(r, "x0")?, get(r, "y0")?, get(r, "x1")?, get(r, "y1")?],
                datetime: r.try_get("dt").map_err(DbError::pg(what))?,
                id: r.try_get("id").map_err(DbError::pg(what))?,
                crs84: r.try_get("crs84").map_err(DbError::pg(what))?,
                text_utm: r.try_get("utm").map_err(DbError::pg(what))?,
                filters,
            });
        }
        let order = |key: fn(&Feature) -> f64| {
            let mut v: Vec<(f64, u32)> = features.iter().enumerate().map(|(i, f)| (key(f), i as u32)).collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v
        };
        let by_lon = order(|f| f.ll[0]);
        let by_x = order(|f| f.utm[0]);
        let wide_lon = features.iter().map(|f| f.ll[2] - f.ll[0]).filter(|w| w.is_finite()).fold(0.0, f64::max);
        let wide_x = features.iter().map(|f| f.utm[2] - f.utm[0]).filter(|w| w.is_finite()).fold(0.0, f64::max);
        let by_id = features.iter().enumerate().map(|(i, f)| (f.id.clone(), i as u32)).collect();
        Ok(Self { features, by_lon, by_x, wide_lon, wide_x, by_id, values, symbols })
    }

    /// The page, or `None` to leave the request to SQL.
    fn page(&self, c: &Collection, iq: &ItemsQuery) -> Option<Page> {
        if iq.full_geometry && c.geom_full.is_some() {
            return None;
        }
        // Sorting, a property selection, no geometries, a CQL2 filter or a
        // queryable's parameter: SQL answers (only the filters of the
        // catalog, the bbox and a cursor in id order are kept here).
        if iq.needs_sql() {
            return None;
        }
        // The figures at a date are the engine's, not the snapshot's
        // (`datetime` on a coverage collection): SQL answers with them.
        if iq.at.is_some() {
            return None;
        }
        // A cursor continues after the feature of its id (`features` is in
        // id order); an id the snapshot does not hold is left to SQL.
        let after = match (&iq.after_id, &iq.cursor) {
            (Some(id), _) => Some(*self.by_id.get(id)?),
            (None, Some(_)) => return None,
            (None, None) => None,
        };
        // PostgreSQL keeps microseconds: a finer instant is left to it.
        if let Some(t) = &iq.time {
            if [t.start, t.end].iter().flatten().any(|d| d.timestamp_subsec_nanos() % 1000 != 0) {
                return None;
            }
        }
        // The features that pass the box and the catalog's filters: every
        // one, those near a spatial filter's box, or those in the `bbox`.
        let mut hits: Vec<u32> = Vec::new();
        // The filter with its text literals as this snapshot's symbols.
        let edge = COLLECTIONS.iter().find(|(id, _)| *id == c.id).map_or(0.0, |(_, e)| *e);
        let pred = iq.predicate.as_ref().map(|p| p.resolve(&self.symbols, edge));
        // (Most requests have neither catalog filters nor a time.)
        let plain = iq.filters.is_empty() && iq.time.is_none();
        let keep = |i: u32| plain || self.passes(c, iq, i);
        match iq.bbox {
            // A spatial filter that must hold narrows the features to look
            // at to those whose extent reaches its box (the others are
            // apart from it, so the filter is false for them).
            None => match pred.as_ref().and_then(Pred::search_box) {
                Some((Crs::Utm32, b)) => hits.extend(slab(&self.by_x, b[0] - self.wide_x, b[2]).iter().map(|e| e.1).filter(|&i| keep(i))),
                Some((Crs::Crs84, b)) => hits.extend(slab(&self.by_lon, b[0] - self.wide_lon, b[2]).iter().map(|e| e.1).filter(|&i| keep(i))),
                None => hits.extend((0..self.features.len() as u32).filter(|&i| keep(i))),
            },
            Some((b, Crs::Utm32)) => {
                for &(_, i) in slab(&self.by_x, b[0] - self.wide_x, b[2]) {
                    let f = &self.features[i as usize];
                    let u = f.utm;
                    // Within the closed box: intersects. Apart from it: not.
                    // Across or touching its edge: PostgreSQL decides.
                    let inside = u[0] >= b[0] && u[2] <= b[2] && u[1] >= b[1] && u[3] <= b[3];
                    let apart = !(u[2] >= b[0] && u[0] <= b[2] && u[3] >= b[1] && u[1] <= b[3]);
                    if apart {
                        continue;
                    }
                    if !inside {
                        return None;
                    }
                    if keep(i) {
                        hits.push(i);
                    }
                }
            }
            Some((b, Crs::Crs84)) => {
                let w = funkplan_model::WINDOW;
                let b = [b[0].max(w[0]), b[1].max(w[1]), b[2].min(w[2]), b[3].min(w[3])];
                if b[0] <= b[2] && b[1] <= b[3] {
                    for &(_, i) in slab(&self.by_lon, b[0] - edge - self.wide_lon, b[2] + edge) {
                        let f = &self.features[i as usize];
                        let l = f.ll;
                        let apart = l[2] < b[0] - edge || l[0] > b[2] + edge || l[3] < b[1] - edge || l[1] > b[3] + edge;
                        if apart {
                            continue;
                        }
                        let inside = l[0] > b[0] + edge && l[2] < b[2] - edge && l[1] > b[1] + edge && l[3] < b[3] - edge;
                        if !inside {
                            return None;
                        }
                        if keep(i) {
                            hits.push(i);
                        }
                    }
                }
            }
        }
        // The CQL2 filter and the queryables' parameters, as SQL would
        // answer them (NULL drops the feature as WHERE does), over those
        // features at once; on the edge of a spatial filter's geometry
        // PostgreSQL decides the whole request.
        if let Some(p) = &pred {
            let place = |i: u32| {
                let f = &self.features[i as usize];
                Place { ll: &f.ll, utm: &f.utm }
            };
            let truth = p.eval_rows(&self.values, &hits, &place);
            if truth.contains(&Truth::Undecided) {
                return None;
            }
            let mut t = truth.iter();
            hits.retain(|_| t.next() == Some(&Truth::True));
        }
        // Index order is id order (the database's collation).
        hits.sort_unstable();
        // numberMatched counts every match; the page starts after the
        // cursor's feature or at the offset.
        let matched = hits.len();
        let first = after.map_or(0, |a| hits.partition_point(|&i| i <= a));
        let start = first.saturating_add(usize::try_from(iq.offset).ok()?).min(matched);
        let end = start.saturating_add(usize::try_from(iq.limit).ok()?).min(matched);
        let page = &hits[start..end];
        let mut features = String::with_capacity(page.len() * 400);
        for (n, &i) in page.iter().enumerate() {
            if n > 0 {
                features.push(',');
            }
            let f = &self.features[i as usize];
            features.push_str(if iq.crs == Crs::Utm32 { &f.text_utm } else { &f.crs84 });
        }
        let last = page.last().and_then(|&i| serde_json::to_string(&[&self.features[i as usize].id]).ok());
        Some(Page { matched: matched as i64, returned: page.len() as i64, features, more: end < matched, last })
    }

    /// Whether feature `i` passes the catalog's property filters and the
    /// time filter (as `query::where_clause` writes them).
    fn passes(&self, c: &Collection, iq: &ItemsQuery, i: u32) -> bool {
        let f = &self.features[i as usize];
        for (filter, values) in &iq.filters {
            let Some(i) = c.filters.iter().position(|x| std::ptr::eq(x, *filter)) else { return false };
            let Some(have) = &f.filters[i] else { return false };
            if !have.iter().any(|h| values.iter().any(|v| v == h)) {
                return false;
            }
        }
        if let Some(t) = &iq.time {
            let Some(d) = f.datetime else { return false };
            if let Some(s) = t.start {
                if t.end == t.start && !t.end_exclusive {
                    if d != s {
                        return false;
                    }
                } else if d < s {
                    return false;
                }
            }
            if let Some(e) = t.end {
                let bounded = t.end != t.start || t.end_exclusive;
                if bounded && (t.end_exclusive && d >= e || !t.end_exclusive && d > e) {
                    return false;
                }
            }
        }
        true
    }
}

/// The entries of `sorted` with key in `lo..=hi`.
fn slab(sorted: &[(f64, u32)], lo: f64, hi: f64) -> &[(f64, u32)] {
    let a = sorted.partition_point(|e| e.0 < lo);
    let b = sorted.partition_point(|e| e.0 <= hi);
    &sorted[a..b.max(a)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slab_is_the_closed_range() {
        let s = [(1.0, 0), (2.0, 1), (2.0, 2), (3.0, 3), (5.0, 4)];
        assert_eq!(slab(&s, 2.0, 3.0).iter().map(|e| e.1).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(slab(&s, 3.5, 4.5).is_empty());
        assert!(slab(&s, 4.0, 1.0).is_empty());
        assert_eq!(slab(&s, f64::NEG_INFINITY, f64::INFINITY).len(), 5);
    }
}

//! The SQL of a features request, written from a catalog collection and
//! validated parameters. Only the catalog's constant fragments are spliced
//! into the text; every value from the request is a bind parameter, so the
//! statement text depends on the parameters' shape only and is prepared
//! once per shape (`prepare_cached`).

use tokio_postgres::types::ToSql;

use super::params::{Crs, ItemsQuery};
use crate::catalog::{Collection, Match, Time};
use crate::hook::DatedAll;

/// A bind parameter of a statement being written.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// The parameters as `query` takes them.
pub(super) fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Push `p` and name it (`$n`).
fn bind(p: Param, params: &mut Vec<Param>) -> String {
    params.push(p);
    format!("${}", params.len())
}

/// lon/lat window (min lon, min lat, max lon, max lat) a CRS84 bbox is cut
/// to before projecting to EPSG:25832.
const WINDOW: [f64; 4] = funkplan_model::WINDOW;

/// How the search box enters a WHERE clause.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchBox {
    /// As a scalar subquery, computed once per execution (served queries).
    Once,
    /// Inline, as before issue 19 (the reference formulation only).
    Inline,
}

/// WHERE clause of an items request; its values are pushed to `params`.
fn where_clause(c: &Collection, iq: &ItemsQuery, params: &mut Vec<Param>, how: SearchBox) -> String {
    let mut conds: Vec<String> = Vec::new();
    if let Some((b, crs)) = iq.bbox {
        // A lon/lat box is cut to a window around Germany before it is
        // projected: EPSG:25832 cannot represent the whole globe (a world
        // box would fold over), and every feature here lies in NRW.
        let b = match crs {
            Crs::Crs84 => [b[0].max(WINDOW[0]), b[1].max(WINDOW[1]), b[2].min(WINDOW[2]), b[3].min(WINDOW[3])],
            Crs::Utm32 => b,
        };
        if b[0] > b[2] || b[1] > b[3] {
            conds.push("FALSE".to_owned());
        }
        let (x0, y0, x1, y1) = (
            bind(Box::new(b[0]), params),
            bind(Box::new(b[1]), params),
            bind(Box::new(b[2]), params),
            bind(Box::new(b[3]), params),
        );
        let expr = match crs {
            // Densified before projecting so the box's edges stay straight
            // in lon/lat rather than between four projected corners.
            Crs::Crs84 => format!(
                "ST_Transform(ST_Segmentize(ST_MakeEnvelope({x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8, 4326), 0.01), 25832)"
            ),
            Crs::Utm32 => format!("ST_MakeEnvelope({x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8, 25832)"),
        };
        // Served queries take the search geometry as a scalar subquery, so
        // PostgreSQL computes it once per execution (an InitPlan) whatever
        // the plan. Written inline, it is folded to a constant only in a
        // custom plan; once a prepared statement goes generic (after five
        // executions) it was projected again for every row the index
        // returned: 28 ms instead of 2–4 ms for 1,170 sites (issue 19).
        let env = match how {
            SearchBox::Once => format!("(SELECT {expr})"),
            SearchBox::Inline => expr,
        };
        conds.push(format!("ST_Intersects({}, {env})", c.geom_filter));
    }
    if let (Some(t), Time::Instant(datetime)) = (&iq.time, c.datetime) {
        if let Some(s) = t.start {
            let p = bind(Box::new(s), params);
            if t.end == t.start && !t.end_exclusive {
                conds.push(format!("{datetime} = {p}::timestamptz"));
            } else {
                conds.push(format!("{datetime} >= {p}::timestamptz"));
            }
        }
        if let Some(e) = t.end {
            if t.end != t.start || t.end_exclusive {
                let p = bind(Box::new(e), params);
                let op = if t.end_exclusive { "<" } else { "<=" };
                conds.push(format!("{datetime} {op} {p}::timestamptz"));
            }
        }
    }
    if let Some(cond) = &iq.condition {
        conds.push(cond.render(params));
    }
    for (f, values) in &iq.filters {
        let p = bind(Box::new(values.clone()), params);
        let expr = f.expr;
        conds.push(match f.how {
            Match::Eq => format!("{expr}::text = ANY({p}::text[])"),
            Match::Contains => format!("{expr} && {p}::text[]"),
        });
    }
    if conds.is_empty() {
        "TRUE".to_owned()
    } else {
        conds.join(" AND ")
    }
}

/// The engine's figures at a date as a relation with the columns of
/// [`crate::catalog::FIGURES`] and their types, its values bound: one row
/// per municipality with grid cells and technology; no scenario rows (a
/// past date has no scenario, so the `*_scenario` properties are NULL);
/// `computed_at` NULL (computed on request, not stored).
fn dated_figures(f: &DatedAll, params: &mut Vec<Param>) -> String {
    let n = 2 * f.municipalities.len();
    let (mut ags, mut tech) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut households, mut covered) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut counts: [Vec<i64>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
    for (a, lte, nr) in &f.municipalities {
        for (t, x) in [("lte", lte), ("5g", nr)] {
            ags.push(a.clone());
            tech.push(t);
            households.push(x.households);
            covered.push(x.households_covered);
            for (v, c) in counts.iter_mut().zip([x.cells, x.cells_covered, x.dead_cells, x.grey_cells]) {
                v.push(i64::from(c));
            }
        }
    }
    let [cells, cells_covered, dead, grey] = counts;
    let (a, t) = (bind(Box::new(ags), params), bind(Box::new(tech), params));
    let (h, hc) = (bind(Box::new(households), params), bind(Box::new(covered), params));
    let (c, cc) = (bind(Box::new(cells), params), bind(Box::new(cells_covered), params));
    let (dc, gc) = (bind(Box::new(dead), params), bind(Box::new(grey), params));
    let src = bind(Box::new(f.source.as_str()), params);
    format!(
        "(SELECT d.ags::char(8) AS ags, d.technology, false AS scenario, d.households, d.households_covered, \
                 d.cells::int4 AS cells, d.cells_covered::int4 AS cells_covered, d.dead_cells::int4 AS dead_cells, \
                 d.grey_cells::int4 AS grey_cells, {src}::text AS source, NULL::timestamptz AS computed_at \
          FROM unnest({a}::text[], {t}::text[], {h}::float8[], {hc}::float8[], {c}::int8[], {cc}::int8[], {dc}::int8[], {gc}::int8[]) \
               AS d(ags, technology, households, households_covered, cells, cells_covered, dead_cells, grey_cells))"
    )
}

/// The FROM clause of a request: the collection's, with the figures at
/// the requested date where there is one (their values bound first).
fn from_clause(c: &Collection, figures: Option<&DatedAll>, params: &mut Vec<Param>) -> String {
    match figures {
        Some(f) => {
            let rel = dated_figures(f, params);
            c.sources_with(&rel).unwrap_or_else(|| c.from.to_owned())
        }
        None => c.from.to_owned(),
    }
}

/// The SQL expression of one feature's GeoJSON text from the columns `id`,
/// `g` (geometry, EPSG:25832) and `p` (properties, json) of a row, in SRID
/// `srid` with `digits` decimals (SQL expressions: placeholders or
/// constants). Every path that serialises features writes them with this,
/// so they cannot differ by a byte.
pub(super) fn feature_text(id: &str, g: &str, p: &str, srid: &str, digits: &str) -> String {
    format!(
        "'{{\"type\":\"Feature\",\"id\":' || to_json({id})::text \
         || ',\"geometry\":' || coalesce(ST_AsGeoJSON(ST_Transform({g}, {srid}), {digits}, 0), 'null') \
         || ',\"properties\":' || ({p})::text || '}}'"
    )
}

/// The properties' JSON: the catalog's object, or the chosen ones only
/// (`properties`), in the order asked.
fn props_sql(c: &Collection, iq: &ItemsQuery) -> String {
    match &iq.properties {
        None => c.props.to_owned(),
        Some(cols) => {
            let pairs: Vec<String> = cols.iter().map(|col| format!("'{}', {}", col.name, col.expr)).collect();
            format!("json_build_object({})", pairs.join(", "))
        }
    }
}

/// The geometry served: none under `skipGeometry`.
fn geom_sql(c: &Collection, iq: &ItemsQuery) -> &'static str {
    if iq.skip_geometry {
        "NULL::geometry"
    } else {
        c.geometry(iq.full_geometry)
    }
}

/// The page order: the `sortby` keys (ascending with NULLs last,
/// descending with NULLs first, PostgreSQL's defaults), then the id.
/// `keys` are the keys' expressions.
fn order_by(iq: &ItemsQuery, id: &str, keys: &[String]) -> String {
    let mut parts: Vec<String> = iq
        .sortby
        .iter()
        .zip(keys)
        .map(|(k, e)| if k.desc { format!("{e} DESC NULLS FIRST") } else { format!("{e} ASC NULLS LAST") })
        .collect();
    parts.push(id.to_owned());
    parts.join(", ")
}

/// A page of features: one row with `matched` (features passing the
/// filters), `returned` (on this page), `features` (their GeoJSON texts
/// joined with commas, in page order), `more` (whether features follow)
/// and `last` (the sort keys and id of the page's last feature as a JSON
/// array: the next page's `cursor`).
///
/// The page is found in two steps: `k` sorts the ids of the matching
/// features and cuts the page (one more than asked, to know whether more
/// follow; `rn` numbers the matches before the offset, so the page is
/// `rn <= offset + limit`), then `f` builds properties and geometry for the ids of the
/// page only (`= ANY` of an array computed once, so the lookup is a
/// restriction PostgreSQL pushes down to the id's index, also into the
/// area collections' grouped subqueries). In one step, every matching
/// row's properties were built before the sort: a bbox holding 1,500 sites
/// spent 17 ms on properties of which 100 were served.
///
/// A `cursor` adds "after the last feature seen" to `k` only (not to the
/// count): with the default id order that is a range on the id's index,
/// so every page of a full copy costs the same, where an `offset` made
/// PostgreSQL walk past every feature before it (78 ms per page at offset
/// 27,000; issue 18).
///
/// `figures`: the engine's figures at the date `iq.at` asks for (a
/// [`Time::Release`] collection), read instead of today's.
pub(super) fn items(c: &Collection, iq: &ItemsQuery, figures: Option<&DatedAll>) -> (String, Vec<Param>) {
    let mut params: Vec<Param> = Vec::new();
    let from = from_clause(c, figures, &mut params);
    let cond = where_clause(c, iq, &mut params, SearchBox::Once);
    let after = iq.cursor.as_ref().map_or_else(String::new, |s| format!(" AND {}", s.render(&mut params)));
    let lim = bind(Box::new(iq.limit), &mut params);
    let off = bind(Box::new(iq.offset), &mut params);
    let srid = bind(Box::new(iq.crs.srid()), &mut params);
    let digits = bind(Box::new(iq.crs.digits()), &mut params);
    let exprs: Vec<String> = iq.sortby.iter().map(|k| k.column.compared()).collect();
    let names: Vec<String> = (0..iq.sortby.len()).map(|i| format!("s{i}")).collect();
    let keys: String = exprs.iter().zip(&names).map(|(e, n)| format!(", {e} AS {n}")).collect();
    let last: Vec<String> = names.iter().cloned().chain(std::iter::once("id".to_owned())).collect();
    let sql = format!(
        "WITH k AS (SELECT {idx} AS id{keys}, row_number() OVER (ORDER BY {order}) AS rn FROM {from} WHERE {cond}{after} \
                    ORDER BY {order} LIMIT {lim}::int8 + 1 OFFSET {off}), \
              f AS (SELECT {idx} AS id, {geom} AS g, {props} AS p FROM {from} \
                    WHERE {idx} = ANY(ARRAY(SELECT id FROM k WHERE rn <= {off}::int8 + {lim}))) \
         SELECT (SELECT count(*) FROM {from} WHERE {cond}) AS matched, \
                (SELECT count(*) FROM f) AS returned, \
                (SELECT coalesce(string_agg({feature}, ',' ORDER BY k.rn), '') FROM f JOIN k ON k.id = f.id) AS features, \
                (SELECT count(*) FROM k) > {lim} AS more, \
                (SELECT json_build_array({last})::text FROM k WHERE rn <= {off}::int8 + {lim} ORDER BY rn DESC LIMIT 1) AS last",
        idx = c.id_expr,
        order = order_by(iq, c.id_expr, &exprs),
        geom = geom_sql(c, iq),
        props = props_sql(c, iq),
        feature = feature_text("f.id", "f.g", "f.p", &format!("{srid}::int"), &format!("{digits}::int")),
        last = last.join(", "),
    );
    (sql, params)
}

/// The same page as [`items`] in the plain one-step formulation this crate
/// served before issue 19: properties built for every matching row before
/// the sort, the search box written inline. It is the oracle the equality
/// test (`tests/api_ogc_equal.rs`) holds the served query to, run unprepared
/// so PostgreSQL plans it with the values (a custom plan); no route uses it.
pub(super) fn items_plain(c: &Collection, iq: &ItemsQuery, figures: Option<&DatedAll>) -> (String, Vec<Param>) {
    let mut params: Vec<Param> = Vec::new();
    let from = from_clause(c, figures, &mut params);
    let cond = where_clause(c, iq, &mut params, SearchBox::Inline);
    let after = iq.cursor.as_ref().map_or_else(String::new, |s| format!(" AND {}", s.render(&mut params)));
    let lim = bind(Box::new(iq.limit), &mut params);
    let off = bind(Box::new(iq.offset), &mut params);
    let srid = bind(Box::new(iq.crs.srid()), &mut params);
    let digits = bind(Box::new(iq.crs.digits()), &mut params);
    let exprs: Vec<String> = iq.sortby.iter().map(|k| k.column.compared()).collect();
    let sql = format!(
        "WITH f AS (SELECT {idx} AS id, {geom} AS g, {props} AS p, row_number() OVER (ORDER BY {order}) AS rn \
                    FROM {from} WHERE {cond}{after} ORDER BY {order} LIMIT {lim} OFFSET {off}) \
         SELECT (SELECT count(*) FROM {from} WHERE {cond}) AS matched, \
                (SELECT count(*) FROM f) AS returned, \
                (SELECT coalesce(string_agg({feature}, ',' ORDER BY rn), '') FROM f) AS features",
        idx = c.id_expr,
        order = order_by(iq, c.id_expr, &exprs),
        geom = geom_sql(c, iq),
        props = props_sql(c, iq),
        feature = feature_text("id", "g", "p", &format!("{srid}::int"), &format!("{digits}::int")),
    );
    (sql, params)
}

/// One feature by id: at most one row with `feature`, its GeoJSON text
/// with `self` and `collection` links. Parameters: `$1` feature id, `$2`
/// SRID and `$3` decimal places of the output, `$4` the URL the id is
/// appended to for `self`, `$5` the collection's URL, `$6` the media type.
pub(super) fn item(c: &Collection, full_geometry: bool) -> String {
    format!(
        "SELECT '{{\"type\":\"Feature\",\"id\":' || to_json({idx})::text \
            || ',\"geometry\":' || coalesce(ST_AsGeoJSON(ST_Transform({geom}, $2::int), $3::int, 0), 'null') \
            || ',\"properties\":' || ({props})::text \
            || ',\"links\":' || json_build_array( \
                   json_build_object('href', $4::text || {idx}, 'rel', 'self', 'type', $6::text, 'title', 'This feature'), \
                   json_build_object('href', $5::text, 'rel', 'collection', 'type', 'application/json', 'title', 'The collection'))::text \
            || '}}' AS feature \
         FROM {from} WHERE {idx}::text = $1",
        idx = c.id_expr,
        geom = c.geometry(full_geometry),
        props = c.props,
        from = c.from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::http::QueryPairs;

    fn q(pairs: &[(&str, &str)]) -> QueryPairs {
        QueryPairs(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    /// Every `$n` written is bound, and none is bound unused.
    #[test]
    fn placeholders_match_the_parameters() {
        let sites = catalog::get("sites").unwrap();
        for pairs in [
            vec![],
            vec![("bbox", "6.7,51.1,6.9,51.3")],
            vec![("bbox", "300000,5600000,400000,5700000"), ("bbox-crs", "EPSG:25832"), ("crs", "EPSG:25832")],
            vec![("datetime", "2024-05-01"), ("status", "on_air,planned"), ("technology", "5g")],
            vec![("datetime", "2024-01-01T00:00:00Z"), ("operator", "telekom"), ("limit", "5"), ("offset", "10")],
            vec![("datetime", "../2024-12-31")],
            vec![
                ("sortby", "-status,planned_date"),
                ("cursor", r#"["on_air",null,"S-1"]"#),
                ("filter", "status IN ('a','b') AND S_INTERSECTS(geometry, BBOX(6,50,7,51))"),
            ],
            vec![("properties", "status,ags"), ("skipGeometry", "true"), ("cursor", r#"["S-1"]"#), ("ags", "05111000")],
        ] {
            let cols: &'static crate::catalog::columns::Columns = Box::leak(Box::new(crate::catalog::columns::Columns::untyped(sites)));
            let iq = ItemsQuery::parse(sites, cols, &q(&pairs)).unwrap();
            let (sql, params) = items(sites, &iq, None);
            for n in 1..=params.len() {
                assert!(sql.contains(&format!("${n}")), "${n} unused in {sql}");
            }
            assert!(!sql.contains(&format!("${}", params.len() + 1)), "unbound placeholder in {sql}");
        }
    }

    #[test]
    fn one_feature_by_id() {
        let m = catalog::get("municipalities").unwrap();
        assert!(item(m, true).contains("ST_Transform(t.geom, $2::int)"));
        assert!(item(m, false).contains("ST_Transform(t.geom_simple, $2::int)"));
        assert!(item(m, false).ends_with("WHERE t.ags::text = $1"));
    }
}

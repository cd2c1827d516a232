//! The SQL of a features request, written from a catalog collection and
//! validated parameters. Only the catalog's constant fragments are spliced
//! into the text; every value from the request is a bind parameter, so the
//! statement text depends on the parameters' shape only and is prepared
//! once per shape (`prepare_cached`).

use tokio_postgres::types::ToSql;

use super::params::{Crs, ItemsQuery};
use crate::catalog::{Collection, Match};

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
    if let Some(t) = &iq.time {
        if let Some(s) = t.start {
            let p = bind(Box::new(s), params);
            if t.end == t.start && !t.end_exclusive {
                conds.push(format!("{} = {p}::timestamptz", c.datetime));
            } else {
                conds.push(format!("{} >= {p}::timestamptz", c.datetime));
            }
        }
        if let Some(e) = t.end {
            if t.end != t.start || t.end_exclusive {
                let p = bind(Box::new(e), params);
                let op = if t.end_exclusive { "<" } else { "<=" };
                conds.push(format!("{} {op} {p}::timestamptz", c.datetime));
            }
        }
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

/// A page of features: one row with `matched` (features passing the
/// filters), `returned` (on this page) and `features` (their GeoJSON
/// texts joined with commas, in id order).
///
/// The page is found in two steps: `k` sorts the ids of the matching
/// features and cuts the page, then `f` builds properties and geometry for
/// the ids of the page only (`= ANY` of an array computed once, so the
/// lookup is a restriction PostgreSQL pushes down to the id's index, also
/// into the area collections' grouped subqueries). In one step, every
/// matching row's properties were built before the sort: a bbox holding
/// 1,500 sites spent 17 ms on properties of which 100 were served.
pub(super) fn items(c: &Collection, iq: &ItemsQuery) -> (String, Vec<Param>) {
    let mut params: Vec<Param> = Vec::new();
    let cond = where_clause(c, iq, &mut params, SearchBox::Once);
    let lim = bind(Box::new(iq.limit), &mut params);
    let off = bind(Box::new(iq.offset), &mut params);
    let srid = bind(Box::new(iq.crs.srid()), &mut params);
    let digits = bind(Box::new(iq.crs.digits()), &mut params);
    let sql = format!(
        "WITH k AS (SELECT {idx} AS id FROM {from} WHERE {cond} ORDER BY {idx} LIMIT {lim} OFFSET {off}), \
              f AS (SELECT {idx} AS id, {geom} AS g, {props} AS p FROM {from} \
                    WHERE {idx} = ANY(ARRAY(SELECT id FROM k))) \
         SELECT (SELECT count(*) FROM {from} WHERE {cond}) AS matched, \
                (SELECT count(*) FROM f) AS returned, \
                (SELECT coalesce(string_agg('{{\"type\":\"Feature\",\"id\":' || to_json(id)::text \
                     || ',\"geometry\":' || coalesce(ST_AsGeoJSON(ST_Transform(g, {srid}::int), {digits}::int, 0), 'null') \
                     || ',\"properties\":' || p::text || '}}', ',' ORDER BY id), '') FROM f) AS features",
        idx = c.id_expr,
        geom = c.geometry(iq.full_geometry),
        props = c.props,
        from = c.from,
    );
    (sql, params)
}

/// The same page as [`items`] in the plain one-step formulation this crate
/// served before issue 19: properties built for every matching row before
/// the sort, the search box written inline. It is the oracle the equality
/// test (`tests/api_ogc_equal.rs`) holds the served query to, run unprepared
/// so PostgreSQL plans it with the values (a custom plan); no route uses it.
pub(super) fn items_plain(c: &Collection, iq: &ItemsQuery) -> (String, Vec<Param>) {
    let mut params: Vec<Param> = Vec::new();
    let cond = where_clause(c, iq, &mut params, SearchBox::Inline);
    let lim = bind(Box::new(iq.limit), &mut params);
    let off = bind(Box::new(iq.offset), &mut params);
    let srid = bind(Box::new(iq.crs.srid()), &mut params);
    let digits = bind(Box::new(iq.crs.digits()), &mut params);
    let sql = format!(
        "WITH f AS (SELECT {idx} AS id, {geom} AS g, {props} AS p FROM {from} WHERE {cond} ORDER BY {idx} LIMIT {lim} OFFSET {off}) \
         SELECT (SELECT count(*) FROM {from} WHERE {cond}) AS matched, \
                (SELECT count(*) FROM f) AS returned, \
                (SELECT coalesce(string_agg('{{\"type\":\"Feature\",\"id\":' || to_json(id)::text \
                     || ',\"geometry\":' || coalesce(ST_AsGeoJSON(ST_Transform(g, {srid}::int), {digits}::int, 0), 'null') \
                     || ',\"properties\":' || p::text || '}}', ',' ORDER BY id), '') FROM f) AS features",
        idx = c.id_expr,
        geom = c.geometry(iq.full_geometry),
        props = c.props,
        from = c.from,
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
        ] {
            let iq = ItemsQuery::parse(sites, &q(&pairs)).unwrap();
            let (sql, params) = items(sites, &iq);
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

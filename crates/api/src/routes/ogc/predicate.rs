//! A CQL2 filter (and the queryables' `name=value` parameters) as a
//! predicate the in-memory path ([`super::memory`]) evaluates over a
//! snapshot's values, for the part of CQL2 whose answer in Rust is the
//! answer PostgreSQL gives to [`super::filter`]'s SQL:
//!
//! - `=` / `<>` on text (byte equality: the database's collations are
//!   deterministic), every comparison and `BETWEEN` on numbers (as
//!   `float8`, NaN above all as in PostgreSQL), dates, timestamps and
//!   booleans, `IN`, `IS NULL`, `AND` / `OR` / `NOT` in SQL's three-valued
//!   logic, and the `A_*` array predicates.
//! - `S_INTERSECTS` and `S_DISJOINT` of the geometry with a polygon, a
//!   multipolygon or a `BBOX` (in `filter-crs`): decided from the feature's
//!   place where that place is clearly inside or clearly apart from the
//!   filter's geometry (see [`Shape`]); a feature near its boundary leaves
//!   the whole request to PostgreSQL, which decides exactly.
//! - Not here (the request goes to SQL): ordering and `LIKE` on text (the
//!   collation decides), `CASEI`, the other spatial predicates, points and
//!   lines as filter geometries, temporal predicates, comparisons of two
//!   properties, a timestamp finer than PostgreSQL's microseconds.
//!
//! The equality test (`tests/api_ogc_equal.rs`) holds pages filtered here
//! to the SQL of the same filter.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cql2::Expr;
use geo::{Coord, Distance, Euclidean, Intersects, LineString, Point, Polygon, Rect, Validation};

use super::filter::{Ctx, Value, GEOMETRY};
use super::params::Crs;
use crate::catalog::columns::{Column, Kind};

/// A property's value in a snapshot, as the filter's SQL compares it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Val {
    Null,
    Text(String),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    At(DateTime<Utc>),
    Texts(Vec<String>),
    /// A text as a snapshot's symbol for it (equal texts, equal symbols;
    /// [`Pred::resolve`] turns a literal's text into one).
    Sym(u32),
}

/// The symbol of a text no feature holds: equal to none.
const ABSENT: u32 = u32::MAX;

/// The SQL a snapshot reads a column's value with (matching [`Val`]).
pub(super) fn load_sql(c: &Column) -> Option<String> {
    Some(match c.kind {
        Kind::Text => format!("({})::text", c.expr),
        Kind::Number => format!("({})::float8", c.expr),
        Kind::Bool => format!("({})::bool", c.expr),
        Kind::Date => format!("({})::date", c.expr),
        Kind::Timestamp => format!("({})::timestamptz", c.expr),
        Kind::TextArray => format!("({})::text[]", c.expr),
        Kind::Other => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ArrOp {
    Equals,
    Contains,
    ContainedBy,
    Overlaps,
}

/// A predicate over one feature's values (indexes into the collection's
/// columns) and its place.
#[derive(Clone, Debug)]
pub(super) enum Pred {
    Const(bool),
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    Cmp(usize, Op, Val),
    In(usize, Vec<Val>),
    IsNull(usize),
    Arr(usize, ArrOp, Vec<String>),
    /// `S_INTERSECTS(geometry, shape)`; `S_DISJOINT` is its `Not`.
    Intersects(Arc<Shape>),
}

/// A feature's place as a spatial predicate sees it: its extent (min x,
/// min y, max x, max y) in lon/lat, of the geometry as PostGIS projects it,
/// and in EPSG:25832, the storage CRS; a point's extent is the point.
#[derive(Clone, Copy, Debug)]
pub(super) struct Place<'a> {
    pub(super) ll: &'a [f64; 4],
    pub(super) utm: &'a [f64; 4],
}

/// The answer for one feature cannot be given from its place (it lies on
/// or near the boundary of a filter's geometry): PostgreSQL decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Undecided;

/// Metres around a filter geometry's boundary in EPSG:25832 within which a
/// feature is left to PostgreSQL: its coordinates and the feature's are the
/// very numbers PostGIS compares, so only rounding in the two predicates'
/// arithmetic can differ, far below a millimetre.
const UTM_EDGE: f64 = 1e-3;

/// The geometry of a spatial filter as the in-memory path tests it: the
/// polygons in the filter's CRS (valid, each of positive area) and its
/// bounding box.
///
/// Exact where it answers: PostgreSQL tests the geometry in EPSG:25832, a
/// lon/lat geometry densified every 0.01° first and projected (so its edges
/// lie within ~1 cm of the lon/lat lines in NRW). A lon/lat shape is
/// compared here with the feature's lon/lat place; a feature whose place
/// (grown by a margin: the collection's edge for lon/lat, as for the
/// `bbox` parameter, [`UTM_EDGE`] for EPSG:25832) lies wholly inside one
/// polygon, or wholly apart from all, gets the answer that no difference
/// below the margin could change; any other is [`Undecided`].
#[derive(Debug)]
pub(super) struct Shape {
    crs: Crs,
    polygons: Vec<Polygon<f64>>,
    rect: Rect<f64>,
    /// The lon/lat margin of the collection (set per snapshot by
    /// [`Pred::resolve`]).
    edge_ll: f64,
}

impl Shape {
    /// The polygons of a CQL2 geometry literal (`POLYGON`, `MULTIPOLYGON`,
    /// their GeoJSON, or `BBOX`) in `crs`; `None` for any other geometry
    /// and for one that is not valid or has no area (PostgreSQL answers
    /// those, or refuses them).
    fn of(e: &Expr, crs: Crs) -> Option<Self> {
        let polygons = match e {
            Expr::Geometry(g) => {
                let json = serde_json::to_value(g).ok()?;
                let rings = |v: &serde_json::Value| -> Option<Polygon<f64>> {
                    let mut rings = v.as_array()?.iter().map(|r| {
                        r.as_array()?
                            .iter()
                            .map(|p| Some(Coord { x: p.get(0)?.as_f64()?, y: p.get(1)?.as_f64()? }))
                            .collect::<Option<Vec<Coord<f64>>>>()
                            .map(LineString::new)
                    });
                    let exterior = rings.next()??;
                    Some(Polygon::new(exterior, rings.collect::<Option<Vec<_>>>()?))
                };
                match json["type"].as_str()? {
                    "Polygon" => vec![rings(&json["coordinates"])?],
                    "MultiPolygon" => json["coordinates"].as_array()?.iter().map(rings).collect::<Option<Vec<_>>>()?,
                    _ => return None,
                }
            }
            Expr::BBox { bbox } => {
                let n: Vec<f64> = bbox.iter().map(|b| if let Expr::Float(f) = b.as_ref() { Some(*f) } else { None }).collect::<Option<_>>()?;
                let b = match n.as_slice() {
                    [a, b, c, d] | [a, b, _, c, d, _] => [*a, *b, *c, *d],
                    _ => return None,
                };
                vec![Rect::new(Coord { x: b[0], y: b[1] }, Coord { x: b[2], y: b[3] }).to_polygon()]
            }
            _ => return None,
        };
        let multi = geo::MultiPolygon::new(polygons);
        let coords = multi.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).flat_map(|r| r.0.iter());
        if multi.0.is_empty() || !coords.clone().all(|c| c.x.is_finite() && c.y.is_finite()) || !multi.is_valid() {
            return None;
        }
        let (mut lo, mut hi) = (Coord { x: f64::INFINITY, y: f64::INFINITY }, Coord { x: f64::NEG_INFINITY, y: f64::NEG_INFINITY });
        for c in coords {
            lo = Coord { x: lo.x.min(c.x), y: lo.y.min(c.y) };
            hi = Coord { x: hi.x.max(c.x), y: hi.y.max(c.y) };
        }
        // No area (a box of zero width): its SQL is no polygon.
        if !(lo.x < hi.x && lo.y < hi.y) || multi.0.iter().any(|p| geo::Area::unsigned_area(p) <= 0.0) {
            return None;
        }
        Some(Self { crs, polygons: multi.0, rect: Rect::new(lo, hi), edge_ll: 0.0 })
    }

    /// The margin and the feature's extent in the shape's CRS.
    fn frame<'a>(&self, at: &Place<'a>) -> (f64, &'a [f64; 4]) {
        match self.crs {
            Crs::Crs84 => (self.edge_ll, at.ll),
            Crs::Utm32 => (UTM_EDGE, at.utm),
        }
    }

    /// The box within which a feature may intersect the shape, in its CRS
    /// (a feature whose extent lies apart from it does not).
    pub(super) fn search_box(&self) -> (Crs, [f64; 4]) {
        let m = self.frame(&Place { ll: &[0.0; 4], utm: &[0.0; 4] }).0;
        (self.crs, [self.rect.min().x - m, self.rect.min().y - m, self.rect.max().x + m, self.rect.max().y + m])
    }

    /// Whether the feature at `at` intersects the shape.
    fn intersects(&self, at: &Place<'_>) -> Result<bool, Undecided> {
        let (m, e) = self.frame(at);
        if e.iter().any(|v| !v.is_finite()) {
            // An empty geometry intersects nothing.
            return Ok(false);
        }
        let (lo, hi) = (self.rect.min(), self.rect.max());
        if e[2] < lo.x - m || e[0] > hi.x + m || e[3] < lo.y - m || e[1] > hi.y + m {
            return Ok(false);
        }
        let rings = || self.polygons.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()));
        if e[0] == e[2] && e[1] == e[3] {
            let p = Point::new(e[0], e[1]);
            if rings().any(|r| Euclidean.distance(&p, r) <= m) {
                return Err(Undecided);
            }
            return Ok(self.polygons.iter().any(|poly| poly.intersects(&p)));
        }
        let grown = Rect::new(Coord { x: e[0] - m, y: e[1] - m }, Coord { x: e[2] + m, y: e[3] + m }).to_polygon();
        if !self.polygons.iter().any(|poly| poly.intersects(&grown)) {
            return Ok(false);
        }
        // No boundary crosses the grown extent and a corner lies inside:
        // the whole extent, so the feature, lies inside.
        let corner = Point::new(e[0] - m, e[1] - m);
        if !rings().any(|r| r.intersects(&grown)) && self.polygons.iter().any(|poly| poly.intersects(&corner)) {
            return Ok(true);
        }
        Err(Undecided)
    }
}

/// The value a bound [`Value`] compares as.
fn val(v: Value) -> Option<Val> {
    Some(match v {
        Value::Text(s) => Val::Text(s),
        Value::Float(f) => Val::Num(f),
        Value::Bool(b) => Val::Bool(b),
        Value::Date(d) => Val::Date(d),
        // PostgreSQL keeps microseconds: a finer instant is left to it.
        Value::Instant(t) if t.timestamp_subsec_nanos() % 1000 == 0 => Val::At(t),
        _ => return None,
    })
}

fn list(v: Value) -> Option<Vec<Val>> {
    Some(match v {
        Value::Texts(v) => v.into_iter().map(Val::Text).collect(),
        Value::Floats(v) => v.into_iter().map(Val::Num).collect(),
        Value::Bools(v) => v.into_iter().map(Val::Bool).collect(),
        Value::Dates(v) => v.into_iter().map(Val::Date).collect(),
        Value::Instants(v) => v.into_iter().map(|t| val(Value::Instant(t))).collect::<Option<Vec<_>>>()?,
        _ => return None,
    })
}

impl Ctx<'_> {
    fn index(&self, e: &Expr) -> Option<usize> {
        match e {
            Expr::Property { property } => self.columns.iter().position(|c| c.name == *property && c.kind != Kind::Other),
            _ => None,
        }
    }

    /// `e` as an in-memory predicate, `None` where SQL must answer. `e`
    /// has been translated to SQL already, so it is well-formed.
    pub(super) fn predicate(&self, e: &Expr) -> Option<Pred> {
        match e {
            Expr::Bool(b) => Some(Pred::Const(*b)),
            Expr::Property { .. } => {
                let i = self.index(e)?;
                (self.columns[i].kind == Kind::Bool).then_some(Pred::Cmp(i, Op::Eq, Val::Bool(true)))
            }
            Expr::Operation { op, args } => self.operation_predicate(op, args),
            _ => None,
        }
    }

    fn literal(&self, col: &Column, e: &Expr) -> Option<Value> {
        Self::coerce_value(col, &self.literal_of(e)?)
    }

    fn operation_predicate(&self, op: &str, args: &[Box<Expr>]) -> Option<Pred> {
        let cmp = |o: &str| match o {
            "=" => Some(Op::Eq),
            "<>" => Some(Op::Ne),
            "<" => Some(Op::Lt),
            "<=" => Some(Op::Le),
            ">" => Some(Op::Gt),
            ">=" => Some(Op::Ge),
            _ => None,
        };
        match (op, args) {
            ("and", _) => args.iter().map(|a| self.predicate(a)).collect::<Option<Vec<_>>>().map(Pred::And),
            ("or", _) => args.iter().map(|a| self.predicate(a)).collect::<Option<Vec<_>>>().map(Pred::Or),
            ("not", [a]) => self.predicate(a).map(|p| Pred::Not(Box::new(p))),
            ("isNull", [a]) => self.index(a).map(Pred::IsNull),
            (o, [a, b]) if cmp(o).is_some() => {
                let mut op = cmp(o)?;
                let (i, lit) = match (self.index(a), self.index(b)) {
                    (Some(i), None) => (i, b),
                    (None, Some(i)) => {
                        op = match op {
                            Op::Lt => Op::Gt,
                            Op::Le => Op::Ge,
                            Op::Gt => Op::Lt,
                            Op::Ge => Op::Le,
                            o => o,
                        };
                        (i, a)
                    }
                    _ => return None,
                };
                let col = &self.columns[i];
                if col.kind == Kind::Text && !matches!(op, Op::Eq | Op::Ne) {
                    return None;
                }
                Some(Pred::Cmp(i, op, val(self.literal(col, lit)?)?))
            }
            ("between", [a, lo, hi]) => {
                let i = self.index(a)?;
                let col = &self.columns[i];
                if col.kind == Kind::Text {
                    return None;
                }
                let (lo, hi) = (val(self.literal(col, lo)?)?, val(self.literal(col, hi)?)?);
                Some(Pred::And(vec![Pred::Cmp(i, Op::Ge, lo), Pred::Cmp(i, Op::Le, hi)]))
            }
            ("in", [a, items]) => {
                let i = self.index(a)?;
                let col = &self.columns[i];
                let Expr::Array(items) = items.as_ref() else { return None };
                let lits = items.iter().map(|x| self.literal_of(x)).collect::<Option<Vec<_>>>()?;
                Some(Pred::In(i, list(Self::coerce_list_value(col, &lits)?)?))
            }
            ("s_intersects" | "s_disjoint", [a, b]) => {
                let geometry = |e: &Expr| matches!(e, Expr::Property { property } if property == GEOMETRY);
                let lit = match (geometry(a), geometry(b)) {
                    (true, false) => b,
                    (false, true) => a,
                    _ => return None,
                };
                let p = Pred::Intersects(Arc::new(Shape::of(lit, self.crs)?));
                Some(if op == "s_disjoint" { Pred::Not(Box::new(p)) } else { p })
            }
            ("a_equals" | "a_contains" | "a_containedBy" | "a_overlaps", [a, b]) => {
                let (i, arr, flipped) = match (self.index(a), self.index(b)) {
                    (Some(i), None) => (i, b, false),
                    (None, Some(i)) => (i, a, true),
                    _ => return None,
                };
                let Expr::Array(items) = arr.as_ref() else { return None };
                let strings = items
                    .iter()
                    .map(|x| if let Expr::Literal(s) = x.as_ref() { Some(s.clone()) } else { None })
                    .collect::<Option<Vec<_>>>()?;
                let op = match (op, flipped) {
                    ("a_equals", _) => ArrOp::Equals,
                    ("a_overlaps", _) => ArrOp::Overlaps,
                    ("a_contains", false) | ("a_containedBy", true) => ArrOp::Contains,
                    _ => ArrOp::ContainedBy,
                };
                Some(Pred::Arr(i, op, strings))
            }
            _ => None,
        }
    }
}

/// The condition of `name=value` on a queryable as a predicate (as
/// [`super::filter::equals`] writes it).
pub(super) fn equals(cols: &[Column], i: usize, value: Value) -> Option<Pred> {
    match (cols.get(i)?.kind, value) {
        (Kind::TextArray, Value::Texts(v)) => Some(Pred::Arr(i, ArrOp::Contains, v)),
        (_, v) => Some(Pred::Cmp(i, Op::Eq, val(v)?)),
    }
}

/// PostgreSQL's order of `float8`: NaN equals NaN and is above all.
#[inline]
fn cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// The order of two values of one kind (`None`: NULL or kinds apart).
#[inline]
fn order(a: &Val, b: &Val) -> Option<Ordering> {
    Some(match (a, b) {
        (Val::Text(x), Val::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        // Symbols are only tested for equality (= and <> on text).
        (Val::Sym(x), Val::Sym(y)) => {
            if x == y {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        }
        (Val::Num(x), Val::Num(y)) => cmp_f64(*x, *y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        (Val::Date(x), Val::Date(y)) => x.cmp(y),
        (Val::At(x), Val::At(y)) => x.cmp(y),
        _ => return None,
    })
}

impl Pred {
    /// The predicate with each text literal replaced by its symbol in
    /// `symbols` (one map per column), for a snapshot that holds text as
    /// symbols, and each spatial filter's lon/lat margin set to `edge_ll`,
    /// the collection's.
    pub(super) fn resolve(&self, symbols: &[std::collections::HashMap<String, u32>], edge_ll: f64) -> Self {
        let sym = |i: usize, v: &Val| match v {
            Val::Text(t) => Val::Sym(symbols.get(i).and_then(|d| d.get(t)).copied().unwrap_or(ABSENT)),
            other => other.clone(),
        };
        match self {
            Self::And(ps) => Self::And(ps.iter().map(|p| p.resolve(symbols, edge_ll)).collect()),
            Self::Or(ps) => Self::Or(ps.iter().map(|p| p.resolve(symbols, edge_ll)).collect()),
            Self::Not(p) => Self::Not(Box::new(p.resolve(symbols, edge_ll))),
            Self::Cmp(i, op, v) => Self::Cmp(*i, *op, sym(*i, v)),
            Self::In(i, vs) => Self::In(*i, vs.iter().map(|v| sym(*i, v)).collect()),
            Self::Intersects(s) => Self::Intersects(Arc::new(Shape {
                crs: s.crs,
                polygons: s.polygons.clone(),
                rect: s.rect,
                edge_ll,
            })),
            other => other.clone(),
        }
    }

    /// A box every feature the predicate passes intersects, in its CRS: the
    /// search box of an `S_INTERSECTS` that must hold (alone or in an
    /// `AND`), so a snapshot need look only at the features near it.
    pub(super) fn search_box(&self) -> Option<(Crs, [f64; 4])> {
        match self {
            Self::Intersects(s) => Some(s.search_box()),
            Self::And(ps) => ps.iter().find_map(Self::search_box),
            _ => None,
        }
    }

    /// SQL's answer for each feature of `rows` (indexes into the
    /// column-major `values`; `place` gives a feature's place), in their
    /// order: true, false, NULL (which a WHERE clause drops), or
    /// [`Truth::Undecided`] where only PostgreSQL can tell (a feature on
    /// the edge of a spatial filter, unless the rest of the predicate
    /// decides without it).
    ///
    /// Column by column, not feature by feature: each part is one tight
    /// loop over a column (a feature-by-feature walk of the predicate's
    /// tree was three quarters of a filtered request's time).
    pub(super) fn eval_rows<'a>(&self, values: &[Vec<Val>], rows: &[u32], place: &impl Fn(u32) -> Place<'a>) -> Vec<Truth> {
        let column = |i: usize| values.get(i).map_or(&[][..], Vec::as_slice);
        match self {
            Self::Const(b) => vec![Truth::of(Some(*b)); rows.len()],
            Self::And(ps) | Self::Or(ps) => {
                let and = matches!(self, Self::And(_));
                let mut acc = vec![Truth::of(Some(and)); rows.len()];
                for p in ps {
                    for (a, b) in acc.iter_mut().zip(p.eval_rows(values, rows, place)) {
                        *a = if and { a.and(b) } else { a.or(b) };
                    }
                }
                acc
            }
            Self::Not(p) => p.eval_rows(values, rows, place).into_iter().map(Truth::not).collect(),
            Self::Intersects(s) => {
                rows.iter().map(|&r| s.intersects(&place(r)).map_or(Truth::Undecided, |b| Truth::of(Some(b)))).collect()
            }
            Self::IsNull(i) => each(column(*i), rows, |x| Truth::of(Some(matches!(x, Val::Null)))),
            Self::Cmp(i, op, v) => {
                let holds = |o: Ordering| match op {
                    Op::Eq => o == Ordering::Equal,
                    Op::Ne => o != Ordering::Equal,
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                };
                let col = column(*i);
                // One loop per kind of literal, so the comparison inlines.
                match v {
                    Val::Sym(k) => each(col, rows, |x| match x {
                        Val::Sym(s) => Truth::of(Some(holds(if s == k { Ordering::Equal } else { Ordering::Less }))),
                        _ => Truth::Null,
                    }),
                    Val::Num(k) => each(col, rows, |x| match x {
                        Val::Num(n) => Truth::of(Some(holds(cmp_f64(*n, *k)))),
                        _ => Truth::Null,
                    }),
                    Val::Date(k) => each(col, rows, |x| match x {
                        Val::Date(d) => Truth::of(Some(holds(d.cmp(k)))),
                        _ => Truth::Null,
                    }),
                    Val::At(k) => each(col, rows, |x| match x {
                        Val::At(t) => Truth::of(Some(holds(t.cmp(k)))),
                        _ => Truth::Null,
                    }),
                    v => each(col, rows, |x| Truth::of(order(x, v).map(holds))),
                }
            }
            Self::In(i, vs) => each(column(*i), rows, |x| match x {
                Val::Null => Truth::Null,
                x => Truth::of(Some(vs.iter().any(|v| order(x, v) == Some(Ordering::Equal)))),
            }),
            Self::Arr(i, op, vs) => each(column(*i), rows, |x| match x {
                Val::Texts(have) => Truth::of(Some(match op {
                    ArrOp::Equals => have == vs,
                    ArrOp::Contains => vs.iter().all(|v| have.contains(v)),
                    ArrOp::ContainedBy => have.iter().all(|h| vs.contains(h)),
                    ArrOp::Overlaps => vs.iter().any(|v| have.contains(v)),
                })),
                _ => Truth::Null,
            }),
        }
    }

    /// [`Pred::eval_rows`] of one feature, at `at`.
    #[cfg(test)]
    fn eval(&self, values: &[Vec<Val>], row: usize, at: &Place<'_>) -> Result<Option<bool>, Undecided> {
        let row = u32::try_from(row).map_err(|_| Undecided)?;
        match self.eval_rows(values, &[row], &|_| *at).first() {
            Some(Truth::True) => Ok(Some(true)),
            Some(Truth::False) => Ok(Some(false)),
            Some(Truth::Null) => Ok(None),
            _ => Err(Undecided),
        }
    }
}

/// `f` of the value of each of `rows` in `col` (NULL past its end).
#[inline]
fn each(col: &[Val], rows: &[u32], f: impl Fn(&Val) -> Truth) -> Vec<Truth> {
    rows.iter().map(|&r| col.get(r as usize).map_or(Truth::Null, &f)).collect()
}

/// SQL's answer for one feature, or that only PostgreSQL can give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Truth {
    False,
    True,
    Null,
    /// Either true or false: PostgreSQL decides (see [`Undecided`]).
    Undecided,
}

impl Truth {
    fn of(b: Option<bool>) -> Self {
        match b {
            Some(true) => Self::True,
            Some(false) => Self::False,
            None => Self::Null,
        }
    }

    /// `AND` in SQL's three-valued logic: false if either is; else
    /// undecided if either is (it could be false); else NULL if either is.
    fn and(self, o: Self) -> Self {
        match (self, o) {
            (Self::False, _) | (_, Self::False) => Self::False,
            (Self::Undecided, _) | (_, Self::Undecided) => Self::Undecided,
            (Self::Null, _) | (_, Self::Null) => Self::Null,
            _ => Self::True,
        }
    }

    /// `OR`, the dual of [`Truth::and`].
    fn or(self, o: Self) -> Self {
        self.not().and(o.not()).not()
    }

    fn not(self) -> Self {
        match self {
            Self::False => Self::True,
            Self::True => Self::False,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOWHERE: Place<'static> = Place { ll: &[0.0; 4], utm: &[0.0; 4] };

    #[test]
    fn three_valued_logic_as_in_sql() {
        let values = [vec![Val::Null], vec![Val::Num(2.0)], vec![Val::Text("a".into())]];
        let v = &values[..];
        let null = Pred::Cmp(0, Op::Eq, Val::Num(1.0));
        let t = Pred::Cmp(1, Op::Gt, Val::Num(1.0));
        let f = Pred::Cmp(2, Op::Eq, Val::Text("b".into()));
        assert_eq!(null.eval(v, 0, &NOWHERE).unwrap(), None);
        assert_eq!(Pred::Not(Box::new(null.clone())).eval(v, 0, &NOWHERE).unwrap(), None);
        assert_eq!(Pred::And(vec![null.clone(), t.clone()]).eval(v, 0, &NOWHERE).unwrap(), None);
        assert_eq!(Pred::And(vec![null.clone(), f.clone()]).eval(v, 0, &NOWHERE).unwrap(), Some(false));
        assert_eq!(Pred::Or(vec![null.clone(), t.clone()]).eval(v, 0, &NOWHERE).unwrap(), Some(true));
        assert_eq!(Pred::Or(vec![null, f]).eval(v, 0, &NOWHERE).unwrap(), None);
        assert_eq!(Pred::IsNull(0).eval(v, 0, &NOWHERE).unwrap(), Some(true));
        assert_eq!(Pred::In(0, vec![Val::Num(1.0)]).eval(v, 0, &NOWHERE).unwrap(), None);
        assert_eq!(cmp_f64(f64::NAN, 1e300), Ordering::Greater);
        assert_eq!(cmp_f64(-0.0, 0.0), Ordering::Equal);
    }

    #[test]
    fn text_as_symbols() {
        let symbols: Vec<std::collections::HashMap<String, u32>> = vec![[("on_air".to_owned(), 0), ("planned".to_owned(), 1)].into()];
        let values = [vec![Val::Sym(1), Val::Sym(0), Val::Null]];
        let eq = Pred::Cmp(0, Op::Eq, Val::Text("planned".into())).resolve(&symbols, 0.0);
        let ne = Pred::Cmp(0, Op::Ne, Val::Text("nothing".into())).resolve(&symbols, 0.0);
        let any = Pred::In(0, vec![Val::Text("on_air".into()), Val::Text("x".into())]).resolve(&symbols, 0.0);
        assert_eq!([0, 1, 2].map(|r| eq.eval(&values, r, &NOWHERE).unwrap()), [Some(true), Some(false), None]);
        assert_eq!([0, 1, 2].map(|r| ne.eval(&values, r, &NOWHERE).unwrap()), [Some(true), Some(true), None]);
        assert_eq!([0, 1, 2].map(|r| any.eval(&values, r, &NOWHERE).unwrap()), [Some(false), Some(true), None]);
    }
}

#[cfg(test)]
mod spatial {
    use super::*;
    use crate::catalog::columns::Columns;

    /// The in-memory predicate of `filter` on sites, filter-crs `crs`, with
    /// lon/lat margin `edge`.
    fn pred(filter: &str, crs: Crs, edge: f64) -> Option<Pred> {
        let c = crate::catalog::get("sites").ok()?;
        let cols = Columns::untyped(c);
        let ctx = Ctx { collection: c, columns: &cols.list, crs };
        let e = super::super::filter::parse(filter, super::super::filter::Lang::Text).ok()?;
        Some(ctx.predicate(&e)?.resolve(&[], edge))
    }

    fn at(p: &Pred, x: f64, y: f64) -> Result<Option<bool>, Undecided> {
        let e = [x, y, x, y];
        p.eval(&[], 0, &Place { ll: &e, utm: &e })
    }

    fn rect(p: &Pred, e: [f64; 4]) -> Result<Option<bool>, Undecided> {
        p.eval(&[], 0, &Place { ll: &e, utm: &e })
    }

    #[test]
    fn points_inside_apart_and_on_the_edge() {
        // An L-shaped polygon: the notch (1..2, 1..2) is outside.
        let p = pred("S_INTERSECTS(geometry, POLYGON((0 0, 2 0, 2 1, 1 1, 1 2, 0 2, 0 0)))", Crs::Crs84, 1e-3).unwrap();
        assert_eq!(at(&p, 0.5, 0.5), Ok(Some(true)));
        assert_eq!(at(&p, 0.5, 1.5), Ok(Some(true)));
        assert_eq!(at(&p, 1.5, 1.5), Ok(Some(false)), "in the notch");
        assert_eq!(at(&p, 5.0, 5.0), Ok(Some(false)));
        assert_eq!(at(&p, 1.0, 1.5), Err(Undecided), "on an edge");
        assert_eq!(at(&p, 1.0005, 1.5), Err(Undecided), "within the margin");
        assert_eq!(at(&p, 1.002, 1.5), Ok(Some(false)), "beyond it");
        assert_eq!(at(&p, 2.0, 0.0), Err(Undecided), "a corner");
        assert_eq!(p.search_box(), Some((Crs::Crs84, [-1e-3, -1e-3, 2.0 + 1e-3, 2.0 + 1e-3])));
        // S_DISJOINT is the complement, undecided alike.
        let d = pred("S_DISJOINT(geometry, POLYGON((0 0, 2 0, 2 1, 1 1, 1 2, 0 2, 0 0)))", Crs::Crs84, 1e-3).unwrap();
        assert_eq!(at(&d, 1.5, 1.5), Ok(Some(true)));
        assert_eq!(at(&d, 0.5, 0.5), Ok(Some(false)));
        assert_eq!(at(&d, 1.0, 1.5), Err(Undecided));
        assert_eq!(d.search_box(), None, "a disjoint filter narrows nothing");
    }

    #[test]
    fn the_other_parts_decide_without_the_edge() {
        // On the edge but dropped by FALSE in an AND, passed by TRUE in an OR.
        let and = pred("S_INTERSECTS(geometry, BBOX(0, 0, 1, 1)) AND FALSE", Crs::Utm32, 0.0).unwrap();
        assert_eq!(at(&and, 1.0, 0.5), Ok(Some(false)));
        let or = pred("S_INTERSECTS(geometry, BBOX(0, 0, 1, 1)) OR TRUE", Crs::Utm32, 0.0).unwrap();
        assert_eq!(at(&or, 1.0, 0.5), Ok(Some(true)));
        let undecided = pred("S_INTERSECTS(geometry, BBOX(0, 0, 1, 1)) AND TRUE", Crs::Utm32, 0.0).unwrap();
        assert_eq!(at(&undecided, 1.0, 0.5), Err(Undecided));
        assert_eq!(at(&undecided, 1.0 + 2.0 * UTM_EDGE, 0.5), Ok(Some(false)));
        assert_eq!(undecided.search_box(), Some((Crs::Utm32, [-UTM_EDGE, -UTM_EDGE, 1.0 + UTM_EDGE, 1.0 + UTM_EDGE])));
    }

    #[test]
    fn holes_multipolygons_and_extents() {
        let p = pred(
            "S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4)), ((20 0, 30 0, 30 10, 20 10, 20 0))))",
            Crs::Utm32,
            0.0,
        )
        .unwrap();
        assert_eq!(at(&p, 5.0, 5.0), Ok(Some(false)), "in the hole");
        assert_eq!(at(&p, 2.0, 5.0), Ok(Some(true)));
        assert_eq!(at(&p, 25.0, 5.0), Ok(Some(true)), "the second polygon");
        assert_eq!(at(&p, 15.0, 5.0), Ok(Some(false)), "between them");
        // A polygon feature by its extent: inside, apart, across.
        assert_eq!(rect(&p, [1.0, 1.0, 3.0, 3.0]), Ok(Some(true)));
        assert_eq!(rect(&p, [12.0, 1.0, 18.0, 3.0]), Ok(Some(false)));
        assert_eq!(rect(&p, [4.5, 4.5, 5.5, 5.5]), Ok(Some(false)), "wholly in the hole");
        assert_eq!(rect(&p, [8.0, 1.0, 12.0, 3.0]), Err(Undecided), "across an edge");
        assert_eq!(rect(&p, [3.0, 3.0, 7.0, 7.0]), Err(Undecided), "around the hole");
        assert_eq!(rect(&p, [f64::NAN; 4]), Ok(Some(false)), "an empty geometry intersects nothing");
    }

    /// A star-shaped polygon: vertices at increasing angles around
    /// (`cx`, `cy`), each at a share of `r` from it.
    fn star(cx: f64, cy: f64, r: f64, shares: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let step = std::f64::consts::TAU / shares.len() as f64;
        shares
            .iter()
            .enumerate()
            .map(|(i, (jitter, d))| {
                let a = step * (i as f64 + jitter);
                (cx + r * d * a.cos(), cy + r * d * a.sin())
            })
            .collect()
    }

    proptest::proptest! {
        /// A point is decided as an independent crossing count decides it,
        /// and left undecided exactly within the margin of the boundary.
        #[test]
        fn a_point_is_decided_as_a_crossing_count_would(
            cx in -10.0..10.0f64, cy in -10.0..10.0f64, r in 0.01..5.0f64,
            shares in proptest::collection::vec((0.0..0.5f64, 0.3..1.0f64), 3..8),
            where_ in 0..4u8, t in 0.0..1.0f64, px in -16.0..16.0f64, py in -16.0..16.0f64,
        ) {
            let poly = star(cx, cy, r, &shares);
            let n = poly.len();
            // A random point, a vertex, a point on an edge, or one just off it.
            let (a, b) = (poly[0], poly[1 % n]);
            let (x, y) = match where_ {
                0 => (px, py),
                1 => a,
                2 => (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)),
                _ => (a.0 + t * (b.0 - a.0) + 2.0 * UTM_EDGE * (b.1 - a.1).signum(), a.1 + t * (b.1 - a.1)),
            };
            let ring: Vec<String> = poly.iter().chain(poly.first()).map(|(x, y)| format!("{x} {y}")).collect();
            let p = pred(&format!("S_INTERSECTS(geometry, POLYGON(({})))", ring.join(", ")), Crs::Utm32, 0.0);
            let p = p.ok_or_else(|| proptest::test_runner::TestCaseError::reject("not a valid polygon"))?;
            let mut inside = false;
            let mut dist = f64::INFINITY;
            for k in 0..n {
                let (a, b) = (poly[k], poly[(k + 1) % n]);
                if (a.1 > y) != (b.1 > y) && x < a.0 + (y - a.1) * (b.0 - a.0) / (b.1 - a.1) {
                    inside = !inside;
                }
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let s = (((x - a.0) * dx + (y - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                dist = dist.min((x - a.0 - s * dx).hypot(y - a.1 - s * dy));
            }
            match at(&p, x, y) {
                Ok(Some(got)) => {
                    proptest::prop_assert!(dist > UTM_EDGE * (1.0 - 1e-9), "decided at {dist} from the boundary");
                    proptest::prop_assert_eq!(got, inside);
                }
                Err(Undecided) => proptest::prop_assert!(dist <= UTM_EDGE * (1.0 + 1e-9), "undecided at {dist} from the boundary"),
                Ok(None) => proptest::prop_assert!(false, "NULL for a point"),
            }
        }

        /// Evaluating many features at once gives each one's own answer.
        #[test]
        fn rows_at_once_equal_rows_alone(xs in proptest::collection::vec((-3.0..3.0f64, -3.0..3.0f64), 1..40), flip in 0..3u8) {
            let f = ["S_INTERSECTS(geometry, BBOX(-1, -1, 1, 1))", "NOT S_INTERSECTS(geometry, BBOX(-1, -1, 1, 1)) OR FALSE",
                     "S_INTERSECTS(geometry, BBOX(-1, -1, 1, 1)) AND S_INTERSECTS(geometry, BBOX(0, 0, 2, 2))"][usize::from(flip)];
            let p = pred(f, Crs::Utm32, 0.0).unwrap();
            let places: Vec<[f64; 4]> = xs.iter().map(|&(x, y)| [x, y, x, y]).collect();
            let rows: Vec<u32> = (0..places.len() as u32).rev().collect();
            let all = p.eval_rows(&[], &rows, &|r| Place { ll: &places[r as usize], utm: &places[r as usize] });
            for (k, &r) in rows.iter().enumerate() {
                let one = p.eval_rows(&[], &[r], &|r| Place { ll: &places[r as usize], utm: &places[r as usize] });
                proptest::prop_assert_eq!(all[k], one[0]);
            }
        }
    }

    #[test]
    fn what_postgresql_must_answer() {
        for f in [
            // Not a polygon, not valid, no area, or another predicate.
            "S_INTERSECTS(geometry, POINT(1 1))",
            "S_INTERSECTS(geometry, LINESTRING(0 0, 1 1))",
            "S_INTERSECTS(geometry, POLYGON((0 0, 2 2, 2 0, 0 2, 0 0)))",
            "S_INTERSECTS(geometry, BBOX(0, 0, 0, 1))",
            "S_WITHIN(geometry, BBOX(0, 0, 1, 1))",
            "S_CONTAINS(geometry, BBOX(0, 0, 1, 1))",
        ] {
            assert!(pred(f, Crs::Crs84, 0.0).is_none(), "{f}");
        }
        // The geometry second or first alike.
        assert!(pred("S_INTERSECTS(BBOX(0, 0, 1, 1), geometry)", Crs::Crs84, 0.0).is_some());
    }
}

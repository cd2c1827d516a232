//! OGC API – Features Part 3: a CQL2 `filter` (text or JSON), parsed by
//! the `cql2` crate and translated here to a parameterised SQL condition
//! over the catalog's columns ([`crate::catalog::columns`]).
//!
//! - Property names are looked up in the collection's columns: only the
//!   catalog's constant expressions enter the SQL text, and every literal
//!   of the filter travels as a bind parameter ([`Sql`] keeps them apart
//!   until the statement is written), so no value is ever spliced into SQL.
//! - Literals are checked against the property's type before any SQL runs
//!   (a number compared with a text property is a 400 naming both), so the
//!   database never sees a cast that could fail on user input; the one
//!   exception is a geometry PostGIS refuses (an unclosed ring), which the
//!   items route answers with a 400 as well.
//! - What is supported: comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`) of a
//!   property with a literal or a property of its kind, `AND`, `OR`,
//!   `NOT`, `IS NULL`, `LIKE`, `IN`, `BETWEEN`, `CASEI`, the spatial
//!   predicates `S_INTERSECTS`, `S_DISJOINT`, `S_EQUALS`, `S_TOUCHES`,
//!   `S_WITHIN`, `S_OVERLAPS`, `S_CROSSES`, `S_CONTAINS` of the property
//!   `geometry` with a WKT or GeoJSON geometry or a `BBOX`, the array
//!   predicates `A_EQUALS`, `A_CONTAINS`, `A_CONTAINEDBY`, `A_OVERLAPS`, and
//!   the temporal predicates `T_INTERSECTS`, `T_DISJOINT`, `T_BEFORE`,
//!   `T_AFTER`, `T_EQUALS` of a dated property with a date, timestamp or
//!   interval. Anything else (arithmetic, other functions, `ACCENTI`, the
//!   interval-to-interval temporal relations) is a 400 naming it.

use chrono::{DateTime, NaiveDate, Utc};
use cql2::{Expr, Geometry};

use super::params::Crs;
use super::query::Param;
use crate::catalog::columns::{Column, Kind};
use crate::catalog::Collection;
use crate::ApiError;

/// The name of the features' geometry in filters (the queryable
/// `geometry`).
pub(super) const GEOMETRY: &str = "geometry";

/// A value bound to a statement.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Text(String),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
    Instant(DateTime<Utc>),
    Texts(Vec<String>),
    Floats(Vec<f64>),
    Bools(Vec<bool>),
    Dates(Vec<NaiveDate>),
    Instants(Vec<DateTime<Utc>>),
}

impl Value {
    fn param(&self) -> Param {
        match self {
            Self::Text(v) => Box::new(v.clone()),
            Self::Float(v) => Box::new(*v),
            Self::Bool(v) => Box::new(*v),
            Self::Date(v) => Box::new(*v),
            Self::Instant(v) => Box::new(*v),
            Self::Texts(v) => Box::new(v.clone()),
            Self::Floats(v) => Box::new(v.clone()),
            Self::Bools(v) => Box::new(v.clone()),
            Self::Dates(v) => Box::new(v.clone()),
            Self::Instants(v) => Box::new(v.clone()),
        }
    }

    /// The SQL type the placeholder is cast to (so the statement's text
    /// fixes its parameters' types).
    fn cast(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Float(_) => "float8",
            Self::Bool(_) => "bool",
            Self::Date(_) => "date",
            Self::Instant(_) => "timestamptz",
            Self::Texts(_) => "text[]",
            Self::Floats(_) => "float8[]",
            Self::Bools(_) => "bool[]",
            Self::Dates(_) => "date[]",
            Self::Instants(_) => "timestamptz[]",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Value(Value),
}

/// SQL text with its values kept apart, written out with numbered
/// placeholders by [`Sql::render`].
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Sql(Vec<Piece>);

impl Sql {
    pub(super) fn text(s: impl Into<String>) -> Self {
        Self(vec![Piece::Text(s.into())])
    }

    pub(super) fn push(&mut self, s: &str) -> &mut Self {
        self.0.push(Piece::Text(s.to_owned()));
        self
    }

    pub(super) fn value(&mut self, v: Value) -> &mut Self {
        self.0.push(Piece::Value(v));
        self
    }

    pub(super) fn append(&mut self, o: Self) -> &mut Self {
        self.0.extend(o.0);
        self
    }

    /// The parts joined with `sep`, in parentheses.
    fn join(parts: Vec<Self>, sep: &str) -> Self {
        let mut s = Self::text("(");
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                s.push(sep);
            }
            s.append(p);
        }
        s.push(")");
        s
    }

    /// The SQL text, its values pushed to `params` as `$n::type`.
    pub(super) fn render(&self, params: &mut Vec<Param>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(v) => {
                    params.push(v.param());
                    out.push_str(&format!("${}::{}", params.len(), v.cast()));
                }
            }
        }
        out
    }
}

/// The language of a `filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lang {
    Text,
    Json,
}

impl Lang {
    /// `filter-lang`, cql2-text when absent.
    pub(super) fn parse(v: Option<&str>) -> Result<Self, ApiError> {
        match v {
            None | Some("cql2-text") => Ok(Self::Text),
            Some("cql2-json") => Ok(Self::Json),
            Some(other) => {
                Err(ApiError::BadRequest(format!("parameter 'filter-lang': {other:?} is not offered; use cql2-text or cql2-json")))
            }
        }
    }
}

fn bad(why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("parameter 'filter': {why}"))
}

/// Parse `text` as a CQL2 expression in `lang`; a malformed filter is a
/// 400 that says where (line and column) and what was expected.
pub(super) fn parse(text: &str, lang: Lang) -> Result<Expr, ApiError> {
    match lang {
        Lang::Text => cql2::parse_text(text).map_err(|e| match e {
            cql2::Error::Pest(p) => {
                let (line, col) = match p.line_col {
                    pest::error::LineColLocation::Pos(lc) | pest::error::LineColLocation::Span(lc, _) => lc,
                };
                let what = match &p.variant {
                    pest::error::ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
                        format!("expected {}", positives.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(" or "))
                    }
                    pest::error::ErrorVariant::CustomError { message } => message.clone(),
                    pest::error::ErrorVariant::ParsingError { .. } => "unexpected input".to_owned(),
                };
                bad(format!("cql2-text does not parse at line {line}, column {col} ({what}): {:?}", p.line()))
            }
            other => bad(format!("cql2-text does not parse: {other}")),
        }),
        Lang::Json => {
            cql2::parse_json(text).map_err(|e| bad(format!("cql2-json does not parse at line {}, column {}: {e}", e.line(), e.column())))
        }
    }
}

/// What a filter is translated against.
pub(super) struct Ctx<'a> {
    pub(super) collection: &'a Collection,
    pub(super) columns: &'a [Column],
    /// CRS of the filter's geometries (`filter-crs`).
    pub(super) crs: Crs,
}

/// An operand of a predicate.
enum Operand<'a> {
    /// A property, `lower()`ed under `CASEI`.
    Column(&'a Column, bool),
    Geometry,
    Literal(Lit),
}

#[derive(Clone, Debug)]
pub(super) enum Lit {
    Str(String, bool),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    Instant(DateTime<Utc>),
    Interval(Bound, Bound),
    Array(Vec<Lit>),
    Geom(Sql),
    Null,
}

/// An end of an interval: open (`..`), a day or an instant.
#[derive(Clone, Copy, Debug)]
pub(super) enum Bound {
    Open,
    Day(NaiveDate),
    At(DateTime<Utc>),
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn bound(e: &Expr) -> Result<Bound, ApiError> {
    match e {
        Expr::Literal(s) if s == ".." => Ok(Bound::Open),
        Expr::Literal(s) => parse_day(s)
            .map(Bound::Day)
            .or_else(|| parse_instant(s).map(Bound::At))
            .ok_or_else(|| bad(format!("interval end {s:?} is no date, timestamp or '..'"))),
        Expr::Date { date } => match date.as_ref() {
            Expr::Literal(s) => parse_day(s).map(Bound::Day).ok_or_else(|| bad(format!("DATE({s:?}) is no date (YYYY-MM-DD)"))),
            _ => Err(bad("DATE() takes a string")),
        },
        Expr::Timestamp { timestamp } => match timestamp.as_ref() {
            Expr::Literal(s) => parse_instant(s).map(Bound::At).ok_or_else(|| bad(format!("TIMESTAMP({s:?}) is no RFC 3339 timestamp"))),
            _ => Err(bad("TIMESTAMP() takes a string")),
        },
        _ => Err(bad("an interval's ends are dates, timestamps or '..'")),
    }
}

impl Ctx<'_> {
    fn column(&self, name: &str) -> Result<&Column, ApiError> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            bad(format!(
                "unknown property {name:?}; queryables of {}: {}, {GEOMETRY}",
                self.collection.id,
                self.columns.iter().filter(|c| c.kind != Kind::Other).map(|c| c.name).collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The SQL of a geometry literal in EPSG:25832 (the storage CRS), its
    /// coordinates bound as values; a lon/lat geometry is densified so its
    /// edges stay straight in lon/lat (as the `bbox` parameter's) and, for
    /// the predicates where that cannot change the answer, cut to the
    /// window around Germany every feature lies in (EPSG:25832 cannot
    /// represent the globe).
    fn geometry(&self, e: &Expr) -> Result<Option<Sql>, ApiError> {
        let srid = self.crs.srid();
        let mut s = Sql::default();
        match e {
            Expr::Geometry(g) => {
                // WKT as GeoJSON (the cql2 crate converts it), so one check
                // and one PostGIS reader serve both encodings.
                let json = match g {
                    Geometry::GeoJSON(g) => serde_json::to_value(g),
                    Geometry::Wkt(_) => serde_json::to_value(g),
                }
                .map_err(|e| bad(format!("the geometry does not read: {e}")))?;
                check_geometry(&json).map_err(|why| bad(format!("the geometry is not valid: {why}")))?;
                s.push("ST_SetSRID(ST_GeomFromGeoJSON(").value(Value::Text(json.to_string())).push(&format!("), {srid})"));
            }
            Expr::BBox { bbox } => {
                let nums: Vec<f64> = bbox
                    .iter()
                    .map(|b| match b.as_ref() {
                        Expr::Float(f) if f.is_finite() => Ok(*f),
                        _ => Err(bad("BBOX takes 4 or 6 numbers")),
                    })
                    .collect::<Result<_, _>>()?;
                let b = match nums.as_slice() {
                    [a, b, c, d] | [a, b, _, c, d, _] => [*a, *b, *c, *d],
                    _ => return Err(bad("BBOX takes 4 or 6 numbers")),
                };
                if b[0] > b[2] || b[1] > b[3] {
                    return Err(bad("BBOX: min must not exceed max"));
                }
                s.push("ST_MakeEnvelope(");
                for (i, v) in b.iter().enumerate() {
                    if i > 0 {
                        s.push(", ");
                    }
                    s.value(Value::Float(*v));
                }
                s.push(&format!(", {srid})"));
            }
            _ => return Ok(None),
        }
        Ok(Some(s))
    }

    fn operand(&self, e: &Expr) -> Result<Operand<'_>, ApiError> {
        Ok(match e {
            Expr::Property { property } if property == GEOMETRY => Operand::Geometry,
            Expr::Property { property } => Operand::Column(self.column(property)?, false),
            Expr::Operation { op, args } if op == "casei" => match args.as_slice() {
                [a] => match self.operand(a)? {
                    Operand::Column(c, _) if c.kind == Kind::Text => Operand::Column(c, true),
                    Operand::Literal(Lit::Str(s, _)) => Operand::Literal(Lit::Str(s, true)),
                    _ => return Err(bad("CASEI takes a text property or a string")),
                },
                _ => return Err(bad("CASEI takes one argument")),
            },
            Expr::Operation { op, .. } => return Err(bad(format!("{op:?} is not supported as an operand"))),
            Expr::Literal(s) => Operand::Literal(Lit::Str(s.clone(), false)),
            Expr::Float(f) if f.is_finite() => Operand::Literal(Lit::Num(*f)),
            Expr::Float(_) => return Err(bad("numbers must be finite")),
            Expr::Bool(b) => Operand::Literal(Lit::Bool(*b)),
            Expr::Null => Operand::Literal(Lit::Null),
            Expr::Date { .. } | Expr::Timestamp { .. } => match bound(e)? {
                Bound::Day(d) => Operand::Literal(Lit::Date(d)),
                Bound::At(t) => Operand::Literal(Lit::Instant(t)),
                Bound::Open => return Err(bad("'..' is only an interval's end")),
            },
            Expr::Interval { interval } => match interval.as_slice() {
                [a, b] => Operand::Literal(Lit::Interval(bound(a)?, bound(b)?)),
                _ => return Err(bad("INTERVAL takes two ends")),
            },
            Expr::Array(items) => {
                let mut v = Vec::with_capacity(items.len());
                for i in items {
                    match self.operand(i)? {
                        Operand::Literal(l) => v.push(l),
                        _ => return Err(bad("a list holds literals only")),
                    }
                }
                Operand::Literal(Lit::Array(v))
            }
            Expr::Geometry(_) | Expr::BBox { .. } => match self.geometry(e)? {
                Some(g) => Operand::Literal(Lit::Geom(g)),
                None => return Err(bad("not a geometry")),
            },
        })
    }

    /// A literal operand for the in-memory predicate ([`super::predicate`]);
    /// `None` for anything else and for a `CASEI` string.
    pub(super) fn literal_of(&self, e: &Expr) -> Option<Lit> {
        match self.operand(e).ok()? {
            Operand::Literal(Lit::Str(_, true)) => None,
            Operand::Literal(l) => Some(l),
            _ => None,
        }
    }

    pub(super) fn coerce_value(c: &Column, l: &Lit) -> Option<Value> {
        Self::coerce(c, l).ok()
    }

    pub(super) fn coerce_list_value(c: &Column, items: &[Lit]) -> Option<Value> {
        Self::coerce_list(c, items).ok()
    }

    /// A literal as a value of property `c`'s kind, or a 400 naming both.
    fn coerce(c: &Column, l: &Lit) -> Result<Value, ApiError> {
        let mismatch = || bad(format!("property {:?} ({}) cannot be compared with {}", c.name, kind_name(c.kind), lit_name(l)));
        Ok(match (c.kind, l) {
            (Kind::Text, Lit::Str(s, _)) => Value::Text(s.clone()),
            (Kind::Number, Lit::Num(n)) => Value::Float(*n),
            (Kind::Bool, Lit::Bool(b)) => Value::Bool(*b),
            (Kind::Date, Lit::Date(d)) => Value::Date(*d),
            (Kind::Date, Lit::Str(s, _)) => Value::Date(parse_day(s).ok_or_else(mismatch)?),
            (Kind::Timestamp, Lit::Instant(t)) => Value::Instant(*t),
            (Kind::Timestamp, Lit::Date(d)) => Value::Instant(d.and_hms_opt(0, 0, 0).ok_or_else(mismatch)?.and_utc()),
            (Kind::Timestamp, Lit::Str(s, _)) => Value::Instant(
                parse_instant(s).or_else(|| parse_day(s).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())).ok_or_else(mismatch)?,
            ),
            _ => return Err(mismatch()),
        })
    }

    /// A list literal as an array value of property `c`'s kind.
    fn coerce_list(c: &Column, items: &[Lit]) -> Result<Value, ApiError> {
        let kind = if c.kind == Kind::TextArray { Kind::Text } else { c.kind };
        let col = Column { name: c.name, expr: c.expr, kind };
        let vals = items.iter().map(|l| Self::coerce(&col, l)).collect::<Result<Vec<_>, _>>()?;
        Ok(match kind {
            Kind::Text => Value::Texts(vals.into_iter().filter_map(|v| if let Value::Text(s) = v { Some(s) } else { None }).collect()),
            Kind::Number => Value::Floats(vals.into_iter().filter_map(|v| if let Value::Float(s) = v { Some(s) } else { None }).collect()),
            Kind::Bool => Value::Bools(vals.into_iter().filter_map(|v| if let Value::Bool(s) = v { Some(s) } else { None }).collect()),
            Kind::Date => Value::Dates(vals.into_iter().filter_map(|v| if let Value::Date(s) = v { Some(s) } else { None }).collect()),
            Kind::Timestamp => {
                Value::Instants(vals.into_iter().filter_map(|v| if let Value::Instant(s) = v { Some(s) } else { None }).collect())
            }
            Kind::TextArray | Kind::Other => return Err(bad(format!("property {:?} takes no list", c.name))),
        })
    }

    /// A property's SQL as compared (`lower()`ed under CASEI).
    fn column_sql(c: &Column, casei: bool) -> Result<String, ApiError> {
        if c.kind == Kind::Other {
            return Err(bad(format!("property {:?} is not queryable", c.name)));
        }
        Ok(if casei { format!("lower({})", c.compared()) } else { c.compared() })
    }

    /// A literal's SQL as compared with `c` (`lower()`ed under CASEI).
    fn value_sql(c: &Column, l: &Lit) -> Result<Sql, ApiError> {
        let v = Self::coerce(c, l)?;
        let mut s = Sql::default();
        if matches!(l, Lit::Str(_, true)) {
            s.push("lower(").value(v).push(")");
        } else {
            s.value(v);
        }
        Ok(s)
    }

    /// Translate `e` to a boolean SQL condition.
    pub(super) fn translate(&self, e: &Expr) -> Result<Sql, ApiError> {
        match e {
            Expr::Bool(true) => Ok(Sql::text("TRUE")),
            Expr::Bool(false) => Ok(Sql::text("FALSE")),
            Expr::Property { property } => {
                let c = self.column(property)?;
                if c.kind != Kind::Bool {
                    return Err(bad(format!("property {property:?} is no boolean to filter by on its own")));
                }
                Ok(Sql::text(c.compared()))
            }
            Expr::Operation { op, args } => self.operation(op, args),
            _ => Err(bad("a filter is a predicate (a comparison, AND/OR/NOT, LIKE, IN, BETWEEN, IS NULL, S_*, T_*, A_*)")),
        }
    }

    fn operation(&self, op: &str, args: &[Box<Expr>]) -> Result<Sql, ApiError> {
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(bad(format!("{} takes {n} arguments, got {}", op.to_uppercase(), args.len())))
            }
        };
        match op {
            "and" | "or" => {
                let parts = args.iter().map(|a| self.translate(a)).collect::<Result<Vec<_>, _>>()?;
                if parts.is_empty() {
                    return Err(bad(format!("{} without arguments", op.to_uppercase())));
                }
                Ok(Sql::join(parts, if op == "and" { " AND " } else { " OR " }))
            }
            "not" => {
                arity(1)?;
                let mut s = Sql::text("(NOT ");
                s.append(self.translate(&args[0])?).push(")");
                Ok(s)
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                arity(2)?;
                self.compare(op, &args[0], &args[1])
            }
            "like" => {
                arity(2)?;
                match (self.operand(&args[0])?, self.operand(&args[1])?) {
                    (Operand::Column(c, ci), Operand::Literal(l @ Lit::Str(..))) if c.kind == Kind::Text => {
                        let mut s = Sql::text(format!("({} LIKE ", Self::column_sql(c, ci)?));
                        s.append(Self::value_sql(c, &l)?).push(")");
                        Ok(s)
                    }
                    _ => Err(bad("LIKE compares a text property with a string pattern")),
                }
            }
            "between" => {
                arity(3)?;
                match (self.operand(&args[0])?, self.operand(&args[1])?, self.operand(&args[2])?) {
                    (Operand::Column(c, ci), Operand::Literal(lo), Operand::Literal(hi))
                        if matches!(c.kind, Kind::Number | Kind::Date | Kind::Timestamp | Kind::Text) =>
                    {
                        let mut s = Sql::text(format!("({} BETWEEN ", Self::column_sql(c, ci)?));
                        s.append(Self::value_sql(c, &lo)?).push(" AND ").append(Self::value_sql(c, &hi)?).push(")");
                        Ok(s)
                    }
                    _ => Err(bad("BETWEEN takes a property and two literals")),
                }
            }
            "in" => {
                arity(2)?;
                match (self.operand(&args[0])?, self.operand(&args[1])?) {
                    (Operand::Column(c, false), Operand::Literal(Lit::Array(items))) if c.kind != Kind::TextArray => {
                        let mut s = Sql::text(format!("({} = ANY(", Self::column_sql(c, false)?));
                        s.value(Self::coerce_list(c, &items)?).push("))");
                        Ok(s)
                    }
                    _ => Err(bad("IN takes a property and a list of literals")),
                }
            }
            "isNull" => {
                arity(1)?;
                match self.operand(&args[0])? {
                    Operand::Column(c, _) => Ok(Sql::text(format!("(({}) IS NULL)", c.expr))),
                    Operand::Geometry => Ok(Sql::text(format!("(({}) IS NULL)", self.collection.geom_filter))),
                    Operand::Literal(_) => Err(bad("IS NULL takes a property")),
                }
            }
            "s_intersects" | "s_disjoint" | "s_equals" | "s_touches" | "s_within" | "s_overlaps" | "s_crosses" | "s_contains" => {
                arity(2)?;
                self.spatial(op, &args[0], &args[1])
            }
            "a_equals" | "a_contains" | "a_containedBy" | "a_overlaps" => {
                arity(2)?;
                let (c, items, flipped) = match (self.operand(&args[0])?, self.operand(&args[1])?) {
                    (Operand::Column(c, false), Operand::Literal(Lit::Array(items))) => (c, items, false),
                    (Operand::Literal(Lit::Array(items)), Operand::Column(c, false)) => (c, items, true),
                    _ => return Err(bad(format!("{} takes an array property and a list", op.to_uppercase()))),
                };
                if c.kind != Kind::TextArray {
                    return Err(bad(format!("property {:?} is no array", c.name)));
                }
                let sym = match (op, flipped) {
                    ("a_equals", _) => "=",
                    ("a_overlaps", _) => "&&",
                    ("a_contains", false) | ("a_containedBy", true) => "@>",
                    _ => "<@",
                };
                let mut s = Sql::text(format!("(({}) {sym} ", c.expr));
                s.value(Self::coerce_list(c, &items)?).push(")");
                Ok(s)
            }
            "t_intersects" | "t_disjoint" | "t_before" | "t_after" | "t_equals" => {
                arity(2)?;
                self.temporal(op, &args[0], &args[1])
            }
            other if other.starts_with("t_") => Err(bad(format!(
                "temporal operator {} is not supported (T_INTERSECTS, T_DISJOINT, T_BEFORE, T_AFTER and T_EQUALS are)",
                other.to_uppercase()
            ))),
            other => Err(bad(format!("operator or function {other:?} is not supported"))),
        }
    }

    fn compare(&self, op: &str, a: &Expr, b: &Expr) -> Result<Sql, ApiError> {
        let flip = |op: &str| {
            match op {
                "<" => ">",
                "<=" => ">=",
                ">" => "<",
                ">=" => "<=",
                o => o,
            }
            .to_owned()
        };
        let (c, ci, rhs, op) = match (self.operand(a)?, self.operand(b)?) {
            (Operand::Column(c, ci), Operand::Column(d, di)) => {
                if c.kind != d.kind {
                    return Err(bad(format!("properties {:?} and {:?} are of different types", c.name, d.name)));
                }
                return Ok(Sql::text(format!("({} {op} {})", Self::column_sql(c, ci)?, Self::column_sql(d, di)?)));
            }
            (Operand::Column(c, ci), Operand::Literal(l)) => (c, ci, l, op.to_owned()),
            (Operand::Literal(l), Operand::Column(c, ci)) => (c, ci, l, flip(op)),
            (Operand::Geometry, _) | (_, Operand::Geometry) => return Err(bad("the geometry is compared with S_* functions")),
            (Operand::Literal(_), Operand::Literal(_)) => {
                return Err(bad(format!("{op} compares a property with a literal or a property")))
            }
        };
        if matches!(rhs, Lit::Null) {
            return Err(bad(format!("comparing {:?} with NULL is never true; use IS NULL", c.name)));
        }
        if c.kind == Kind::TextArray {
            return Err(bad(format!("property {:?} is an array: use A_CONTAINS, A_OVERLAPS, …", c.name)));
        }
        let mut s = Sql::text(format!("({} {op} ", Self::column_sql(c, ci)?));
        s.append(Self::value_sql(c, &rhs)?).push(")");
        Ok(s)
    }

    fn spatial(&self, op: &str, a: &Expr, b: &Expr) -> Result<Sql, ApiError> {
        let func = format!("ST_{}{}", op[2..3].to_uppercase(), &op[3..]);
        let geom = |o: Operand<'_>| -> Result<Sql, ApiError> {
            match o {
                Operand::Geometry => Ok(Sql::text(self.collection.geom_filter)),
                Operand::Literal(Lit::Geom(g)) => {
                    // A scalar subquery: computed once per execution.
                    let mut s = Sql::text("(SELECT ");
                    match self.crs {
                        Crs::Utm32 => {
                            s.append(g);
                        }
                        Crs::Crs84 => {
                            let w = funkplan_model::WINDOW;
                            let cut = matches!(op, "s_intersects" | "s_disjoint");
                            s.push("ST_Transform(ST_Segmentize(");
                            if cut {
                                s.push("ST_Intersection(");
                            }
                            s.append(g);
                            if cut {
                                s.push(&format!(", ST_MakeEnvelope({}, {}, {}, {}, 4326))", w[0], w[1], w[2], w[3]));
                            }
                            s.push(", 0.01), 25832)");
                        }
                    }
                    s.push(")");
                    Ok(s)
                }
                _ => Err(bad(format!("{} takes the property {GEOMETRY} and a geometry (WKT, GeoJSON or BBOX)", op.to_uppercase()))),
            }
        };
        let (x, y) = (self.operand(a)?, self.operand(b)?);
        if !matches!((&x, &y), (Operand::Geometry, _) | (_, Operand::Geometry)) {
            return Err(bad(format!("{} takes the property {GEOMETRY} and a geometry (WKT, GeoJSON or BBOX)", op.to_uppercase())));
        }
        let mut s = Sql::text(format!("{func}("));
        s.append(geom(x)?).push(", ").append(geom(y)?).push(")");
        Ok(s)
    }

    fn temporal(&self, op: &str, a: &Expr, b: &Expr) -> Result<Sql, ApiError> {
        let (c, lit, op) = match (self.operand(a)?, self.operand(b)?) {
            (Operand::Column(c, false), Operand::Literal(l)) => (c, l, op),
            (Operand::Literal(l), Operand::Column(c, false)) => (
                c,
                l,
                match op {
                    "t_before" => "t_after",
                    "t_after" => "t_before",
                    o => o,
                },
            ),
            _ => return Err(bad(format!("{} takes a dated property and a date, timestamp or interval", op.to_uppercase()))),
        };
        // The property's instant: a date is its day's start in UTC.
        let at = match c.kind {
            Kind::Timestamp => format!("({})", c.expr),
            Kind::Date => format!("(({})::timestamp AT TIME ZONE 'UTC')", c.expr),
            _ => return Err(bad(format!("property {:?} ({}) is not dated", c.name, kind_name(c.kind)))),
        };
        // The literal as [lo, hi] or [lo, hi): a day spans until the next.
        let start = |b: Bound| match b {
            Bound::Open => None,
            Bound::Day(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
            Bound::At(t) => Some(t),
        };
        let end = |b: Bound| match b {
            Bound::Open => (None, false),
            Bound::Day(d) => (d.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()), true),
            Bound::At(t) => (Some(t), false),
        };
        let (lo, (hi, hi_open)) = match lit {
            Lit::Date(d) => (start(Bound::Day(d)), end(Bound::Day(d))),
            Lit::Instant(t) => (Some(t), (Some(t), false)),
            Lit::Interval(a, b) => (start(a), end(b)),
            Lit::Str(s, false) => match parse_day(&s).map(Bound::Day).or_else(|| parse_instant(&s).map(Bound::At)) {
                Some(b) => (start(b), end(b)),
                None => return Err(bad(format!("{s:?} is no date or timestamp"))),
            },
            other => return Err(bad(format!("{} takes a date, timestamp or interval, not {}", op.to_uppercase(), lit_name(&other)))),
        };
        if let (Some(l), Some(h)) = (lo, hi) {
            if l > h {
                return Err(bad("the interval ends before it starts"));
            }
        }
        let mut s = Sql::text("(");
        let cond = |s: &mut Sql, sym: &str, v: DateTime<Utc>| {
            s.push(&format!("{at} {sym} ")).value(Value::Instant(v));
        };
        let intersects = |s: &mut Sql| {
            s.push("(TRUE");
            if let Some(l) = lo {
                s.push(" AND ");
                cond(s, ">=", l);
            }
            if let Some(h) = hi {
                s.push(" AND ");
                cond(s, if hi_open { "<" } else { "<=" }, h);
            }
            s.push(&format!(" AND {at} IS NOT NULL)"));
        };
        match op {
            "t_intersects" => intersects(&mut s),
            "t_disjoint" => {
                s.push(&format!("{at} IS NOT NULL AND NOT "));
                intersects(&mut s);
            }
            "t_equals" => match (lo, hi) {
                (Some(l), Some(h)) if l == h => cond(&mut s, "=", l),
                // A date: the instants of that day.
                (Some(l), Some(h)) if hi_open && h - l == chrono::Duration::days(1) => intersects(&mut s),
                _ => return Err(bad("T_EQUALS compares a dated property with a date or timestamp")),
            },
            "t_before" => match lo {
                Some(l) => cond(&mut s, "<", l),
                None => {
                    s.push("FALSE");
                }
            },
            _ => match hi {
                Some(h) => cond(&mut s, if hi_open { ">=" } else { ">" }, h),
                None => {
                    s.push("FALSE");
                }
            },
        }
        s.push(")");
        Ok(s)
    }
}

/// What PostGIS would take without complaint but answer wrongly or
/// refuse: a polygon's rings must be closed with at least four positions,
/// a line needs two, every position two or three finite numbers.
fn check_geometry(g: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value as J;
    fn position(p: &J) -> Result<Vec<f64>, String> {
        let v: Vec<f64> = p.as_array().ok_or("a position is not an array")?.iter().filter_map(J::as_f64).collect();
        if !(2..=4).contains(&v.len()) || v.iter().any(|x| !x.is_finite()) {
            return Err(format!("position {p} is not 2 to 4 finite numbers"));
        }
        Ok(v)
    }
    fn positions(ps: &J, min: usize, closed: bool) -> Result<(), String> {
        let ps = ps.as_array().ok_or("positions are not an array")?;
        let v = ps.iter().map(position).collect::<Result<Vec<_>, _>>()?;
        if v.len() < min {
            return Err(format!("{} positions where {min} are needed", v.len()));
        }
        if closed && v.first() != v.last() {
            return Err("a polygon's ring is not closed (its last position must repeat its first)".to_owned());
        }
        Ok(())
    }
    fn each(v: &J, f: impl Fn(&J) -> Result<(), String>) -> Result<(), String> {
        v.as_array().ok_or("coordinates are not an array")?.iter().try_for_each(f)
    }
    let c = &g["coordinates"];
    match g["type"].as_str() {
        Some("Point") => position(c).map(|_| ()),
        Some("MultiPoint") => each(c, |p| position(p).map(|_| ())),
        Some("LineString") => positions(c, 2, false),
        Some("MultiLineString") => each(c, |l| positions(l, 2, false)),
        Some("Polygon") => each(c, |r| positions(r, 4, true)),
        Some("MultiPolygon") => each(c, |p| each(p, |r| positions(r, 4, true))),
        Some("GeometryCollection") => each(&g["geometries"], check_geometry),
        other => Err(format!("unknown geometry type {other:?}")),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Text => "text",
        Kind::Number => "number",
        Kind::Bool => "boolean",
        Kind::Date => "date",
        Kind::Timestamp => "timestamp",
        Kind::TextArray => "array of text",
        Kind::Other => "not queryable",
    }
}

fn lit_name(l: &Lit) -> String {
    match l {
        Lit::Str(s, _) => format!("the string {s:?}"),
        Lit::Num(n) => format!("the number {n}"),
        Lit::Bool(b) => format!("the boolean {b}"),
        Lit::Date(d) => format!("the date {d}"),
        Lit::Instant(t) => format!("the timestamp {}", t.to_rfc3339()),
        Lit::Interval(..) => "an interval".to_owned(),
        Lit::Array(_) => "a list".to_owned(),
        Lit::Geom(_) => "a geometry".to_owned(),
        Lit::Null => "NULL".to_owned(),
    }
}

/// The condition of a query parameter `name=value` on a queryable that is
/// no catalog filter (queryables-query-parameters): equality with the
/// value read as the property's type; also the value (for the in-memory
/// predicate).
pub(super) fn equals(c: &Column, value: &str) -> Result<(Sql, Value), ApiError> {
    let bad = |what: &str| ApiError::BadRequest(format!("parameter '{}': {value:?} is no {what}", c.name));
    let v = match c.kind {
        Kind::Text => Value::Text(value.to_owned()),
        Kind::Number => Value::Float(value.trim().parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| bad("number"))?),
        Kind::Bool => Value::Bool(value.trim().parse::<bool>().map_err(|_| bad("boolean (true or false)"))?),
        Kind::Date => Value::Date(parse_day(value.trim()).ok_or_else(|| bad("date (YYYY-MM-DD)"))?),
        Kind::Timestamp => Value::Instant(parse_instant(value.trim()).ok_or_else(|| bad("RFC 3339 timestamp"))?),
        Kind::TextArray => {
            let v = Value::Texts(vec![value.to_owned()]);
            let mut s = Sql::text(format!("(({}) @> ", c.expr));
            s.value(v.clone()).push(")");
            return Ok((s, v));
        }
        Kind::Other => return Err(ApiError::BadRequest(format!("parameter '{}': the property is not queryable", c.name))),
    };
    let mut s = Sql::text(format!("({} = ", c.compared()));
    s.value(v.clone()).push(")");
    Ok((s, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    fn cols() -> Vec<Column> {
        use Kind::*;
        [
            ("site_id", "t.site_id", Text),
            ("status", "t.status", Text),
            ("technologies", "t.technologies", TextArray),
            ("planned_date", "t.planned_date", Date),
            ("on_air_date", "t.on_air_date", Date),
            ("n", "t.n", Number),
            ("ok", "t.ok", Bool),
            ("at", "t.at", Timestamp),
        ]
        .into_iter()
        .map(|(name, expr, kind)| Column { name, expr, kind })
        .collect()
    }

    fn sql(filter: &str, lang: Lang) -> Result<(String, usize), String> {
        let cols = cols();
        let ctx = Ctx { collection: catalog::get("sites").map_err(|e| e.to_string())?, columns: &cols, crs: Crs::Crs84 };
        let e = parse(filter, lang).map_err(|e| e.to_string())?;
        let s = ctx.translate(&e).map_err(|e| e.to_string())?;
        let mut params = Vec::new();
        let text = s.render(&mut params);
        Ok((text, params.len()))
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let (s, n) = sql("status = '''; drop table site; --'", Lang::Text).unwrap();
        assert_eq!(s, "((t.status) = $1::text)");
        assert_eq!(n, 1);
        let (s, n) = sql("status IN ('on_air', 'planned') AND n BETWEEN 1 AND 5.5 AND site_id LIKE 'S-%'", Lang::Text).unwrap();
        assert_eq!(
            s,
            "(((t.status) = ANY($1::text[])) AND ((t.n)::float8 BETWEEN $2::float8 AND $3::float8) AND ((t.site_id) LIKE $4::text))"
        );
        assert_eq!(n, 4);
        let (s, _) = sql(r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[6.7,51.1,6.9,51.3]}]}"#, Lang::Json).unwrap();
        assert!(s.starts_with("ST_Intersects(t.geom, (SELECT ST_Transform(ST_Segmentize(ST_Intersection(ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, 4326)"), "{s}");
    }

    #[test]
    fn operators_translate() {
        for (f, want) in [
            ("n > 3", "((t.n)::float8 > $1::float8)"),
            ("3 > n", "((t.n)::float8 < $1::float8)"),
            ("NOT ok", "(NOT (t.ok))"),
            ("planned_date IS NULL", "((t.planned_date) IS NULL)"),
            ("CASEI(status) = casei('On_Air')", "(lower((t.status)) = lower($1::text))"),
            ("planned_date < DATE('2025-01-01')", "((t.planned_date) < $1::date)"),
            ("A_CONTAINS(technologies, ('5g'))", "((t.technologies) @> $1::text[])"),
            ("T_BEFORE(at, TIMESTAMP('2025-01-01T00:00:00Z'))", "((t.at) < $1::timestamptz)"),
        ] {
            assert_eq!(sql(f, Lang::Text).map(|r| r.0), Ok(want.to_owned()), "{f}");
        }
        let (s, n) = sql("T_INTERSECTS(on_air_date, INTERVAL('2024-01-01', '..'))", Lang::Text).unwrap();
        assert_eq!(n, 1);
        assert!(s.contains("::timestamp AT TIME ZONE 'UTC') >= $1::timestamptz"), "{s}");
    }

    #[test]
    fn bad_filters_say_where_and_what() {
        let e = sql("status = ", Lang::Text).unwrap_err();
        assert!(e.contains("line 1, column 10"), "{e}");
        let e = sql("nothing = 1", Lang::Text).unwrap_err();
        assert!(e.contains("unknown property \"nothing\"; queryables of sites: site_id, status"), "{e}");
        let e = sql("status = 5", Lang::Text).unwrap_err();
        assert!(e.contains("property \"status\" (text) cannot be compared with the number 5"), "{e}");
        let e = sql("T_DURING(at, INTERVAL('2024-01-01', '2024-02-01'))", Lang::Text).unwrap_err();
        assert!(e.contains("T_DURING is not supported"), "{e}");
        let e = sql("n + 1 > 2", Lang::Text).unwrap_err();
        assert!(e.contains("\"+\" is not supported"), "{e}");
        let e = sql(r#"{"op":"=","args":[{"property":"status"}"#, Lang::Json).unwrap_err();
        assert!(e.contains("cql2-json does not parse at line 1"), "{e}");
    }
}

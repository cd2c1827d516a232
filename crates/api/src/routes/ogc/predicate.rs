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
//! - Not here (the request goes to SQL): ordering and `LIKE` on text (the
//!   collation decides), `CASEI`, spatial and temporal predicates,
//!   comparisons of two properties, a timestamp finer than PostgreSQL's
//!   microseconds.
//!
//! The equality test (`tests/api_ogc_equal.rs`) holds pages filtered here
//! to the SQL of the same filter.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use cql2::Expr;

use super::filter::{Ctx, Value};
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
/// columns).
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
fn cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// The order of two values of one kind (`None`: NULL or kinds apart).
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
    /// symbols.
    pub(super) fn resolve(&self, symbols: &[std::collections::HashMap<String, u32>]) -> Self {
        let sym = |i: usize, v: &Val| match v {
            Val::Text(t) => Val::Sym(symbols.get(i).and_then(|d| d.get(t)).copied().unwrap_or(ABSENT)),
            other => other.clone(),
        };
        match self {
            Self::And(ps) => Self::And(ps.iter().map(|p| p.resolve(symbols)).collect()),
            Self::Or(ps) => Self::Or(ps.iter().map(|p| p.resolve(symbols)).collect()),
            Self::Not(p) => Self::Not(Box::new(p.resolve(symbols))),
            Self::Cmp(i, op, v) => Self::Cmp(*i, *op, sym(*i, v)),
            Self::In(i, vs) => Self::In(*i, vs.iter().map(|v| sym(*i, v)).collect()),
            other => other.clone(),
        }
    }

    /// SQL's answer for feature `row` of the column-major `values`:
    /// `Some(true)`, `Some(false)` or `None` (NULL, which a WHERE clause
    /// drops).
    pub(super) fn eval(&self, values: &[Vec<Val>], row: usize) -> Option<bool> {
        match self {
            Self::Const(b) => Some(*b),
            Self::And(ps) => {
                let mut unknown = false;
                for p in ps {
                    match p.eval(values, row) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(true)
                }
            }
            Self::Or(ps) => {
                let mut unknown = false;
                for p in ps {
                    match p.eval(values, row) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            Self::Not(p) => p.eval(values, row).map(|b| !b),
            Self::IsNull(i) => Some(matches!(values.get(*i)?.get(row)?, Val::Null)),
            Self::Cmp(i, op, v) => {
                let o = order(values.get(*i)?.get(row)?, v)?;
                Some(match op {
                    Op::Eq => o == Ordering::Equal,
                    Op::Ne => o != Ordering::Equal,
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                })
            }
            Self::In(i, vs) => {
                let x = values.get(*i)?.get(row)?;
                if matches!(x, Val::Null) {
                    return None;
                }
                Some(vs.iter().any(|v| order(x, v) == Some(Ordering::Equal)))
            }
            Self::Arr(i, op, vs) => {
                let Val::Texts(have) = values.get(*i)?.get(row)? else { return None };
                Some(match op {
                    ArrOp::Equals => have == vs,
                    ArrOp::Contains => vs.iter().all(|v| have.contains(v)),
                    ArrOp::ContainedBy => have.iter().all(|h| vs.contains(h)),
                    ArrOp::Overlaps => vs.iter().any(|v| have.contains(v)),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_valued_logic_as_in_sql() {
        let values = [vec![Val::Null], vec![Val::Num(2.0)], vec![Val::Text("a".into())]];
        let v = &values[..];
        let null = Pred::Cmp(0, Op::Eq, Val::Num(1.0));
        let t = Pred::Cmp(1, Op::Gt, Val::Num(1.0));
        let f = Pred::Cmp(2, Op::Eq, Val::Text("b".into()));
        assert_eq!(null.eval(v, 0), None);
        assert_eq!(Pred::Not(Box::new(null.clone())).eval(v, 0), None);
        assert_eq!(Pred::And(vec![null.clone(), t.clone()]).eval(v, 0), None);
        assert_eq!(Pred::And(vec![null.clone(), f.clone()]).eval(v, 0), Some(false));
        assert_eq!(Pred::Or(vec![null.clone(), t.clone()]).eval(v, 0), Some(true));
        assert_eq!(Pred::Or(vec![null, f]).eval(v, 0), None);
        assert_eq!(Pred::IsNull(0).eval(v, 0), Some(true));
        assert_eq!(Pred::In(0, vec![Val::Num(1.0)]).eval(v, 0), None);
        assert_eq!(cmp_f64(f64::NAN, 1e300), Ordering::Greater);
        assert_eq!(cmp_f64(-0.0, 0.0), Ordering::Equal);
    }

    #[test]
    fn text_as_symbols() {
        let symbols: Vec<std::collections::HashMap<String, u32>> = vec![[("on_air".to_owned(), 0), ("planned".to_owned(), 1)].into()];
        let values = [vec![Val::Sym(1), Val::Sym(0), Val::Null]];
        let eq = Pred::Cmp(0, Op::Eq, Val::Text("planned".into())).resolve(&symbols);
        let ne = Pred::Cmp(0, Op::Ne, Val::Text("nothing".into())).resolve(&symbols);
        let any = Pred::In(0, vec![Val::Text("on_air".into()), Val::Text("x".into())]).resolve(&symbols);
        assert_eq!([0, 1, 2].map(|r| eq.eval(&values, r)), [Some(true), Some(false), None]);
        assert_eq!([0, 1, 2].map(|r| ne.eval(&values, r)), [Some(true), Some(true), None]);
        assert_eq!([0, 1, 2].map(|r| any.eval(&values, r)), [Some(false), Some(true), None]);
    }
}

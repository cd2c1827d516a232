//! Reference data from `seeds/`: targets, operators, coverage-model radii.
//!
//! The JSON files are embedded in the binary so `funkplan seed` works from
//! any directory; every value is checked against the domain types before a
//! single row is written, and all rows go in one transaction (upserts, so
//! seeding twice changes nothing).

use chrono::NaiveDate;
use funkplan_model::{Metric, OperatorId, Technology};
use serde::Deserialize;

use crate::{Error, Result};

/// `seeds/targets.json`, embedded.
pub const TARGETS_JSON: &str = include_str!("../../../seeds/targets.json");
/// `seeds/operators.json`, embedded.
pub const OPERATORS_JSON: &str = include_str!("../../../seeds/operators.json");
/// `seeds/coverage_model.json`, embedded.
pub const COVERAGE_MODEL_JSON: &str = include_str!("../../../seeds/coverage_model.json");

#[derive(Debug, Deserialize)]
struct TargetsFile {
    targets: Vec<TargetSeed>,
}

/// One target row of `seeds/targets.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSeed {
    /// The target's id (e.g. `5g-households`).
    pub id: String,
    /// Its title as shown.
    pub title: String,
    /// `count`, `percent` or `km2`.
    pub unit: String,
    /// `gt`, `ge`, `lt` or `le`.
    pub comparator: String,
    /// The goal.
    pub target_value: f64,
    /// By when.
    pub deadline: NaiveDate,
    /// Parsed here, so a seed naming a metric the engine does not know is
    /// refused before a row is written.
    #[serde(deserialize_with = "known_metric")]
    pub metric: Metric,
    /// The metric's parameters (e.g. `technology`).
    #[serde(default)]
    pub metric_params: serde_json::Value,
    /// The document the target comes from.
    pub source_document: String,
    /// Its date.
    pub source_date: Option<NaiveDate>,
    /// The phrase quoted from it.
    pub source_quote: Option<String>,
    /// A note on reading the target.
    pub note: Option<String>,
    /// Order on the dashboard.
    #[serde(default)]
    pub sort_order: i32,
}

#[derive(Debug, Deserialize)]
struct OperatorsFile {
    operators: Vec<OperatorSeed>,
}

/// One operator of `seeds/operators.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorSeed {
    /// The operator's id (e.g. `telekom`).
    pub id: OperatorId,
    /// Its name as shown.
    pub name: String,
    /// Its bit in the coverage masks.
    pub bit: i16,
    /// Where the operator's data comes from.
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ModelFile {
    radii: Vec<RadiusSeed>,
    params: Vec<ParamSeed>,
}

/// One radius of `seeds/coverage_model.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusSeed {
    /// LTE or 5G.
    pub technology: Technology,
    /// `urban` or `rural`.
    pub setting: String,
    /// The radius a site covers, metres.
    pub radius_m: f64,
    /// Where the value comes from.
    pub note: Option<String>,
}

/// One scalar parameter of `seeds/coverage_model.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSeed {
    /// The parameter's name.
    pub key: String,
    /// Its value.
    pub value: f64,
    /// What it means and where it comes from.
    pub note: Option<String>,
}

/// A metric word of a seed row; an unknown one is refused naming the
/// known ones ([`Metric::ALL`]).
fn known_metric<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Metric, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        let known: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        serde::de::Error::custom(format!("unknown metric {s:?}; known: {}", known.join(", ")))
    })
}

/// All seed data, parsed and checked.
#[derive(Debug, Clone)]
pub struct Seeds {
    /// The targets.
    pub targets: Vec<TargetSeed>,
    /// The operators.
    pub operators: Vec<OperatorSeed>,
    /// The coverage model's radii.
    pub radii: Vec<RadiusSeed>,
    /// The coverage model's scalar parameters.
    pub params: Vec<ParamSeed>,
}

impl Seeds {
    /// Parse and check the embedded seed files.
    pub fn embedded() -> Result<Self> {
        Self::parse(TARGETS_JSON, OPERATORS_JSON, COVERAGE_MODEL_JSON)
    }

    /// Parse and check the given texts of the three seed files.
    ///
    /// # Errors
    /// [`Error::Seed`] naming the file and what is wrong.
    pub fn parse(targets: &str, operators: &str, model: &str) -> Result<Self> {
        let t: TargetsFile =
            serde_json::from_str(targets).map_err(|e| Error::Seed { file: "targets.json", reason: e.to_string() })?;
        let o: OperatorsFile =
            serde_json::from_str(operators).map_err(|e| Error::Seed { file: "operators.json", reason: e.to_string() })?;
        let m: ModelFile = serde_json::from_str(model)
            .map_err(|e| Error::Seed { file: "coverage_model.json", reason: e.to_string() })?;
        let bad = |file, reason: String| Error::Seed { file, reason };
        for t in &t.targets {
            if !["count", "percent", "km2"].contains(&t.unit.as_str()) {
                return Err(bad("targets.json", format!("target {}: unit {:?} is not count, percent or km2", t.id, t.unit)));
            }
            if !["gt", "ge", "lt", "le"].contains(&t.comparator.as_str()) {
                return Err(bad("targets.json", format!("target {}: comparator {:?} is not gt, ge, lt or le", t.id, t.comparator)));
            }
            if !t.target_value.is_finite() || (t.unit == "percent" && !(0.0..=100.0).contains(&t.target_value)) {
                return Err(bad("targets.json", format!("target {}: value {} out of range for unit {}", t.id, t.target_value, t.unit)));
            }
        }
        for r in &m.radii {
            let valid = ["urban", "rural"].contains(&r.setting.as_str()) && r.radius_m > 0.0 && r.radius_m <= 50_000.0;
            if !valid {
                return Err(bad("coverage_model.json", format!("radius {} {}: setting must be urban/rural and radius in (0, 50000] m", r.technology, r.setting)));
            }
        }
        Ok(Self { targets: t.targets, operators: o.operators, radii: m.radii, params: m.params })
    }
}

/// Counts of what `run` wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Report {
    /// Targets written.
    pub targets: usize,
    /// Operators written.
    pub operators: usize,
    /// Radii written.
    pub radii: usize,
    /// Parameters written.
    pub params: usize,
}

/// Upsert the seeds in one transaction.
pub async fn run(client: &mut tokio_postgres::Client, seeds: &Seeds) -> Result<Report> {
    let tx = client.transaction().await.map_err(Error::pg("starting the seed transaction"))?;
    let op = tx.prepare(include_str!("../sql/seed_operator.sql")).await.map_err(Error::pg("preparing operator upsert"))?;
    for o in &seeds.operators {
        tx.execute(&op, &[&o.id.as_str(), &o.name, &o.bit, &o.source]).await.map_err(Error::pg("upserting an operator"))?;
    }
    let tg = tx.prepare(include_str!("../sql/seed_target.sql")).await.map_err(Error::pg("preparing target upsert"))?;
    for t in &seeds.targets {
        tx.execute(
            &tg,
            &[
                &t.id, &t.title, &t.unit, &t.comparator, &t.target_value, &t.deadline, &t.metric.as_str(), &t.metric_params,
                &t.source_document, &t.source_date, &t.source_quote, &t.note, &t.sort_order,
            ],
        )
        .await
        .map_err(Error::pg("upserting a target"))?;
    }
    let rd = tx.prepare(include_str!("../sql/seed_radius.sql")).await.map_err(Error::pg("preparing radius upsert"))?;
    for r in &seeds.radii {
        tx.execute(&rd, &[&r.technology.as_str(), &r.setting, &r.radius_m, &r.note])
            .await
            .map_err(Error::pg("upserting a coverage radius"))?;
    }
    let pm = tx.prepare(include_str!("../sql/seed_param.sql")).await.map_err(Error::pg("preparing parameter upsert"))?;
    for p in &seeds.params {
        tx.execute(&pm, &[&p.key, &p.value, &p.note]).await.map_err(Error::pg("upserting a coverage parameter"))?;
    }
    tx.commit().await.map_err(Error::pg("committing the seeds"))?;
    Ok(Report {
        targets: seeds.targets.len(),
        operators: seeds.operators.len(),
        radii: seeds.radii.len(),
        params: seeds.params.len(),
    })
}

/// A fingerprint of the embedded seed files (for test templates).
#[must_use]
pub fn fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for s in [TARGETS_JSON, OPERATORS_JSON, COVERAGE_MODEL_JSON] {
        h.update(s.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_seeds_are_valid() {
        let s = Seeds::embedded().unwrap();
        let ids: Vec<&str> = s.targets.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["5g-upgrades", "5g-households", "lte-measures", "lte-dead-spots", "5g-area"]);
        let values: Vec<f64> = s.targets.iter().map(|t| t.target_value).collect();
        assert_eq!(&values[..4], &[10300.0, 90.0, 7500.0, 0.0]);
        assert_eq!(s.operators.len(), 4);
    }

    #[test]
    fn unknown_metric_is_refused() {
        let t = TARGETS_JSON.replace("\"household_share\"", "\"vibes\"");
        let e = Seeds::parse(&t, OPERATORS_JSON, COVERAGE_MODEL_JSON).unwrap_err().to_string();
        assert!(e.contains("unknown metric \"vibes\""), "{e}");
    }

    #[test]
    fn radius_out_of_range_or_unknown_setting_is_refused() {
        for (from, to) in [
            ("\"radius_m\": 1200", "\"radius_m\": 0"),
            ("\"radius_m\": 1200", "\"radius_m\": -5"),
            ("\"radius_m\": 1200", "\"radius_m\": 50001"),
            ("\"setting\": \"urban\", \"radius_m\": 600", "\"setting\": \"suburban\", \"radius_m\": 600"),
        ] {
            assert!(COVERAGE_MODEL_JSON.contains(from), "fixture no longer has {from}");
            let m = COVERAGE_MODEL_JSON.replace(from, to);
            let e = Seeds::parse(TARGETS_JSON, OPERATORS_JSON, &m).unwrap_err().to_string();
            assert!(e.contains("coverage_model.json") && e.contains("radius in (0, 50000] m"), "{to}: {e}");
        }
        let edge = COVERAGE_MODEL_JSON.replace("\"radius_m\": 1200", "\"radius_m\": 50000");
        assert!(Seeds::parse(TARGETS_JSON, OPERATORS_JSON, &edge).is_ok(), "50 km is the largest radius allowed");
    }
}

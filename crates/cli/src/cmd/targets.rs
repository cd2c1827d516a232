//! `funkplan targets`: the targets as a table in the terminal — value,
//! goal, deadline, progress bar, forecast and verdict.

use chrono::{Datelike, NaiveDate};
use funkplan_targets::TargetStatus;

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON (as `GET /api/v1/targets`) instead of a table.
    #[arg(long)]
    json: bool,
    /// The targets as they stood on this day (YYYY-MM-DD), as
    /// `GET /api/v1/targets?as_of=`: the history's value of that month and
    /// the verdicts from the history known then.
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let db = g.db().await?;
    let targets = match a.as_of {
        None => funkplan_targets::status_all(&db).await?,
        Some(d) => funkplan_targets::status_at(&db, d)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the targets' history starts after {d}: nothing is known of that day (run `funkplan recompute` if it is empty)"))?,
    };
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&targets)?);
        return Ok(());
    }
    outln!(
        "{:<16} {:>12} {:>12} {:<10}  {:<26} {:<26} verdict",
        "target", "value", "goal", "deadline", "progress", "forecast at deadline"
    );
    for t in &targets {
        outln!(
            "{:<16} {:>12} {:>12} {:<10}  {} {:>3.0}%  {:<26} {}",
            t.id,
            fmt_value(t.current_value, &t.unit),
            format!("{}{}", cmp_sign(t), fmt_value(t.target_value, &t.unit)),
            t.deadline,
            bar(t.progress, 20),
            t.progress * 100.0,
            forecast_cell(t),
            verdict(t)
        );
    }
    if let Some(t) = targets.first() {
        outln!("\nas of {}; forecast: {}", t.as_of.format("%Y-%m-%d %H:%M UTC"), t.forecast.method);
    }
    Ok(())
}

fn cmp_sign(t: &TargetStatus) -> &'static str {
    match t.comparator {
        funkplan_targets::Comparator::Gt => ">",
        funkplan_targets::Comparator::Ge => "≥",
        funkplan_targets::Comparator::Lt => "<",
        funkplan_targets::Comparator::Le => "≤",
    }
}

fn bar(p: f64, len: usize) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let filled = ((p.clamp(0.0, 1.0) * len as f64).round() as usize).min(len);
    "█".repeat(filled) + &"░".repeat(len - filled)
}

fn forecast_cell(t: &TargetStatus) -> String {
    let f = &t.forecast;
    match (f.value_at_deadline, f.rate_actual_per_month) {
        (Some(v), Some(r)) if !t.deadline_passed => format!("{} ({:+.1}/mo)", fmt_value(v, &t.unit), r),
        (Some(v), _) => fmt_value(v, &t.unit),
        _ => "–".into(),
    }
}

fn month(d: NaiveDate) -> String {
    format!("{}-{:02}", d.year(), d.month())
}

fn verdict(t: &TargetStatus) -> String {
    let met_on = t.met_on.map(month);
    if t.deadline_passed {
        return match (t.met_at_deadline, met_on) {
            (Some(true), Some(m)) => format!("met on {m}"),
            (Some(true), None) => "met".into(),
            (Some(false), Some(m)) if t.met => format!("missed; met late on {m}"),
            (Some(false), _) => "missed".into(),
            // The history starts after the deadline: the value then is
            // not known, so neither is the verdict.
            (None, Some(m)) => format!("unknown at deadline; met on {m}"),
            (None, None) => "unknown at deadline".into(),
        };
    }
    if t.met {
        return match met_on {
            Some(m) => format!("met on {m}"),
            None => "met".into(),
        };
    }
    if t.forecast.on_track {
        return "on track".into();
    }
    match t.forecast.expected_met_on {
        Some(d) => {
            let months = (d.year() - t.deadline.year()) * 12 + i32::try_from(d.month()).unwrap_or(0)
                - i32::try_from(t.deadline.month()).unwrap_or(0);
            format!("late by {} months", months.max(1))
        }
        None => "not on track (no progress)".into(),
    }
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "percent" => format!("{v:.1} %"),
        "km2" => format!("{v:.2} km²"),
        _ => format!("{v:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use funkplan_targets::{Comparator, Forecast};

    fn status(met_at_deadline: Option<bool>, met: bool, met_on: Option<&str>) -> TargetStatus {
        TargetStatus {
            id: "t".into(),
            title: "t".into(),
            unit: "count".into(),
            target_value: 10.0,
            deadline: "2024-12-31".parse().unwrap(),
            current_value: if met { 12.0 } else { 5.0 },
            progress: 0.5,
            met,
            as_of: chrono::Utc::now(),
            source: String::new(),
            comparator: Comparator::Ge,
            metric: funkplan_model::Metric::MeasuresCompleted,
            forecast: Forecast {
                value_at_deadline: None,
                on_track: false,
                rate_needed_per_month: None,
                rate_actual_per_month: None,
                expected_met_on: None,
                points_used: 0,
                method: "",
            },
            deadline_passed: true,
            met_at_deadline,
            met_on: met_on.map(|s| s.parse().unwrap()),
            baseline: None,
        }
    }

    #[test]
    fn a_passed_deadline_without_a_value_then_is_unknown_not_missed() {
        assert_eq!(verdict(&status(None, false, None)), "unknown at deadline");
        assert_eq!(verdict(&status(None, true, Some("2025-03-01"))), "unknown at deadline; met on 2025-03");
        assert_eq!(verdict(&status(Some(false), false, None)), "missed");
        assert_eq!(verdict(&status(Some(false), true, Some("2025-06-01"))), "missed; met late on 2025-06");
        assert_eq!(verdict(&status(Some(true), true, Some("2024-11-01"))), "met on 2024-11");
    }
}

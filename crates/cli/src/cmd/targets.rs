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
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let db = g.db().await?;
    let targets = funkplan_targets::status_all(&db).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&targets)?);
        return Ok(());
    }
    println!(
        "{:<16} {:>12} {:>12} {:<10}  {:<26} {:<26} verdict",
        "target", "value", "goal", "deadline", "progress", "forecast at deadline"
    );
    for t in &targets {
        println!(
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
        println!("\nas of {}; forecast: {}", t.as_of.format("%Y-%m-%d %H:%M UTC"), t.forecast.method);
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
            (_, Some(m)) if t.met => format!("missed; met late on {m}"),
            _ => "missed".into(),
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

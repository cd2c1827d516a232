//! `funkplan targets`: the targets as a table in the terminal.

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
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
    println!("{:<16} {:>12} {:>10} {:<10}  {:<22} {}", "target", "value", "goal", "deadline", "progress", "met");
    for t in &targets {
        let bar_len = 20;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let filled = (t.progress * f64::from(bar_len)).round() as usize;
        let bar: String = "█".repeat(filled) + &"░".repeat(bar_len as usize - filled.min(bar_len as usize));
        println!(
            "{:<16} {:>12} {:>10} {:<10}  {} {:>3.0}% {}",
            t.id,
            fmt_value(t.current_value, &t.unit),
            fmt_value(t.target_value, &t.unit),
            t.deadline,
            bar,
            t.progress * 100.0,
            if t.met { "yes" } else { "no" }
        );
    }
    Ok(())
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "percent" => format!("{v:.1} %"),
        "km2" => format!("{v:.2} km²"),
        _ => format!("{v:.0}"),
    }
}

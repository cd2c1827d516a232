//! `funkplan token create|revoke|list`: API tokens for writes (README.md, docs/http.md).
//!
//! A new token is printed once, alone on the last line of stdout; only its
//! SHA-256 is stored. Nothing here logs a secret.

use anyhow::Context;
use funkplan_model::Role;

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create a token; it is shown once, on the last line of stdout.
    Create {
        /// admin, staff or municipality:AGS (e.g. municipality:05111000).
        #[arg(long)]
        role: String,
        /// A note saying who or what the token is for.
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a token, given by its id (from `token list`) or the token itself.
    Revoke {
        /// Token id or token.
        id_or_token: String,
    },
    /// List tokens (id, role, label, created, revoked); never the secrets.
    List,
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    match a.action {
        Action::Create { role, label } => {
            let role: Role = role.parse().context("invalid --role")?;
            let db = g.db().await?;
            funkplan_db::migrate::run(db.url()).await?;
            let t = funkplan_api::create_token(&db, &role, label.as_deref()).await?;
            outln!("created token {} with role {} (shown once; store it now)", t.id, t.role);
            outln!("{}", t.token);
        }
        Action::Revoke { id_or_token } => {
            let db = g.db().await?;
            match funkplan_api::revoke_token(&db, &id_or_token).await? {
                Some(id) => outln!("revoked token {id}"),
                None => anyhow::bail!("no such token: {}", redact(&id_or_token)),
            }
        }
        Action::List => {
            let db = g.db().await?;
            outln!("{:>5}  {:<24}  {:<20}  {:<20}  label", "id", "role", "created", "revoked");
            for t in funkplan_api::list_tokens(&db).await? {
                outln!(
                    "{:>5}  {:<24}  {:<20}  {:<20}  {}",
                    t.id,
                    t.role,
                    t.created_at.format("%Y-%m-%d %H:%M:%S"),
                    t.revoked_at.map(|r| r.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "-".into()),
                    t.label.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

/// A token-looking argument is not echoed back in full.
fn redact(s: &str) -> String {
    if s.starts_with("fp_") && s.len() > 10 {
        format!("{}…", &s[..7])
    } else {
        s.to_owned()
    }
}

//! `latchkey accounts` and `latchkey logout`.

use clap::Args;
use latchkey::model::tokens::now;
use latchkey::{Latchkey, Result};

use super::completions::account_names;
use super::format::{relative, rfc3339};

#[derive(Args)]
pub struct AccountsArgs {
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct LogoutArgs {
    /// `PROFILE/LABEL`, or `PROFILE` when it has one account.
    #[arg(add = account_names())]
    account: String,
    /// Delete the account without asking the provider to revoke its refresh token.
    #[arg(long)]
    no_revoke: bool,
}

pub fn list(engine: &Latchkey, args: AccountsArgs) -> Result<()> {
    let accounts = engine.accounts()?;
    let now = now();
    if args.json {
        let out: Vec<_> = accounts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "account": a.id(),
                    "profile": a.profile,
                    "label": a.label,
                    "scopes": a.scopes,
                    "expires_at": a.expires_at.map(rfc3339),
                    "expires_in": a.expires_at.map(|t| t - now),
                    "has_refresh_token": a.has_refresh_token,
                    "status": a.status(now).as_str(),
                    "needs_sign_in_reason": a.needs_sign_in,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
        return Ok(());
    }
    if accounts.is_empty() {
        eprintln!("No accounts yet. Sign in with `latchkey login PROFILE`.");
        return Ok(());
    }
    let rows: Vec<[String; 5]> = accounts
        .iter()
        .map(|a| {
            [
                a.id(),
                a.scopes.join(" "),
                a.expires_at
                    .map(|t| relative(t, now))
                    .unwrap_or_else(|| "unknown".into()),
                if a.has_refresh_token { "yes" } else { "no" }.into(),
                a.status(now).as_str().into(),
            ]
        })
        .collect();
    let header = ["ACCOUNT", "SCOPES", "EXPIRES", "REFRESH", "STATUS"].map(String::from);
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in [&header].into_iter().chain(rows.iter()) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(())
}

pub async fn logout(engine: &Latchkey, args: LogoutArgs) -> Result<()> {
    let profile = engine
        .account(&args.account)
        .and_then(|a| engine.profile(&a.profile));
    let (account, revoked) = engine.logout(&args.account, !args.no_revoke).await?;
    let note = if revoked {
        "the refresh token was revoked at the provider"
    } else if args.no_revoke {
        "revocation skipped"
    } else if !account.has_refresh_token {
        "nothing to revoke: the account held no refresh token"
    } else {
        println!("Signed out of {} on this computer.", account.id());
        if let Some(profile) = profile.ok().filter(|p| p.revocation_endpoint.is_none()) {
            eprintln!("{}", still_valid(&profile));
        }
        return Ok(());
    };
    println!("Signed out of {} ({note}).", account.id());
    Ok(())
}

/// What a sign-out without a revocation endpoint leaves behind, and where to end it.
fn still_valid(profile: &latchkey::Profile) -> String {
    let provider = profile.issuer.clone().unwrap_or_else(|| {
        profile
            .authorization_endpoint
            .origin()
            .ascii_serialization()
    });
    format!(
        "warning: the grant is still valid at the provider: profile `{}` has no revocation endpoint (its metadata lists none), so the refresh token could not be revoked. Revoke Latchkey's access in your account at {provider} (often under security, connected apps or third-party access); if the provider has a revocation endpoint after all, add the profile again with --revocation-url URL",
        profile.name
    )
}

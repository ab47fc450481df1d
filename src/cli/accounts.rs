//! `latchkey accounts` and `latchkey logout`.

use clap::{Args, Subcommand};
use latchkey::model::account::is_default;
use latchkey::model::tokens::now;
use latchkey::{Latchkey, Result};

use super::completions::account_names;
use super::format::{relative, rfc3339, table};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AccountsArgs {
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Option<AccountsCommand>,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Make ACCOUNT its profile's default: the account a bare profile name means (without one,
    /// the profile's first signed-in account).
    Default {
        /// `PROFILE/LABEL`.
        #[arg(add = account_names())]
        account: String,
    },
}

#[derive(Args)]
pub struct LogoutArgs {
    /// `PROFILE/LABEL`, or `PROFILE` for the profile's default account.
    #[arg(add = account_names())]
    account: String,
    /// Delete the account without asking the provider to revoke its refresh token.
    #[arg(long)]
    no_revoke: bool,
}

pub fn list(engine: &Latchkey, args: AccountsArgs) -> Result<()> {
    if let Some(AccountsCommand::Default { account }) = args.command {
        let account = engine.set_default_account(&account)?;
        println!("`{}` now means {}.", account.profile, account.id());
        return Ok(());
    }
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
                    "default": is_default(&accounts, a),
                    "token_type": if a.dpop_bound { "DPoP" } else { "Bearer" },
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
    let rows: Vec<[String; 6]> = accounts
        .iter()
        .map(|a| {
            let shared = accounts.iter().filter(|b| b.profile == a.profile).count() > 1;
            [
                if shared && is_default(&accounts, a) {
                    format!("{} (default)", a.id())
                } else {
                    a.id()
                },
                a.scopes.join(" "),
                a.expires_at
                    .map(|t| relative(t, now))
                    .unwrap_or_else(|| "unknown".into()),
                if a.has_refresh_token { "yes" } else { "no" }.into(),
                a.status(now).as_str().into(),
                // RFC 9449: useless without a proof of the account's key.
                if a.dpop_bound { "DPoP-bound" } else { "Bearer" }.into(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            ["ACCOUNT", "SCOPES", "EXPIRES", "REFRESH", "STATUS", "TOKEN"],
            &rows
        )
    );
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

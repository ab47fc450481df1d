//! `latchkey accounts` and `latchkey logout`.

use clap::{Args, Subcommand};
use latchkey::model::account::{Account, is_default};
use latchkey::{Latchkey, Result};

use super::completions::account_names;
use super::format::{relative, rfc3339, table};
use super::io::{Io, errln, outln, print_list};

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

/// `latchkey accounts`, at the time `now`.
pub fn list(engine: &Latchkey, args: AccountsArgs, io: &mut Io, now: i64) -> Result<()> {
    if let Some(AccountsCommand::Default { account }) = args.command {
        let account = engine.set_default_account(&account)?;
        return outln!(io, "`{}` now means {}.", account.profile, account.id());
    }
    let accounts = engine.accounts()?;
    print_list(
        io,
        args.json,
        accounts.is_empty(),
        || Ok(accounts_json(&accounts, now)),
        &no_accounts(
            super::serve_client::configured(),
            latchkey::agent::client::forwarded().is_some(),
        ),
        || accounts_table(&accounts, now),
    )
}

/// What an empty list says: where tokens come from here when they come from elsewhere (a
/// `latchkey serve` endpoint, or the agent of the machine `latchkey ssh` came from).
fn no_accounts(serve: bool, forwarded: bool) -> String {
    if serve {
        format!(
            "No accounts here: tokens come from `latchkey serve` ({}); `latchkey token ACCOUNT` names an account the serving machine lets it have.",
            super::serve_client::URL_VAR
        )
    } else if forwarded {
        "No accounts here: tokens come from the forwarded agent; `latchkey token ACCOUNT` names an account of the machine you came from.".into()
    } else {
        "No accounts yet. Sign in with `latchkey login PROFILE`.".into()
    }
}

/// `accounts --json`: one object per account.
fn accounts_json(accounts: &[Account], now: i64) -> String {
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
                "default": is_default(accounts, a),
                "token_type": if a.dpop_bound { "DPoP" } else { "Bearer" },
            })
        })
        .collect();
    serde_json::Value::Array(out).to_string()
}

/// `accounts`' table: a header row, then one row per account.
fn accounts_table(accounts: &[Account], now: i64) -> String {
    let rows: Vec<[String; 6]> = accounts
        .iter()
        .map(|a| {
            let shared = accounts.iter().filter(|b| b.profile == a.profile).count() > 1;
            [
                if shared && is_default(accounts, a) {
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
    table(
        ["ACCOUNT", "SCOPES", "EXPIRES", "REFRESH", "STATUS", "TOKEN"],
        &rows,
    )
}

pub async fn logout(engine: &Latchkey, args: LogoutArgs, io: &mut Io<'_>) -> Result<()> {
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
        outln!(io, "Signed out of {} on this computer.", account.id())?;
        if let Some(profile) = profile.ok().filter(|p| p.revocation_endpoint.is_none()) {
            errln!(io, "{}", still_valid(&profile));
        }
        return Ok(());
    };
    outln!(io, "Signed out of {} ({note}).", account.id())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::{
        Captured, NOW, add_account, captured, engine, engine_with_account, with_closed_output,
    };

    fn list_of(engine: &Latchkey, json: bool) -> (Result<()>, Captured) {
        let args = AccountsArgs {
            json,
            command: None,
        };
        captured(|io| list(engine, args, io, NOW))
    }

    fn three_accounts() -> Latchkey {
        let engine = engine();
        add_account(&engine, "work/alice", |_| {});
        add_account(&engine, "work/bob-the-builder", |a| {
            a.default = true;
            a.dpop_bound = true;
            a.has_refresh_token = false;
            a.scopes = vec!["read".into(), "write".into()];
        });
        add_account(&engine, "home/me", |a| {
            a.expires_at = None;
            a.needs_sign_in = Some("revoked".into());
        });
        engine
    }

    #[test]
    fn the_table_has_a_token_column_and_marks_a_shared_profiles_default() {
        let (result, c) = list_of(&three_accounts(), false);
        result.unwrap();
        assert_eq!(
            c.out(),
            "\
ACCOUNT                         SCOPES      EXPIRES   REFRESH  STATUS         TOKEN
work/alice                      read        in 1h00m  yes      ok             Bearer
work/bob-the-builder (default)  read write  in 1h00m  no       ok             DPoP-bound
home/me                         read        unknown   yes      needs sign-in  Bearer
"
        );
        assert_eq!(c.err(), "");
    }

    #[test]
    fn json_gives_seconds_left_on_the_fake_clock_and_the_token_type() {
        let (result, c) = list_of(&three_accounts(), true);
        result.unwrap();
        let all: serde_json::Value = serde_json::from_str(&c.out()).unwrap();
        assert_eq!(c.out().lines().count(), 1, "one line for scripts");
        let bob = &all[1];
        assert_eq!(bob["account"], "work/bob-the-builder");
        assert_eq!(bob["expires_in"], 3600);
        assert_eq!(bob["expires_at"], "2026-01-01T01:00:00Z");
        assert_eq!(bob["token_type"], "DPoP");
        assert_eq!(bob["default"], true);
        assert_eq!(all[0]["default"], false);
        assert_eq!(all[2]["status"], "needs sign-in");
        assert_eq!(all[2]["needs_sign_in_reason"], "revoked");
        assert_eq!(all[2]["expires_in"], serde_json::Value::Null);
    }

    #[test]
    fn an_empty_list_says_where_tokens_come_from_on_a_client_of_serve_or_ssh() {
        assert!(no_accounts(true, false).contains("`latchkey serve` (LATCHKEY_URL)"));
        assert!(no_accounts(false, true).contains("the forwarded agent"));
        assert!(no_accounts(false, false).starts_with("No accounts yet."));
    }

    #[test]
    fn no_accounts_is_said_on_stderr_and_json_is_an_empty_list() {
        let engine = engine();
        let (result, c) = list_of(&engine, false);
        result.unwrap();
        assert_eq!(c.out(), "");
        assert_eq!(
            c.err(),
            "No accounts yet. Sign in with `latchkey login PROFILE`.\n"
        );
        let (result, c) = list_of(&engine, true);
        result.unwrap();
        assert_eq!(c.out(), "[]\n");
    }

    #[test]
    fn default_says_what_the_profile_name_now_means() {
        let engine = three_accounts();
        let mut c = Captured::default();
        let args = AccountsArgs {
            json: false,
            command: Some(AccountsCommand::Default {
                account: "work/alice".into(),
            }),
        };
        list(&engine, args, &mut c.io(), NOW).unwrap();
        assert_eq!(c.out(), "`work` now means work/alice.\n");
        let args = AccountsArgs {
            json: false,
            command: Some(AccountsCommand::Default {
                account: "work/nobody".into(),
            }),
        };
        let e = list(&engine, args, &mut c.io(), NOW).expect_err("no such account");
        assert_eq!(e.kind(), latchkey::ErrorKind::NotFound);
    }

    #[test]
    fn a_closed_stdout_ends_the_listing_quietly() {
        let engine = three_accounts();
        for json in [false, true] {
            let args = AccountsArgs {
                json,
                command: None,
            };
            let (result, err) = with_closed_output(|io| list(&engine, args, io, NOW));
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(err, "");
        }
    }

    async fn logout_of(
        engine: &Latchkey,
        account: &str,
        no_revoke: bool,
    ) -> (Result<()>, Captured) {
        let mut c = Captured::default();
        let args = LogoutArgs {
            account: account.into(),
            no_revoke,
        };
        let result = logout(engine, args, &mut c.io()).await;
        (result, c)
    }

    #[tokio::test]
    async fn logout_says_whether_the_grant_was_revoked() {
        let engine = engine_with_account("work/alice").await;
        add_account(&engine, "work/bob", |a| a.has_refresh_token = false);
        add_account(&engine, "work/carol", |_| {});
        let (result, c) = logout_of(&engine, "work/alice", true).await;
        result.unwrap();
        assert_eq!(c.out(), "Signed out of work/alice (revocation skipped).\n");
        assert_eq!(c.err(), "");
        let (result, c) = logout_of(&engine, "work/bob", false).await;
        result.unwrap();
        assert_eq!(
            c.out(),
            "Signed out of work/bob (nothing to revoke: the account held no refresh token).\n"
        );
        // Its refresh token is not in the (mock) keychain: nothing was revoked, and the profile
        // has no revocation endpoint to try: the grant may still be valid at the provider.
        let (result, c) = logout_of(&engine, "work/carol", false).await;
        result.unwrap();
        assert_eq!(c.out(), "Signed out of work/carol on this computer.\n");
        assert!(
            c.err().starts_with(
                "warning: the grant is still valid at the provider: profile `work` has no revocation endpoint"
            ) && c.err().contains("at https://as.example (often under security")
                && c.err().ends_with("--revocation-url URL\n"),
            "{}",
            c.err()
        );
        assert!(engine.accounts().unwrap().is_empty());
        let (result, c) = logout_of(&engine, "work/alice", true).await;
        assert_eq!(result.unwrap_err().kind(), latchkey::ErrorKind::NotFound);
        assert_eq!(c.out(), "");
    }
}

//! `latchkey token` and `latchkey refresh`: a valid access token on standard output.

use clap::{Args, Parser, ValueEnum};
use std::sync::Arc;

use latchkey::door::{Handed, Purpose};
use latchkey::model::tokens::now;
use latchkey::{Latchkey, Result};

use super::completions::account_names;
use super::format::rfc3339;
use super::handout::hand_out;

#[derive(Clone, Copy, ValueEnum, Default)]
enum Format {
    /// The token alone.
    #[default]
    Raw,
    /// `Authorization: Bearer …`
    Header,
    /// The token with its expiry and scope.
    Json,
    /// `{"Authorization": "Bearer …"}`: the shape of an MCP client's headers helper (Claude
    /// Code's `headersHelper`).
    HeadersJson,
}

#[derive(Args)]
pub struct TokenArgs {
    /// `PROFILE/LABEL`, or `PROFILE` for the profile's default account.
    #[arg(add = account_names())]
    account: String,
    /// Refresh first when the token expires within this many seconds.
    #[arg(long, default_value_t = 60)]
    min_valid: u32,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Args)]
pub struct RefreshArgs {
    /// `PROFILE/LABEL`, or `PROFILE` for the profile's default account.
    #[arg(add = account_names())]
    account: String,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// `latchkey token` alone, for [`fast_path`]: parsing it builds none of the other commands.
#[cfg(target_os = "linux")]
#[derive(Parser)]
#[command(name = "token")]
struct TokenOnly {
    #[command(flatten)]
    args: TokenArgs,
}

/// `latchkey token …` answered by the agent before anything else is set up (no async runtime,
/// no engine, no parsing of the other commands): its output and exit code, or `None` to take
/// the ordinary path, which asks the agent again or the keychain and reports every usage error,
/// `--help` included, as it always does.
#[cfg(target_os = "linux")]
pub fn fast_path() -> Option<std::process::ExitCode> {
    use latchkey::agent::client;
    let mut argv = std::env::args_os().skip(1);
    if argv.next()? != "token"
        || std::env::var_os(super::completions::VAR).is_some()
        || !client::enabled()
        || super::serve_client::configured()
    {
        return None;
    }
    let args = TokenOnly::try_parse_from(std::iter::once("token".into()).chain(argv))
        .ok()?
        .args;
    // A remote machine with a forwarded agent may have no config directory (or HOME): the
    // forwarded socket's agent reads no config path.
    let config = latchkey::store::paths::config_dir().unwrap_or_default();
    let Some(answer) =
        client::token_blocking(&config, &args.account, args.min_valid, Purpose::Token)
    else {
        // A forwarded agent is the only source: its silence is the answer.
        if let Some(socket) = client::forwarded() {
            return Some(super::report(&client::unreachable(&socket)));
        }
        // The same question on the ordinary path would get the same non-answer, or wait out
        // the same timeout again: it goes to the keychain at once.
        client::asked_without_answer();
        return None;
    };
    Some(match answer {
        Ok(handed) => {
            print(&handed, args.format);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => super::report(&e),
    })
}

pub async fn token(engine: &Arc<Latchkey>, args: TokenArgs) -> Result<()> {
    let handed = hand_out(engine, &args.account, args.min_valid, Purpose::Token, None).await?;
    print(&handed, args.format);
    Ok(())
}

pub async fn refresh(engine: &Arc<Latchkey>, args: RefreshArgs) -> Result<()> {
    let handed = hand_out(engine, &args.account, 0, Purpose::Refresh, None).await?;
    print(&handed, args.format);
    Ok(())
}

fn print(handed: &Handed, format: Format) {
    let token = handed.access_token.as_str();
    match format {
        Format::Raw => println!("{token}"),
        Format::Header => println!("Authorization: Bearer {token}"),
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "account": handed.account,
                "access_token": token,
                "token_type": "Bearer",
                "expires_at": handed.expires_at.map(rfc3339),
                "expires_in": handed.expires_at.map(|t| t - now()),
                "scope": handed.scopes.join(" "),
            })
        ),
        Format::HeadersJson => println!(
            "{}",
            serde_json::json!({ "Authorization": format!("Bearer {token}") })
        ),
    }
}

//! `latchkey token` and `latchkey refresh`: a valid access token on standard output.

use clap::{Args, ValueEnum};
use latchkey::tokens::now;
use latchkey::{Account, Latchkey, Result, TokenSet};

use super::completions::account_names;
use super::format::rfc3339;

#[derive(Clone, Copy, ValueEnum, Default)]
enum Format {
    /// The token alone.
    #[default]
    Raw,
    /// `Authorization: Bearer …`
    Header,
    /// The token with its expiry and scope.
    Json,
}

#[derive(Args)]
pub struct TokenArgs {
    /// `PROFILE/LABEL`, or `PROFILE` when it has one account.
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
    /// `PROFILE/LABEL`, or `PROFILE` when it has one account.
    #[arg(add = account_names())]
    account: String,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub async fn token(engine: &Latchkey, args: TokenArgs) -> Result<()> {
    let (account, tokens) = engine
        .token(&args.account, i64::from(args.min_valid))
        .await?;
    print(&account, &tokens, args.format);
    Ok(())
}

pub async fn refresh(engine: &Latchkey, args: RefreshArgs) -> Result<()> {
    let (account, tokens) = engine.refresh(&args.account).await?;
    print(&account, &tokens, args.format);
    Ok(())
}

fn print(account: &Account, tokens: &TokenSet, format: Format) {
    let token = tokens.access_token.secret();
    match format {
        Format::Raw => println!("{token}"),
        Format::Header => println!("Authorization: Bearer {token}"),
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "account": account.id(),
                "access_token": token,
                "token_type": "Bearer",
                "expires_at": tokens.expires_at.map(rfc3339),
                "expires_in": tokens.expires_at.map(|t| t - now()),
                "scope": tokens.scopes.join(" "),
            })
        ),
    }
}

//! `latchkey token` and `latchkey refresh`: a valid access token on standard output.

use clap::{Args, Parser, ValueEnum};
use std::sync::Arc;

use latchkey::door::{Handed, Purpose};
use latchkey::model::tokens::now;
use latchkey::protocol::dpop::ProofTarget;
use latchkey::{Error, Latchkey, Result};

use super::completions::account_names;
use super::format::rfc3339;
use super::handout::{hand_out, hand_out_with_proof};

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
    #[command(flatten)]
    request: ProofArgs,
}

/// The request a DPoP-bound token goes with (RFC 9449): its proof names them.
#[derive(Args, Clone)]
pub struct ProofArgs {
    /// The HTTP method of the request the token is for (a DPoP-bound account's proof names it).
    #[arg(long, requires = "url", value_name = "METHOD")]
    method: Option<String>,
    /// The URL of the request the token is for (with --method).
    #[arg(long, requires = "method", value_name = "URL")]
    url: Option<url::Url>,
    /// The resource server's DPoP nonce, from its `DPoP-Nonce` header (RFC 9449 §9).
    #[arg(long, requires = "url", value_name = "NONCE")]
    nonce: Option<String>,
}

impl ProofArgs {
    fn target(&self) -> Option<ProofTarget> {
        Some(ProofTarget {
            method: self.method.clone()?,
            url: self.url.clone()?,
            nonce: self.nonce.clone(),
        })
    }
}

#[derive(Args)]
pub struct DpopProofArgs {
    /// `PROFILE/LABEL`, or `PROFILE` for the profile's default account.
    #[arg(add = account_names())]
    account: String,
    /// The HTTP method of the request the proof goes with.
    #[arg(long, value_name = "METHOD")]
    method: String,
    /// The URL of the request the proof goes with.
    #[arg(long, value_name = "URL")]
    url: url::Url,
    /// The resource server's DPoP nonce, from its `DPoP-Nonce` header (RFC 9449 §9).
    #[arg(long, value_name = "NONCE")]
    nonce: Option<String>,
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
    // A proof is signed by the agent on the ordinary path's request.
    if args.request.method.is_some() {
        return None;
    }
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
    Some(
        match answer.and_then(|handed| print(&handed, args.format)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => super::report(&e),
        },
    )
}

pub async fn token(engine: &Arc<Latchkey>, args: TokenArgs) -> Result<()> {
    let target = args.request.target();
    let handed = hand_out_with_proof(
        engine,
        &args.account,
        args.min_valid,
        Purpose::Token,
        target,
    )
    .await?;
    print(&handed, args.format)
}

pub async fn refresh(engine: &Arc<Latchkey>, args: RefreshArgs) -> Result<()> {
    let handed = hand_out(engine, &args.account, 0, Purpose::Refresh, None).await?;
    print(&handed, args.format)
}

/// `latchkey dpop-proof`: the DPoP proof (RFC 9449) of a DPoP-bound account's current token
/// for one request, with `ath`; the token itself is not printed.
pub async fn dpop_proof(engine: &Arc<Latchkey>, args: DpopProofArgs) -> Result<()> {
    let target = ProofTarget {
        method: args.method,
        url: args.url,
        nonce: args.nonce,
    };
    let handed =
        hand_out_with_proof(engine, &args.account, 60, Purpose::Token, Some(target)).await?;
    match &handed.dpop_proof {
        Some(proof) => {
            println!("{}", proof.as_str());
            Ok(())
        }
        None => Err(Error::InvalidInput(format!(
            "the tokens of `{}` are Bearer tokens, not DPoP-bound: they need no proof",
            handed.account
        ))),
    }
}

/// Prints a token in `format`. A DPoP-bound token goes with its proof in the header formats;
/// without a request to sign one for, those formats are refused rather than print a header
/// its server would turn down.
fn print(handed: &Handed, format: Format) -> Result<()> {
    let token = handed.access_token.as_str();
    let scheme = handed.scheme();
    let proof = handed.dpop_proof.as_deref().map(String::as_str);
    if handed.token_type.is_some()
        && proof.is_none()
        && matches!(format, Format::Header | Format::HeadersJson)
    {
        return Err(Error::InvalidInput(format!(
            "the tokens of `{}` are DPoP-bound (RFC 9449): pass --method and --url of the request, and Latchkey prints the proof that goes with the token",
            handed.account
        )));
    }
    match format {
        Format::Raw => println!("{token}"),
        Format::Header => {
            println!("Authorization: {scheme} {token}");
            if let Some(proof) = proof {
                println!("DPoP: {proof}");
            }
        }
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "account": handed.account,
                "access_token": token,
                "token_type": scheme,
                "dpop_proof": proof,
                "expires_at": handed.expires_at.map(rfc3339),
                "expires_in": handed.expires_at.map(|t| t - now()),
                "scope": handed.scopes.join(" "),
            })
        ),
        Format::HeadersJson => {
            let mut headers = serde_json::json!({ "Authorization": format!("{scheme} {token}") });
            if let Some(proof) = proof {
                headers["DPoP"] = proof.into();
            }
            println!("{headers}");
        }
    }
    Ok(())
}

//! `latchkey token` and `latchkey refresh`: a valid access token on standard output.

use clap::{Args, Parser, ValueEnum};
use std::sync::Arc;

use latchkey::door::{Handed, Purpose};
use latchkey::model::tokens::now;
use latchkey::model::untrusted::{for_terminal, is_token_text};
use latchkey::protocol::dpop::ProofTarget;
use latchkey::{Error, Latchkey, Result};

use super::completions::account_names;
use super::format::rfc3339;
use super::handout::{hand_out, hand_out_with_proof};
use super::io::{Io, errln, outln};

#[derive(Clone, Copy, ValueEnum, Default)]
enum Format {
    /// The token alone.
    #[default]
    Raw,
    /// `Authorization: Bearer …` (DPoP-bound, with --method and --url: `Authorization: DPoP …`
    /// and a `DPoP: …` line)
    Header,
    /// The token with its expiry, scope, token type and DPoP proof.
    Json,
    /// `{"Authorization": "Bearer …"}`: the shape of an MCP client's headers helper (Claude
    /// Code's `headersHelper`); DPoP-bound, with --method and --url, both headers.
    HeadersJson,
}

#[derive(Args)]
pub struct TokenArgs {
    /// `PROFILE/LABEL`, or `PROFILE` for the profile's default account.
    #[arg(add = account_names())]
    account: String,
    /// Refresh first when the token expires within this many seconds.
    #[arg(long, default_value_t = MIN_VALID)]
    min_valid: u32,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(flatten)]
    request: ProofArgs,
}

/// `--min-valid`'s default, in seconds.
const MIN_VALID: u32 = 60;

/// The request a DPoP-bound token goes with (RFC 9449): its proof names them.
#[derive(Args, Clone)]
pub struct ProofArgs {
    /// The HTTP method of the request the token is for (a DPoP-bound account's proof names it).
    #[arg(long, requires = "url", value_name = "METHOD")]
    method: Option<String>,
    /// The URL of the request the token is for (with --method).
    #[arg(long, requires = "method", value_name = "URL")]
    url: Option<url::Url>,
    /// The resource server's DPoP nonce, from its `DPoP-Nonce` header (RFC 9449 §9). It may
    /// begin with `-` (base64url).
    #[arg(
        long,
        requires = "url",
        value_name = "NONCE",
        allow_hyphen_values = true
    )]
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
    /// The resource server's DPoP nonce, from its `DPoP-Nonce` header (RFC 9449 §9). It may
    /// begin with `-` (base64url).
    #[arg(long, value_name = "NONCE", allow_hyphen_values = true)]
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

impl TokenArgs {
    /// `latchkey token ACCOUNT` with every option at its default.
    fn plain(account: String) -> Self {
        TokenArgs {
            account,
            min_valid: MIN_VALID,
            format: Format::default(),
            request: ProofArgs {
                method: None,
                url: None,
                nonce: None,
            },
        }
    }
}

/// The account of `latchkey token ACCOUNT` given nothing else, the call scripts and tools
/// make all day: recognised without building the parser (a tenth of the process's own work).
/// Anything else (an option, `--help`, a name clap would read as an option, text that is not
/// UTF-8) is clap's, so both paths read the same words the same way.
fn plain_account(rest: &[std::ffi::OsString]) -> Option<String> {
    match rest {
        [name] => name
            .to_str()
            .filter(|n| !n.is_empty() && !n.starts_with('-'))
            .map(str::to_owned),
        _ => None,
    }
}

/// A plain `token ACCOUNT` or `refresh ACCOUNT` (the words after the program's name) as its
/// command, read as [`plain_account`] reads it: for the ordinary path when no agent answered,
/// which then builds no parser either.
pub fn plain_command(
    mut words: impl Iterator<Item = std::ffi::OsString>,
) -> Option<super::Command> {
    use super::Command;
    let verb = words.next()?;
    let account = plain_account(&words.collect::<Vec<_>>())?;
    if verb == "token" {
        Some(Command::Token(TokenArgs::plain(account)))
    } else if verb == "refresh" {
        Some(Command::Refresh(RefreshArgs {
            account,
            format: Format::default(),
        }))
    } else {
        None
    }
}

/// `latchkey token` alone, for [`fast_path`]: parsing it builds none of the other commands.
#[cfg(target_os = "linux")]
#[derive(Parser)]
#[command(name = "token")]
struct TokenOnly {
    #[command(flatten)]
    args: TokenArgs,
}

/// `latchkey token …` and a plain `latchkey refresh ACCOUNT` answered by the agent before
/// anything else is set up (no async runtime, no engine, no parsing of the other commands):
/// its output and exit code, or `None` to take the ordinary path, which asks the agent again or
/// the keychain and reports every usage error, `--help` included, as it always does.
#[cfg(target_os = "linux")]
pub fn fast_path() -> Option<u8> {
    use latchkey::agent::{client, protocol::Op};
    let mut argv = std::env::args_os().skip(1);
    let verb = argv.next()?;
    if !(verb == "token" || verb == "refresh")
        || std::env::var_os(super::completions::VAR).is_some()
        || !client::enabled()
        || super::serve_client::configured()
    {
        return None;
    }
    let rest: Vec<std::ffi::OsString> = argv.collect();
    let (args, purpose) = match plain_account(&rest) {
        // `refresh`'s own request: a token valid for at least 0 s is a refresh (see `refresh`).
        Some(account) if verb == "refresh" => (
            TokenArgs {
                min_valid: 0,
                ..TokenArgs::plain(account)
            },
            Purpose::Refresh,
        ),
        Some(account) => (TokenArgs::plain(account), Purpose::Token),
        None if verb == "token" => (
            TokenOnly::try_parse_from(std::iter::once("token".into()).chain(rest))
                .ok()?
                .args,
            Purpose::Token,
        ),
        None => return None,
    };
    // A proof is signed by the agent on the ordinary path's request.
    if args.request.method.is_some() {
        return None;
    }
    // A remote machine with a forwarded agent may have no config directory (or HOME): the
    // forwarded socket's agent reads no config path.
    let config = latchkey::store::paths::config_dir().unwrap_or_default();
    let Some(answer) = client::token_blocking(
        &config,
        Op::token(&args.account, args.min_valid, purpose, None, None),
    ) else {
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
        match answer.and_then(|handed| {
            super::io::finish(Io::std(|io| {
                short_lived(&handed, args.min_valid, now(), io);
                print(&handed, args.format, io, now())
            }))
        }) {
            Ok(()) => 0,
            Err(e) => super::report(&e),
        },
    )
}

pub async fn token(engine: &Arc<Latchkey>, args: TokenArgs, io: &mut Io<'_>) -> Result<()> {
    let target = args.request.target();
    let handed = hand_out_with_proof(
        engine,
        &args.account,
        args.min_valid,
        Purpose::Token,
        target,
    )
    .await?;
    short_lived(&handed, args.min_valid, now(), io);
    print(&handed, args.format, io, now())
}

/// Says so when the token handed out lives less than `--min-valid` asked: the provider's
/// tokens live no longer (each call would otherwise refresh without a word).
fn short_lived(handed: &Handed, min_valid: u32, now: i64, io: &mut Io) {
    if let Some(left) = handed.expires_at.map(|t| t - now)
        && min_valid > 0
        && (1..=i64::from(min_valid)).contains(&left)
    {
        errln!(
            io,
            "latchkey: warning: the token of `{}` is valid for {left} s, less than --min-valid {min_valid}: the provider's tokens live no longer (lower --min-valid)",
            for_terminal(&handed.account)
        );
    }
}

pub async fn refresh(engine: &Arc<Latchkey>, args: RefreshArgs, io: &mut Io<'_>) -> Result<()> {
    let handed = hand_out(engine, &args.account, 0, Purpose::Refresh, None).await?;
    print(&handed, args.format, io, now())
}

/// `latchkey dpop-proof`: the DPoP proof (RFC 9449) of a DPoP-bound account's current token
/// for one request, with `ath`; the token itself is not printed.
pub async fn dpop_proof(
    engine: &Arc<Latchkey>,
    args: DpopProofArgs,
    io: &mut Io<'_>,
) -> Result<()> {
    let target = ProofTarget {
        method: args.method,
        url: args.url,
        nonce: args.nonce,
    };
    let handed =
        hand_out_with_proof(engine, &args.account, 60, Purpose::Token, Some(target)).await?;
    print_proof(&handed, io)
}

/// `dpop-proof`'s output: the proof alone, or why there is none.
fn print_proof(handed: &Handed, io: &mut Io) -> Result<()> {
    match &handed.dpop_proof {
        Some(proof) => outln!(io, "{}", proof.as_str()),
        None => Err(Error::InvalidInput(format!(
            "the tokens of `{}` are Bearer tokens, not DPoP-bound: they need no proof",
            handed.account
        ))),
    }
}

/// Prints a token in `format` (`expires_in` counted from `now`). A DPoP-bound token goes with
/// its proof in the header formats; without a request to sign one for, those formats are
/// refused rather than print a header its server would turn down.
fn print(handed: &Handed, format: Format, io: &mut Io, now: i64) -> Result<()> {
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
    // Checked when it arrived; a token stored before that check must not write to a terminal
    // or add a header line either (JSON escapes it).
    if !is_token_text(token) && matches!(format, Format::Raw | Format::Header) {
        return Err(Error::BadResponse {
            context: format!("the token of `{}`", handed.account),
            detail: "it holds characters a token may not have; sign in again".into(),
        });
    }
    match format {
        Format::Raw => outln!(io, "{token}"),
        Format::Header => {
            outln!(io, "Authorization: {scheme} {token}")?;
            match proof {
                Some(proof) => outln!(io, "DPoP: {proof}"),
                None => Ok(()),
            }
        }
        Format::Json => outln!(
            io,
            "{}",
            serde_json::json!({
                "account": handed.account,
                "access_token": token,
                "token_type": scheme,
                "dpop_proof": proof,
                "expires_at": handed.expires_at.map(rfc3339),
                "expires_in": handed.expires_at.map(|t| t - now),
                "scope": handed.scopes.join(" "),
            })
        ),
        Format::HeadersJson => {
            let mut headers = serde_json::json!({ "Authorization": format!("{scheme} {token}") });
            if let Some(proof) = proof {
                headers["DPoP"] = proof.into();
            }
            outln!(io, "{headers}")
        }
    }
}

#[cfg(test)]
mod tests {
    use zeroize::Zeroizing;

    use super::*;
    use crate::cli::testing::{Captured, NOW, with_closed_output};

    #[cfg(target_os = "linux")]
    #[test]
    fn a_nonce_may_begin_with_a_hyphen() {
        // base64url nonces begin with `-` one time in 64.
        let args = TokenOnly::try_parse_from([
            "token",
            "dp",
            "--method",
            "GET",
            "--url",
            "https://rs.example/x",
            "--nonce",
            "-gX_1",
        ])
        .expect("parsed");
        assert_eq!(args.args.request.nonce.as_deref(), Some("-gX_1"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_plain_call_reads_as_clap_reads_it_and_nothing_else_is_taken_for_it() {
        let words = |w: &[&str]| {
            w.iter()
                .map(Into::into)
                .collect::<Vec<std::ffi::OsString>>()
        };
        let name = plain_account(&words(&["work/alice"])).expect("plain");
        let ours = TokenArgs::plain(name);
        let clap = TokenOnly::try_parse_from(["token", "work/alice"])
            .expect("parsed")
            .args;
        assert_eq!(ours.account, clap.account);
        assert_eq!(ours.min_valid, clap.min_valid);
        assert!(matches!(
            (ours.format, clap.format),
            (Format::Raw, Format::Raw)
        ));
        assert!(ours.request.target().is_none() && clap.request.nonce.is_none());
        for other in [
            &["work/alice", "--format", "json"][..],
            &["--help"],
            &["-h"],
            &["--min-valid=5", "work"],
            &[""],
            &[],
        ] {
            assert_eq!(plain_account(&words(other)), None, "{other:?}");
        }
    }

    #[test]
    fn a_plain_token_or_refresh_is_the_command_clap_makes_of_it() {
        use super::super::{Cli, Command};
        let ours = |w: &[&str]| plain_command(w.iter().map(Into::into));
        let clap = |w: &[&str]| {
            Cli::try_parse_from(std::iter::once("latchkey").chain(w.iter().copied()))
                .expect("parsed")
                .command
        };
        for words in [&["token", "work/alice"][..], &["refresh", "work"]] {
            match (ours(words).expect("plain"), clap(words)) {
                (Command::Token(a), Command::Token(b)) => {
                    assert_eq!((a.account, a.min_valid), (b.account, b.min_valid));
                    assert!(matches!((a.format, b.format), (Format::Raw, Format::Raw)));
                    assert!(a.request.target().is_none() && b.request.target().is_none());
                }
                (Command::Refresh(a), Command::Refresh(b)) => {
                    assert_eq!(a.account, b.account);
                    assert!(matches!((a.format, b.format), (Format::Raw, Format::Raw)));
                }
                _ => panic!("{words:?} read as another command"),
            }
        }
        for other in [
            &["token", "work", "--format", "json"][..],
            &["refresh", "--help"],
            &["refresh"],
            &["accounts", "work"],
            &["help", "token"],
        ] {
            assert!(ours(other).is_none(), "{other:?}");
        }
    }

    fn handed(dpop: bool, proof: Option<&str>) -> Handed {
        Handed {
            account: "work/alice".into(),
            access_token: Zeroizing::new("at-123".into()),
            expires_at: Some(NOW + 300),
            scopes: vec!["read".into(), "write".into()],
            token_type: dpop.then(|| "DPoP".into()),
            dpop_proof: proof.map(|p| Zeroizing::new(p.to_string())),
        }
    }

    fn printed(handed: &Handed, format: Format) -> (Result<()>, String) {
        let mut c = Captured::default();
        let result = print(handed, format, &mut c.io(), NOW);
        assert_eq!(c.err(), "");
        (result, c.out())
    }

    fn ok(handed: &Handed, format: Format) -> String {
        let (result, out) = printed(handed, format);
        result.unwrap();
        out
    }

    #[test]
    fn a_token_that_lives_less_than_asked_is_handed_out_with_a_warning() {
        let bearer = handed(false, None); // valid for 300 s
        let warned = |min_valid| {
            let mut c = Captured::default();
            short_lived(&bearer, min_valid, NOW, &mut c.io());
            c.err()
        };
        assert_eq!(warned(60), "");
        assert_eq!(warned(0), "");
        assert_eq!(
            warned(600),
            "latchkey: warning: the token of `work/alice` is valid for 300 s, less than --min-valid 600: the provider's tokens live no longer (lower --min-valid)\n"
        );
        // An expiry in the past (an endpoint's word) says nothing; a name is escaped.
        let mut odd = handed(false, None);
        odd.expires_at = Some(NOW - 5);
        let mut c = Captured::default();
        short_lived(&odd, 600, NOW, &mut c.io());
        assert_eq!(c.err(), "");
        odd.expires_at = Some(NOW + 5);
        odd.account = "work/\u{1b}[2J".into();
        short_lived(&odd, 600, NOW, &mut c.io());
        assert!(c.err().contains("work/\\u{1b}[2J"), "{}", c.err());
    }

    #[test]
    fn a_token_with_control_characters_is_never_printed_raw_or_as_a_header() {
        let mut evil = handed(false, None);
        evil.access_token = Zeroizing::new("at\r\nX-Injected: 1\u{1b}]0;T\u{7}".into());
        for format in [Format::Raw, Format::Header] {
            let (result, out) = printed(&evil, format);
            let err = result.expect_err("refused");
            assert_eq!(out, "");
            assert!(err.to_string().contains("sign in again"), "{err}");
        }
        // JSON escapes it: nothing raw reaches the terminal.
        let (result, out) = printed(&evil, Format::Json);
        result.unwrap();
        assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    }

    #[test]
    fn a_bearer_token_in_each_format() {
        let bearer = handed(false, None);
        assert_eq!(ok(&bearer, Format::Raw), "at-123\n");
        assert_eq!(
            ok(&bearer, Format::Header),
            "Authorization: Bearer at-123\n"
        );
        assert_eq!(
            ok(&bearer, Format::HeadersJson),
            "{\"Authorization\":\"Bearer at-123\"}\n"
        );
        let json: serde_json::Value = serde_json::from_str(&ok(&bearer, Format::Json)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "account": "work/alice",
                "access_token": "at-123",
                "token_type": "Bearer",
                "dpop_proof": null,
                "expires_at": "2026-01-01T00:05:00Z",
                "expires_in": 300,
                "scope": "read write",
            })
        );
    }

    #[test]
    fn a_dpop_bound_token_goes_with_its_proof() {
        let bound = handed(true, Some("eyJ.proof.sig"));
        assert_eq!(ok(&bound, Format::Raw), "at-123\n");
        assert_eq!(
            ok(&bound, Format::Header),
            "Authorization: DPoP at-123\nDPoP: eyJ.proof.sig\n"
        );
        let headers: serde_json::Value =
            serde_json::from_str(&ok(&bound, Format::HeadersJson)).unwrap();
        assert_eq!(
            headers,
            serde_json::json!({"Authorization": "DPoP at-123", "DPoP": "eyJ.proof.sig"})
        );
        let json: serde_json::Value = serde_json::from_str(&ok(&bound, Format::Json)).unwrap();
        assert_eq!(json["token_type"], "DPoP");
        assert_eq!(json["dpop_proof"], "eyJ.proof.sig");
    }

    #[test]
    fn a_dpop_bound_token_without_a_proof_prints_no_header_it_would_need() {
        let bound = handed(true, None);
        for format in [Format::Header, Format::HeadersJson] {
            let (result, out) = printed(&bound, format);
            let e = result.expect_err("no header without a proof");
            assert_eq!(e.kind(), latchkey::ErrorKind::Usage);
            assert_eq!(
                e.to_string(),
                "the tokens of `work/alice` are DPoP-bound (RFC 9449): pass --method and --url of the request, and Latchkey prints the proof that goes with the token"
            );
            assert_eq!(out, "", "nothing printed before the refusal");
        }
        // The token alone and JSON say what it is.
        assert_eq!(ok(&bound, Format::Raw), "at-123\n");
        let json: serde_json::Value = serde_json::from_str(&ok(&bound, Format::Json)).unwrap();
        assert_eq!(json["dpop_proof"], serde_json::Value::Null);
    }

    #[test]
    fn dpop_proof_prints_the_proof_alone_and_refuses_a_bearer_account() {
        let mut c = Captured::default();
        print_proof(&handed(true, Some("eyJ.proof.sig")), &mut c.io()).unwrap();
        assert_eq!(c.out(), "eyJ.proof.sig\n");
        let mut c = Captured::default();
        let e = print_proof(&handed(false, None), &mut c.io()).expect_err("Bearer");
        assert_eq!(e.kind(), latchkey::ErrorKind::Usage);
        assert_eq!(
            e.to_string(),
            "the tokens of `work/alice` are Bearer tokens, not DPoP-bound: they need no proof"
        );
        assert_eq!(c.out(), "");
    }

    #[test]
    fn a_closed_stdout_ends_token_quietly() {
        let bound = handed(true, Some("p"));
        for format in [
            Format::Raw,
            Format::Header,
            Format::Json,
            Format::HeadersJson,
        ] {
            let (result, err) = with_closed_output(|io| print(&bound, format, io, NOW));
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(err, "");
        }
        // A refusal is still one.
        let (result, _) =
            with_closed_output(|io| print(&handed(true, None), Format::Header, io, NOW));
        assert!(result.is_err());
    }
}

//! `latchkey login`: the authorization code flow through the system browser and a loopback
//! listener.

use std::time::Duration;

use clap::Args;
use latchkey::model::tokens::now;
use latchkey::model::untrusted::sanitize;
use latchkey::protocol::callback::DEFAULT_TIMEOUT;
use latchkey::{
    Account, Error, Latchkey, LegacyGrant, LoopbackListener, Profile, RedirectMode, Result,
    protocol::browser,
};
use oauth2::ResourceOwnerPassword;

use super::completions::profile_names;
use super::format::relative;
use super::io::{Io, Piped, errln, outln, read_hidden};

#[derive(Args)]
pub struct LoginArgs {
    /// The profile to sign in to.
    #[arg(add = profile_names())]
    profile: String,
    /// Name the account (default: the id_token's email, username or subject, else `default`).
    #[arg(long)]
    account: Option<String>,
    /// Print the authorization URL instead of opening the browser.
    #[arg(long)]
    no_browser: bool,
    /// Sign in with the device flow (RFC 8628): enter a code on a page, on any device.
    #[arg(long, conflicts_with_all = ["password", "implicit"])]
    device: bool,
    /// Sign in with the implicit grant (legacy; the profile must allow it): the token comes back
    /// in the redirect's fragment, which a page served by the loopback listener posts back.
    #[arg(long, conflicts_with = "password")]
    implicit: bool,
    /// Sign in with the resource owner password grant (legacy; the profile must allow it): the
    /// password is read from the terminal, or from standard input when it is not a terminal,
    /// used once and never stored.
    #[arg(long, requires = "username")]
    password: bool,
    /// The username for --password.
    #[arg(long, requires = "password")]
    username: Option<String>,
    /// Seconds to wait for the browser (with --device: for the approval, at most the code's lifetime).
    #[arg(long, default_value_t = DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

impl LoginArgs {
    /// The browser sent to `url` (or the URL shown) as these flags say; how long to wait.
    fn send_to_browser(&self, url: &str, io: &mut Io) -> Result<Duration> {
        send_to_browser(url, self.no_browser, self.timeout, io)
    }
}

pub async fn run(engine: &Latchkey, args: LoginArgs, io: &mut Io<'_>) -> Result<()> {
    let account = if args.device {
        device(engine, args, io).await?
    } else if args.password {
        password(engine, args, io).await?
    } else if args.implicit {
        implicit(engine, args, io).await?
    } else {
        code_flow(engine, args, io).await?
    };
    signed_in(&account, wants_dpop(engine, &account), now(), io)
}

/// The authorization code flow: the browser, then the code exchange.
async fn code_flow(engine: &Latchkey, mut args: LoginArgs, io: &mut Io<'_>) -> Result<Account> {
    let profile = engine.profile(&args.profile)?;
    require_loopback(&profile)?;
    // Before the browser: a missing secret would otherwise fail only at the code exchange.
    engine.require_client_secret(&profile).await?;
    let listener = loopback_listener(engine, &profile).await?;
    let pending = engine
        .begin_login(
            &profile.name,
            args.account.take(),
            listener.redirect_uri().clone(),
        )
        .await?;
    let timeout = args.send_to_browser(pending.request.authorization_url.as_str(), io)?;
    let response = listener
        .wait(&profile.name, pending.request.state(), timeout)
        .await?;
    engine.complete_login(pending, response).await
}

async fn device(engine: &Latchkey, args: LoginArgs, io: &mut Io<'_>) -> Result<Account> {
    let pending = engine
        .begin_device_login(&args.profile, args.account)
        .await?;
    // The engine escaped these provider fields already; the terminal gets them only so.
    errln!(
        io,
        "To sign in, open {} and enter the code:\n\n    {}\n",
        sanitize(&pending.verification_uri),
        sanitize(&pending.user_code)
    );
    // The page with the code filled in goes to standard output, for scripts.
    if let Some(complete) = &pending.verification_uri_complete {
        errln!(io, "Or open this page, which has the code filled in:");
        outln!(io, "{}", sanitize(complete))?;
    }
    if !args.no_browser
        && let Some(url) = pending.browser_url()
        && browser::open(url.as_str()).is_err()
    {
        errln!(io, "(No browser could be opened here; use another device.)");
    }
    let wait = Duration::from_secs(args.timeout).min(pending.expires_in);
    errln!(
        io,
        "Waiting for the approval (up to {} s, checking every {} s)…",
        wait.as_secs(),
        pending.interval().as_secs()
    );
    engine
        .complete_device_login(pending, Duration::from_secs(args.timeout))
        .await
}

async fn implicit(engine: &Latchkey, mut args: LoginArgs, io: &mut Io<'_>) -> Result<Account> {
    let profile = engine.profile(&args.profile)?;
    profile.require_legacy_grant(LegacyGrant::Implicit)?;
    require_loopback(&profile)?;
    errln!(io, "warning: {}.", LegacyGrant::Implicit.warning());
    let listener = loopback_listener(engine, &profile).await?;
    let pending = engine.begin_implicit_login(
        &profile.name,
        args.account.take(),
        listener.redirect_uri().clone(),
    )?;
    let timeout = args.send_to_browser(pending.request.authorization_url.as_str(), io)?;
    let params = listener
        .wait_fragment(&profile.name, pending.request.state(), timeout)
        .await?;
    engine.complete_implicit_login(pending, params).await
}

/// A browser sign-in from the command line needs the loopback listener.
pub(super) fn require_loopback(profile: &Profile) -> Result<()> {
    if profile.redirect == RedirectMode::DeepLink {
        return Err(Error::InvalidInput(format!(
            "profile `{}` receives sign-ins by deep link, which the Latchkey desktop app handles; sign in from the app, or set `redirect = \"loopback\"` for the profile",
            profile.name
        )));
    }
    Ok(())
}

/// Opens the authorization URL in the browser, or prints it.
/// The loopback listener of a browser sign-in to `profile`, reporting refused callbacks.
pub(super) async fn loopback_listener(
    engine: &Latchkey,
    profile: &Profile,
) -> Result<LoopbackListener> {
    Ok(LoopbackListener::bind(profile.redirect_uri.as_ref())
        .await?
        .with_notices(engine.notice_hook()))
}

/// Sends the user to `url` and says how long Latchkey waits: the wait it returns.
fn send_to_browser(
    url: &str,
    no_browser: bool,
    timeout_secs: u64,
    io: &mut Io,
) -> Result<Duration> {
    show_url(url, no_browser, io)?;
    errln!(io, "Waiting for the sign-in (up to {timeout_secs} s)…");
    Ok(Duration::from_secs(timeout_secs))
}

/// Opens `url` in the browser, or says to open it: one sentence on standard error, the URL once
/// on a line of its own (on standard output when nothing opened, for scripts).
fn show_url(url: &str, no_browser: bool, io: &mut Io) -> Result<()> {
    let opened = if no_browser {
        None
    } else {
        Some(browser::open(url))
    };
    match opened {
        Some(Ok(())) => {
            errln!(io, "{}\n{url}", browser_sentence(opened));
            Ok(())
        }
        _ => {
            errln!(io, "{}", browser_sentence(opened));
            outln!(io, "{url}")
        }
    }
}

/// The sentence before the authorization URL: `None` when no browser was to be opened.
fn browser_sentence(opened: Option<std::result::Result<(), browser::NoBrowser>>) -> String {
    match opened {
        None => "Open this URL in a browser on this computer to sign in:".into(),
        Some(Ok(())) => "Continue in your browser. If it did not open, visit:".into(),
        Some(Err(e)) => format!(
            "{}; open this URL in a browser to sign in:",
            capitalized(&e.to_string())
        ),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn password(engine: &Latchkey, args: LoginArgs, io: &mut Io<'_>) -> Result<Account> {
    let profile = engine.profile(&args.profile)?;
    let username = args.username.unwrap_or_default();
    // Refused before the password is asked for.
    profile.require_legacy_grant(LegacyGrant::Password)?;
    errln!(io, "warning: {}.", LegacyGrant::Password.warning());
    let password = read_password(&username)?;
    engine
        .login_password(&profile.name, args.account, &username, &password)
        .await
}

/// The password: hidden at a terminal, the first line of standard input otherwise.
fn read_password(username: &str) -> Result<ResourceOwnerPassword> {
    read_hidden(
        &format!("Password for {username}"),
        "the password",
        Piped::FirstLine,
    )
    .map(ResourceOwnerPassword::new)
}

/// Whether the account's profile asks for DPoP.
fn wants_dpop(engine: &Latchkey, account: &Account) -> bool {
    engine.profile(&account.profile).is_ok_and(|p| p.dpop)
}

/// What a sign-in says when it is done (the expiry counted from `now`), and whether the tokens
/// came DPoP-bound when the profile asked for DPoP.
fn signed_in(account: &Account, wants_dpop: bool, now: i64, io: &mut Io) -> Result<()> {
    let expiry = account
        .expires_at
        .map(|t| format!(", access token expires {}", relative(t, now)))
        .unwrap_or_default();
    let refresh = if account.has_refresh_token {
        "with a refresh token"
    } else {
        "no refresh token (ask for `offline_access` or your provider's equivalent to get one)"
    };
    outln!(io, "Signed in: {}{expiry}; {refresh}.", account.id())?;
    if account.dpop_bound {
        outln!(
            io,
            "Its tokens are DPoP-bound (RFC 9449): they go with a proof of this account's key."
        )?;
    } else if wants_dpop {
        errln!(
            io,
            "warning: the profile asks for DPoP, and the provider issued Bearer tokens: it does not bind tokens to keys for this client (it may not support DPoP, RFC 9449)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_browser_one_plain_sentence_and_no_url_in_it() {
        for e in [browser::NoBrowser::Desktop, browser::NoBrowser::Variable] {
            let sentence = browser_sentence(Some(Err(e)));
            assert!(
                sentence.ends_with("open this URL in a browser to sign in:"),
                "{sentence}"
            );
            assert!(sentence.starts_with(char::is_uppercase), "{sentence}");
            assert_eq!(
                sentence.matches(". ").count(),
                0,
                "one sentence: {sentence}"
            );
            for noise in ["http", "Status", "Launcher", "\"", "("] {
                assert!(!sentence.contains(noise), "{sentence}");
            }
        }
        assert_eq!(
            browser_sentence(Some(Err(browser::NoBrowser::Desktop))),
            "No browser could be opened here; open this URL in a browser to sign in:"
        );
    }
}

#[cfg(test)]
mod said {
    use super::*;
    use crate::cli::testing::{Captured, NOW};

    fn account(expires_at: Option<i64>, has_refresh_token: bool) -> Account {
        Account {
            profile: "work".into(),
            label: "alice".into(),
            subject: None,
            scopes: vec![],
            expires_at,
            has_refresh_token,
            needs_sign_in: None,
            signed_in_at: NOW,
            default: false,
            dpop_bound: false,
        }
    }

    fn said(account: &Account) -> String {
        let mut c = Captured::default();
        signed_in(account, false, NOW, &mut c.io()).unwrap();
        assert_eq!(c.err(), "");
        c.out()
    }

    #[test]
    fn a_sign_in_says_whether_its_tokens_are_dpop_bound_and_warns_when_they_are_not() {
        let mut bound = account(None, true);
        bound.dpop_bound = true;
        let mut c = Captured::default();
        signed_in(&bound, true, NOW, &mut c.io()).unwrap();
        assert!(c.out().contains("DPoP-bound"), "{}", c.out());
        assert_eq!(c.err(), "");
        let mut c = Captured::default();
        signed_in(&account(None, true), true, NOW, &mut c.io()).unwrap();
        assert!(c.err().contains("issued Bearer tokens"), "{}", c.err());
    }

    #[test]
    fn a_sign_in_says_when_the_token_expires_and_whether_it_can_be_refreshed() {
        assert_eq!(
            said(&account(Some(NOW + 3599), true)),
            "Signed in: work/alice, access token expires in 59m; with a refresh token.\n"
        );
        assert_eq!(
            said(&account(None, false)),
            "Signed in: work/alice; no refresh token (ask for `offline_access` or your provider's equivalent to get one).\n"
        );
    }

    #[test]
    fn without_a_browser_the_url_goes_to_stdout_and_the_sentence_to_stderr() {
        let mut c = Captured::default();
        let wait =
            send_to_browser("https://as.example/authorize?x=1", true, 30, &mut c.io()).unwrap();
        assert_eq!(wait, Duration::from_secs(30));
        assert_eq!(c.out(), "https://as.example/authorize?x=1\n");
        assert_eq!(
            c.err(),
            "Open this URL in a browser on this computer to sign in:\nWaiting for the sign-in (up to 30 s)…\n"
        );
    }
}

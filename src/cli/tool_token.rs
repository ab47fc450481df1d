//! The token a tool (git, kubectl) asks for on every command. When the account needs a
//! browser sign-in: at a terminal, one sign-in per account at a time however many processes
//! ask (the others wait, then read its token); without one, never a browser, only a message
//! naming the `latchkey login` to run.

use std::sync::Arc;

use latchkey::agent::protocol::Op;
use latchkey::api::integrations::login_command;
use latchkey::door::{Handed, Purpose};
use latchkey::protocol::callback::DEFAULT_TIMEOUT;
use latchkey::{Account, Error, ErrorKind, Grant, Latchkey, Result};

use super::handout::{from_agent, local_door, request};
use super::login::{loopback_listener, require_loopback};

/// A valid token of `name` for the tool `purpose`, from the agent when it answers, else from
/// this process's door, signing in first when the account needs it and `interactive` allows
/// it. An account the agent says needs a sign-in (or does not have yet) goes the direct way
/// too, which may sign in at a terminal.
pub async fn token_for_tool(
    engine: &Arc<Latchkey>,
    name: &str,
    min_valid: u32,
    purpose: Purpose,
    interactive: bool,
    why_not: &str,
) -> Result<Handed> {
    if let Some(answer) = super::serve_client::from_endpoint(name, min_valid, purpose).await {
        return answer;
    }
    match from_agent(engine, Op::token(name, min_valid, purpose, None, None)).await {
        Some(Ok(handed)) => return Ok(handed),
        Some(Err(e))
            if super::handout::remote()
                || !matches!(e.kind(), ErrorKind::NeedsSignIn | ErrorKind::NotFound) =>
        {
            return Err(e);
        }
        _ => {}
    }
    let door = local_door(engine);
    let error = match door.hand_out(request(name, min_valid, purpose, None)).await {
        Ok(handed) => return Ok(handed),
        Err(e) => e,
    };
    let Some((profile, label)) = sign_in_target(engine, name, &error) else {
        return Err(error);
    };
    if !interactive {
        // A profile without this account yet: it needs a sign-in as much as an expired grant.
        let error = match error {
            Error::AccountNotFound(_) => Error::NeedsSignIn {
                account: name.to_string(),
                profile: profile.clone(),
                reason: "it has not been signed in yet".into(),
            },
            other => other,
        };
        return Err(error.context(format!(
            "{why_not}, so Latchkey opens no browser; run `{}` in a terminal, then try again",
            login_command(&profile, label.as_deref())
        )));
    }
    let _lock = engine
        .purpose_lock("sign-in", &profile, label.as_deref().unwrap_or(""))
        .await?;
    // Another process may have signed in while this one waited for the lock.
    if let Ok(handed) = door.hand_out(request(name, min_valid, purpose, None)).await {
        return Ok(handed);
    }
    let account = browser_sign_in(engine, &profile, label).await?;
    door.hand_out(request(&account.id(), min_valid, purpose, None))
        .await
}

/// The profile and label a sign-in would heal `error` with: an account that needs sign-in, or
/// one not signed in yet under an existing profile that signs users in.
fn sign_in_target(
    engine: &Latchkey,
    name: &str,
    error: &Error,
) -> Option<(String, Option<String>)> {
    match (error.kind(), error) {
        (ErrorKind::NeedsSignIn, _) => {
            let account = engine.account(name).ok()?;
            Some((account.profile, Some(account.label)))
        }
        (_, Error::AccountNotFound(_)) => {
            let (profile, label) = match name.split_once('/') {
                Some((p, l)) => (p, Some(l.to_string())),
                None => (name, None),
            };
            let profile = engine.profile(profile).ok()?;
            (profile.grant != Grant::ClientCredentials).then_some((profile.name, label))
        }
        _ => None,
    }
}

/// The authorization code flow with all output on standard error: standard output belongs to
/// the tool that runs Latchkey.
async fn browser_sign_in(
    engine: &Latchkey,
    profile: &str,
    label: Option<String>,
) -> Result<Account> {
    let profile = engine.profile(profile)?;
    require_loopback(&profile)?;
    let listener = loopback_listener(engine, &profile).await?;
    let pending = engine
        .begin_login(&profile.name, label, listener.redirect_uri().clone())
        .await?;
    let url = pending.request.authorization_url.as_str();
    match latchkey::protocol::browser::open(url) {
        Ok(()) => eprintln!(
            "latchkey: sign in to `{}` in your browser. If it did not open, visit:\n{url}",
            profile.name
        ),
        Err(e) => eprintln!(
            "latchkey: {e}. To sign in to `{}`, open:\n{url}",
            profile.name
        ),
    }
    let response = listener
        .wait(&profile.name, pending.request.state(), DEFAULT_TIMEOUT)
        .await?;
    let account = engine.complete_login(pending, response).await?;
    eprintln!("latchkey: signed in: {}", account.id());
    Ok(account)
}

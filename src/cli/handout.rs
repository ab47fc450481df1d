//! How every token command obtains its token: from the agent when it answers, else from the
//! keychain at once (`LATCHKEY_AGENT=off` skips the agent). Either way the same token, the same
//! errors with the same exit codes, and one history line.

use latchkey::agent::{Handed, How};
use latchkey::{Latchkey, Result};

/// A token of `name` valid for `min_valid` seconds (`How::Refresh`: refreshed now).
pub async fn hand_out(engine: &Latchkey, name: &str, min_valid: u32, how: How) -> Result<Handed> {
    if let Some(answer) = from_agent(engine, name, min_valid, how).await {
        return answer;
    }
    let min = i64::from(min_valid);
    let (account, tokens) = match how {
        How::Refresh => engine.refresh(name).await?,
        How::Token | How::Copy => engine.token(name, min).await?,
        How::Exec | How::Git | How::Kube => engine.token_not_rejected(name, min).await?,
    };
    let handed = Handed::new(&account, &tokens);
    record_direct(&handed, how);
    Ok(handed)
}

/// The agent's answer, `None` when no agent answers (or it is turned off).
#[cfg(unix)]
pub async fn from_agent(
    engine: &Latchkey,
    name: &str,
    min_valid: u32,
    how: How,
) -> Option<Result<Handed>> {
    use latchkey::agent::client;
    if !client::enabled() {
        return None;
    }
    client::token(engine.config().dir(), name, min_valid, how).await
}

#[cfg(not(unix))]
pub async fn from_agent(_: &Latchkey, _: &str, _: u32, _: How) -> Option<Result<Handed>> {
    None
}

/// The history line of a token handed out without the agent: the program that asked is this
/// process's parent.
pub fn record_direct(handed: &Handed, how: How) {
    #[cfg(unix)]
    let pid = Some(std::os::unix::process::parent_id());
    #[cfg(not(unix))]
    let pid = None;
    if let Err(e) = latchkey::store::history::record_direct(&handed.account, how.as_str(), pid) {
        eprintln!("latchkey: the token was handed out, but not recorded in the history: {e}");
    }
}

//! `latchkey profile remove`: the profile, its accounts and their keychain entries, then what
//! they held at the provider (revoked or deleted there, unless `--no-revoke`).

use std::io::IsTerminal;

use latchkey::model::untrusted::{for_terminal, sanitize};
use latchkey::{Error, Latchkey, Result};

use super::io::{Io, err, errln, outln};

pub(super) async fn run(
    engine: &Latchkey,
    name: &str,
    yes: bool,
    revoke: bool,
    io: &mut Io<'_>,
) -> Result<()> {
    // Read before it goes: the messages about its registered client name it.
    let client = sanitize(&engine.profile(name)?.client_id);
    let count = engine
        .accounts()?
        .iter()
        .filter(|a| a.profile == name)
        .count();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::InvalidInput(format!(
                "removing profile `{name}` deletes its {count} account(s) and their tokens; pass --yes to confirm"
            )));
        }
        err!(
            io,
            "Remove profile `{name}` and its {count} account(s), tokens included? [y/N] "
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::io("cannot read the answer", e))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            errln!(io, "Nothing removed.");
            return Ok(());
        }
    }
    let removed = engine.remove_profile(name, revoke).await?;
    let ended = engine.end_at_provider(removed.at_provider).await;
    for (account, outcome) in &ended.revoked {
        match outcome {
            Ok(true) => errln!(
                io,
                "Revoked the refresh token of `{account}` at the provider."
            ),
            Ok(false) => errln!(
                io,
                "The provider of `{account}` has no revocation endpoint: its refresh token stays valid there until it expires."
            ),
            Err(e) => errln!(
                io,
                "warning: could not revoke the refresh token of `{account}` ({}); the account was removed all the same, and its refresh token stays valid at the provider until it expires.",
                for_terminal(&e.to_string())
            ),
        }
    }
    match &ended.registration {
        None => {}
        Some(Ok(true)) => errln!(
            io,
            "Deleted the client `{client}` registered at the provider (RFC 7592)."
        ),
        Some(Ok(false)) => errln!(
            io,
            "The provider gave no way to delete the client `{client}` it registered; it stays there."
        ),
        Some(Err(e)) => errln!(
            io,
            "warning: could not delete the client `{client}` at the provider ({}); the profile was removed all the same.",
            for_terminal(&e.to_string())
        ),
    }
    match removed.accounts.len() {
        0 => outln!(io, "Removed profile `{name}` (it had no account)."),
        1 => outln!(io, "Removed profile `{name}` and its account."),
        n => outln!(io, "Removed profile `{name}` and its {n} accounts."),
    }
}

//! Where every CLI command gets its token: the agent's door when an agent answers, else a door
//! in this process over the keychain (`LATCHKEY_AGENT=off` skips the agent). Either way the
//! same rules, the same token, the same errors and exit codes, and one history line, written by
//! the door that decided.

use std::path::Path;
use std::sync::Arc;

use latchkey::agent::protocol::Op;
use latchkey::door::{Arrival, Caller, Door, Handed, Purpose, Request};
use latchkey::protocol::dpop::ProofTarget;
use latchkey::{Latchkey, Result};

/// A token of `name` valid for `min_valid` seconds (`Purpose::Refresh`: refreshed now).
/// `program`: for `exec`, the program about to start, resolved to its path. With
/// `LATCHKEY_URL` set, the `latchkey serve` endpoint it names is the only source.
pub async fn hand_out(
    engine: &Arc<Latchkey>,
    name: &str,
    min_valid: u32,
    purpose: Purpose,
    program: Option<&Path>,
) -> Result<Handed> {
    if let Some(answer) = super::serve_client::from_endpoint(name, min_valid, purpose).await {
        return answer;
    }
    if let Some(answer) =
        from_agent(engine, Op::token(name, min_valid, purpose, program, None)).await
    {
        return answer;
    }
    local_door(engine)
        .hand_out(request(name, min_valid, purpose, program))
        .await
}

/// [`hand_out`] for `token` and `dpop-proof`: with `proof`, a DPoP-bound account's token comes
/// with the proof for that request, signed by whichever door holds the key.
pub async fn hand_out_with_proof(
    engine: &Arc<Latchkey>,
    name: &str,
    min_valid: u32,
    purpose: Purpose,
    proof: Option<ProofTarget>,
) -> Result<Handed> {
    let Some(target) = proof else {
        return hand_out(engine, name, min_valid, purpose, None).await;
    };
    if super::serve_client::configured() {
        return Err(latchkey::Error::InvalidInput(
            "DPoP proofs are not made over `latchkey serve`: run `latchkey proxy` beside the account instead".into(),
        ));
    }
    if let Some(answer) = from_agent(
        engine,
        Op::token(name, min_valid, purpose, None, Some(&target)),
    )
    .await
    {
        return answer;
    }
    let mut request = request(name, min_valid, purpose, None);
    request.proof = Some(target);
    local_door(engine).hand_out(request).await
}

/// The request of this process, with the caller this process can see: its parent, or the
/// program it is about to start.
pub fn request(name: &str, min_valid: u32, purpose: Purpose, program: Option<&Path>) -> Request {
    let caller = match program {
        Some(program) => Caller::program_to_start(program, Arrival::Direct),
        None => Caller::this_process_parent(purpose.through_shell()),
    };
    Request {
        account: name.to_string(),
        purpose,
        min_valid,
        caller,
        proof: None,
    }
}

/// Whether this process takes its tokens from elsewhere, with no config or keychain of its
/// own: a `latchkey serve` endpoint, or a forwarded agent.
pub fn remote() -> bool {
    if super::serve_client::configured() {
        return true;
    }
    #[cfg(unix)]
    if latchkey::agent::client::forwarded().is_some() {
        return true;
    }
    false
}

/// The door of this process, when no agent answers. Nobody can be asked from here: the
/// program that ran this command holds its terminal, so a rule that says ask refuses.
pub fn local_door(engine: &Arc<Latchkey>) -> Door {
    Door::new(engine.clone())
}

/// The agent's answer to `op` (an [`Op::token`]), `None` when no agent answers (or it is
/// turned off).
#[cfg(unix)]
pub async fn from_agent(engine: &Latchkey, op: Op) -> Option<Result<Handed>> {
    use latchkey::agent::client;
    let dir = engine.config().dir();
    // A forwarded agent is the only source: no answer is an error, never the keychain here.
    if let Some(socket) = client::forwarded() {
        let answer = client::token(dir, op).await;
        return Some(answer.unwrap_or_else(|| Err(client::unreachable(&socket))));
    }
    if !client::enabled() {
        return None;
    }
    client::token(dir, op).await
}

#[cfg(not(unix))]
pub async fn from_agent(_: &Latchkey, _: Op) -> Option<Result<Handed>> {
    None
}

//! What the HTTP front ends over the door (`serve`, `proxy`) share: their random secrets, their
//! stop signals, and errors as JSON with the HTTP status that goes with them.

use hyper::StatusCode;
use latchkey::agent::protocol::kind_name;
use latchkey::{Error, ErrorKind};
use serde_json::{Value, json};

/// 128 random bits as 32 hex digits.
pub fn random_secret() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
pub use latchkey::agent::server::stop_signals;

#[cfg(not(unix))]
pub fn stop_signals() -> Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// The HTTP status of an error of the door or the engine.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Refused => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Usage => StatusCode::BAD_REQUEST,
        ErrorKind::NeedsSignIn | ErrorKind::SignIn => StatusCode::CONFLICT,
        ErrorKind::Provider => StatusCode::BAD_GATEWAY,
        ErrorKind::Network => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Keychain => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Other => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn error_body(kind: &str, message: &str) -> Value {
    json!({ "error": kind, "message": message })
}

/// An error as a client relays it: its kind, message, the rule that refused, and what to do
/// about it (on the host).
pub fn error_json(e: &Error) -> Value {
    let rule = match refused_rule(e) {
        Some(rule) => Value::from(rule),
        None => Value::Null,
    };
    let mut body = json!({
        "error": kind_name(e.kind()),
        "message": e.to_string(),
        "rule": rule,
    });
    if let Some(hint) = e.hint()
        && let Ok(hint) = serde_json::to_value(hint)
    {
        body["hint"] = hint;
    }
    body
}

fn refused_rule(e: &Error) -> Option<String> {
    match e {
        Error::Refused { rule, .. } => rule.clone(),
        Error::Hinted { source, .. } => refused_rule(source),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_new_and_128_bits() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

//! The agent's wire format: one request per connection, a single line of JSON of at most
//! [`MAX_REQUEST`] bytes, answered by a single line of JSON. Small and versioned so that the
//! desktop app and other clients can speak it too.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use crate::door::{Handed, Purpose as How};
use crate::error::{Error, ErrorKind};

/// Requests are a few hundred bytes; anything longer is refused unread.
pub const MAX_REQUEST: usize = 4096;

/// The protocol version in every request; an agent refuses versions it does not know.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    /// Is the agent there, and which process is it.
    Ping,
    /// A token valid for at least `min_valid` seconds.
    Token {
        account: String,
        min_valid: u32,
        how: How,
        /// For `exec`: the program the CLI is about to start (the one that will hold the
        /// token). Believed only when the peer is the `latchkey` CLI itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program: Option<String>,
        /// The request a DPoP proof is wanted for (a DPoP-bound account): the agent signs it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proof: Option<crate::protocol::dpop::ProofTarget>,
    },
    /// Refresh now.
    Refresh { account: String },
    /// Exit.
    Stop,
    /// Open a forwarding socket for an `ssh` session to `destination` (`latchkey ssh`): every
    /// request on it arrives as forwarded. It lasts as long as this connection stays open.
    Forward {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
    },
}

impl Op {
    /// A request for `account`'s token (`How::Refresh`: refreshed now). `program`: for `exec`,
    /// the program about to start; `proof`: the request a DPoP proof is wanted for.
    pub fn token(
        account: &str,
        min_valid: u32,
        how: How,
        program: Option<&std::path::Path>,
        proof: Option<&crate::protocol::dpop::ProofTarget>,
    ) -> Op {
        match how {
            How::Refresh => Op::Refresh {
                account: account.to_string(),
            },
            _ => Op::Token {
                account: account.to_string(),
                min_valid,
                how,
                program: program.map(|p| p.to_string_lossy().into_owned()),
                proof: proof.cloned(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    /// The config directory the client uses: an agent serving another one does not answer for
    /// it (a test, or `XDG_CONFIG_HOME` set differently), and the client goes to the keychain.
    pub config: String,
    #[serde(flatten)]
    pub op: Op,
}

/// Why a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("request longer than {MAX_REQUEST} bytes")]
    TooLong,
    #[error("request is not one line of JSON: {0}")]
    Malformed(String),
    #[error("protocol version {0} is not supported (this agent speaks {VERSION})")]
    Version(u32),
    #[error("no complete request within 2 s")]
    Slow,
    #[error("an account name must be 1 to 300 characters without control characters")]
    BadAccount,
    #[error("a copy is made in the desktop app, not asked for over the socket")]
    NotOverSocket,
    #[error("not over a forwarded socket")]
    NotForwarded,
}

/// Parses one request: `line` is what the client sent up to its newline (without it). Never
/// panics, whatever the bytes (fuzzed: fuzz/fuzz_targets/agent_request.rs).
pub fn parse_request(line: &[u8]) -> Result<Request, BadRequest> {
    if line.len() > MAX_REQUEST {
        return Err(BadRequest::TooLong);
    }
    let request: Request = serde_json::from_slice(line)
        // serde's message quotes no more than a short fragment of the input; it holds no secret
        // (requests carry none) but is kept to its position.
        .map_err(|e| BadRequest::Malformed(format!("line {} column {}", e.line(), e.column())))?;
    if request.v != VERSION {
        return Err(BadRequest::Version(request.v));
    }
    let account = match &request.op {
        Op::Token { account, .. } | Op::Refresh { account } => Some(account),
        Op::Forward { destination } => destination.as_ref(),
        Op::Ping | Op::Stop => None,
    };
    if let Some(account) = account
        && (account.is_empty() || account.len() > 300 || account.chars().any(char::is_control))
    {
        return Err(BadRequest::BadAccount);
    }
    Ok(request)
}

/// One answer. A token answer carries what `latchkey token --format json` shows.
#[derive(Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Response {
    Ok(Handed),
    Pong {
        pid: u32,
        version: String,
    },
    Stopping,
    /// The forwarding socket opened for an [`Op::Forward`].
    Forwarding {
        socket: String,
    },
    Error {
        kind: String,
        message: String,
        /// What to do about it, for the CLI to word as it words its own errors.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<crate::Hint>,
    },
    /// The agent serves another config directory: ask the keychain directly.
    OtherConfig,
}

impl Response {
    pub fn error(e: &Error) -> Self {
        Response::Error {
            kind: kind_name(e.kind()).into(),
            message: e.to_string(),
            hint: e.hint(),
        }
    }

    pub fn bad_request(e: &BadRequest) -> Self {
        Response::Error {
            kind: kind_name(ErrorKind::Usage).into(),
            message: format!("the agent refused the request: {e}"),
            hint: None,
        }
    }

    /// The line to send, newline included; wiped when dropped (it may hold a token).
    pub fn to_line(&self) -> Zeroizing<Vec<u8>> {
        // Serialising strings and numbers cannot fail.
        let mut line = Zeroizing::new(serde_json::to_vec(self).unwrap_or_default());
        line.push(b'\n');
        line
    }
}

/// The relayed error of an [`Response::Error`].
pub fn relayed(kind: &str, message: String, hint: Option<crate::Hint>) -> Error {
    Error::Relayed {
        kind: kind_from_name(kind),
        message,
        hint,
    }
}

const KINDS: [(ErrorKind, &str); 9] = [
    (ErrorKind::Usage, "usage"),
    (ErrorKind::NotFound, "not-found"),
    (ErrorKind::NeedsSignIn, "needs-sign-in"),
    (ErrorKind::Provider, "provider"),
    (ErrorKind::Network, "network"),
    (ErrorKind::Keychain, "keychain"),
    (ErrorKind::SignIn, "sign-in"),
    (ErrorKind::Other, "other"),
    (ErrorKind::Refused, "refused"),
];

pub fn kind_name(kind: ErrorKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("other", |(_, name)| name)
}

pub fn kind_from_name(name: &str) -> ErrorKind {
    KINDS
        .iter()
        .find(|(_, n)| *n == name)
        .map_or(ErrorKind::Other, |(kind, _)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_line(account: &str) -> String {
        format!(
            r#"{{"v":1,"config":"/c","op":"token","account":"{account}","min_valid":60,"how":"git"}}"#
        )
    }

    #[test]
    fn requests_parse_and_bad_ones_are_named() {
        let r = parse_request(token_line("p/a").as_bytes()).unwrap();
        assert_eq!(
            r.op,
            Op::Token {
                account: "p/a".into(),
                min_valid: 60,
                how: How::Git,
                program: None,
                proof: None,
            }
        );
        assert_eq!(
            parse_request(br#"{"v":1,"config":"/c","op":"ping"}"#)
                .unwrap()
                .op,
            Op::Ping
        );
        assert_eq!(
            parse_request(&vec![b' '; MAX_REQUEST + 1]),
            Err(BadRequest::TooLong)
        );
        assert!(matches!(
            parse_request(b"{not json"),
            Err(BadRequest::Malformed(_))
        ));
        assert!(matches!(
            parse_request(br#"{"v":1,"config":"/c","op":"unknown"}"#),
            Err(BadRequest::Malformed(_))
        ));
        assert_eq!(
            parse_request(br#"{"v":2,"config":"/c","op":"ping"}"#),
            Err(BadRequest::Version(2))
        );
        assert_eq!(
            parse_request(token_line("").as_bytes()),
            Err(BadRequest::BadAccount)
        );
        assert_eq!(
            parse_request(token_line("a\\u0007b").as_bytes()),
            Err(BadRequest::BadAccount)
        );
    }

    #[test]
    fn a_forward_request_names_a_destination_or_none() {
        let request =
            parse_request(br#"{"v":1,"config":"/c","op":"forward","destination":"me@host"}"#)
                .expect("a forward request");
        assert_eq!(
            request.op,
            Op::Forward {
                destination: Some("me@host".into())
            }
        );
        let request = parse_request(br#"{"v":1,"config":"/c","op":"forward"}"#).expect("without");
        assert_eq!(request.op, Op::Forward { destination: None });
        assert_eq!(
            parse_request(br#"{"v":1,"config":"/c","op":"forward","destination":"a\u001bb"}"#),
            Err(BadRequest::BadAccount)
        );
        let line = Response::Forwarding {
            socket: "/run/x.sock".into(),
        }
        .to_line();
        assert!(matches!(
            serde_json::from_slice::<Response>(&line),
            Ok(Response::Forwarding { socket }) if socket == "/run/x.sock"
        ));
    }

    #[test]
    fn error_kinds_survive_the_trip() {
        for (kind, name) in KINDS {
            assert_eq!(kind_from_name(kind_name(kind)), kind, "{name}");
        }
        let hint = Some(crate::Hint::SignIn {
            profile: "a".into(),
            account: Some("me".into()),
        });
        let e = relayed(
            "needs-sign-in",
            "account `a` needs sign-in".into(),
            hint.clone(),
        );
        assert_eq!(e.kind(), ErrorKind::NeedsSignIn);
        assert_eq!(e.to_string(), "account `a` needs sign-in");
        // The hint crosses the socket too, so the CLI words the advice as without the agent.
        let line = Response::error(&e).to_line();
        let back: Response = serde_json::from_slice(&line).expect("a response");
        let Response::Error { hint: got, .. } = back else {
            panic!("an error response")
        };
        assert_eq!(got, hint);
    }

    #[test]
    fn a_token_answer_never_shows_in_debug() {
        let handed = Handed {
            account: "p/a".into(),
            access_token: Zeroizing::new("at-very-secret".into()),
            expires_at: None,
            scopes: vec![],
            dpop_proof: None,
            token_type: None,
        };
        assert!(!format!("{handed:?}").contains("very-secret"));
    }
}

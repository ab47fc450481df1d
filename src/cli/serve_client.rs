//! The client of `latchkey serve`, inside a container, VM or WSL: where `LATCHKEY_URL` and
//! `LATCHKEY_SERVE_TOKEN` are set, `token`, `exec`, `git-credential` and `kube-credential` take
//! their tokens from that endpoint, with no keychain, no config and no agent. The endpoint's
//! door decided and wrote history; its errors come back with their kind (the same exit codes).

use latchkey::agent::protocol::kind_from_name;
use latchkey::door::{Handed, Purpose};
use latchkey::model::untrusted::{is_hidden_or_control, is_token_text};
use latchkey::{Error, ErrorKind, Result};
use serde::Deserialize;
use zeroize::Zeroizing;

pub const URL_VAR: &str = "LATCHKEY_URL";
pub const TOKEN_VAR: &str = "LATCHKEY_SERVE_TOKEN";

/// Whether this process takes its tokens from a `latchkey serve` endpoint.
pub fn configured() -> bool {
    std::env::var_os(URL_VAR).is_some_and(|v| !v.is_empty())
}

#[derive(Deserialize)]
struct Answer {
    access_token: Zeroizing<String>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct Refusal {
    error: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    hint: Option<latchkey::Hint>,
}

/// The endpoint's answer, `None` when no endpoint is configured.
pub async fn from_endpoint(name: &str, min_valid: u32, purpose: Purpose) -> Option<Result<Handed>> {
    if !configured() {
        return None;
    }
    Some(fetch(name, min_valid, purpose).await)
}

async fn fetch(name: &str, min_valid: u32, purpose: Purpose) -> Result<Handed> {
    if purpose == Purpose::Refresh {
        return Err(Error::InvalidInput(format!(
            "{URL_VAR} is set: tokens come from `latchkey serve`, which refreshes them on its host; use `latchkey token` here"
        )));
    }
    let base = std::env::var(URL_VAR).unwrap_or_default();
    let bearer = std::env::var(TOKEN_VAR)
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "{URL_VAR} is set but {TOKEN_VAR} is not: set both to the lines `latchkey serve` printed"
            ))
        })?;
    let account = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    let url = format!(
        "{}/v1/token/{account}?min_valid={min_valid}",
        base.trim_end_matches('/')
    );
    let unreachable = |e: &dyn std::fmt::Display| Error::Relayed {
        kind: ErrorKind::Network,
        message: format!("cannot reach `latchkey serve` at {base} ({URL_VAR}): {e}"),
        hint: None,
    };
    // Plain HTTP only (the endpoint does no TLS): loading the system's TLS roots would be the
    // slowest part of the call.
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| unreachable(&e))?;
    let response = client
        .get(&url)
        .bearer_auth(&bearer)
        .send()
        .await
        .map_err(|e| unreachable(&e))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| unreachable(&e))?;
    if status.is_success() {
        let not_a_token = || Error::Relayed {
            kind: ErrorKind::Other,
            message: format!("`latchkey serve` at {base} answered something that is not a token"),
            hint: None,
        };
        let answer: Answer = serde_json::from_slice(&body).map_err(|_| not_a_token())?;
        if !is_token_text(&answer.access_token) {
            return Err(not_a_token());
        }
        return Ok(Handed {
            account: account_named(name, answer.account),
            access_token: answer.access_token,
            expires_at: answer.expires_at,
            scopes: answer
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            token_type: None,
            dpop_proof: None,
        });
    }
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(Error::Relayed {
            kind: ErrorKind::Refused,
            message: format!(
                "`latchkey serve` at {base} does not accept {TOKEN_VAR}: set it to the token that `latchkey serve` printed when it started (a new one each run)"
            ),
            hint: None,
        });
    }
    let refusal: Option<Refusal> = serde_json::from_slice(&body).ok();
    Err(match refusal {
        Some(r) => Error::Relayed {
            kind: kind_from_name(&r.error),
            message: format!(
                "`latchkey serve` at {base}: {}",
                r.message
                    .unwrap_or_else(|| format!("error {}", status.as_u16()))
            ),
            hint: r.hint,
        },
        None => Error::Relayed {
            kind: if status == reqwest::StatusCode::NOT_FOUND {
                ErrorKind::NotFound
            } else {
                ErrorKind::Other
            },
            message: format!(
                "`latchkey serve` at {base} answered HTTP {} ({URL_VAR} may not point at `latchkey serve`)",
                status.as_u16()
            ),
            hint: None,
        },
    })
}
/// The endpoint's name for the account `name` asked for, which is printed (JSON, warnings):
/// taken only when it is that name or one of its accounts, in plain text.
fn account_named(name: &str, answered: Option<String>) -> String {
    answered
        .filter(|a| {
            (a == name || a.strip_prefix(name).is_some_and(|l| l.starts_with('/')))
                && !a.chars().any(is_hidden_or_control)
        })
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoints_account_name_is_taken_only_when_it_is_the_one_asked_for_in_plain_text() {
        let named = |answered: Option<&str>| account_named("work", answered.map(String::from));
        assert_eq!(named(None), "work");
        assert_eq!(named(Some("work")), "work");
        assert_eq!(named(Some("work/alice")), "work/alice");
        assert_eq!(named(Some("workshop/alice")), "work");
        assert_eq!(named(Some("other/alice")), "work");
        assert_eq!(named(Some("work/x\u{1b}]0;PWNED\u{7}")), "work");
    }
}

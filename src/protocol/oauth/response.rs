//! Reading what token endpoints answer: token responses (with the OpenID Connect `id_token`),
//! OAuth error bodies, and errors that quote an unusable answer without its secrets.

use oauth2::basic::BasicTokenType;
use oauth2::{
    ErrorResponse, ExtraTokenFields, RequestTokenError, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::error::provider_error;
use crate::error::{Error, Result};
use crate::model::untrusted::{is_token_text, sanitize};
use crate::protocol::http::{HttpError, masked_excerpt};

/// `id_token` rides along in OpenID Connect token responses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<crate::model::secret::IdToken>,
}
impl ExtraTokenFields for IdTokenField {}

pub type TokenResponseBody = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// The token of an implicit response (the redirect's fragment), as a token response. There is
/// never a refresh token (RFC 6749 §4.2.2).
pub fn implicit_token(
    context: &str,
    params: &std::collections::BTreeMap<String, String>,
) -> Result<TokenResponseBody> {
    let mut body = serde_json::Map::new();
    for key in ["access_token", "token_type", "scope", "id_token"] {
        if let Some(v) = params.get(key) {
            body.insert(key.into(), v.clone().into());
        }
    }
    if let Some(n) = params
        .get("expires_in")
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        body.insert("expires_in".into(), n.into());
    }
    let body = serde_json::Value::Object(body);
    let sent = || masked_excerpt(&serde_json::to_vec(&body).unwrap_or_default());
    let response = TokenResponseBody::deserialize(&body).map_err(|e| Error::BadResponse {
        context: context.to_string(),
        detail: format!(
            "the redirect carries no usable token: {}; it carried {}",
            without_quoted(&e.to_string()),
            sent()
        ),
    })?;
    check_token_type(context, response, false, sent)
}

/// An OAuth error body (normalised to JSON by `http`) as an engine error.
pub(super) fn error_body(context: &str, body: &[u8]) -> Error {
    let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| body.get(k).and_then(|v| v.as_str());
    provider_error(
        context,
        text("error").unwrap_or("unknown_error"),
        text("error_description"),
        text("error_uri"),
    )
}

/// Refuses token types other than Bearer, and an access token with characters no token may
/// have ([`is_token_text`]); `sent` quotes the (masked) response.
pub(super) fn check_token_type(
    context: &str,
    response: TokenResponseBody,
    dpop: bool,
    sent: impl FnOnce() -> String,
) -> Result<TokenResponseBody> {
    if !is_token_text(response.access_token().secret()) {
        return Err(Error::BadResponse {
            context: context.to_string(),
            detail: format!(
                "the access token is empty or holds characters a token may not have (only printable ASCII, RFC 6749 Appendix A.12), so it was not taken. The provider sent {}",
                sent()
            ),
        });
    }
    match response.token_type() {
        BasicTokenType::Bearer => Ok(response),
        // RFC 9449 §5: a token bound to the proof's key is of type DPoP.
        BasicTokenType::Extension(t) if dpop && t.eq_ignore_ascii_case("dpop") => Ok(response),
        other => Err(Error::BadResponse {
            context: context.to_string(),
            detail: format!(
                "the provider issued a `{}` token; Latchkey handles Bearer tokens only. The provider sent {}",
                other.as_ref(),
                sent()
            ),
        }),
    }
}

/// The engine error for a failed token request; `sent` quotes the (masked) response when it
/// could not be parsed.
pub(super) fn request_error<T>(
    context: &str,
    e: RequestTokenError<HttpError, T>,
    sent: impl FnOnce() -> String,
) -> Error
where
    T: ErrorResponse + OAuthError + 'static,
{
    match e {
        RequestTokenError::ServerResponse(r) => provider_error(
            context,
            &r.code(),
            r.description().as_deref(),
            r.uri().as_deref(),
        ),
        RequestTokenError::Request(http) => http.into_error(context.to_string()),
        RequestTokenError::Parse(e, _body) => Error::BadResponse {
            context: context.to_string(),
            detail: format!(
                "the response is not a usable token response (at `{}`: {}); the provider sent {}",
                e.path(),
                without_quoted(&e.inner().to_string()),
                sent()
            ),
        },
        RequestTokenError::Other(detail) => Error::BadResponse {
            context: context.to_string(),
            detail,
        },
    }
}

/// serde quotes an offending string in double quotes; that string may be a token.
pub(super) fn without_quoted(message: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// The three OAuth error fields, for both error response types.
pub trait OAuthError {
    fn code(&self) -> String;
    fn description(&self) -> Option<String>;
    fn uri(&self) -> Option<String>;
}

impl<T: oauth2::ErrorResponseType + std::fmt::Display> OAuthError
    for oauth2::StandardErrorResponse<T>
{
    fn code(&self) -> String {
        self.error().to_string()
    }
    fn description(&self) -> Option<String> {
        self.error_description().cloned()
    }
    fn uri(&self) -> Option<String> {
        self.error_uri().cloned()
    }
}

/// The scopes granted: the response's `scope`, or what was asked for when it is absent
/// (RFC 6749 §5.1).
pub fn granted_scopes(response: &TokenResponseBody, requested: &[String]) -> Vec<String> {
    match response.scopes() {
        // Shown by `accounts` and `token --format json`: no control characters.
        Some(scopes) => scopes.iter().map(|s| sanitize(s)).collect(),
        None => requested.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_lose_their_quoted_values() {
        assert_eq!(
            without_quoted("invalid type: string \"secret-token\", expected u64"),
            "invalid type: string \"…\", expected u64"
        );
        assert_eq!(
            without_quoted("missing field `access_token`"),
            "missing field `access_token`"
        );
    }
}

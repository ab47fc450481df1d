//! Provider metadata: OpenID Connect Discovery, falling back to RFC 8414.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::error::{Error, ErrorKind, Hint, Result};
use crate::model::profile::{parse_base_url, validate_endpoint};
use crate::protocol::http::Http;

#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    #[serde(default)]
    pub jwks_uri: Option<Url>,
    #[serde(default)]
    pub device_authorization_endpoint: Option<Url>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 7591 dynamic client registration.
    #[serde(default)]
    pub registration_endpoint: Option<Url>,
    /// Client ID metadata documents (the MCP authorization spec's CIMD).
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// RFC 9126 pushed authorization requests.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<Url>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 DPoP.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// The well-known locations for an issuer, in the order they are tried: OIDC (path appended),
/// RFC 8414 with the path inserted after the host, RFC 8414 with the path appended.
pub fn candidate_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut origin = issuer.clone();
    origin.set_query(None);
    origin.set_fragment(None);
    let with_path = |p: String| {
        let mut u = origin.clone();
        u.set_path(&p);
        u
    };
    let mut urls = vec![with_path(format!(
        "{path}/.well-known/openid-configuration"
    ))];
    urls.push(with_path(format!(
        "/.well-known/oauth-authorization-server{path}"
    )));
    let appended = with_path(format!("{path}/.well-known/oauth-authorization-server"));
    if !urls.contains(&appended) {
        urls.push(appended);
    }
    urls
}

/// Fetches and checks the metadata of `issuer`. The discovered `issuer` must be the one given
/// (RFC 8414 §3.3, OIDC Discovery §4.3); a trailing `/` typed by the user is forgiven.
pub async fn discover(http: &Http, issuer: &str) -> Result<Metadata> {
    let fail = |detail: String| Error::Discovery {
        issuer: issuer.to_string(),
        detail,
    };
    let issuer_url = parse_base_url(issuer, "the issuer", "issuer")?;
    let mut tried = Vec::new();
    let mut found: Option<Value> = None;
    let candidates = candidate_urls(&issuer_url);
    let mut found_at = 0;
    for (i, url) in candidates.iter().enumerate() {
        match http.get_json(url).await {
            Ok(Some(doc)) => {
                found = Some(doc);
                found_at = i;
                break;
            }
            Ok(None) => tried.push(format!("{url} (404)")),
            Err(e) => {
                let context = format!("discovery at {url}");
                match e.into_error(context) {
                    // Unreachable: no point trying the other paths on the same host.
                    err if err.kind() == ErrorKind::Network => return Err(err),
                    other => tried.push(other.to_string()),
                }
            }
        }
    }
    let Some(doc) = found else {
        return Err(fail(format!(
            "no metadata document found; tried {}. Check the issuer URL",
            tried.join("; ")
        ))
        .with_hint(Hint::GiveEndpoints));
    };
    let mut metadata = parse(doc).map_err(fail)?;
    if !is_issuer(&metadata.issuer, issuer) {
        return Err(fail(format!(
            "the document says its issuer is {:?}; it must be exactly the issuer given. Use that issuer if you trust it",
            metadata.issuer
        )));
    }
    // The OpenID document came first: RFC 8414 metadata may still list what it lacks.
    if found_at == 0 {
        supplement(http, issuer, &candidates[1..], &mut metadata).await;
    }
    for (url, what) in [
        (&metadata.authorization_endpoint, "authorization_endpoint"),
        (&metadata.token_endpoint, "token_endpoint"),
        (&metadata.revocation_endpoint, "revocation_endpoint"),
        (&metadata.userinfo_endpoint, "userinfo_endpoint"),
        (&metadata.jwks_uri, "jwks_uri"),
        (
            &metadata.device_authorization_endpoint,
            "device_authorization_endpoint",
        ),
        (&metadata.registration_endpoint, "registration_endpoint"),
    ] {
        if let Some(url) = url {
            validate_endpoint(url, what)?;
        }
    }
    if metadata.authorization_endpoint.is_none() || metadata.token_endpoint.is_none() {
        return Err(fail(
            "the metadata has no authorization_endpoint or token_endpoint".into(),
        ));
    }
    if let Some(methods) = &metadata.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(fail(
            "the provider does not support PKCE with S256, which Latchkey always uses".into(),
        ));
    }
    Ok(metadata)
}

/// Whether a document's `issuer` is the one the user gave (a trailing `/` typed by the user is
/// forgiven; see [`is_tenant_template`]).
fn is_issuer(published: &str, given: &str) -> bool {
    let trimmed = given.trim_end_matches('/');
    published == given || published == trimmed || is_tenant_template(published, trimmed)
}

/// Fills the endpoints an OpenID document lacks (revocation, device authorization) from the
/// issuer's RFC 8414 metadata at `urls`, when that document names the same issuer: some
/// providers list revocation only there, and without it a sign-out would leave the grant live.
/// Best effort: a missing, unreachable or foreign document adds nothing.
async fn supplement(http: &Http, issuer: &str, urls: &[Url], metadata: &mut Metadata) {
    if metadata.revocation_endpoint.is_some() && metadata.device_authorization_endpoint.is_some() {
        return;
    }
    for url in urls {
        let doc = match http.get_json(url).await {
            Ok(Some(doc)) => doc,
            Ok(None) => continue,
            Err(_) => return,
        };
        let Ok(other) = parse(doc) else { return };
        if !is_issuer(&other.issuer, issuer) {
            return;
        }
        metadata.revocation_endpoint = metadata
            .revocation_endpoint
            .take()
            .or(other.revocation_endpoint);
        metadata.device_authorization_endpoint = metadata
            .device_authorization_endpoint
            .take()
            .or(other.device_authorization_endpoint);
        return;
    }
}

/// Reads a metadata document (OIDC Discovery / RFC 8414) without judging it.
pub fn parse(doc: Value) -> std::result::Result<Metadata, String> {
    serde_json::from_value(doc).map_err(|e| {
        format!(
            "the metadata document is malformed: {}",
            crate::model::untrusted::sanitize(&e.to_string())
        )
    })
}

/// Entra's multi-tenant endpoints (`/common`, `/organizations`, `/consumers`) publish the issuer
/// template `…/{tenantid}/…`; the profile keeps the template and each id_token is matched
/// against it with its own tenant (see `idtoken::issuer_matches`).
fn is_tenant_template(published: &str, given: &str) -> bool {
    let Some((before, after)) = published.split_once("{tenantid}") else {
        return false;
    };
    given
        .strip_prefix(before)
        .and_then(|rest| rest.strip_suffix(after))
        .is_some_and(|tenant| matches!(tenant, "common" | "organizations" | "consumers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_multi_tenant_templates_are_recognised() {
        let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(is_tenant_template(
            t,
            "https://login.microsoftonline.com/common/v2.0"
        ));
        assert!(is_tenant_template(
            t,
            "https://login.microsoftonline.com/organizations/v2.0"
        ));
        assert!(!is_tenant_template(
            t,
            "https://login.microsoftonline.com/evil/v2.0"
        ));
        assert!(!is_tenant_template(t, "https://evil.example/common/v2.0"));
        assert!(!is_tenant_template(
            "https://a.example",
            "https://a.example"
        ));
    }

    #[test]
    fn well_known_urls_cover_oidc_and_both_rfc8414_forms() {
        let urls = |issuer: &str| -> Vec<String> {
            candidate_urls(&Url::parse(issuer).unwrap())
                .iter()
                .map(Url::to_string)
                .collect()
        };
        assert_eq!(
            urls("https://as.example/tenant/v2"),
            [
                "https://as.example/tenant/v2/.well-known/openid-configuration",
                "https://as.example/.well-known/oauth-authorization-server/tenant/v2",
                "https://as.example/tenant/v2/.well-known/oauth-authorization-server",
            ]
        );
        assert_eq!(
            urls("http://127.0.0.1:9000"),
            [
                "http://127.0.0.1:9000/.well-known/openid-configuration",
                "http://127.0.0.1:9000/.well-known/oauth-authorization-server",
            ]
        );
    }
}

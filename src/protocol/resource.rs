//! OAuth 2.0 Protected Resource Metadata (RFC 9728): which authorization server issues tokens
//! for a resource (an MCP server, an API), found from the resource's URL alone.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::model::profile::{validate_endpoint, validate_resource};
use crate::model::untrusted::sanitize;
use crate::protocol::http::Http;

/// The parts of a protected resource metadata document Latchkey uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceMetadata {
    pub resource: String,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub resource_name: Option<String>,
}

/// A resource's checked metadata and where it was found.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub metadata: ResourceMetadata,
    pub url: Url,
    /// Found through the `resource_metadata` of a 401's `WWW-Authenticate` (else: well-known).
    pub from_challenge: bool,
}

/// The well-known locations of a resource's metadata, in the order they are tried (RFC 9728
/// §3.1): the path inserted after `/.well-known/oauth-protected-resource`, then the root.
pub fn well_known_urls(resource: &Url) -> Vec<Url> {
    let mut origin = resource.clone();
    origin.set_query(None);
    origin.set_fragment(None);
    let path = resource.path().trim_end_matches('/');
    let mut urls = Vec::new();
    for p in [
        format!("/.well-known/oauth-protected-resource{path}"),
        "/.well-known/oauth-protected-resource".to_string(),
    ] {
        let mut u = origin.clone();
        u.set_path(&p);
        if !urls.contains(&u) {
            urls.push(u);
        }
    }
    urls
}

/// The `resource_metadata` parameter of a `WWW-Authenticate` challenge (RFC 9728 §5.1).
pub fn challenge_metadata_url(challenge: &str) -> Option<String> {
    let at = challenge.find("resource_metadata=")?;
    // Not the tail of another parameter's name.
    if at > 0 && !challenge[..at].ends_with([' ', ',', '\t']) {
        return None;
    }
    let rest = &challenge[at + "resource_metadata=".len()..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?.to_string(),
        None => rest
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()?
            .to_string(),
    };
    (!value.is_empty()).then_some(value)
}

/// Whether a document's `resource` is the URL the user gave (RFC 9728 §3.3: identical; the two
/// are compared as parsed URLs, so `https://mcp.example` and `https://mcp.example/` match).
pub fn is_resource(published: &str, given: &str) -> bool {
    published == given
        || matches!((Url::parse(published), Url::parse(given)), (Ok(a), Ok(b)) if a == b)
}

/// Finds and checks the metadata of `resource`: from the challenge of a 401 to an
/// unauthenticated GET, else at the well-known locations. Its `resource` must be `resource`.
pub async fn discover(http: &Http, resource: &str) -> Result<Discovered> {
    validate_resource(resource)?;
    let resource_url = Url::parse(resource)
        .map_err(|e| Error::InvalidInput(format!("the resource is not a URL: {e}")))?;
    let context = format!("resource discovery for {resource_url}");
    let fail = |detail: String| Error::BadResponse {
        context: context.clone(),
        detail,
    };
    let mut candidates = Vec::new();
    let mut from_challenge = false;
    match http.probe(&resource_url).await {
        Ok((401, Some(challenge))) => {
            if let Some(url) = challenge_metadata_url(&challenge) {
                let url = Url::parse(&url).map_err(|e| {
                    fail(format!(
                        "the 401's resource_metadata {:?} is not a URL: {e}",
                        sanitize(&url)
                    ))
                })?;
                validate_endpoint(&url, "resource metadata URL")?;
                candidates.push(url);
                from_challenge = true;
            }
        }
        Ok(_) => {}
        Err(e) => {
            let err = e.into_error(format!("GET {resource_url}"));
            if err.kind() == ErrorKind::Network {
                return Err(err);
            }
        }
    }
    if candidates.is_empty() {
        candidates = well_known_urls(&resource_url);
    }
    let mut tried = Vec::new();
    for url in candidates {
        let doc = match http.get_json(&url).await {
            Ok(Some(doc)) => doc,
            Ok(None) => {
                tried.push(format!("{url} (404)"));
                continue;
            }
            Err(e) => {
                let err = e.into_error(format!("GET {url}"));
                if err.kind() == ErrorKind::Network {
                    return Err(err);
                }
                tried.push(err.to_string());
                continue;
            }
        };
        let metadata = parse(doc).map_err(&fail)?;
        if !is_resource(&metadata.resource, resource) {
            return Err(fail(format!(
                "the metadata at {url} is for the resource {:?}, not {resource}; it must be exactly the URL given (RFC 9728 §3.3). Use that URL if you trust it",
                sanitize(&metadata.resource)
            )));
        }
        if metadata.authorization_servers.is_empty() {
            return Err(fail(format!(
                "the metadata at {url} names no authorization_servers; add the profile with --issuer and the endpoints instead"
            )));
        }
        return Ok(Discovered {
            metadata,
            url,
            from_challenge,
        });
    }
    Err(fail(format!(
        "no protected resource metadata (RFC 9728): the resource answered no 401 naming it, and none at {}",
        tried.join("; ")
    )))
}

/// Reads a protected resource metadata document without judging its resource.
pub fn parse(doc: Value) -> std::result::Result<ResourceMetadata, String> {
    let metadata: ResourceMetadata = serde_json::from_value(doc).map_err(|e| {
        format!(
            "the protected resource metadata is malformed: {}",
            sanitize(&e.to_string())
        )
    })?;
    Ok(metadata)
}

/// The authorization server to use: `chosen` (which must be listed), else the only one listed.
pub fn choose_issuer(metadata: &ResourceMetadata, chosen: Option<&str>) -> Result<String> {
    let listed = &metadata.authorization_servers;
    let names = || {
        listed
            .iter()
            .map(|s| sanitize(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match chosen {
        Some(issuer) => listed
            .iter()
            .find(|s| {
                s.as_str() == issuer || s.trim_end_matches('/') == issuer.trim_end_matches('/')
            })
            .cloned()
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the resource {} does not name the authorization server {issuer}; it names {}",
                    sanitize(&metadata.resource),
                    names()
                ))
            }),
        None if listed.len() == 1 => Ok(listed[0].clone()),
        None => Err(Error::InvalidInput(format!(
            "the resource {} names several authorization servers ({}); choose one with --issuer",
            sanitize(&metadata.resource),
            names()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_insert_the_path_then_try_the_root() {
        let with_path = well_known_urls(&Url::parse("https://mcp.example/v1/mcp?x=1").unwrap());
        assert_eq!(
            with_path.iter().map(Url::as_str).collect::<Vec<_>>(),
            [
                "https://mcp.example/.well-known/oauth-protected-resource/v1/mcp",
                "https://mcp.example/.well-known/oauth-protected-resource",
            ]
        );
        let root = well_known_urls(&Url::parse("https://mcp.example/").unwrap());
        assert_eq!(
            root.iter().map(Url::as_str).collect::<Vec<_>>(),
            ["https://mcp.example/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn the_challenge_names_the_metadata() {
        assert_eq!(
            challenge_metadata_url(
                r#"Bearer error="invalid_token", error_description="x", resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp""#
            )
            .as_deref(),
            Some("https://a.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            challenge_metadata_url("Bearer resource_metadata=https://a.example/m, scope=x")
                .as_deref(),
            Some("https://a.example/m")
        );
        assert_eq!(challenge_metadata_url(r#"Bearer realm="x""#), None);
        assert_eq!(
            challenge_metadata_url(r#"Bearer xresource_metadata="https://a""#),
            None
        );
    }

    #[test]
    fn the_issuer_is_the_only_one_or_the_one_chosen() {
        let m = |servers: &[&str]| ResourceMetadata {
            resource: "https://mcp.example/mcp".into(),
            authorization_servers: servers.iter().map(|s| s.to_string()).collect(),
            scopes_supported: None,
            resource_name: None,
        };
        assert_eq!(
            choose_issuer(&m(&["https://as.example/"]), None).unwrap(),
            "https://as.example/"
        );
        let two = m(&["https://a.example", "https://b.example"]);
        assert!(
            choose_issuer(&two, None)
                .unwrap_err()
                .to_string()
                .contains("--issuer")
        );
        assert_eq!(
            choose_issuer(&two, Some("https://b.example/")).unwrap(),
            "https://b.example"
        );
        assert!(choose_issuer(&two, Some("https://c.example")).is_err());
    }

    #[test]
    fn resources_compare_as_urls() {
        assert!(is_resource("https://mcp.example", "https://mcp.example/"));
        assert!(is_resource(
            "https://mcp.example/mcp",
            "https://mcp.example/mcp"
        ));
        assert!(!is_resource(
            "https://mcp.example/mcp",
            "https://mcp.example/mcp?x=1"
        ));
        assert!(!is_resource(
            "https://mcp.example/mcp",
            "https://other.example/mcp"
        ));
    }
}

//! The MCP server with OAuth (tests/mcp/server.mjs, the official TypeScript SDK's auth router
//! and bearer middleware over an in-memory provider), and what it recorded of the requests it
//! got. See docs/test-components.md.
#![allow(dead_code)]

use serde_json::Value;

use crate::util::NodeServer;

/// tests/mcp/server.mjs on 127.0.0.1, killed when dropped.
pub struct McpServer {
    _node: NodeServer,
    /// `http://127.0.0.1:<port>`: the AS's issuer is this plus `/`, the MCP endpoint `/mcp`.
    pub url: String,
}

impl McpServer {
    /// Starts the server on a port the kernel picks, redirect URIs matched exactly.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the server with these environment variables: `PORT`, `ACCESS_TOKEN_TTL`,
    /// `MCP_REDIRECT_MATCH` (`exact` | `loopback`), `MCP_REQUIRE_RESOURCE` (`1`).
    pub fn start_with(vars: &[(&str, &str)]) -> Self {
        let node = NodeServer::start("mcp/server.mjs", vars);
        McpServer {
            url: node.url.clone(),
            _node: node,
        }
    }

    /// The MCP endpoint (streamable HTTP), also the resource indicator of its tokens.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url)
    }

    /// The authorization server's issuer (with its trailing slash, as the SDK writes it).
    pub fn issuer(&self) -> String {
        format!("{}/", self.url)
    }

    /// The RFC 9728 protected resource metadata the 401s of /mcp point to.
    pub fn resource_metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.url)
    }

    /// GET /_test/stats: `registered_clients`, `clients`, `authorize`, `token`, `refresh`,
    /// `revocations`, `mcp` (see tests/mcp/server.mjs).
    pub fn stats(&self) -> Value {
        reqwest::blocking::get(format!("{}/_test/stats", self.url))
            .and_then(|r| r.json())
            .expect("MCP server stats")
    }

    /// How many clients registered themselves (RFC 7591).
    pub fn registered_clients(&self) -> u64 {
        self.stats()["registered_clients"].as_u64().unwrap_or(0)
    }

    /// The `resource` parameter of each request of a kind, in order: `kind` is `authorize`,
    /// `token` (every grant) or `refresh` (refresh_token grants only); None where absent.
    pub fn resources_seen(&self, kind: &str) -> Vec<Option<String>> {
        self.stats()[kind]
            .as_array()
            .unwrap_or_else(|| panic!("no {kind:?} in the MCP server's stats"))
            .iter()
            .map(|e| e["resource"].as_str().map(str::to_string))
            .collect()
    }

    /// POST /_test/reset: empties the records (registered clients and tokens stay).
    pub fn reset(&self) {
        reqwest::blocking::Client::new()
            .post(format!("{}/_test/reset", self.url))
            .send()
            .expect("reset");
    }

    /// Makes an access token expired at once (its refresh token stays); false if unknown.
    pub fn expire_access_token(&self, token: &str) -> bool {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/_test/expire-access-token", self.url))
            .query(&[("token", token)])
            .send()
            .expect("expire access token");
        r.status().as_u16() == 204
    }

    /// POSTs one JSON-RPC `initialize` to /mcp with `bearer` (none: no Authorization header);
    /// the status, the WWW-Authenticate header and the body.
    pub fn initialize(&self, bearer: Option<&str>) -> (u16, Option<String>, String) {
        let mut req = reqwest::blocking::Client::new()
            .post(self.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .json(&serde_json::json!({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "latchkey-test", "version": "0"}
                }
            }));
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let r = req.send().expect("POST /mcp");
        let status = r.status().as_u16();
        let challenge = r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, challenge, r.text().unwrap_or_default())
    }
}

/// The PKCE S256 challenge of `verifier`.
fn s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

#[test]
fn mcp_server_asks_for_a_token_and_names_its_authorization_server() {
    let server = McpServer::start();
    let (status, challenge, _) = server.initialize(None);
    assert_eq!(status, 401);
    let challenge = challenge.expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}\"",
            server.resource_metadata_url()
        )),
        "{challenge}"
    );

    let prm: Value = reqwest::blocking::get(server.resource_metadata_url())
        .and_then(|r| r.json())
        .expect("protected resource metadata");
    assert_eq!(prm["resource"], server.mcp_url());
    assert_eq!(prm["authorization_servers"][0], server.issuer());

    let meta: Value = reqwest::blocking::get(format!(
        "{}/.well-known/oauth-authorization-server",
        server.url
    ))
    .and_then(|r| r.json())
    .expect("AS metadata");
    assert_eq!(meta["issuer"], server.issuer());
    assert_eq!(
        meta["registration_endpoint"],
        format!("{}/register", server.url)
    );
    assert_eq!(server.stats()["mcp"]["unauthorized"], 1);
}

#[test]
fn mcp_server_registers_authorizes_and_refreshes_with_a_resource() {
    let server = McpServer::start();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = "http://127.0.0.1:47001/callback";
    let reg: Value = http
        .post(format!("{}/register", server.url))
        .json(&serde_json::json!({
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "latchkey-test",
        }))
        .send()
        .and_then(|r| r.json())
        .expect("register");
    let client_id = reg["client_id"].as_str().expect("client_id").to_string();
    assert_eq!(server.registered_clients(), 1);

    let verifier = "a-verifier-of-at-least-forty-three-characters-0123456789";
    let authorize = |redirect_uri: &str| {
        http.get(format!("{}/authorize", server.url))
            .query(&[
                ("response_type", "code"),
                ("client_id", &client_id),
                ("redirect_uri", redirect_uri),
                ("code_challenge", &s256(verifier)),
                ("code_challenge_method", "S256"),
                ("state", "st"),
                ("resource", &server.mcp_url()),
            ])
            .send()
            .expect("authorize")
    };
    // Another port than the registered one: refused (exact match, the default).
    let r = authorize("http://127.0.0.1:47002/callback");
    let location = r.headers()["location"].to_str().expect("location");
    assert!(location.contains("error=invalid_request"), "{location}");

    let r = authorize(redirect);
    assert_eq!(r.status().as_u16(), 302);
    let location =
        url::Url::parse(r.headers()["location"].to_str().expect("location")).expect("redirect URL");
    assert!(location.as_str().starts_with(redirect), "{location}");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();

    let tokens: Value = http
        .post(format!("{}/token", server.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
            ("resource", &server.mcp_url()),
        ])
        .send()
        .and_then(|r| r.json())
        .expect("token");
    let access = tokens["access_token"].as_str().expect("access_token");
    let (status, _, body) = server.initialize(Some(access));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("latchkey-test-mcp"), "{body}");

    let refreshed: Value = http
        .post(format!("{}/token", server.url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().expect("rt"),
            ),
        ])
        .send()
        .and_then(|r| r.json())
        .expect("refresh");
    assert!(refreshed["access_token"].is_string(), "{refreshed}");

    let mcp = Some(server.mcp_url());
    assert_eq!(
        server.resources_seen("authorize"),
        vec![mcp.clone(), mcp.clone()]
    );
    assert_eq!(server.resources_seen("token"), vec![mcp, None]);
    assert_eq!(server.resources_seen("refresh"), vec![None]);
}

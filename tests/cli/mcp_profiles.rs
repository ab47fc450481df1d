//! `profile add NAME --resource URL` against an MCP server of the official SDK: protected
//! resource metadata (RFC 9728), one dynamic registration per profile (RFC 7591), resource
//! indicators (RFC 8707) on every request, and the token as an MCP client's headers helper.

use serde_json::Value;

use crate::mcp::McpServer;
use crate::util::{Canned, Env, FaultServer, Run};

/// `latchkey profile add NAME --resource RESOURCE MORE…`.
fn add_for_resource(env: &Env, name: &str, resource: &str, more: &[&str]) -> Run {
    env.run(&[&["profile", "add", name, "--resource", resource], more].concat())
}

/// `latchkey token ACCOUNT --format headers-json`, parsed: the bearer token it carries.
fn bearer_from_headers_helper(env: &Env, account: &str) -> String {
    let out = env.run(&["token", account, "--format", "headers-json"]);
    let headers: Value = serde_json::from_str(out.success().stdout.trim()).expect("headers json");
    headers["Authorization"]
        .as_str()
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("no bearer in {headers}"))
        .to_string()
}

/// The one account of `profile`.
fn only_account(env: &Env, profile: &str) -> String {
    let accounts: Vec<String> = env
        .accounts()
        .iter()
        .filter(|a| a["profile"] == profile)
        .map(|a| a["account"].as_str().expect("account id").to_string())
        .collect();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    accounts[0].clone()
}

#[test]
fn mcp_profile_from_the_resource_registers_once_and_opens_the_server() {
    let server = McpServer::start_with(&[("MCP_REQUIRE_RESOURCE", "1")]);
    let env = Env::new();
    let mcp = server.mcp_url();
    add_for_resource(&env, "m", &mcp, &[]).says(&[
        "Added profile `m`",
        &mcp,
        "registered by Latchkey",
        "latchkey login m",
    ]);
    assert_eq!(server.registered_clients(), 1);

    let profile = env.profile_json("m");
    assert_eq!(profile["resources"], serde_json::json!([mcp]));
    assert_eq!(profile["issuer"], server.issuer());
    assert_eq!(profile["resource_metadata"], server.resource_metadata_url());
    assert_eq!(profile["client_registration"]["method"], "dynamic");
    // The registered redirect URI has the port every sign-in uses.
    let redirect = profile["redirect_uri"].as_str().expect("redirect_uri");
    let registered = &server.stats()["clients"][0]["redirect_uris"];
    assert_eq!(registered, &serde_json::json!([redirect]));
    assert!(
        url::Url::parse(redirect).unwrap().port().is_some(),
        "{redirect}"
    );
    env.run(&["profile", "show", "m"]).says(&[
        "client registration:",
        "registered by Latchkey",
        &format!("resources (RFC 8707):   {mcp}"),
        &format!("issuer:                 {}", server.issuer()),
    ]);

    env.login("m").success();
    let account = only_account(&env, "m");
    let token = bearer_from_headers_helper(&env, &account);
    let (status, _, body) = server.initialize(Some(&token));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("latchkey-test-mcp"), "{body}");

    // A second sign-in, a refresh and other processes: the same client, no new registration.
    env.login("m").success();
    env.refresh(&account);
    let token = bearer_from_headers_helper(&env, &account);
    assert_eq!(server.initialize(Some(&token)).0, 200);
    assert_eq!(server.registered_clients(), 1);

    let expected = Some(mcp.clone());
    for kind in ["authorize", "token", "refresh"] {
        let seen = server.resources_seen(kind);
        assert!(!seen.is_empty(), "no {kind} request");
        assert!(seen.iter().all(|r| *r == expected), "{kind}: {seen:?}");
    }
    assert_eq!(server.resources_seen("authorize").len(), 2);

    // The SDK gives no RFC 7592 registration client URI: removal says the client stays.
    let out = env.run(&["profile", "remove", "m", "--yes"]);
    out.success();
    assert!(out.stderr.contains("no way to delete"), "{out:#?}");
}

#[test]
fn mcp_profile_found_at_the_well_known_path_without_a_challenge() {
    let server = McpServer::start_with(&[("MCP_CHALLENGE_METADATA", "0")]);
    let (status, challenge, _) = server.initialize(None);
    assert_eq!(status, 401);
    assert!(
        !challenge.unwrap_or_default().contains("resource_metadata"),
        "the server still names its metadata"
    );
    let env = Env::new();
    add_for_resource(&env, "w", &server.mcp_url(), &[]).success();
    let profile = env.profile_json("w");
    assert_eq!(profile["resource_metadata"], server.resource_metadata_url());
    assert_eq!(server.registered_clients(), 1);
}

#[test]
fn mcp_metadata_for_another_resource_is_refused() {
    let server = McpServer::start();
    let env = Env::new();
    // The server's metadata names base/mcp, not this URL.
    let other = format!("{}?tenant=x", server.mcp_url());
    let out = add_for_resource(&env, "x", &other, &[]);
    assert_ne!(out.code, 0, "{out:#?}");
    assert!(
        out.stderr.contains("not") && out.stderr.contains("RFC 9728"),
        "{}",
        out.stderr
    );
    assert_eq!(server.registered_clients(), 0);
    env.run(&["profile", "show", "x"]).fails_with(3, &[]);
}

#[test]
fn mcp_profile_with_a_pre_registered_client_registers_nothing() {
    let server = McpServer::start();
    let env = Env::new();
    add_for_resource(
        &env,
        "p",
        &server.mcp_url(),
        &["--client-id", "given-client", "--issuer", &server.issuer()],
    )
    .says(&["given-client (pre-registered)"]);
    assert_eq!(server.registered_clients(), 0);
    let profile = env.profile_json("p");
    assert_eq!(profile["client_registration"]["method"], "pre-registered");
    assert_eq!(profile["resources"][0], server.mcp_url());
    // An issuer the resource does not name is refused.
    add_for_resource(
        &env,
        "q",
        &server.mcp_url(),
        &["--issuer", "https://elsewhere.example"],
    )
    .fails_with(2, &["does not name the authorization server"]);
    assert_eq!(server.registered_clients(), 0);
}

/// A resource at `/api` whose authorization server at the same base registers clients
/// (RFC 7591) with an RFC 7592 registration client URI, or offers no registration at all
/// (`registration`: false), listing `servers` in its resource metadata: the server, and the
/// resource's URL.
fn resource_server(registration: bool, servers: &'static [&'static str]) -> (FaultServer, String) {
    let server = FaultServer::handle(move |base, req| {
        let json = |body: Value| Canned::json(body.to_string());
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/api") => (
                Canned::new(401, "text/plain", "sign in"),
                vec![(
                    "www-authenticate",
                    format!(
                        r#"Bearer error="invalid_token", resource_metadata="{base}/.well-known/oauth-protected-resource/api""#
                    ),
                )],
            ),
            ("GET", "/.well-known/oauth-protected-resource/api") => (
                json(serde_json::json!({
                    "resource": format!("{base}/api"),
                    "authorization_servers": servers.iter().map(|s| s.replace("{base}", base)).collect::<Vec<_>>(),
                    "scopes_supported": ["read", "write"],
                })),
                vec![],
            ),
            ("GET", "/.well-known/oauth-authorization-server") => {
                let mut meta = serde_json::json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "code_challenge_methods_supported": ["S256"],
                });
                if registration {
                    meta["registration_endpoint"] = format!("{base}/register").into();
                }
                (json(meta), vec![])
            }
            ("POST", "/register") => (
                Canned::new(
                    201,
                    "application/json",
                    serde_json::json!({
                        "client_id": "dyn-1",
                        "token_endpoint_auth_method": "none",
                        "registration_access_token": REGISTRATION_TOKEN,
                        "registration_client_uri": format!("{base}/register/dyn-1"),
                    })
                    .to_string(),
                ),
                vec![],
            ),
            ("DELETE", "/register/dyn-1") => (Canned::new(204, "text/plain", ""), vec![]),
            _ => (Canned::not_found(), vec![]),
        }
    });
    let api = format!("{}/api", server.base);
    (server, api)
}

const REGISTRATION_TOKEN: &str = "registration-access-token-0123456789";

#[test]
fn mcp_registration_token_stays_in_the_keychain_and_removal_deletes_the_client() {
    let (server, api) = resource_server(true, &["{base}"]);
    let env = Env::new();
    add_for_resource(&env, "r", &api, &[])
        .says(&["dyn-1, registered by Latchkey", "deletes it (RFC 7592)"]);
    let profile = env.profile_json("r");
    assert_eq!(profile["scopes"], serde_json::json!(["read", "write"]));
    assert_eq!(
        profile["client_registration"]["registration_client_uri"],
        format!("{}/register/dyn-1", server.base)
    );
    env.assert_not_on_disk(REGISTRATION_TOKEN);

    let out = env.run(&["profile", "remove", "r", "--yes"]);
    out.success();
    assert!(
        out.stderr.contains("Deleted the client `dyn-1`"),
        "{out:#?}"
    );
    let deletes = server.requests_to("/register/dyn-1");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].method, "DELETE");
    assert_eq!(
        deletes[0].headers["authorization"],
        format!("Bearer {REGISTRATION_TOKEN}")
    );
}

#[test]
fn mcp_without_registration_or_with_several_servers_says_what_to_pass() {
    let (server, api) = resource_server(false, &["{base}"]);
    let env = Env::new();
    add_for_resource(&env, "r", &api, &[])
        .fails_with(2, &["no dynamic client registration", "--client-id"]);
    assert!(server.requests_to("/register").is_empty());
    // A pre-registered client needs no registration.
    add_for_resource(&env, "r", &api, &["--client-id", "mine"]).says(&["mine (pre-registered)"]);

    let (two, api) = resource_server(true, &["{base}", "https://other.example"]);
    add_for_resource(&env, "t", &api, &[])
        .fails_with(2, &["several authorization servers", "--issuer"]);
    add_for_resource(&env, "t", &api, &["--issuer", &two.base])
        .says(&["dyn-1, registered by Latchkey"]);
}

#[test]
fn mcp_resource_on_a_profile_with_its_own_endpoints_is_sent_without_discovery() {
    let server = McpServer::start_with(&[("MCP_REQUIRE_RESOURCE", "1")]);
    // A client registered beforehand, on a fixed loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let reg: Value = reqwest::blocking::Client::new()
        .post(format!("{}/register", server.url))
        .json(&serde_json::json!({
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .send()
        .and_then(|r| r.json())
        .expect("register");
    let client_id = reg["client_id"].as_str().expect("client_id");
    let env = Env::new();
    let mcp = server.mcp_url();
    env.run(&[
        "profile",
        "add",
        "h",
        "--authorize-url",
        &format!("{}/authorize", server.url),
        "--token-url",
        &format!("{}/token", server.url),
        "--client-id",
        client_id,
        "--redirect-uri",
        &redirect,
        "--resource",
        &mcp,
    ])
    .success();
    let profile = env.profile_json("h");
    assert_eq!(profile["resources"], serde_json::json!([mcp]));
    assert_eq!(profile["resource_metadata"], Value::Null);
    assert_eq!(server.stats()["mcp"]["unauthorized"], 0, "no discovery");
    env.login("h").success();
    let account = only_account(&env, "h");
    env.refresh(&account);
    let token = bearer_from_headers_helper(&env, &account);
    // MCP_REQUIRE_RESOURCE: only a token issued for the resource opens /mcp.
    assert_eq!(server.initialize(Some(&token)).0, 200);
    for kind in ["authorize", "token", "refresh"] {
        let seen = server.resources_seen(kind);
        assert!(!seen.is_empty() && seen.iter().all(|r| r.as_deref() == Some(mcp.as_str())));
    }
    assert_eq!(server.registered_clients(), 1, "only the test's own");
    // Resource indicators are a setting of the profile: changed in place, the account kept.
    env.run(&["profile", "set", "h", "--no-resource"])
        .says(&["Resources: none"]);
    assert_eq!(env.profile_json("h")["resources"], serde_json::json!([]));
    env.run(&["profile", "set", "h", "--resource", &mcp])
        .says(&[&format!("Resources: {mcp}")]);
    assert_eq!(env.profile_json("h")["resources"], serde_json::json!([mcp]));
    assert_eq!(only_account(&env, "h"), account);
}

#[test]
fn mcp_profile_with_a_client_id_metadata_document_registers_nothing() {
    // A port free now, for the document's one redirect URI.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let server = McpServer::start_with(&[
        ("MCP_CIMD", "1"),
        ("MCP_CIMD_REDIRECT", redirect.as_str()),
        ("MCP_REQUIRE_RESOURCE", "1"),
    ]);
    let env = Env::new();
    let mcp = server.mcp_url();
    let document = format!("{}cimd/client.json", server.issuer());
    add_for_resource(&env, "m", &mcp, &["--client-metadata-url", &document])
        .says(&["Added profile `m`", "a client ID metadata document"]);
    let profile = env.profile_json("m");
    assert_eq!(profile["client_id"], document);
    assert_eq!(
        profile["client_registration"]["method"],
        "metadata-document"
    );
    assert_eq!(profile["redirect_uri"], redirect);
    env.login("m").success();
    assert_eq!(server.registered_clients(), 0);
    assert!(server.stats()["cimd_fetches"].as_u64().unwrap_or(0) >= 1);
    let account = only_account(&env, "m");
    let token = bearer_from_headers_helper(&env, &account);
    let (status, _, _) = server.initialize(Some(&token));
    assert_eq!(status, 200);

    // A server that takes no such documents: exit 2, saying so and what else it offers.
    let plain = McpServer::start();
    let document = format!("{}cimd/client.json", plain.issuer());
    add_for_resource(
        &env,
        "n",
        &plain.mcp_url(),
        &["--client-metadata-url", &document],
    )
    .fails_with(
        2,
        &[
            "does not accept client ID metadata documents",
            "registers a client",
        ],
    );
    assert_eq!(plain.registered_clients(), 0);
}

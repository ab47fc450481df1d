//! DPoP (RFC 9449), PAR (RFC 9126) and private_key_jwt (RFC 7523) against the test OpenID
//! Provider's `dpop-client`, `par-client` and `pkjwt-client`, and its /resource endpoint, which
//! checks proofs with its own nonces (tests/authserver/server.mjs).

use serde_json::Value;

use crate::provider_features::{call_resource, resource_url};
use crate::proxy::Proxying;
use crate::util::{AuthServer, Env, stored_tokens};

/// `token ACCOUNT --format json --method GET --url URL [--nonce N]`, as JSON.
fn token_for(env: &Env, account: &str, url: &str, nonce: Option<&str>) -> Value {
    let mut args = vec![
        "token", account, "--format", "json", "--method", "GET", "--url", url,
    ];
    if let Some(n) = nonce {
        args.extend(["--nonce", n]);
    }
    let out = env.run(&args);
    out.success();
    serde_json::from_str(&out.stdout).expect("token JSON")
}

/// Calls /resource with what `token --format json --method GET --url` printed, asking again
/// with the resource's nonce when it wants one.
fn call_with_proof(
    env: &Env,
    server: &AuthServer,
    account: &str,
) -> crate::provider_features::Answer {
    let url = resource_url(server);
    let t = token_for(env, account, &url, None);
    let auth = format!(
        "{} {}",
        t["token_type"].as_str().unwrap(),
        t["access_token"].as_str().unwrap()
    );
    let first = call_resource(server, &auth, t["dpop_proof"].as_str());
    if first.status != 401 || first.body["error"] != "use_dpop_nonce" {
        return first;
    }
    let nonce = first.nonce.expect("DPoP-Nonce");
    let t = token_for(env, account, &url, Some(&nonce));
    call_resource(server, &auth, t["dpop_proof"].as_str())
}

/// A server, and a world signed in to its `dpop-client` as `dp` (with `--dpop` when `flag`).
fn dpop_signed_in(flag: bool) -> (AuthServer, Env) {
    let server = AuthServer::start();
    let client = if flag {
        "dpop-client --dpop"
    } else {
        "dpop-client"
    };
    let env = Env::with_oidc_profile(&server.issuer, "dp", client);
    env.login("dp").success();
    (server, env)
}

#[test]
fn dpop_tokens_are_bound_to_a_key_of_the_accounts_own_and_go_with_proofs() {
    let (server, env) = dpop_signed_in(true);
    // The code was bound to the key (dpop_jkt) and redeemed with a proof and the AS's nonce.
    assert!(
        server.stats()["dpop_nonce_challenges"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
    let account = &env.accounts()[0];
    assert_eq!(account["token_type"], "DPoP", "{account}");
    let key = stored_tokens(&env, "dp/alice@example.test")
        .dpop_key
        .expect("the DPoP key is kept with the tokens");
    env.assert_not_on_disk(key.secret().lines().nth(1).expect("PEM body"));

    // The resource accepts the token with the proof Latchkey signs, its nonce included.
    let r = call_with_proof(&env, &server, "dp");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "DPoP");
    // The same token as Bearer is refused.
    let bare = env.token(&["dp"]);
    let r = call_resource(&server, &format!("Bearer {bare}"), None);
    assert_eq!(r.status, 401);

    // --format header: both lines; without the request, refused rather than a useless header.
    let url = resource_url(&server);
    let out = env.run(&[
        "token", "dp", "--format", "header", "--method", "GET", "--url", &url,
    ]);
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Authorization: DPoP "),
        "{}",
        out.stdout
    );
    assert!(lines[1].starts_with("DPoP: ey"), "{}", out.stdout);
    // Without the request: refused (src/cli/token.rs's tests).
    let out = env.run(&[
        "token",
        "dp",
        "--format",
        "headers-json",
        "--method",
        "GET",
        "--url",
        &url,
    ]);
    let headers: Value = serde_json::from_str(&out.stdout).expect("headers JSON");
    assert!(
        headers["DPoP"]
            .as_str()
            .is_some_and(|p| p.starts_with("ey")),
        "{headers}"
    );
    // dpop-proof: the proof alone, bound to the current token (ath).
    let out = env.run(&["dpop-proof", "dp", "--method", "POST", "--url", &url]);
    out.success();
    let claims = claims_of(out.stdout.trim());
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], url);
    assert!(
        claims["ath"].as_str().is_some_and(|a| a.len() == 43),
        "{claims}"
    );

    // Never a proof for the provider's own endpoints.
    let token_url = format!("{}/token", server.issuer);
    env.run(&["dpop-proof", "dp", "--method", "POST", "--url", &token_url])
        .fails_with(2, &["not to the provider"]);

    // A refresh is a DPoP request too (with the AS's nonce), and keeps the key.
    let before = stored_tokens(&env, "dp/alice@example.test")
        .access_token
        .secret()
        .clone();
    env.refresh("dp");
    let after = stored_tokens(&env, "dp/alice@example.test");
    assert_ne!(after.access_token.secret(), &before);
    assert_eq!(after.dpop_key.expect("key kept").secret(), key.secret());
    let r = call_with_proof(&env, &server, "dp");
    assert_eq!(r.status, 200, "{}", r.body);

    // Tools that would send the token alone are refused, pointing to the proxy.
    env.run(&["exec", "--env", "T=dp", "--", "true"])
        .fails_with(2, &["DPoP-bound", "latchkey proxy"]);
}

#[test]
fn dpop_proofs_come_from_the_agent_too() {
    let (server, env) = dpop_signed_in(true);
    env.run(&["agent", "start"]).success();
    let r = call_with_proof(&env, &server, "dp");
    assert_eq!(r.status, 200, "{}", r.body);
    // The agent signed it: the history says so.
    let history = env.run(&["history", "--json"]);
    assert!(history.stdout.contains("\"agent\""), "{}", history.stdout);
    env.run(&["agent", "stop"]).success();
}

#[test]
fn a_provider_that_demands_dpop_makes_the_profile_a_dpop_one() {
    // No --dpop: the token endpoint's refusal says the client needs it.
    let (_server, env) = dpop_signed_in(false);
    assert_eq!(env.profile_json("dp")["dpop"], true);
    assert_eq!(env.accounts()[0]["token_type"], "DPoP");
}

#[test]
fn the_proxy_signs_a_proof_for_each_request_with_the_upstreams_nonce() {
    let (server, env) = dpop_signed_in(true);
    let proxying = Proxying::start(&env, &["dp", "--upstream", &server.issuer]);
    let base = proxying.base.clone();
    let challenges = server.stats()["dpop_nonce_challenges"]
        .as_u64()
        .unwrap_or(0);
    for _ in 0..3 {
        let r = reqwest::blocking::get(format!("{base}resource")).expect("through the proxy");
        assert_eq!(r.status().as_u16(), 200);
        let body: Value = r.json().expect("resource JSON");
        assert_eq!(body["token_type"], "DPoP");
    }
    // One nonce challenge at most: the proxy keeps the nonce for the next proofs.
    let after = server.stats()["dpop_nonce_challenges"]
        .as_u64()
        .unwrap_or(0);
    assert!(after - challenges <= 1, "{challenges} -> {after}");
    assert_eq!(server.stats()["resource"]["ok"], 3);
    proxying.stop();
}

#[test]
fn par_sends_the_browser_only_a_request_uri() {
    let server = AuthServer::start();
    let env = Env::with_oidc_profile(&server.issuer, "par", "par-client --par");
    assert_eq!(env.profile_json("par")["par"], true);
    let out = env.login("par");
    out.success();
    assert_eq!(server.stats()["par"], 1);
    // The URL the browser got: the client and the pushed request's handle, nothing else.
    let url = out
        .stderr
        .lines()
        .find(|l| l.starts_with("http"))
        .expect("the authorization URL");
    let url = url::Url::parse(url).expect("URL");
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "{url}");
    env.refresh("par");

    // Without --par the provider refuses the plain request for this client, and nothing is stored.
    let env = Env::with_oidc_profile(&server.issuer, "par", "par-client");
    env.login("par")
        .fails_with(5, &["latchkey profile set par --par"]);
    assert!(env.accounts().is_empty());
    env.cli("profile set par --par").success();
    env.login("par").success();
}

#[test]
fn private_key_jwt_with_an_imported_key() {
    let server = AuthServer::start();
    let env = Env::new();
    // The key is imported: the file is not needed afterwards.
    let file = env.dir.join("client-key.pem");
    std::fs::copy(crate::util::root().join("tests/keys/ec-p256.pem"), &file).expect("copy key");
    let client = format!("pkjwt-client --private-key-file {}", file.display());
    // The public key must be registered before the first sign-in: the add says how.
    env.add_oidc_profile(&server.issuer, "pk", &client)
        .says(&["Register the client's public key at the provider: `latchkey profile show pk --jwks` prints it."]);
    // A key never goes out as a secret, and a public key is not a client key.
    env.cli(&format!(
        "profile add bad --issuer {} --client-id conf-basic --auth-method basic --private-key-file {}",
        server.issuer,
        file.display()
    ))
    .fails_with(2, &["private key, not a client secret"]);
    let public = env.dir.join("public.pem");
    let pem = std::fs::read_to_string(&file).expect("key");
    std::fs::write(
        &public,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .expect("public key file");
    env.cli(&format!(
        "profile add bad --issuer {} --client-id pkjwt-client --private-key-file {}",
        server.issuer,
        public.display()
    ))
    .fails_with(2, &["public key"]);
    assert!(!pem.is_empty());
    std::fs::remove_file(&file).expect("remove key file");
    env.run(&["profile", "show", "pk"])
        .says(&["client key:", "ES256", "--jwks"]);
    assert_eq!(env.profile_json("pk")["auth_method"], "private-key-jwt");
    env.login("pk").success();
    env.refresh("pk");
    // The JWKS to register: the public half, with its RFC 7638 thumbprint as kid.
    let out = env.run(&["profile", "show", "pk", "--jwks"]);
    out.success();
    let jwks: Value = serde_json::from_str(&out.stdout).expect("JWKS");
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["alg"], "ES256");
    assert!(key.get("d").is_none(), "{key}");
    // Revocation authenticates by key too.
    env.run(&["logout", "pk/alice@example.test"])
        .says(&["revoked"]);
    assert_eq!(server.stats()["revocation"], 1);
}

#[test]
fn private_key_jwt_with_a_key_latchkey_makes() {
    let first = AuthServer::start();
    let client = "pkjwt-client --auth-method private-key-jwt";
    let env = Env::with_oidc_profile(&first.issuer, "pk", client);
    // Registered at the provider: here, the server starts again with the printed JWKS.
    let jwks = env.run(&["profile", "show", "pk", "--jwks"]);
    jwks.success();
    let file = env.dir.join("jwks.json");
    std::fs::write(&file, &jwks.stdout).expect("write JWKS");
    // Before that, the provider knows no such key: the hint says what to register.
    env.login("pk")
        .fails_with(5, &["invalid_client", "latchkey profile show pk --jwks"]);
    let port = first.issuer.rsplit(':').next().expect("port").to_string();
    drop(first);
    let server = AuthServer::start_with_env(&[
        ("PORT", port.as_str()),
        ("PKJWT_JWKS_FILE", file.to_str().expect("path")),
    ]);
    env.login("pk").success();
    env.refresh("pk");
    assert_eq!(server.count("refresh_token"), 1);
}

/// The claims of a JWT, unverified (the server verifies; this reads what was signed).
fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

//! The test OpenID Provider's modern features (tests/authserver/server.mjs): DPoP with nonces,
//! PAR, dynamic registration, a resource indicator and the /resource endpoint; helpers that
//! sign what a client sends for them (a private_key_jwt assertion, a DPoP proof) with the keys
//! under tests/keys. See docs/test-components.md.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::util::{AuthServer, root};

/// The assertion type of RFC 7523 client authentication.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The resource indicator of the server's /resource endpoint (its tokens are JWTs).
pub fn resource_url(server: &AuthServer) -> String {
    format!("{}/resource", server.issuer)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A key under tests/keys: `rsa-a.pem` (RS256) or `ec-p256.pem` (ES256), the two keys
/// `pkjwt-client` has (unless PKJWT_JWKS_FILE says otherwise).
pub fn test_key(name: &str) -> (EncodingKey, Algorithm) {
    let pem = std::fs::read(root().join("tests/keys").join(name)).expect("test key");
    if name.starts_with("ec") {
        (
            EncodingKey::from_ec_pem(&pem).expect("EC key"),
            Algorithm::ES256,
        )
    } else {
        (
            EncodingKey::from_rsa_pem(&pem).expect("RSA key"),
            Algorithm::RS256,
        )
    }
}

/// A private_key_jwt client assertion (RFC 7523): iss = sub = `client_id`, aud = the issuer,
/// a fresh jti, 2 minutes of validity, signed with `key` (a tests/keys file name).
pub fn client_assertion(server: &AuthServer, client_id: &str, key: &str) -> String {
    let (key, alg) = test_key(key);
    let t = now();
    let claims = json!({
        "iss": client_id, "sub": client_id, "aud": server.issuer,
        "jti": random_id(), "iat": t, "exp": t + 120,
    });
    jsonwebtoken::encode(&Header::new(alg), &claims, &key).expect("sign client assertion")
}

/// A DPoP proof (RFC 9449) for `htm` `htu`, signed with tests/keys/ec-p256.pem and carrying
/// its public key; `ath` is computed from `access_token` when given.
pub fn dpop_proof(htm: &str, htu: &str, access_token: Option<&str>, nonce: Option<&str>) -> String {
    use base64::Engine;
    use sha2::Digest;
    let (key, alg) = test_key("ec-p256.pem");
    let mut header = Header::new(alg);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(Jwk::from_encoding_key(&key, alg).expect("public jwk"));
    let mut claims = json!({ "jti": random_id(), "htm": htm, "htu": htu, "iat": now() });
    if let Some(at) = access_token {
        claims["ath"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(at))
            .into();
    }
    if let Some(n) = nonce {
        claims["nonce"] = n.into();
    }
    jsonwebtoken::encode(&header, &claims, &key).expect("sign DPoP proof")
}

/// Status, `DPoP-Nonce` header, `WWW-Authenticate` header and JSON body of an answer.
pub struct Answer {
    pub status: u16,
    pub nonce: Option<String>,
    pub challenge: Option<String>,
    pub body: Value,
}

impl From<reqwest::blocking::Response> for Answer {
    fn from(r: reqwest::blocking::Response) -> Self {
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (status, nonce, challenge) = (
            r.status().as_u16(),
            header("dpop-nonce"),
            header("www-authenticate"),
        );
        Answer {
            status,
            nonce,
            challenge,
            body: r.json().unwrap_or(Value::Null),
        }
    }
}

/// Calls GET /resource with `authorization` (`Bearer AT` or `DPoP AT`) and an optional `DPoP`
/// proof header.
pub fn call_resource(server: &AuthServer, authorization: &str, dpop: Option<&str>) -> Answer {
    let mut req = reqwest::blocking::Client::new()
        .get(resource_url(server))
        .header("authorization", authorization);
    if let Some(proof) = dpop {
        req = req.header("dpop", proof);
    }
    req.send().expect("GET /resource").into()
}

/// A client_credentials token of `pkjwt-client` for /resource (private_key_jwt with
/// tests/keys/rsa-a.pem), DPoP-bound to tests/keys/ec-p256.pem when `dpop` (the nonce
/// exchange done here).
pub fn resource_token(server: &AuthServer, dpop: bool) -> Answer {
    let token_url = format!("{}/token", server.issuer);
    let post = |nonce: Option<&str>| -> Answer {
        let resource = resource_url(server);
        let assertion = client_assertion(server, "pkjwt-client", "rsa-a.pem");
        let mut req = reqwest::blocking::Client::new().post(&token_url).form(&[
            ("grant_type", "client_credentials"),
            ("scope", "api:read"),
            ("resource", resource.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ]);
        if dpop {
            req = req.header("dpop", dpop_proof("POST", &token_url, None, nonce));
        }
        req.send().expect("token request").into()
    };
    let first = post(None);
    if first.body["error"] == "use_dpop_nonce" {
        return post(Some(first.nonce.as_deref().expect("DPoP-Nonce header")));
    }
    first
}

#[test]
fn provider_features_are_in_the_discovery_document() {
    let server = AuthServer::start();
    let d: Value = reqwest::blocking::get(format!(
        "{}/.well-known/openid-configuration",
        server.issuer
    ))
    .and_then(|r| r.json())
    .expect("discovery");
    assert!(
        d["dpop_signing_alg_values_supported"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("ES256")))
    );
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        format!("{}/request", server.issuer)
    );
    assert_eq!(d["registration_endpoint"], format!("{}/reg", server.issuer));
    assert!(
        d["token_endpoint_auth_methods_supported"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("private_key_jwt")))
    );
}

#[test]
fn provider_features_registration_gives_a_management_uri() {
    let server = AuthServer::start();
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/reg", server.issuer))
        .json(&json!({
            "application_type": "native",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        }))
        .send()
        .expect("register");
    assert_eq!(r.status().as_u16(), 201);
    let reg: Value = r.json().expect("registration json");
    let id = reg["client_id"].as_str().expect("client_id");
    assert_eq!(
        reg["registration_client_uri"],
        format!("{}/reg/{id}", server.issuer)
    );
    let deleted = reqwest::blocking::Client::new()
        .delete(reg["registration_client_uri"].as_str().expect("uri"))
        .bearer_auth(reg["registration_access_token"].as_str().expect("RAT"))
        .send()
        .expect("delete registration");
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(server.stats()["registration"], 1);
}

#[test]
fn provider_features_resource_takes_bearer_and_dpop_tokens() {
    let server = AuthServer::start();
    // A Bearer JWT for the resource, through private_key_jwt.
    let t = resource_token(&server, false);
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["token_type"], "Bearer");
    let at = t.body["access_token"].as_str().expect("access_token");
    let r = call_resource(&server, &format!("Bearer {at}"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["format"], "jwt");
    assert_eq!(r.body["client_id"], "pkjwt-client");

    // A DPoP-bound one: refused as Bearer, and without the resource's own nonce.
    let t = resource_token(&server, true);
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["token_type"], "DPoP");
    let at = t.body["access_token"].as_str().expect("access_token");
    let r = call_resource(&server, &format!("Bearer {at}"), None);
    assert_eq!(r.status, 401);
    assert!(
        r.challenge.as_deref().unwrap_or("").starts_with("DPoP "),
        "{:?}",
        r.challenge
    );
    let htu = resource_url(&server);
    let auth = format!("DPoP {at}");
    let r = call_resource(
        &server,
        &auth,
        Some(&dpop_proof("GET", &htu, Some(at), None)),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "use_dpop_nonce");
    let nonce = r.nonce.expect("DPoP-Nonce");
    let proof = dpop_proof("GET", &htu, Some(at), Some(&nonce));
    let r = call_resource(&server, &auth, Some(&proof));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "DPoP");
    // A proof is single-use.
    let r = call_resource(&server, &auth, Some(&proof));
    assert_eq!(r.status, 401);
    assert_eq!(server.stats()["resource"]["ok"], 2);
}

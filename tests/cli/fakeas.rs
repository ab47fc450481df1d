//! A small OpenID provider that misbehaves on purpose, one defect per client id (see
//! `Defect`). It serves discovery, a JWKS, an authorization endpoint that redirects straight
//! back to the client's redirect_uri (no login page), and token and revocation endpoints; it
//! signs id_tokens with the throw-away keys in tests/keys and counts requests per path.

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::util::{HttpRequest, read_request, root};

/// The email claim of every test token: the account label a sign-in would get.
pub const EMAIL: &str = "eve@example.test";

/// The `mac_key` of client `mac`'s token response: a secret too short to look token-shaped.
pub const MAC_KEY: &str = "mac-k3y";

/// Eve's password, for the resource owner password grant.
pub const PASSWORD: &str = "correct horse battery staple";

/// Server-wide behaviour.
#[derive(Clone)]
pub struct Options {
    /// `id_token_signing_alg_values_supported` in discovery.
    pub algs: Vec<&'static str>,
    /// Discovery lists no jwks_uri.
    pub no_jwks: bool,
    /// The jwks_uri redirects to the real key set.
    pub jwks_redirect: bool,
    /// Answers like Entra's multi-tenant endpoint: discovery at `/common/v2.0` naming the issuer
    /// `{base}/{tenantid}/v2.0`, no RFC 9207 `iss`, id_tokens issued by `{base}/ENTRA_TENANT/v2.0`
    /// with this `tid` claim.
    pub entra_tid: Option<&'static str>,
    /// Which metadata document lists the revocation endpoint.
    pub revocation: Revocation,
}

/// Where the revocation endpoint is published.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// In the OpenID document (RFC 8414 metadata is not served).
    OpenId,
    /// Only in the RFC 8414 document (`/.well-known/oauth-authorization-server`).
    Rfc8414,
    /// Only in an RFC 8414 document that names another issuer.
    Rfc8414ForeignIssuer,
    /// Nowhere.
    Nowhere,
}

/// The tenant id in the `iss` of the Entra-like id_tokens.
pub const ENTRA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

impl Default for Options {
    fn default() -> Self {
        Options {
            algs: vec!["RS256", "ES256", "HS256"],
            no_jwks: false,
            jwks_redirect: false,
            entra_tid: None,
            revocation: Revocation::OpenId,
        }
    }
}

struct Keys {
    a: EncodingKey,
    b: EncodingKey,
    ec: EncodingKey,
    public_pem: Vec<u8>,
    jwk_a: Value,
    jwk_b: Value,
    jwk_ec: Value,
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/keys").join(name)).expect("test key")
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut v = serde_json::to_value(Jwk::from_encoding_key(key, alg).expect("jwk")).unwrap();
    v["kid"] = kid.into();
    v["use"] = "sig".into();
    v
}

impl Keys {
    fn load() -> Self {
        let a = EncodingKey::from_rsa_pem(&key_file("rsa-a.pem")).expect("rsa-a");
        let b = EncodingKey::from_rsa_pem(&key_file("rsa-b.pem")).expect("rsa-b");
        let ec = EncodingKey::from_ec_pem(&key_file("ec-p256.pem")).expect("ec");
        Keys {
            jwk_a: jwk(&a, Algorithm::RS256, "key-a"),
            jwk_b: jwk(&b, Algorithm::RS256, "key-b"),
            jwk_ec: jwk(&ec, Algorithm::ES256, "key-ec"),
            public_pem: key_file("rsa-a.pub.pem"),
            a,
            b,
            ec,
        }
    }
}

struct Shared {
    issuer: String,
    options: Options,
    keys: Keys,
    hits: Mutex<HashMap<String, usize>>,
    /// code -> (client id, nonce)
    codes: Mutex<HashMap<String, (String, Option<String>)>>,
    /// refresh token -> client id
    refresh: Mutex<HashMap<String, String>>,
    /// Key B is in the JWKS (a key rotation happened).
    rotated: AtomicBool,
    /// The jwks_uri answers with a redirect (a key set that cannot be fetched).
    jwks_broken: AtomicBool,
    counter: Mutex<u64>,
}

pub struct FakeAs {
    pub issuer: String,
    shared: Arc<Shared>,
}

impl FakeAs {
    pub fn start() -> Self {
        Self::with(Options::default())
    }

    pub fn with(options: Options) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            options,
            keys: Keys::load(),
            hits: Mutex::default(),
            codes: Mutex::default(),
            refresh: Mutex::default(),
            rotated: AtomicBool::new(false),
            jwks_broken: AtomicBool::new(false),
            counter: Mutex::new(0),
        });
        let serving = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                std::thread::spawn(move || handle(&shared, stream));
            }
        });
        FakeAs { issuer, shared }
    }

    /// Requests served at `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Publishes key B beside key A, as a provider rotating its keys does.
    pub fn rotate(&self) {
        self.shared.rotated.store(true, Ordering::SeqCst);
    }

    /// Makes the key set unfetchable (`true`: the jwks_uri answers with a redirect) or
    /// fetchable again.
    pub fn break_jwks(&self, broken: bool) {
        self.shared.jwks_broken.store(broken, Ordering::SeqCst);
    }

    /// Whether the server would still accept `refresh_token` (it was issued and not yet spent).
    pub fn refresh_token_is_live(&self, refresh_token: &str) -> bool {
        self.shared
            .refresh
            .lock()
            .unwrap()
            .contains_key(refresh_token)
    }
}

fn respond(stream: &mut TcpStream, status: u16, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn json_response(stream: &mut TcpStream, status: u16, value: &Value) {
    respond(
        stream,
        status,
        &[("content-type", "application/json".into())],
        &serde_json::to_vec(value).unwrap(),
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn handle(shared: &Shared, mut stream: TcpStream) {
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    *shared
        .hits
        .lock()
        .unwrap()
        .entry(req.path.clone())
        .or_default() += 1;
    let issuer = &shared.issuer;
    match req.path.as_str() {
        "/.well-known/openid-configuration" | "/common/v2.0/.well-known/openid-configuration" => {
            let mut doc = json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "revocation_endpoint": format!("{issuer}/revoke"),
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": true,
                "id_token_signing_alg_values_supported": shared.options.algs,
            });
            if !shared.options.no_jwks {
                let path = if shared.options.jwks_redirect {
                    "/jwks-moved"
                } else {
                    "/jwks"
                };
                doc["jwks_uri"] = format!("{issuer}{path}").into();
            }
            if shared.options.entra_tid.is_some() {
                doc["issuer"] = format!("{issuer}/{{tenantid}}/v2.0").into();
                doc["authorization_response_iss_parameter_supported"] = false.into();
            }
            if shared.options.revocation != Revocation::OpenId {
                doc.as_object_mut().unwrap().remove("revocation_endpoint");
            }
            json_response(&mut stream, 200, &doc);
        }
        "/.well-known/oauth-authorization-server"
            if matches!(
                shared.options.revocation,
                Revocation::Rfc8414 | Revocation::Rfc8414ForeignIssuer
            ) =>
        {
            let named = match shared.options.revocation {
                Revocation::Rfc8414 => issuer.clone(),
                _ => "https://evil.example".to_string(),
            };
            let doc = json!({
                "issuer": named,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "revocation_endpoint": format!("{issuer}/revoke"),
            });
            json_response(&mut stream, 200, &doc);
        }
        "/jwks" if shared.jwks_broken.load(Ordering::SeqCst) => respond(
            &mut stream,
            302,
            &[("location", format!("{issuer}/jwks-elsewhere"))],
            b"",
        ),
        "/jwks" => {
            let k = &shared.keys;
            let mut keys = vec![k.jwk_a.clone(), k.jwk_ec.clone()];
            if shared.rotated.load(Ordering::SeqCst) {
                keys.push(k.jwk_b.clone());
            }
            respond(
                &mut stream,
                200,
                &[
                    ("content-type", "application/json".into()),
                    ("cache-control", "public, max-age=3600".into()),
                ],
                &serde_json::to_vec(&json!({ "keys": keys })).unwrap(),
            );
        }
        "/jwks-moved" => respond(
            &mut stream,
            302,
            &[("location", format!("{issuer}/jwks"))],
            b"",
        ),
        "/authorize" => authorize(shared, &mut stream, &req),
        "/token" | "/token-elsewhere" => token(shared, &mut stream, &req),
        "/revoke" => {
            let client = req.form.get("client_id").cloned().unwrap_or_default();
            if client == "revoke-redirect" {
                respond(
                    &mut stream,
                    307,
                    &[("location", format!("{issuer}/revoke-elsewhere"))],
                    b"",
                );
            } else {
                respond(&mut stream, 200, &[], b"");
            }
        }
        _ => respond(&mut stream, 404, &[], b"not found"),
    }
}

fn next(shared: &Shared, prefix: &str) -> String {
    let mut c = shared.counter.lock().unwrap();
    *c += 1;
    format!("{prefix}-{}-{:x}", *c, now())
}

/// The authorization endpoint: no login, straight back to the redirect_uri.
fn authorize(shared: &Shared, stream: &mut TcpStream, req: &HttpRequest) {
    let q = &req.query;
    let client = q.get("client_id").cloned().unwrap_or_default();
    let Some(redirect) = q.get("redirect_uri") else {
        respond(stream, 400, &[], b"no redirect_uri");
        return;
    };
    let response_type = q.get("response_type").cloned().unwrap_or_default();
    if response_type.split(' ').any(|t| t == "token") {
        implicit(shared, stream, req, &client, redirect, &response_type);
        return;
    }
    let code = next(shared, "code");
    shared
        .codes
        .lock()
        .unwrap()
        .insert(code.clone(), (client.clone(), q.get("nonce").cloned()));
    let mut target = url::Url::parse(redirect).expect("redirect_uri");
    {
        let mut pairs = target.query_pairs_mut();
        if client == "error-response" {
            pairs.append_pair("error", "access_denied");
            pairs.append_pair("error_description", "the user said no");
            pairs.append_pair("error_uri", "https://as.example/help/denied");
        } else {
            pairs.append_pair("code", &code);
        }
        if client != "state-missing"
            && let Some(state) = q.get("state")
        {
            pairs.append_pair("state", state);
        }
        match client.as_str() {
            _ if shared.options.entra_tid.is_some() => {}
            "iss-wrong" => {
                pairs.append_pair("iss", "https://evil.example");
            }
            "iss-missing" => {}
            _ => {
                pairs.append_pair("iss", &shared.issuer);
            }
        }
    }
    respond(stream, 302, &[("location", target.to_string())], b"");
}

/// The implicit grant: the token (and with `id_token token` an id_token bound to it by
/// `at_hash`) in the redirect's fragment. Client `at-hash-wrong` binds the id_token to another
/// access token.
fn implicit(
    shared: &Shared,
    stream: &mut TcpStream,
    req: &HttpRequest,
    client: &str,
    redirect: &str,
    response_type: &str,
) {
    let q = &req.query;
    let access = next(shared, "access");
    let mut fragment = url::form_urlencoded::Serializer::new(String::new());
    fragment
        .append_pair("access_token", &access)
        .append_pair("token_type", "bearer")
        .append_pair("expires_in", "3600");
    if let Some(state) = q.get("state") {
        fragment.append_pair("state", state);
    }
    fragment.append_pair("iss", &shared.issuer);
    if response_type.split(' ').any(|t| t == "id_token") {
        let bound = if client == "at-hash-wrong" {
            "some-other-access-token"
        } else {
            access.as_str()
        };
        let mut claims = id_token_claims(shared, client, q.get("nonce").map(String::as_str));
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bound.as_bytes());
        claims["at_hash"] = URL_SAFE_NO_PAD.encode(&digest[..16]).into();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("key-a".into());
        let jwt = jsonwebtoken::encode(&header, &claims, &shared.keys.a).expect("sign");
        fragment.append_pair("id_token", &jwt);
    }
    let mut target = url::Url::parse(redirect).expect("redirect_uri");
    target.set_fragment(Some(&fragment.finish()));
    respond(stream, 302, &[("location", target.to_string())], b"");
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// The claims of a well-formed id_token for `client`.
fn id_token_claims(shared: &Shared, client: &str, nonce: Option<&str>) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": shared.issuer,
        "sub": "eve",
        "aud": client,
        "exp": now + 600,
        "iat": now,
        "email": EMAIL,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = nonce.into();
    }
    claims
}

/// The id_token for `client`, with the client's defect.
fn id_token(shared: &Shared, client: &str, nonce: Option<&str>, refresh: bool) -> String {
    let now = now();
    let mut claims = id_token_claims(shared, client, nonce);
    if let Some(tid) = shared.options.entra_tid {
        claims["iss"] = format!("{}/{ENTRA_TENANT}/v2.0", shared.issuer).into();
        claims["tid"] = tid.into();
    }
    let mut alg = Algorithm::RS256;
    let mut kid = "key-a";
    let keys = &shared.keys;
    let mut key = &keys.a;
    let hs_key;
    // Refresh defects only bite on refresh; the sign-in before them is well-behaved.
    let defect = match (client, refresh) {
        ("refresh-bad-signature" | "refresh-sub-change" | "refresh-unknown-kid", false) => "",
        ("refresh-bad-signature", true) => "bad-signature",
        // Signed with key B, which only a fresh key set (after `rotate`) has.
        ("refresh-unknown-kid", true) => "rotated",
        (c, _) => c,
    };
    match defect {
        "bad-signature" => key = &keys.b,
        "alg-none" => {
            return format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "kid": "key-a"})),
                b64(&claims)
            );
        }
        "hs256-public-key" => {
            hs_key = EncodingKey::from_secret(&keys.public_pem);
            key = &hs_key;
            alg = Algorithm::HS256;
        }
        "wrong-aud" => claims["aud"] = "someone-else".into(),
        "wrong-iss" => claims["iss"] = "https://evil.example".into(),
        "expired" => {
            claims["exp"] = (now - 3600).into();
            claims["iat"] = (now - 7200).into();
        }
        "future-iat" => {
            claims["iat"] = (now + 3600).into();
            claims["exp"] = (now + 7200).into();
        }
        "nonce-mismatch" => claims["nonce"] = "not-the-nonce-you-sent".into(),
        "nonce-missing" => {
            claims.as_object_mut().unwrap().remove("nonce");
        }
        "unknown-kid" | "rotated" => {
            key = &keys.b;
            kid = "key-b";
        }
        "good-es256" => {
            key = &keys.ec;
            alg = Algorithm::ES256;
            kid = "key-ec";
        }
        "refresh-sub-change" => claims["sub"] = "mallory".into(),
        _ => {}
    }
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, &claims, key).expect("sign")
}

/// A well-formed token response for `client`. Client `refresh-no-rotation` gets no new refresh
/// token on refresh (its old one stays valid, RFC 6749 §6).
fn token_body(shared: &Shared, client: &str, nonce: Option<&str>, refresh: bool) -> Value {
    let refresh_token = next(shared, "refresh");
    shared
        .refresh
        .lock()
        .unwrap()
        .insert(refresh_token.clone(), client.to_string());
    let mut body = json!({
        "access_token": next(shared, "access"),
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": refresh_token,
        "id_token": id_token(shared, client, nonce, refresh),
    });
    if client == "garbage-id-token" {
        body["id_token"] = "not-a-jwt-at-all".into();
    }
    if client == "refresh-no-rotation" && refresh {
        let rt = body
            .as_object_mut()
            .unwrap()
            .remove("refresh_token")
            .unwrap();
        shared.refresh.lock().unwrap().remove(rt.as_str().unwrap());
    }
    body
}

fn token(shared: &Shared, stream: &mut TcpStream, req: &HttpRequest) {
    if req.method != "POST" {
        respond(stream, 405, &[], b"");
        return;
    }
    let (client, nonce, refresh) = match req.form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = req.form.get("code").cloned().unwrap_or_default();
            match shared.codes.lock().unwrap().remove(&code) {
                Some((client, nonce)) => (client, nonce, false),
                None => {
                    json_response(stream, 400, &json!({"error": "invalid_grant"}));
                    return;
                }
            }
        }
        // RFC 6749 §4.3: one user, one password.
        Some("password") => {
            let client = req.form.get("client_id").cloned().unwrap_or_default();
            let user = req.form.get("username").map(String::as_str);
            let password = req.form.get("password").map(String::as_str);
            if user != Some("eve") || password != Some(PASSWORD) {
                json_response(
                    stream,
                    400,
                    &json!({"error": "invalid_grant", "error_description": "wrong username or password"}),
                );
                return;
            }
            (client, None, false)
        }
        Some("refresh_token") => {
            let rt = req.form.get("refresh_token").cloned().unwrap_or_default();
            let mut live = shared.refresh.lock().unwrap();
            match live.remove(&rt) {
                // Without rotation the refresh token stays valid.
                Some(client) if client == "refresh-no-rotation" => {
                    live.insert(rt, client.clone());
                    (client, None, true)
                }
                Some(client) => (client, None, true),
                None => {
                    json_response(stream, 400, &json!({"error": "invalid_grant"}));
                    return;
                }
            }
        }
        _ => {
            json_response(stream, 400, &json!({"error": "unsupported_grant_type"}));
            return;
        }
    };
    let nonce = nonce.as_deref();
    let secretish = "secret-access-token-0123456789abcdef";
    match client.as_str() {
        "token-redirect" if req.path == "/token" => {
            // Put the code back so the redirected request could redeem it: 307 keeps the POST
            // and its body, so a client that follows it would sign in.
            let code = req.form.get("code").cloned().unwrap_or_default();
            shared
                .codes
                .lock()
                .unwrap()
                .insert(code, (client.clone(), nonce.map(str::to_string)));
            respond(
                stream,
                307,
                &[("location", format!("{}/token-elsewhere", shared.issuer))],
                b"",
            );
        }
        "huge-body" => {
            // A valid response padded to 20 MB, streamed without a Content-Length.
            let mut body = token_body(shared, &client, nonce, refresh);
            body["padding"] = "x".repeat(20 << 20).into();
            let bytes = serde_json::to_vec(&body).unwrap();
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            for chunk in bytes.chunks(64 << 10) {
                if stream.write_all(chunk).is_err() {
                    break;
                }
            }
        }
        "slow" => {
            // "Sleeps for minutes": holds the connection open, says nothing.
            std::thread::sleep(Duration::from_secs(240));
            json_response(stream, 200, &token_body(shared, &client, nonce, refresh));
        }
        "html-500" => respond(
            stream,
            500,
            &[("content-type", "text/html".into())],
            b"<html><body><h1>Internal Server Error</h1><p>upstream exploded</p></body></html>",
        ),
        "not-json" => respond(
            stream,
            200,
            &[("content-type", "text/plain".into())],
            b"welcome to the token endpoint",
        ),
        "truncated" => respond(
            stream,
            200,
            &[("content-type", "application/json".into())],
            format!(r#"{{"access_token":"{secretish}","token_type":"Bea"#).as_bytes(),
        ),
        "no-access-token" => json_response(
            stream,
            200,
            &json!({"token_type": "Bearer", "expires_in": 3600, "refresh_token": secretish}),
        ),
        // Signs in normally; its refresh answers rotate the refresh token but are unusable.
        "refresh-mac" if refresh => {
            let mut body = token_body(shared, &client, nonce, refresh);
            body["token_type"] = "MAC".into();
            body["mac_key"] = MAC_KEY.into();
            json_response(stream, 200, &body);
        }
        // A token that would add a header line and write to the terminal where printed.
        "control-token" => json_response(
            stream,
            200,
            &json!({"access_token": format!("{secretish}\r\nX-Injected: 1\u{1b}]0;T\u{7}"), "token_type": "Bearer", "expires_in": 3600}),
        ),
        "mac" => json_response(
            stream,
            200,
            &json!({"access_token": secretish, "token_type": "MAC", "mac_key": MAC_KEY, "mac_algorithm": "hmac-sha-256"}),
        ),
        _ => json_response(stream, 200, &token_body(shared, &client, nonce, refresh)),
    }
}

//! Provider quirks no local authorization server has, each against a small local server that
//! answers exactly as the provider documents it: GitHub's token endpoint (JSON or form-encoded
//! answers, errors with HTTP 200, lowercase `bearer`, comma-separated scopes), Microsoft's
//! v1-style string `expires_in`, and Entra's multi-tenant `{tenantid}` issuer.

use crate::fakeas::{EMAIL, FakeAs, Options};
use crate::util::*;

/// A GitHub-like OAuth App: `/login/oauth/authorize` redirects straight back with a code and
/// the state (the user already approved), `/login/oauth/access_token` answers with `token`.
/// https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
fn github(token: Canned) -> FaultServer {
    FaultServer::handle(move |_, req| match req.path.as_str() {
        "/login/oauth/authorize" => {
            let mut target = url::Url::parse(&req.query["redirect_uri"]).unwrap();
            target
                .query_pairs_mut()
                .append_pair("code", "gh-code-4242")
                .append_pair("state", &req.query["state"]);
            let redirect = Canned::new(302, "text/html", "");
            (redirect, vec![("location", target.to_string())])
        }
        "/login/oauth/access_token" => (token.clone(), vec![]),
        _ => (Canned::not_found(), vec![]),
    })
}

/// `profile add --preset github` pointed at the local server.
fn add_github(env: &Env, server: &FaultServer, name: &str) {
    let flags = "--preset github --client-id Iv1.quirks --client-secret-stdin";
    env.cli_stdin(
        &format!("profile add {name} {flags} {}", github_endpoints(server)),
        "gh-client-secret-value",
    )
    .success();
}

/// The `--authorize-url` and `--token-url` flags for the GitHub-like server.
fn github_endpoints(server: &FaultServer) -> String {
    let base = &server.base;
    format!(
        "--authorize-url {base}/login/oauth/authorize --token-url {base}/login/oauth/access_token"
    )
}

/// The code exchange sent what GitHub documents: a form POST with client id, secret and code,
/// asking for JSON.
#[track_caller]
fn assert_github_exchange(server: &FaultServer) {
    let requests = server.requests_to("/login/oauth/access_token");
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.headers["accept"], "application/json");
    assert_eq!(r.form["code"], "gh-code-4242");
    assert_eq!(r.form["client_id"], "Iv1.quirks");
    assert_eq!(r.form["client_secret"], "gh-client-secret-value");
    assert!(r.form.contains_key("redirect_uri"), "{r:?}");
}

#[test]
fn github_json_answer_with_lowercase_bearer_and_comma_scopes_signs_in() {
    let server = github(Canned::json(
        r#"{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","scope":"repo,gist","token_type":"bearer"}"#,
    ));
    let env = Env::new();
    add_github(&env, &server, "gh-json");
    env.login("gh-json").success();
    assert_github_exchange(&server);
    assert_eq!(
        env.token(&["gh-json"]),
        "gho_16C7e42F292c6912E7710c838347Ae178B4a"
    );
    let accounts = env.accounts();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["account"], "gh-json/default");
    // GitHub separates granted scopes with commas; they are two scopes, not one.
    assert_eq!(accounts[0]["scopes"], serde_json::json!(["repo", "gist"]));
    // A classic OAuth App token does not expire and comes without a refresh token.
    assert!(accounts[0]["expires_in"].is_null(), "{accounts:?}");
    env.assert_not_on_disk("gho_16C7e42F292c6912E7710c838347Ae178B4a");
}

#[test]
fn github_form_encoded_answer_signs_in() {
    // What GitHub answers when the request does not ask for JSON.
    let server = github(Canned::new(
        200,
        "application/x-www-form-urlencoded; charset=utf-8",
        "access_token=gho_formEncodedTokenValue0123&scope=repo%2Cgist&token_type=bearer",
    ));
    let env = Env::new();
    add_github(&env, &server, "gh-form");
    env.login("gh-form").success();
    assert_github_exchange(&server);
    assert_eq!(env.token(&["gh-form"]), "gho_formEncodedTokenValue0123");
    assert_eq!(
        env.accounts()[0]["scopes"],
        serde_json::json!(["repo", "gist"])
    );
}

#[test]
fn github_bad_verification_code_with_http_200_is_an_error() {
    let server = github(Canned::json(
        r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}"#,
    ));
    let env = Env::new();
    add_github(&env, &server, "gh-bad");
    env.login("gh-bad").fails_with(
        5,
        &[
            "bad_verification_code",
            "The code passed is incorrect or expired.",
            "troubleshooting-oauth-app-access-token-request-errors",
        ],
    );
    env.assert_no_account("gh-bad", &["default"]);
}

#[test]
fn a_string_expires_in_like_microsofts_v1_endpoint_is_understood() {
    // Azure AD v1 token responses carry every number as a string.
    let server = github(Canned::json(
        r#"{"token_type":"Bearer","scope":"user_impersonation","expires_in":"3599","ext_expires_in":"3599","expires_on":"4102444800","not_before":"1700000000","resource":"https://management.core.windows.net/","access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.v1-access","refresh_token":"0.AAAA-v1-refresh-token-value"}"#,
    ));
    let env = Env::new();
    let client = "--client-id 11111111-2222-3333-4444-555555555555 --scope user_impersonation";
    let endpoints = github_endpoints(&server);
    env.cli(&format!("profile add ms-v1 {endpoints} {client}"))
        .success();
    env.login("ms-v1").success();
    let accounts = env.accounts();
    let expires_in = accounts[0]["expires_in"].as_i64().unwrap();
    assert!((3500..=3599).contains(&expires_in), "{accounts:?}");
    assert_eq!(accounts[0]["has_refresh_token"], true, "{accounts:?}");
    let tokens = stored_tokens(&env, "ms-v1/default");
    assert_eq!(
        tokens.refresh_token.unwrap().secret(),
        "0.AAAA-v1-refresh-token-value"
    );
}

/// Entra's multi-tenant discovery (`…/common/v2.0`) names the issuer
/// `https://login.microsoftonline.com/{tenantid}/v2.0`; the id_token's `iss` carries the real
/// tenant, and so does its `tid` claim.
fn entra(name: &str, tid_claim: &'static str) -> (FakeAs, Env) {
    let server = FakeAs::with(Options {
        entra_tid: Some(tid_claim),
        ..Options::default()
    });
    let issuer = format!("{}/common/v2.0", server.issuer);
    let env = Env::with_oidc_profile(&issuer, name, "entra-client");
    (server, env)
}

#[test]
fn entra_common_accepts_an_id_token_from_the_users_tenant() {
    let (server, env) = entra("entra", crate::fakeas::ENTRA_TENANT);
    let p = env.profile_json("entra");
    assert_eq!(
        p["issuer"],
        format!("{}/{{tenantid}}/v2.0", server.issuer),
        "the profile keeps the template"
    );
    env.login("entra")
        .says(&[&format!("Signed in: entra/{EMAIL}")]);
    assert_eq!(server.hits("/token"), 1);
}

#[test]
fn entra_refuses_an_id_token_whose_tid_is_another_tenant() {
    let (server, env) = entra("entra-other", "99999999-8888-7777-6666-555555555555");
    env.login("entra-other")
        .fails_with(5, &["entra-other", "iss"]);
    assert!(env.accounts().is_empty());
    assert_eq!(server.hits("/token"), 1);
}

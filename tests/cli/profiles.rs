//! `latchkey profile …`: discovery, validation, removal. Failures write nothing.

use crate::util::*;

#[test]
fn discovery_fills_the_profile_from_the_issuer() {
    let (server, env) = with_profile("disc", "public-app");
    let p = env.profile_json("disc");
    assert_eq!(p["issuer"], server.issuer.as_str());
    assert_eq!(p["token_endpoint"], format!("{}/token", server.issuer));
    assert_eq!(
        p["revocation_endpoint"],
        format!("{}/token/revocation", server.issuer)
    );
    assert_eq!(p["auth_method"], "none");
    assert!(
        p["redirect_uri"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1/callback")
    );
    let list = env.run(&["profile", "list"]);
    let row: Vec<&str> = list
        .success()
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[..2], ["disc", "public-app"], "{list:?}");
    // The file is plain TOML a person can read.
    let text = std::fs::read_to_string(env.config_dir().join("profiles.toml")).unwrap();
    assert!(
        text.contains("[profiles.disc]") && text.contains("client_id = \"public-app\""),
        "{text}"
    );
    // Adding it twice is refused.
    let again = format!("profile add disc --issuer {} --client-id x", server.issuer);
    env.cli(&again).fails_with(2, &["already exists"]);
}

#[test]
fn an_issuer_that_does_not_match_its_document_is_refused() {
    let fault = FaultServer::start(vec![(
        "/tenant/.well-known/openid-configuration",
        Canned::json(
            r#"{"issuer":"https://evil.example/tenant","authorization_endpoint":"{base}/auth","token_endpoint":"{base}/token"}"#,
        ),
    )]);
    let env = Env::new();
    let issuer = format!("{}/tenant", fault.base);
    let out = env.cli(&format!(
        "profile add mismatch --issuer {issuer} --client-id c"
    ));
    out.fails_with(
        5,
        &["https://evil.example/tenant", "exactly the issuer given"],
    );
    assert!(
        !env.config_dir().join("profiles.toml").exists(),
        "nothing written"
    );
}

#[test]
fn rfc8414_metadata_is_found_when_there_is_no_oidc_document() {
    let fault = FaultServer::start(vec![(
        "/.well-known/oauth-authorization-server/as",
        Canned::json(
            r#"{"issuer":"{base}/as","authorization_endpoint":"{base}/as/authorize","token_endpoint":"{base}/as/token","code_challenge_methods_supported":["S256"]}"#,
        ),
    )]);
    let env = Env::new();
    let issuer = format!("{}/as", fault.base);
    env.cli(&format!(
        "profile add rfc8414 --issuer {issuer} --client-id c"
    ))
    .success();
    let p = env.profile_json("rfc8414");
    assert_eq!(p["token_endpoint"], format!("{}/as/token", fault.base));
}

#[test]
fn bad_endpoints_and_unreachable_issuers_are_clear_errors() {
    let env = Env::new();
    env.cli("profile add plain --issuer http://example.com --client-id c")
        .fails_with(2, &["https", "127.0.0.1"]);
    env.cli(
        "profile add plain --authorize-url https://example.com/a \
         --token-url http://example.com/t --client-id c",
    )
    .fails_with(2, &["token endpoint", "https"]);
    env.cli("profile add down --issuer http://127.0.0.1:9 --client-id c")
        .fails_with(6, &["127.0.0.1:9"]);
    env.cli("profile add a/b --issuer https://x.example --client-id c")
        .fails_with(2, &["no `/`"]);
    env.cli(&format!(
        "profile add sec {EXAMPLE_ENDPOINTS} --client-id c --auth-method basic"
    ))
    .fails_with(2, &["--client-secret-stdin"]);
    env.run(&["profile", "show", "nope"])
        .fails_with(3, &["nope", "profile list"]);
    // Usage errors from argument parsing share the usage exit code.
    assert_eq!(env.run(&["profile", "add", "x"]).code, 2);
    assert!(!env.config_dir().join("profiles.toml").exists());
}

#[test]
fn removing_a_profile_needs_yes_and_deletes_its_keychain_entries() {
    let server = AuthServer::start();
    let env = Env::new();
    env.add_profile(&server, "gone", "conf-post", Some("post-secret-123"));
    env.login("gone").success();
    let account = account(&env, "gone");

    env.run(&["profile", "remove", "gone"])
        .fails_with(2, &["--yes"]);
    assert_eq!(env.accounts().len(), 1, "nothing removed without --yes");

    env.run(&["profile", "remove", "gone", "--yes"]).success();
    assert!(env.accounts().is_empty());
    env.run(&["profile", "show", "gone"]).fails_with(3, &[]);
    let keychain = keychain_of(&env);
    assert!(
        block_on(keychain.get(&account.keychain_key()))
            .unwrap()
            .is_none()
    );
    assert!(
        block_on(keychain.get("client-secret:gone"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_issuer_without_scope_gets_openid_and_offline_access() {
    let server = AuthServer::start();
    let env = Env::new();
    env.cli(&format!(
        "profile add plain --issuer {} --client-id public-app",
        server.issuer
    ))
    .says(&["openid offline_access"]);
    assert_eq!(
        env.profile_json("plain")["scopes"],
        serde_json::json!(["openid", "offline_access"])
    );
    env.login("plain")
        .says(&["Signed in: plain/", "with a refresh token"]);
}

#[test]
fn profile_set_changes_scopes_in_place_and_keeps_the_accounts() {
    let (server, env) = signed_in("edit");
    let path = env.config_dir().join("profiles.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("# my note\n{text}")).unwrap();
    env.cli("profile set edit --scope 'openid email'").success();
    assert_eq!(
        env.profile_json("edit")["scopes"],
        serde_json::json!(["openid", "email"])
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("# my note\n")
    );
    assert_eq!(env.accounts().len(), 1);
    assert_accepted_for_alice(&server, &env.token(&["edit"]));
    env.cli("profile set edit --ca-file /nonexistent.pem")
        .fails_with(2, &["/nonexistent.pem"]);
}

//! Provider presets (`latchkey presets`, `profile add --preset`) and extra request parameters.

use crate::util::*;

#[test]
fn built_in_presets_fill_profiles() {
    // `latchkey presets` and its JSON: src/cli/presets.rs's tests.
    let env = Env::new();
    // GitHub has no discovery: the preset alone makes the profile, no network needed.
    let github = "profile add gh --preset github --client-id Iv1.abc --client-secret-stdin";
    env.cli_stdin(github, "gh-secret-value").success();
    let p = env.profile_json("gh");
    assert_eq!(
        p["token_endpoint"],
        "https://github.com/login/oauth/access_token"
    );
    assert_eq!(
        p["device_authorization_endpoint"],
        "https://github.com/login/device/code"
    );
    assert_eq!(p["auth_method"], "post");
    assert_eq!(p["scopes"], serde_json::json!(["read:user"]));
    env.assert_not_on_disk("gh-secret-value");
    // Explicit flags override the preset.
    env.cli_stdin(
        "profile add gh2 --preset github --client-id x --client-secret-stdin --scope repo \
         --auth-method basic --auth-param allow_signup=false",
        "s",
    )
    .success();
    let p = env.profile_json("gh2");
    assert_eq!(p["scopes"], serde_json::json!(["repo"]));
    assert_eq!(p["auth_method"], "basic");
    assert_eq!(p["extra_authorize_params"]["allow_signup"], "false");

    // Google's desktop clients need their secret; unknown presets and settings are usage errors.
    env.cli("profile add g --preset google --client-id x")
        .fails_with(2, &["google", "--client-secret-stdin"]);
    env.cli("profile add n --preset nope --client-id x")
        .fails_with(2, &["no preset `nope`", "github"]);
    env.cli("profile add t --preset github --tenant x --client-id x")
        .fails_with(2, &["no `--tenant` setting"]);
}

#[test]
fn a_user_preset_signs_in_against_the_test_server() {
    let server = AuthServer::start();
    let env = Env::new();
    let dir = env.config_dir().join("presets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("local.toml"),
        r#"title = "Local test server"
issuer = "{base_url}"
scopes = ["openid", "email", "offline_access"]

[variables.base_url]
help = "the server URL"

[extra_authorize_params]
ui_locales = "en"
"#,
    )
    .unwrap();
    let local = "profile add l --preset local --client-id public-app";
    env.cli(local).fails_with(2, &["needs --base-url"]);
    env.cli(&format!("{local} --base-url {}", server.issuer))
        .success();
    let p = env.profile_json("l");
    assert_eq!(p["issuer"], server.issuer.as_str());
    assert_eq!(p["extra_authorize_params"]["ui_locales"], "en");
    env.login("l").says(&["with a refresh token"]);
}

#[test]
fn extra_authorization_parameters_reach_the_authorization_url() {
    let server = AuthServer::start();
    let env = Env::new();
    let issuer = &server.issuer;
    env.cli(&format!(
        "profile add hint --issuer {issuer} --client-id public-app --scope 'openid email' \
         --auth-param login_hint=bob@example.test --auth-param prompt=login \
         --token-param resource=https://api.example.test"
    ))
    .success();
    let text = std::fs::read_to_string(env.config_dir().join("profiles.toml")).unwrap();
    assert!(
        text.contains("[profiles.hint.extra_authorize_params]")
            && text.contains("login_hint = \"bob@example.test\""),
        "{text}"
    );
    let out = env.run(&["login", "hint", "--no-browser", "--timeout", "1"]);
    out.fails_with(8, &[]);
    let url = url::Url::parse(out.stdout.trim()).expect("authorization URL on stdout");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["login_hint"], "bob@example.test");
    assert_eq!(q["prompt"], "login");
    assert_eq!(q["code_challenge_method"], "S256");

    // The token parameter goes with the code exchange: this server has resource indicators off
    // and refuses `resource`, which shows it arrived (and that the refusal is reported).
    env.login("hint").fails_with(5, &["invalid_target"]);
    assert!(env.accounts().is_empty());

    // Parameters Latchkey sets itself cannot be replaced.
    for bad in ["state=fixed", "code_challenge=x", "scope=admin"] {
        let add = format!("profile add bad --issuer {issuer} --client-id public-app");
        env.cli(&format!("{add} --auth-param {bad}"))
            .fails_with(2, &["set by Latchkey itself"]);
    }
    env.cli(&format!(
        "profile add bad --issuer {issuer} --client-id x --auth-param novalue"
    ))
    .fails_with(2, &["KEY=VALUE"]);
}

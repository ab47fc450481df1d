//! `latchkey profile`'s unit tests: its output on an engine with keyring-core's mock keychain.

use super::*;

#[test]
fn profile_add_says_which_scopes_it_chose() {
    let profile = Profile {
        scopes: vec!["openid".into(), "offline_access".into()],
        ..Profile::for_tests("test")
    };
    assert_eq!(
        chosen_scopes(&profile, false),
        "Scopes: openid offline_access (chosen from what the provider's discovery lists); change them with `latchkey profile set test --scope '…'`."
    );
    assert!(chosen_scopes(&profile, true).contains("(the preset's)"));
    let none = Profile::for_tests("api");
    assert!(chosen_scopes(&none, false).starts_with("Scopes: none"));
}

#[test]
fn profile_list_has_a_header_and_json_keeps_the_redirect_uri_a_uri() {
    let profiles = [Profile::for_tests("github"), Profile::for_tests("a")];
    let text = list_table(&profiles, &[Some(SecretState::Stored), None]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{text}");
    assert_eq!(lines.len(), 3);
    let at = lines[0].find("CLIENT ID").unwrap();
    assert_eq!(lines[1].find("client"), Some(at), "{text}");
    let json = profile_json(&profiles[0], None);
    let uri = json["redirect_uri"].as_str().unwrap();
    assert_eq!(url::Url::parse(uri).unwrap().as_str(), uri);
    assert!(
        json["redirect_uri_note"]
            .as_str()
            .unwrap()
            .contains("any port")
    );
}

mod verbs {
    use super::*;
    use crate::cli::testing::{
        Captured, ClosedPipe, add_account, add_profile, engine, engine_with_account,
        engine_with_profile,
    };

    async fn profile(engine: &Latchkey, command: ProfileCommand) -> (Result<()>, Captured) {
        let mut c = Captured::default();
        let result = run(engine, command, &mut c.io()).await;
        (result, c)
    }

    fn show(name: &str, json: bool, jwks: bool) -> ProfileCommand {
        ProfileCommand::Show {
            name: name.into(),
            json,
            jwks,
        }
    }

    #[tokio::test]
    async fn list_shows_each_profiles_client_secret_and_json_the_same() {
        let engine = engine();
        let (result, c) = profile(&engine, ProfileCommand::List { json: false }).await;
        result.unwrap();
        assert_eq!(c.out(), "");
        assert_eq!(
            c.err(),
            "No profiles yet. Add one with `latchkey profile add NAME --issuer URL --client-id ID`.\n"
        );
        add_profile(&engine, "work", None).await;
        add_profile(&engine, "signed", Some(AuthMethod::PrivateKeyJwt)).await;
        let (result, c) = profile(&engine, ProfileCommand::List { json: false }).await;
        result.unwrap();
        assert_eq!(
            c.out(),
            "\
NAME    CLIENT ID  PROVIDER                      CLIENT SECRET
signed  client     https://as.example/authorize  stored
work    client     https://as.example/authorize  none
"
        );
        let (result, c) = profile(&engine, ProfileCommand::List { json: true }).await;
        result.unwrap();
        let all: serde_json::Value = serde_json::from_str(&c.out()).unwrap();
        assert_eq!(all[0]["name"], "signed");
        assert_eq!(all[0]["auth_method"], "private-key-jwt");
        assert_eq!(all[0]["client_secret"], "stored");
        assert_eq!(all[1]["client_secret"], "none");
        assert_eq!(all[1]["redirect_uri"], "http://127.0.0.1/callback");
    }

    #[tokio::test]
    async fn show_lists_every_setting_with_the_redirect_uri_to_register() {
        let engine = engine_with_profile("work").await;
        let (result, c) = profile(&engine, show("work", false, false)).await;
        result.unwrap();
        assert_eq!(
            c.out(),
            "\
name:                   work
client id:              client
client secret:          none (public client)
client registration:    client (pre-registered)
auth method:            none
issuer:                 -
authorization endpoint: https://as.example/authorize
token endpoint:         https://as.example/token
revocation endpoint:    -
userinfo endpoint:      -
scopes:                 read
grant:                  authorization-code
device authorization:   -
authorization params:   -
token params:           -
proxy:                  - (HTTPS_PROXY, ALL_PROXY or none)
CA file:                - (the system's CAs)
redirect:               loopback
redirect URI:           http://127.0.0.1/callback (any port, RFC 8252 §7.3)
"
        );
        assert_eq!(c.err(), "");
        let (result, c) = profile(&engine, show("work", true, false)).await;
        result.unwrap();
        let json: serde_json::Value = serde_json::from_str(&c.out()).unwrap();
        assert_eq!(c.out().lines().count(), 1);
        assert_eq!(json["scopes"], serde_json::json!(["read"]));
        assert_eq!(json["client_registration"]["method"], "pre-registered");
        assert_eq!(json["loopback_endpoints"], false);
        let (result, c) = profile(&engine, show("wrok", false, false)).await;
        assert_eq!(result.unwrap_err().kind(), latchkey::ErrorKind::NotFound);
        assert_eq!(c.out(), "");
    }

    #[tokio::test]
    async fn jwks_prints_the_public_half_of_a_generated_key_only() {
        let engine = engine();
        add_profile(&engine, "signed", Some(AuthMethod::PrivateKeyJwt)).await;
        let (result, c) = profile(&engine, show("signed", false, true)).await;
        result.unwrap();
        let jwks: serde_json::Value = serde_json::from_str(&c.out()).unwrap();
        let keys = jwks["keys"].as_array().expect("a JWKS");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["kty"], "EC");
        assert_eq!(keys[0]["crv"], "P-256");
        assert!(keys[0].get("d").is_none(), "the private key is printed");
        assert!(c.out().lines().count() > 1, "pretty-printed");
        // The same key on every call: it is the one in the keychain.
        let (_, again) = profile(&engine, show("signed", false, true)).await;
        assert_eq!(again.out(), c.out());
        let (result, c) = profile(&engine, show("signed", false, false)).await;
        result.unwrap();
        assert!(
            c.out()
                .contains("\nclient key:             in the OS keychain (ES256, kid ")
                && c.out().contains("`latchkey profile show signed --jwks`")
                && c.out()
                    .contains("\nauth method:            private-key-jwt\n"),
            "{}",
            c.out()
        );

        add_profile(&engine, "public", None).await;
        let (result, c) = profile(&engine, show("public", false, true)).await;
        let e = result.expect_err("no key");
        assert_eq!(e.kind(), latchkey::ErrorKind::Usage);
        assert_eq!(
            e.to_string(),
            "profile `public` authenticates with `none`, not a private key: it has no JWKS"
        );
        assert_eq!(c.out(), "");
    }

    #[tokio::test]
    async fn remove_says_how_many_accounts_went_with_the_profile() {
        let engine = engine_with_account("work/alice").await;
        add_account(&engine, "work/bob", |_| {});
        let (result, c) = profile(
            &engine,
            ProfileCommand::Remove {
                name: "work".into(),
                yes: true,
                no_revoke: false,
            },
        )
        .await;
        result.unwrap();
        assert_eq!(c.out(), "Removed profile `work` and its 2 accounts.\n");
        assert_eq!(c.err(), "");
        assert!(engine.profiles().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_closed_stdout_ends_show_and_list_quietly() {
        let engine = engine_with_profile("work").await;
        for command in [
            show("work", false, false),
            show("work", true, false),
            ProfileCommand::List { json: false },
        ] {
            let mut pipe = ClosedPipe(std::io::ErrorKind::BrokenPipe);
            let mut err = Vec::new();
            let io = &mut Io {
                out: &mut pipe,
                err: &mut err,
            };
            let result = crate::cli::io::finish(run(&engine, command, io).await);
            assert!(result.is_ok(), "{result:?}");
            assert!(err.is_empty());
        }
    }
}

mod set_and_share {
    use super::*;
    use crate::cli::testing::{Captured, engine_with_profile, temp_dir};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ProfileCommand,
    }

    async fn profile(engine: &Latchkey, argv: &[&str]) -> (Result<()>, Captured) {
        let cli = Cli::try_parse_from(std::iter::once("profile").chain(argv.iter().copied()))
            .expect("parsed");
        let mut c = Captured::default();
        let result = run(engine, cli.command, &mut c.io()).await;
        (result, c)
    }

    #[tokio::test]
    async fn set_says_what_changed_and_when_scopes_apply() {
        let engine = engine_with_profile("work").await;
        let (result, c) = profile(&engine, &["set", "work", "--scope", "read, write"]).await;
        result.unwrap();
        assert_eq!(
            c.out(),
            "Changed profile `work`.\nScopes: read write (from the next sign-in: `latchkey login work`).\n"
        );
        let (result, c) = profile(
            &engine,
            &["set", "work", "--proxy", "http://proxy.example:3128"],
        )
        .await;
        result.unwrap();
        assert_eq!(c.out(), "Changed profile `work`.\n");
        let (result, c) = profile(&engine, &["set", "work"]).await;
        let e = result.expect_err("nothing to change");
        assert_eq!(e.kind(), latchkey::ErrorKind::Usage);
        assert!(
            e.to_string().starts_with("nothing to change: give --scope"),
            "{e}"
        );
        assert_eq!(c.out(), "");
    }

    #[tokio::test]
    async fn export_prints_the_shared_file_and_import_says_what_it_did() {
        let engine = engine_with_profile("work").await;
        let (result, c) = profile(&engine, &["export", "work"]).await;
        result.unwrap();
        let text = c.out();
        assert!(text.contains("[profiles.work]"), "{text}");
        assert_eq!(c.err(), "");
        let file = temp_dir("share").join("team.toml");
        let (result, c) = profile(&engine, &["export", "-o", file.to_str().unwrap()]).await;
        result.unwrap();
        assert_eq!(c.out(), "");
        assert_eq!(
            c.err(),
            format!(
                "Exported to {} (no client secret, no account).\n",
                file.display()
            )
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

        let other = crate::cli::testing::engine();
        let (result, c) = profile(&other, &["import", file.to_str().unwrap()]).await;
        result.unwrap();
        assert_eq!(c.out(), "Imported profile `work`.\n");
        let (result, c) = profile(&other, &["import", file.to_str().unwrap(), "--replace"]).await;
        result.unwrap();
        assert_eq!(c.out(), "Replaced profile `work`.\n");
        let (result, c) = profile(&other, &["import", file.to_str().unwrap()]).await;
        let e = result.expect_err("exists");
        assert!(
            crate::cli::hint::render(&e).ends_with(
                "Pass --replace to replace, or import under other names with --rename work=NEW"
            ),
            "{e}"
        );
        assert_eq!(c.out(), "");
    }
}

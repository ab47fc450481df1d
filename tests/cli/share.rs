//! `latchkey profile export|import`: profiles shared with a team as a file or a URL. An
//! import writes all of its profiles or none.

use serde_json::Value;

use crate::util::*;

const POST_SECRET: &str = "post-secret-123";

/// `profile show NAME --json` without where the secret stands (it is not shared).
fn shared_view(env: &Env, name: &str) -> Value {
    let mut p = env.profile_json(name);
    p.as_object_mut().unwrap().remove("client_secret");
    p
}

/// A world with a confidential profile `NAME-team` (secret stored) and a public one `NAME-pub`
/// of the test server, and `NAME-manual` with hand-given endpoints and extra parameters. The
/// private keyring is one for the whole run, so each test takes names of its own.
fn team_env(server: &AuthServer, prefix: &str) -> Env {
    let env = Env::new();
    env.add_profile(
        server,
        &format!("{prefix}-team"),
        "conf-post",
        Some(POST_SECRET),
    );
    env.add_profile(server, &format!("{prefix}-pub"), "public-app", None);
    env.cli(&format!(
        "profile add {prefix}-manual {EXAMPLE_ENDPOINTS} --client-id m --scope 'read write' \
         --auth-param login_hint=team@example.com --token-param audience=https://api.example.com"
    ))
    .success();
    env
}

/// Another machine: the keyring is shared by every test of the run, so `env` removes its
/// profile (and with it the client secret from the keychain) before a teammate imports it.
fn leave_keychain(env: &Env, name: &str) {
    env.run(&["profile", "remove", name, "--yes"]).success();
}

/// `profile export NAMES…` (none: every profile), which must succeed: the file it printed.
fn export(env: &Env, names: &[&str]) -> String {
    let args = [&["profile", "export"], names].concat();
    env.run(&args).success().stdout.clone()
}

fn file_in(env: &Env, name: &str, text: &str) -> String {
    let path = env.dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn an_export_imports_into_another_world_as_it_was_without_its_secret() {
    let server = AuthServer::start();
    let alice = team_env(&server, "rt");
    let file = alice.dir.join("shared.toml");
    alice
        .run(&["profile", "export", "--output", file.to_str().unwrap()])
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(POST_SECRET),
        "the secret was exported: {text}"
    );
    alice.assert_not_on_disk(POST_SECRET);
    assert!(
        text.contains("auth_method = \"post\"")
            && text.contains("latchkey profile set-secret rt-team"),
        "{text}"
    );
    // Standard output carries the same file; names choose profiles.
    let stdout = export(&alice, &[]);
    assert_eq!(stdout, text);
    let one = export(&alice, &["rt-pub"]);
    assert!(
        one.contains("[profiles.rt-pub]") && !one.contains("[profiles.rt-team]"),
        "{one}"
    );
    alice
        .run(&["profile", "export", "nope"])
        .fails_with(3, &["nope"]);
    assert_eq!(alice.profile_json("rt-team")["client_secret"], "stored");
    let views: Vec<Value> = ["rt-team", "rt-pub", "rt-manual"]
        .iter()
        .map(|name| shared_view(&alice, name))
        .collect();
    leave_keychain(&alice, "rt-team");

    let bob = Env::new();
    bob.run(&["profile", "import", file.to_str().unwrap()])
        .says(&[
            "Imported profile `rt-team`",
            "Imported profile `rt-pub`",
            "Imported profile `rt-manual`",
            "latchkey profile set-secret rt-team",
        ]);
    for (name, view) in ["rt-team", "rt-pub", "rt-manual"].iter().zip(&views) {
        assert_eq!(&shared_view(&bob, name), view, "{name}");
    }
    assert_eq!(bob.profile_json("rt-team")["client_secret"], "missing");
    assert_eq!(bob.profile_json("rt-pub")["client_secret"], "none");
    bob.run(&["profile", "list"])
        .says(&["missing: latchkey profile set-secret rt-team"]);
    bob.run(&["profile", "show", "rt-team"])
        .says(&["missing: set it with `latchkey profile set-secret rt-team`"]);
    // Bob's export is Alice's: nothing was lost or added on the way.
    assert_eq!(export(&bob, &[]), text);
}

#[test]
fn login_without_the_imported_secret_names_set_secret_and_works_after_it() {
    let server = AuthServer::start();
    let alice = team_env(&server, "li");
    let text = export(&alice, &["li-team"]);
    assert!(!text.contains(POST_SECRET), "{text}");
    leave_keychain(&alice, "li-team");
    let bob = Env::new();
    bob.cli_stdin("profile import -", &text).success();

    bob.login("li-team").fails_with(
        2,
        &[
            "client secret of profile `li-team` is missing",
            "`latchkey profile set-secret li-team`",
        ],
    );
    assert_eq!(
        bob.browser_log(),
        "",
        "no browser before the secret is there"
    );
    assert_eq!(server.count("authorization_code"), 0);

    bob.run_with_stdin(&["profile", "set-secret", "li-team"], POST_SECRET)
        .success();
    assert_eq!(bob.profile_json("li-team")["client_secret"], "stored");
    bob.login("li-team").success();
    assert_accepted_for_alice(&server, &bob.token(&["li-team"]));
    bob.assert_not_on_disk(POST_SECRET);
}

#[test]
fn a_broken_or_invalid_import_names_file_and_line_and_writes_nothing() {
    let alice = Env::new();
    alice
        .cli(&format!(
            "profile add one {EXAMPLE_ENDPOINTS} --client-id c1 --scope read"
        ))
        .success();
    alice
        .cli(&format!(
            "profile add two {EXAMPLE_ENDPOINTS} --client-id c2"
        ))
        .success();
    let text = export(&alice, &[]);
    // Bob has a profile of his own: every refused import leaves his file as it was, byte for
    // byte, and adds no profile, not even the valid ones before the broken one.
    let bob = Env::new();
    bob.cli(&format!(
        "profile add mine {EXAMPLE_ENDPOINTS} --client-id own"
    ))
    .success();
    let profiles = bob.config_dir().join("profiles.toml");
    let before = std::fs::read(&profiles).unwrap();
    let unchanged = |what: &str| {
        assert_eq!(std::fs::read(&profiles).unwrap(), before, "{what}");
        let list = bob.run(&["profile", "list"]).success().stdout.clone();
        assert_eq!(
            list.lines().count(),
            2,
            "{what}: the header and one: {list}"
        );
    };

    // A typo in the second profile: the first is not written either.
    let typo = text.replace("client_id = \"c2\"", "clientid = \"c2\"");
    let line = typo
        .lines()
        .position(|l| l.starts_with("clientid"))
        .unwrap()
        + 1;
    let path = file_in(&bob, "typo.toml", &typo);
    bob.run(&["profile", "import", &path]).fails_with(
        2,
        &[
            &path,
            &format!("line {line}: unknown key `clientid`"),
            "did you mean `client_id`",
            "nothing was written",
        ],
    );
    unchanged("unknown key");

    // An unknown table at the top (accounts are never part of a shared file).
    let accounts = format!("{text}\n[accounts.x]\nprofile = \"one\"\n");
    let line = accounts.lines().position(|l| l == "[accounts.x]").unwrap() + 1;
    let path = file_in(&bob, "accounts.toml", &accounts);
    bob.run(&["profile", "import", &path]).fails_with(
        2,
        &[&path, &format!("line {line}:"), "unknown key `accounts`"],
    );
    unchanged("accounts table");

    // Parsed, but a profile the engine would not store.
    let invalid = text.replace("https://example.com/t", "http://example.com/t");
    let header = invalid.lines().position(|l| l == "[profiles.one]").unwrap() + 1;
    let path = file_in(&bob, "invalid.toml", &invalid);
    bob.run(&["profile", "import", &path]).fails_with(
        2,
        &[
            &format!("{path}: line {header}: profile `one`"),
            "https",
            "nothing was imported",
        ],
    );
    unchanged("invalid profile");
    let broken = file_in(&bob, "broken.toml", "[profiles.x\nclient_id = 1\n");
    bob.run(&["profile", "import", &broken])
        .fails_with(2, &[&broken, "line 1", "nothing was written"]);
    unchanged("broken TOML");
    bob.cli_stdin("profile import -", "[profiles.x]\nclient_id = \"c\"\n")
        .fails_with(2, &["standard input", "authorization_endpoint"]);
    unchanged("incomplete profile");
    let empty = file_in(&bob, "empty.toml", "# nothing\n");
    bob.run(&["profile", "import", &empty])
        .fails_with(2, &[&empty, "holds no profiles"]);
    let big = file_in(
        &bob,
        "big.toml",
        &format!("{text}\n# {}\n", "x".repeat(300 * 1024)),
    );
    bob.run(&["profile", "import", &big])
        .fails_with(2, &[&big, "larger than 262144 bytes"]);
    bob.run(&["profile", "import", "/nonexistent/shared.toml"])
        .fails_with(1, &["/nonexistent/shared.toml"]);
    // A rename of a profile the file lacks is refused before anything is written.
    let path = file_in(&bob, "good.toml", &text);
    bob.run(&["profile", "import", &path, "--rename", "three=four"])
        .fails_with(2, &["`three`", "`one`, `two`"]);
    unchanged("bad rename");

    bob.run(&["profile", "import", &path])
        .says(&["Imported profile `one`", "Imported profile `two`"]);
    let after = std::fs::read_to_string(&profiles).unwrap();
    assert!(
        after.starts_with(std::str::from_utf8(&before).unwrap()),
        "an import appends, it does not rewrite: {after}"
    );
}

#[test]
fn a_name_that_exists_conflicts_unless_replaced_or_renamed() {
    let (server, env) = signed_in("sh-work");
    let account_before = account(&env, "sh-work");
    let original = export(&env, &[]);
    // Never account data: no label, no subject, no token.
    let refresh = stored_refresh_token(&env, "sh-work");
    for absent in [account_before.label.as_str(), "alice", refresh.as_str()] {
        assert!(
            !original.contains(absent),
            "{absent:?} exported: {original}"
        );
    }
    let profiles = env.config_dir().join("profiles.toml");
    let before = std::fs::read(&profiles).unwrap();

    // The same provider, other scopes.
    let scoped = edit_shared(
        &original,
        "sh-work",
        "scopes",
        toml::Value::Array(vec!["openid".into(), "offline_access".into()]),
    );
    let path = file_in(&env, "scoped.toml", &scoped);
    env.run(&["profile", "import", &path]).fails_with(
        2,
        &[
            "profile `sh-work` already exists",
            "--replace",
            "--rename sh-work=NEW",
        ],
    );
    assert_eq!(std::fs::read(&profiles).unwrap(), before, "nothing written");

    let renamed = [
        "profile",
        "import",
        &path,
        "--rename",
        "sh-work=sh-work-copy",
    ];
    env.run(&renamed).says(&["Imported profile `sh-work-copy`"]);
    assert_eq!(env.profile_json("sh-work-copy")["scopes"][0], "openid");
    assert_eq!(
        env.profile_json("sh-work")["scopes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Renamed onto a name that exists is a conflict too.
    env.run(&renamed)
        .fails_with(2, &["`sh-work-copy` already exists"]);

    env.run(&["profile", "import", &path, "--replace"])
        .says(&["Replaced profile `sh-work`"]);
    assert_eq!(
        env.profile_json("sh-work")["scopes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        account(&env, "sh-work").label,
        account_before.label,
        "the account is kept"
    );
    assert_accepted_for_alice(&server, &env.refresh("sh-work"));

    // Another provider for a profile with accounts is refused, even with --replace.
    let moved = edit_shared(&original, "sh-work", "client_id", "device-app".into());
    let path = file_in(&env, "moved.toml", &moved);
    let kept = std::fs::read(&profiles).unwrap();
    let logout = format!("`latchkey logout sh-work/{}`", account_before.label);
    env.run(&["profile", "import", &path, "--replace"])
        .fails_with(
            2,
            &[
                "profile `sh-work` has accounts",
                "client id",
                &logout,
                "nothing was changed",
            ],
        );
    assert_eq!(std::fs::read(&profiles).unwrap(), kept, "nothing written");

    // Another grant is refused too: the accounts' tokens come from the old one.
    let machine = edit_shared(&original, "sh-work", "grant", "client-credentials".into());
    let machine = edit_shared(&machine, "sh-work", "auth_method", "post".into());
    let path = file_in(&env, "machine.toml", &machine);
    env.run(&["profile", "import", &path, "--replace"])
        .fails_with(
            2,
            &[
                "grant of profile `sh-work` cannot change",
                "nothing was imported",
            ],
        );
    assert_eq!(std::fs::read(&profiles).unwrap(), kept, "nothing written");
    // The refused import left the account as it was.
    assert_accepted_for_alice(&server, &env.refresh("sh-work"));

    // Without accounts, another client may replace a confidential profile; its old client
    // secret is deleted rather than sent to the new client's provider.
    env.add_profile(&server, "sh-conf", "conf-post", Some(POST_SECRET));
    let conf = export(&env, &["sh-conf"]);
    let other = edit_shared(&conf, "sh-conf", "client_id", "conf-other".into());
    let path = file_in(&env, "other.toml", &other);
    env.run(&["profile", "import", &path, "--replace"])
        .says(&["Replaced profile `sh-conf`", "set-secret sh-conf"]);
    assert_eq!(env.profile_json("sh-conf")["client_id"], "conf-other");
    assert_eq!(env.profile_json("sh-conf")["client_secret"], "missing");
    // The same client again keeps the secret that is set for it.
    env.run_with_stdin(&["profile", "set-secret", "sh-conf"], POST_SECRET)
        .success();
    env.run(&["profile", "import", &path, "--replace"])
        .says(&["Replaced profile `sh-conf`"]);
    assert_eq!(env.profile_json("sh-conf")["client_secret"], "stored");
    env.run(&["profile", "remove", "sh-conf", "--yes"])
        .success();
}

/// `text` (a profiles file) with `key` of profile `name` set to `value`, as a teammate's edit.
fn edit_shared(text: &str, name: &str, key: &str, value: toml::Value) -> String {
    let mut doc: toml::Table = text.parse().unwrap();
    doc["profiles"][name]
        .as_table_mut()
        .unwrap()
        .insert(key.into(), value);
    toml::to_string(&doc).unwrap()
}

#[test]
fn an_import_from_a_loopback_url_follows_no_redirect_and_has_a_size_cap() {
    let alice = Env::new();
    alice
        .cli(&format!(
            "profile add shared {EXAMPLE_ENDPOINTS} --client-id c"
        ))
        .success();
    let text = export(&alice, &[]);
    let big = format!("{text}\n# {}\n", "x".repeat(300 * 1024));
    let server = FaultServer::handle(move |base, req| match req.path.as_str() {
        "/team.toml" => (Canned::new(200, "application/toml", text.clone()), vec![]),
        "/moved" => (
            Canned::new(302, "text/plain", ""),
            vec![("location", format!("{base}/team.toml"))],
        ),
        "/big.toml" => (Canned::new(200, "application/toml", big.clone()), vec![]),
        _ => (Canned::not_found(), vec![]),
    });
    let bob = Env::new();
    let profiles = bob.config_dir().join("profiles.toml");

    bob.run(&["profile", "import", &format!("{}/moved", server.base)])
        .fails_with(5, &["302", "redirects are not followed"]);
    assert!(server.requests_to("/team.toml").is_empty(), "not followed");
    bob.run(&["profile", "import", &format!("{}/big.toml", server.base)])
        .fails_with(5, &["exceeds 262144 bytes"]);
    bob.run(&[
        "profile",
        "import",
        &format!("{}/missing.toml", server.base),
    ])
    .fails_with(5, &["404"]);
    assert!(!profiles.exists(), "nothing written");

    // Plain http elsewhere than loopback is refused before any request.
    let hits = server.hits.load(std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    bob.run(&["profile", "import", "http://example.com/team.toml"])
        .fails_with(2, &["http://example.com/team.toml", "use https"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    bob.run(&["profile", "import", "ftp://127.0.0.1/team.toml"])
        .fails_with(2, &["use https"]);
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), hits);
    assert!(!profiles.exists(), "nothing written");

    bob.run(&["profile", "import", &format!("{}/team.toml", server.base)])
        .says(&["Imported profile `shared`"]);
    assert_eq!(bob.profile_json("shared")["client_id"], "c");
}

#[test]
fn an_import_refuses_hidden_characters_in_parameters_and_show_never_prints_them() {
    let server = AuthServer::start();
    let env = team_env(&server, "bidi");
    let text = export(&env, &["bidi-manual"]);
    let profiles = env.config_dir().join("profiles.toml");
    let kept = std::fs::read(&profiles).unwrap();
    for (from, to) in [
        ("team@example.com", "team\u{202e}moc.elpmaxe@x"),
        ("login_hint =", "\"login\u{200b}hint\" ="),
        ("https://api.example.com", "https://api.example.com\u{2066}"),
    ] {
        let hostile = text.replace(from, to);
        assert_ne!(hostile, text, "{from}");
        let path = file_in(&env, "hostile.toml", &hostile);
        let out = env.run(&["profile", "import", &path, "--replace"]);
        out.fails_with(2, &["hostile.toml", "invisible"]);
        assert!(!out.stderr.contains(to), "printed raw: {out:#?}");
        assert_eq!(std::fs::read(&profiles).unwrap(), kept, "nothing written");
    }
    // A hand edit with one: `profile show` says what is wrong, escaped, and prints no value.
    let edited = String::from_utf8(kept.clone())
        .unwrap()
        .replace("team@example.com", "team\u{202e}@example.com");
    std::fs::write(&profiles, edited).unwrap();
    let out = env.run(&["profile", "show", "bidi-manual"]);
    assert_ne!(out.code, 0, "{out:#?}");
    assert!(
        !out.stdout.contains('\u{202e}') && !out.stderr.contains('\u{202e}'),
        "{out:#?}"
    );
    std::fs::write(&profiles, kept).unwrap();
    for name in ["bidi-team", "bidi-pub", "bidi-manual"] {
        env.run(&["profile", "remove", name, "--yes"]).success();
    }
}

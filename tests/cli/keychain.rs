//! The keychain layer against the real Secret Service: large tokens, the chunked layout, and
//! clear errors when the keychain is missing or locked.

use latchkey::store::keychain::Keychain;

use crate::util::*;

fn big_value(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."[i % 39])
        .collect()
}

#[test]
fn a_16_kb_token_round_trips_whole_and_chunked() {
    let value = big_value(16 * 1024);
    for (name, keychain) in [
        ("whole", Keychain::default()),
        // The layout used where entries are capped (Windows: 2,560 bytes).
        ("chunked", Keychain::with_chunk_size(2048)),
    ] {
        let key = format!("test:{name}-16k");
        block_on(keychain.set(&key, value.clone())).unwrap();
        assert_eq!(
            block_on(keychain.get(&key)).unwrap().as_deref(),
            Some(&value[..]),
            "{name}"
        );
        // Shrinking replaces the chunks; the old ones are removed.
        block_on(keychain.set(&key, b"small".to_vec())).unwrap();
        assert_eq!(
            block_on(keychain.get(&key)).unwrap().as_deref(),
            Some(&b"small"[..])
        );
        block_on(keychain.delete(&key)).unwrap();
        assert_eq!(block_on(keychain.get(&key)).unwrap(), None);
    }
    // No chunk was left behind: nothing else under the test keys.
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", "latchkey"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("16k#"), "{text}");
}

#[test]
fn a_signed_in_account_with_a_16_kb_token_works_end_to_end() {
    let (_server, env) = signed_in("bigtoken");
    let account = account(&env, "bigtoken");
    let mut tokens = stored_tokens(&env, "bigtoken");
    let big = String::from_utf8(big_value(16 * 1024)).unwrap();
    tokens.access_token = oauth2::AccessToken::new(big.clone());
    write_tokens(&env, &account, &tokens);
    assert_eq!(env.token(&["bigtoken"]), big);
}

#[test]
fn a_missing_keychain_is_named_and_nothing_is_written() {
    let mut env = Env::new();
    env.extra_env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        "unix:path=/nonexistent/bus".into(),
    ));
    let out = env.cli_stdin(
        &format!("profile add nokeychain {EXAMPLE_ENDPOINTS} --client-id c --client-secret-stdin"),
        "a-client-secret",
    );
    out.fails_with(
        7,
        &[
            "keychain is not available",
            "only in the keychain",
            "Secret Service",
        ],
    );
    assert!(!out.stderr.to_lowercase().contains("panick"));
    // Rolled back: the profile is not left without its secret.
    env.run(&["profile", "show", "nokeychain"])
        .fails_with(3, &[]);
    // Listing accounts reads no secret, so it works without a keychain.
    env.run(&["accounts"]).success();
}

/// Runs `before`, then `latchkey profile add NAME` with a client secret (under `env_vars`),
/// then `after`, then `profile show NAME`, all in a keyring of its own (`scripts/with-keyring`).
/// The script prints `exit=` (of the add) and `show=` (of the show); returns stdout, stderr.
fn add_in_own_keyring(name: &str, env_vars: &str, before: &str, after: &str) -> (String, String) {
    let env = Env::new();
    let script = format!(
        r#"
        {before}
        start=$(date +%s)
        printf 'a-client-secret' | {env_vars} XDG_CONFIG_HOME={dir}/config \
            timeout 60 {bin} profile add {name} \
            {EXAMPLE_ENDPOINTS} --client-id c --client-secret-stdin
        echo "exit=$?"
        echo "took=$(( $(date +%s) - start ))"
        {after}
        XDG_CONFIG_HOME={dir}/config {bin} profile show {name} >/dev/null 2>&1
        echo "show=$?"
        "#,
        dir = env.dir.display(),
        bin = env!("CARGO_BIN_EXE_latchkey"),
    );
    let out = std::process::Command::new(root().join("scripts/with-keyring"))
        .args(["bash", "-c", &script])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_locked_keychain_is_named_and_nothing_is_written() {
    // Locking is global to a keyring, so this runs in a keyring of its own.
    let (stdout, stderr) = add_in_own_keyring(
        "locked",
        "",
        "dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \\
            org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null",
        "",
    );
    assert!(stdout.contains("exit=7"), "{stdout}\n{stderr}");
    assert!(stderr.contains("keychain is locked"), "{stderr}");
    assert!(
        stdout.contains("show=3"),
        "the profile was rolled back: {stdout}"
    );
}

#[test]
fn a_hung_keychain_times_out_and_the_cli_exits() {
    // A Secret Service that never answers: this keyring's own daemon, stopped. The CLI must
    // give up after its keychain timeout and exit, not wait for the stuck call.
    let (stdout, stderr) = add_in_own_keyring(
        "hung",
        "LATCHKEY_KEYCHAIN_TIMEOUT=2",
        r#"daemon=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets \
            | awk '/uint32/ {print $2}')
        kill -STOP "$daemon""#,
        r#"kill -CONT "$daemon""#,
    );
    assert!(stdout.contains("exit=7"), "{stdout}\n{stderr}");
    assert!(stderr.contains("did not answer within 2 s"), "{stderr}");
    let took: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("took="))
        .and_then(|t| t.trim().parse().ok())
        .expect("the script reports the time taken");
    // 2 s for the secret, and the roll-back's own keychain call may wait as long again.
    assert!(took < 15, "the CLI hung for {took} s: {stdout}\n{stderr}");
    assert!(stdout.contains("show=3"), "nothing was kept: {stdout}");
}

#[test]
fn two_config_directories_on_one_keyring_keep_their_own_secrets() {
    let server = AuthServer::start();
    let first = Env::new();
    first.add_profile(
        &server,
        "team",
        "conf-basic",
        Some("s3cr+t/with:%chars&more"),
    );
    first.login("team").success();
    // The second directory imports the same profile: it never got the secret, and says so.
    let second = Env::new();
    let shared = second.dir.join("team.toml");
    std::fs::write(&shared, &first.run(&["profile", "export"]).success().stdout).unwrap();
    second
        .run(&["profile", "import", shared.to_str().unwrap()])
        .success();
    assert_eq!(second.profile_json("team")["client_secret"], "missing");
    second
        .run_with_stdin(
            &["profile", "set-secret", "team"],
            "s3cr+t/with:%chars&more\n",
        )
        .success();
    // Removing the profile there leaves this directory's secret and account alone.
    second
        .run(&["profile", "remove", "team", "--yes"])
        .success();
    assert_eq!(first.profile_json("team")["client_secret"], "stored");
    assert_accepted_for_alice(&server, &first.refresh("team"));
}

#[test]
fn entries_of_the_old_layout_move_into_the_directory_namespace() {
    let (server, env) = signed_in("old");
    let tokens = stored_tokens(&env, "old");
    let account = account(&env, "old");
    // As an older Latchkey left it: entries named by profile alone, no namespace id.
    let raw = Keychain::default();
    block_on(keychain_of(&env).delete(&account.keychain_key())).unwrap();
    block_on(raw.set(&account.keychain_key(), tokens.to_bytes())).unwrap();
    std::fs::remove_file(env.config_dir().join("keychain-id")).unwrap();

    assert_accepted_for_alice(&server, &env.token(&["old"]));
    assert!(
        !env.config_dir().join("keychain-legacy").exists(),
        "migrated once"
    );
    assert_eq!(block_on(raw.get(&account.keychain_key())).unwrap(), None);
    assert_eq!(
        stored_tokens(&env, "old").access_token.secret(),
        tokens.access_token.secret()
    );
}

/// `key`'s value in `keychain`, as text.
fn value(keychain: &Keychain, key: &str) -> Option<String> {
    block_on(keychain.get(key))
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

/// The items `secret-tool` finds for the Latchkey entry `user`.
fn items_named(user: &str) -> usize {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", "latchkey", "username", user])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    text.matches(&format!("attribute.username = {user}\n"))
        .count()
}

#[test]
fn a_write_after_a_read_goes_to_the_item_read_or_to_a_new_one_when_that_one_was_removed() {
    let keychain = Keychain::default();
    let key = "test:in-place";
    block_on(keychain.delete(key)).unwrap();
    block_on(keychain.set(key, b"one".to_vec())).unwrap();
    assert_eq!(value(&keychain, key).as_deref(), Some("one"));
    // Straight to the item the read found: still one item, with the new value.
    block_on(keychain.set(key, b"two".to_vec())).unwrap();
    assert_eq!(value(&keychain, key).as_deref(), Some("two"));
    assert_eq!(items_named(key), 1);
    // Another program removes the item between the read and the write: the write still lands.
    let cleared = std::process::Command::new("secret-tool")
        .args(["clear", "service", "latchkey", "username", key])
        .status()
        .unwrap();
    assert!(cleared.success());
    assert_eq!(items_named(key), 0);
    block_on(keychain.set(key, b"three".to_vec())).unwrap();
    assert_eq!(items_named(key), 1);
    assert_eq!(value(&keychain, key).as_deref(), Some("three"));
    block_on(keychain.delete(key)).unwrap();
    assert_eq!(items_named(key), 0);
}

#[test]
fn a_read_goes_to_the_item_found_before_or_searches_again_when_that_one_was_replaced() {
    let keychain = Keychain::default();
    let key = "test:read-in-place";
    let store = |value: &str| {
        let mut child = std::process::Command::new("secret-tool")
            .args([
                "store", "--label", "test", "service", "latchkey", "username", key,
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("={value}").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    };
    let clear = || {
        let cleared = std::process::Command::new("secret-tool")
            .args(["clear", "service", "latchkey", "username", key])
            .status()
            .unwrap();
        assert!(cleared.success());
    };
    block_on(keychain.delete(key)).unwrap();
    // Looked up ahead (as a refresh does while it waits for its lock), then read.
    let located = |keychain: &Keychain| {
        block_on(async {
            keychain.locate(key).expect("a lookup").await.unwrap();
            keychain.get(key).await
        })
        .unwrap()
    };
    assert_eq!(located(&keychain), None);
    store("one");
    assert_eq!(located(&keychain).as_deref(), Some(&b"one"[..]));
    // Another program replaces the item the lookup and the read found with a new one: the
    // next read finds that one, not an error.
    clear();
    store("two");
    assert_eq!(items_named(key), 1);
    assert_eq!(value(&keychain, key).as_deref(), Some("two"));
    assert_eq!(located(&keychain).as_deref(), Some(&b"two"[..]));
    // And removes it: the read says so.
    clear();
    assert_eq!(value(&keychain, key), None);
}

/// A proxy for `interface` at `path` of the Secret Service.
fn secrets<'a>(
    bus: &zbus::blocking::Connection,
    path: &'a str,
    interface: &'a str,
) -> zbus::blocking::Proxy<'a> {
    zbus::blocking::Proxy::new(bus, "org.freedesktop.secrets", path, interface).unwrap()
}

/// Renames the item named `from` to `to` in place, as a keyring app may (its attributes).
fn rename_item(from: &str, to: &str) {
    let bus = zbus::blocking::Connection::session().unwrap();
    let service = secrets(
        &bus,
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service",
    );
    let named =
        |user| std::collections::HashMap::from([("service", "latchkey"), ("username", user)]);
    type Paths = Vec<zbus::zvariant::OwnedObjectPath>;
    let (unlocked, locked): (Paths, Paths) = service.call("SearchItems", &(named(from),)).unwrap();
    let ([path], []) = (unlocked.as_slice(), locked.as_slice()) else {
        panic!("one item named {from}: {unlocked:?} {locked:?}");
    };
    let item = secrets(&bus, path.as_str(), "org.freedesktop.Secret.Item");
    let attributes = named(to);
    item.set_property("Attributes", attributes).unwrap();
}

#[test]
fn a_read_never_takes_an_item_that_is_no_longer_the_entrys_alone() {
    let keychain = Keychain::default();
    let (key, other) = ("test:renamed", "test:renamed-other");
    for k in [key, other] {
        block_on(keychain.delete(k)).unwrap();
    }
    block_on(keychain.set(key, b"mine".to_vec())).unwrap();
    assert_eq!(value(&keychain, key).as_deref(), Some("mine"));
    // The item this process just read for `key` is renamed: it is `other`'s now, and a read
    // of `key` must not take it.
    rename_item(key, other);
    assert_eq!(value(&keychain, key), None);
    assert_eq!(value(&keychain, other).as_deref(), Some("mine"));
    // A second item comes to bear the name `other` read a moment ago: the read refuses to
    // pick one.
    block_on(keychain.set(key, b"second".to_vec())).unwrap();
    rename_item(key, other);
    assert_eq!(items_named(other), 2);
    let err = block_on(keychain.get(other)).unwrap_err().to_string();
    assert!(err.contains("2 keychain items"), "{err}");
    std::process::Command::new("secret-tool")
        .args(["clear", "service", "latchkey", "username", other])
        .status()
        .unwrap();
    assert_eq!(items_named(other), 0);
}

#[test]
fn a_restarted_keychain_is_met_with_a_new_session() {
    // The daemon of this test keyring, replaced by a new one as after a crash or an upgrade;
    // a long-running process (the agent, the app) still holds the old one's session.
    let keychain = Keychain::default();
    let key = "test:restart";
    block_on(keychain.set(key, b"before".to_vec())).unwrap();
    assert_eq!(value(&keychain, key).as_deref(), Some("before"));
    let bus = zbus::blocking::Connection::session().unwrap();
    let dbus = zbus::blocking::fdo::DBusProxy::new(&bus).unwrap();
    let owner = || {
        dbus.get_connection_unix_process_id("org.freedesktop.secrets".try_into().unwrap())
            .ok()
    };
    let old = owner().expect("the daemon's process");
    let replaced = std::process::Command::new("sh")
        .args([
            "-c",
            r#"printf %s "$LATCHKEY_TEST_KEYRING_PASSWORD" \
                | gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null"#,
        ])
        .status()
        .unwrap();
    assert!(replaced.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while owner().is_none_or(|pid| pid == old) {
        assert!(std::time::Instant::now() < deadline, "no new daemon");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(value(&keychain, key).as_deref(), Some("before"));
    block_on(keychain.set(key, b"after".to_vec())).unwrap();
    assert_eq!(value(&keychain, key).as_deref(), Some("after"));
    block_on(keychain.delete(key)).unwrap();
}

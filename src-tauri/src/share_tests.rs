//! The share commands' logic on a real engine: a private config directory and keyring-core's
//! mock keychain (the dialogs themselves are the OS's; WebDriver cannot drive them either).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use latchkey::store::config::Config;
use latchkey::store::keychain::Keychain;
use oauth2::ClientSecret;

use super::*;

const PROFILES: &str = r#"[profiles.team]
client_id = "team-client"
authorization_endpoint = "https://as.example/authorize"
token_endpoint = "https://as.example/token"
scopes = ["read", "write"]
auth_method = "post"
redirect = "loopback"

[profiles.open]
client_id = "open-client"
authorization_endpoint = "https://as.example/authorize"
token_endpoint = "https://as.example/token"
scopes = []
auth_method = "none"
redirect = "loopback"
"#;

const SECRET: &str = "team-secret-0123456789";

/// An engine on a fresh private config directory (with `profiles`, if any) and its own
/// mock keychain; the directory goes with the guard.
fn engine(profiles: Option<&str>) -> (Arc<Latchkey>, tempfile::TempDir) {
    // Private (0700), as Latchkey wants its directories.
    let dir = tempfile::TempDir::with_prefix("latchkey-share-").unwrap();
    if let Some(text) = profiles {
        std::fs::write(dir.path().join("profiles.toml"), text).unwrap();
    }
    let store = keyring_core::mock::Store::new().expect("mock store");
    let keychain = Keychain::default().with_store(store);
    let config = Config::new(dir.path().to_path_buf());
    (Arc::new(Latchkey::new(config, keychain)), dir)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn profiles_bytes(engine: &Latchkey) -> Vec<u8> {
    std::fs::read(engine.config().profiles_path()).unwrap_or_default()
}

/// Alice's engine with `team` (secret stored) and `open`, and its directory's guard; her
/// export at `path`.
fn exported(path: &Path) -> (Arc<Latchkey>, tempfile::TempDir) {
    let (alice, dir) = engine(Some(PROFILES));
    block_on(alice.set_client_secret("team", ClientSecret::new(SECRET.into()))).unwrap();
    export_to(&alice, &[], path).unwrap();
    (alice, dir)
}

#[test]
fn an_export_imports_elsewhere_without_its_secret_and_says_it_is_needed() {
    let file = std::env::temp_dir().join(format!("share-rt-{}.toml", std::process::id()));
    let (alice, _alice_dir) = exported(&file);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        text.contains("[profiles.team]") && text.contains("set-secret team"),
        "{text}"
    );

    let (bob, _bob_dir) = engine(None);
    let (preview, picked) = block_on(read_checked(&bob, &ShareSource::File(file.clone()))).unwrap();
    assert_eq!(preview.names, ["open", "team"]);
    assert!(preview.conflicts.is_empty());
    assert!(
        !bob.config().profiles_path().exists(),
        "a preview writes nothing"
    );
    let imported = block_on(apply(&bob, &picked, false, &[])).unwrap();
    assert_eq!(
        imported,
        [
            ImportedDto {
                name: "open".into(),
                replaced: false,
                needs_secret: false,
                warnings: vec![],
            },
            ImportedDto {
                name: "team".into(),
                replaced: false,
                needs_secret: true,
                warnings: vec![],
            },
        ]
    );
    assert_eq!(bob.profiles().unwrap(), alice.profiles().unwrap());

    // The accounts screen says so for the profile without its secret, until it is set.
    let states = SecretStates::default();
    let mut dtos: Vec<ProfileDto> = bob
        .profiles()
        .unwrap()
        .iter()
        .map(ProfileDto::from)
        .collect();
    block_on(states.mark(&bob, &mut dtos, &[]));
    let missing: Vec<(&str, bool)> = dtos
        .iter()
        .map(|d| (d.name.as_str(), d.client_secret_missing))
        .collect();
    assert_eq!(missing, [("open", false), ("team", true)]);
    block_on(bob.set_client_secret("team", ClientSecret::new(SECRET.into()))).unwrap();
    states.forget();
    block_on(states.mark(&bob, &mut dtos, &[]));
    assert!(!dtos[1].client_secret_missing);
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_name_that_exists_is_a_choice_replace_rename_or_nothing() {
    let file = std::env::temp_dir().join(format!("share-conflict-{}.toml", std::process::id()));
    let (alice, _alice_dir) = exported(&file);
    let before = profiles_bytes(&alice);
    let (preview, picked) =
        block_on(read_checked(&alice, &ShareSource::File(file.clone()))).unwrap();
    assert_eq!(preview.conflicts, ["open", "team"]);

    let dto = ErrorDto::from(block_on(apply(&alice, &picked, false, &[])).unwrap_err());
    assert_eq!(dto.kind, ErrorKindDto::Usage);
    assert!(
        dto.message.contains("`open`") && dto.message.contains("`team`"),
        "{}",
        dto.message
    );
    let action = dto.action.expect("an action");
    assert_eq!(action.profile.as_deref(), Some("open"));
    assert_eq!(profiles_bytes(&alice), before, "nothing written");

    // Under other names: both new, the originals untouched.
    let renames = [
        RenameDto {
            from: "team".into(),
            to: " team-2 ".into(),
        },
        RenameDto {
            from: "open".into(),
            to: "open-2".into(),
        },
    ];
    let imported = block_on(apply(&alice, &picked, false, &renames)).unwrap();
    let names: Vec<&str> = imported.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["open-2", "team-2"]);
    assert!(
        imported[1].needs_secret,
        "a new name has no secret of its own"
    );
    assert_eq!(alice.profiles().unwrap().len(), 4);

    // Replaced: the same client keeps its secret.
    let imported = block_on(apply(&alice, &picked, true, &[])).unwrap();
    assert!(imported.iter().all(|i| i.replaced), "{imported:?}");
    assert!(!imported.iter().any(|i| i.needs_secret), "{imported:?}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_broken_file_is_refused_with_its_line_and_nothing_is_written() {
    let (bob, _bob_dir) = engine(Some(PROFILES));
    let before = profiles_bytes(&bob);
    let file = std::env::temp_dir().join(format!("share-broken-{}.toml", std::process::id()));
    let typo = PROFILES
        .replace("[profiles.team]", "[profiles.new]")
        .replace("client_id = \"open-client\"", "clientid = \"x\"");
    std::fs::write(&file, &typo).unwrap();
    let err = block_on(read_checked(&bob, &ShareSource::File(file.clone()))).unwrap_err();
    let message = ErrorDto::from(err).message;
    assert!(
        message.contains(&file.display().to_string())
            && message.contains("line 10: unknown key `clientid`"),
        "{message}"
    );
    assert_eq!(profiles_bytes(&bob), before);
    let _ = std::fs::remove_file(file);
}

/// A loopback server that answers each request with the next of `answers` (raw HTTP).
fn serve(answers: Vec<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    base
}

fn answer(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

#[test]
fn a_url_import_is_loopback_http_or_https_without_redirects() {
    let (bob, _bob_dir) = engine(None);
    let base = serve(vec![
        answer("302 Found", "location: /elsewhere.toml\r\n", ""),
        answer("200 OK", "content-type: application/toml\r\n", PROFILES),
    ]);
    let url = |path: &str| ShareSource::parse(&format!("{base}{path}")).unwrap();
    let err = ErrorDto::from(block_on(read_checked(&bob, &url("/moved"))).unwrap_err());
    assert!(
        err.message.contains("302") && err.message.contains("redirects are not followed"),
        "{}",
        err.message
    );
    let (preview, _) = block_on(read_checked(&bob, &url("/team.toml"))).unwrap();
    assert_eq!(preview.names, ["open", "team"]);
    assert_eq!(preview.origin, format!("{base}/team.toml"));

    let far = ShareSource::parse("http://example.com/team.toml").unwrap();
    let err = ErrorDto::from(block_on(read_checked(&bob, &far)).unwrap_err());
    assert_eq!(err.kind, ErrorKindDto::Usage);
    assert!(err.message.contains("use https"), "{}", err.message);
    assert!(!bob.config().profiles_path().exists());
}

#[test]
fn a_shared_file_never_sets_the_network_and_a_replace_keeps_the_users_own() {
    let dir = std::env::temp_dir();
    let ca = dir.join(format!("share-ca-{}.pem", std::process::id()));
    let own = PROFILES.replacen(
        "redirect = \"loopback\"\n",
        &format!(
            "redirect = \"loopback\"\nproxy = \"http://proxy.corp.test:3128/\"\nca_file = \"{}\"\n",
            ca.display()
        ),
        1,
    );
    let (bob, _bob_dir) = engine(Some(&own));
    let file = dir.join(format!("share-network-{}.toml", std::process::id()));
    let _alice = exported(&file);

    // Replaced from a file without them: Bob's proxy and CA file stay.
    let (_, picked) = block_on(read_checked(&bob, &ShareSource::File(file.clone()))).unwrap();
    block_on(apply(&bob, &picked, true, &[])).unwrap();
    let team = bob.profile("team").unwrap();
    assert_eq!(
        team.proxy.as_ref().map(|u| u.as_str()),
        Some("http://proxy.corp.test:3128/")
    );
    assert_eq!(team.ca_file.as_deref(), Some(ca.as_path()));

    // A file that sets them is refused, naming the line; nothing is written.
    let before = profiles_bytes(&bob);
    std::fs::write(&file, &own).unwrap();
    let err = block_on(read_checked(&bob, &ShareSource::File(file.clone()))).unwrap_err();
    let dto = ErrorDto::from(err);
    assert!(
        dto.message
            .contains("line 1: profile `team` sets `proxy` or `ca_file`"),
        "{}",
        dto.message
    );
    assert_eq!(profiles_bytes(&bob), before, "nothing written");
    let _ = std::fs::remove_file(file);
}

#[test]
fn an_import_that_allows_a_legacy_grant_says_what_it_risks() {
    let file = std::env::temp_dir().join(format!("share-legacy-{}.toml", std::process::id()));
    let legacy = PROFILES.replacen(
        "auth_method = \"none\"\n",
        "auth_method = \"none\"\nallowed_legacy_grants = [\"password\"]\n",
        1,
    );
    std::fs::write(&file, legacy).unwrap();
    let (bob, _bob_dir) = engine(None);
    let (_, picked) = block_on(read_checked(&bob, &ShareSource::File(file.clone()))).unwrap();
    let imported = block_on(apply(&bob, &picked, false, &[])).unwrap();
    let open = imported.iter().find(|i| i.name == "open").unwrap();
    assert_eq!(open.warnings.len(), 1, "{open:?}");
    assert!(open.warnings[0].contains("password grant is deprecated"));
    let team = imported.iter().find(|i| i.name == "team").unwrap();
    assert!(team.warnings.is_empty(), "{team:?}");
    let _ = std::fs::remove_file(file);
}

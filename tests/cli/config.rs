//! The config directory as a user keeps it: hand edits of `profiles.toml` survive Latchkey's
//! writes or are refused naming the line, a dotfiles symlink stays a symlink, and the directory
//! and its files are closed to other users.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::util::*;

fn profiles_toml(env: &Env) -> PathBuf {
    env.config_dir().join("profiles.toml")
}

fn add(env: &Env, server: &AuthServer, name: &str) -> Run {
    env.run(&[
        "profile",
        "add",
        name,
        "--issuer",
        &server.issuer,
        "--client-id",
        "public-app",
    ])
}

/// A new [`Env`] whose profiles.toml holds one profile, `first`: the file's path and text.
fn with_first_profile(server: &AuthServer) -> (Env, PathBuf, String) {
    let env = Env::new();
    add(&env, server, "first").success();
    let path = profiles_toml(&env);
    let written = fs::read_to_string(&path).unwrap();
    (env, path, written)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn comments_and_sections_of_your_own_survive_a_profile_add() {
    let server = AuthServer::start();
    let (env, path, written) = with_first_profile(&server);
    let edited = format!(
        "# my work clients, see the wiki\n{}\n# notes kept with the file\n[x-notes]\nowner = \"me\"\n",
        written.replacen(
            "client_id = \"public-app\"",
            "client_id = \"public-app\"   # registered 2024",
            1
        )
    );
    fs::write(&path, &edited).unwrap();
    add(&env, &server, "second").success();
    let after = fs::read_to_string(&path).unwrap();
    for kept in [
        "# my work clients, see the wiki\n",
        "client_id = \"public-app\"   # registered 2024\n",
        "\n# notes kept with the file\n[x-notes]\nowner = \"me\"\n",
    ] {
        assert!(after.contains(kept), "lost {kept:?}:\n{after}");
    }
    assert!(after.contains("[profiles.second]"), "{after}");
    let list = env.run(&["profile", "list"]);
    assert!(
        list.success()
            .stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["second", "public-app"])),
        "{list:?}"
    );
    // A change to one profile rewrites only what changed in it.
    env.run(&["profile", "remove", "second", "--yes"]).success();
    assert_eq!(fs::read_to_string(&path).unwrap(), edited);
}

#[test]
fn a_typo_is_refused_naming_the_file_line_and_key_and_nothing_is_written() {
    let server = AuthServer::start();
    let (env, path, written) = with_first_profile(&server);
    let line = written.lines().count() + 1;
    for (typo, key) in [
        ("scope = \"openid\"\n", "`scope`"),
        ("[profile.x]\nclient_id = \"a\"\n", "`profile`"),
    ] {
        let edited = format!("{written}{typo}");
        fs::write(&path, &edited).unwrap();
        let out = add(&env, &server, "second");
        out.fails_with(1, &["profiles.toml", &format!("line {line}"), key]);
        assert_eq!(fs::read_to_string(&path).unwrap(), edited, "rewritten");
        env.run(&["profile", "list"])
            .fails_with(1, &["profiles.toml", &format!("line {line}"), key]);
    }
    // The message says what was probably meant.
    fs::write(&path, format!("{written}scope = \"openid\"\n")).unwrap();
    add(&env, &server, "second").fails_with(1, &["did you mean `scopes`"]);
}

#[test]
fn a_symlinked_profiles_file_stays_a_symlink() {
    let server = AuthServer::start();
    let env = Env::new();
    let dotfiles = env.mkdir("dotfiles");
    let target = dotfiles.join("latchkey-profiles.toml");
    fs::write(&target, "# kept in git\n").unwrap();
    fs::create_dir_all(env.config_dir()).unwrap();
    fs::set_permissions(env.config_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&target, profiles_toml(&env)).unwrap();
    add(&env, &server, "first").success();
    let link = fs::symlink_metadata(profiles_toml(&env)).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    let text = fs::read_to_string(&target).unwrap();
    assert!(
        text.starts_with("# kept in git\n") && text.contains("[profiles.first]"),
        "{text}"
    );
    // The temp file was made next to the target, and is gone.
    let names: Vec<_> = fs::read_dir(&dotfiles).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn a_config_dir_others_can_write_is_refused() {
    let server = AuthServer::start();
    let env = Env::new();
    add(&env, &server, "first").success();
    let dir = env.config_dir();
    let before = fs::read(profiles_toml(&env)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
    let needles = [dir.to_str().unwrap(), "writable by group", "chmod go-w"];
    env.run(&["profile", "list"]).fails_with(1, &needles);
    add(&env, &server, "second").fails_with(1, &needles);
    assert_eq!(fs::read(profiles_toml(&env)).unwrap(), before);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
    env.run(&["profile", "list"]).success();
}

#[test]
fn config_and_cache_files_are_private() {
    let server = AuthServer::start();
    let env = signed_in_at(&server, "oidc");
    env.run(&["refresh", "oidc"]).success();
    let mut seen = Vec::new();
    let mut dirs = vec![env.config_dir()];
    while let Some(dir) = dirs.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.ends_with(".tmp"), "left behind: {}", path.display());
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            seen.push(path);
        }
    }
    assert!(
        seen.iter()
            .any(|p| p.parent().unwrap().ends_with("jwks") && p.extension().unwrap() == "json"),
        "no JWKS cache file among {seen:?}"
    );
    assert!(
        seen.iter().any(|p| p.ends_with("accounts.toml")),
        "{seen:?}"
    );
}

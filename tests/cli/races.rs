//! Removal wins over a refresh or sign-in in flight, and `logout` over a refresh (issue 10):
//! nothing comes back, and what the provider issued during the race is revoked. A forwarder in
//! front of the real test server holds the token request while the other command runs.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey::error::Error;
use latchkey::store::config::Config;

use crate::durability::{Hook, Stage, signed_in_via, token_requests_via};
use crate::util::*;

/// What runs while the token endpoint holds a request; set once the forwarder exists.
type Race = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// A command started during the race, for the test to wait for.
type Started = Arc<Mutex<Option<Child>>>;

/// A hook that runs the race once, when a token request arrives (before the provider sees it).
fn at_token_request() -> (Hook, Race) {
    let race: Race = Arc::default();
    let slot = race.clone();
    let hook = move |path: &str, stage| {
        if path == "/token" && stage == Stage::Received {
            let run = slot.lock().unwrap().take();
            if let Some(run) = run {
                run();
            }
        }
    };
    (Box::new(hook), race)
}

/// Starts `latchkey ARGS` while the token request waits, and lets the request go on once
/// `ready()` holds (at most 10 s later).
fn start_during(
    race: &Race,
    env: &Env,
    args: &[&str],
    mut ready: impl FnMut() -> bool + Send + 'static,
) -> Started {
    let mut command = env.command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Started::default();
    let slot = started.clone();
    *race.lock().unwrap() = Some(Box::new(move || {
        *slot.lock().unwrap() = Some(command.spawn().expect("spawn latchkey"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }));
    started
}

/// How the command started during the race ended.
fn finish(started: &Started) -> Run {
    let child = started.lock().unwrap().take().expect("the race never ran");
    Run::from(child.wait_with_output().expect("wait"))
}

/// Whether profile `name` and its accounts' metadata are gone from the config files.
fn profile_gone(dir: PathBuf, name: &str) -> impl FnMut() -> bool + Send + 'static {
    let name = name.to_string();
    move || {
        let config = Config::new(dir.clone());
        matches!(config.profile(&name), Err(Error::ProfileNotFound(_)))
            && config
                .accounts()
                .is_ok_and(|all| all.iter().all(|a| a.profile != name))
    }
}

/// True once `wait` has passed since the first call.
fn after(wait: Duration) -> impl FnMut() -> bool + Send + 'static {
    let mut first = None;
    move || first.get_or_insert_with(Instant::now).elapsed() >= wait
}

/// The refresh token the provider issued through the forwarder during the race.
fn issued_refresh_token(forwarder: &FaultServer) -> String {
    let answers = forwarder.answers_from("/token");
    let body: serde_json::Value =
        serde_json::from_str(answers.last().expect("a token answer")).expect("json");
    body["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {body}"))
        .to_string()
}

#[track_caller]
fn assert_gone(env: &Env, id: &str) {
    let (profile, label) = id.split_once('/').expect("PROFILE/LABEL");
    env.assert_no_account(profile, &[label]);
    env.run(&["token", id]).fails_with(3, &[]);
}

#[test]
fn a_profile_removed_while_its_refresh_is_in_flight_stays_removed_and_the_new_grant_is_revoked() {
    let (hook, race) = at_token_request();
    let (server, env, forwarder, id) = signed_in_via("doomed", hook);
    let removal = start_during(
        &race,
        &env,
        &["profile", "remove", "doomed", "--yes"],
        profile_gone(env.config_dir(), "doomed"),
    );
    env.run(&["refresh", &id])
        .fails_with(3, &["profile `doomed` not found"]);
    finish(&removal)
        .success()
        .says(&["Removed profile `doomed` and its account."]);
    assert_gone(&env, &id);
    env.run(&["profile", "show", "doomed"]).fails_with(3, &[]);
    let issued = issued_refresh_token(&forwarder);
    assert!(
        !server.refresh_token_is_live(&issued),
        "the refresh token issued during the removal is still live"
    );
    // The new grant by the refresh that found its profile gone; the token the removal read
    // (the one that refresh spent) by the removal.
    assert_eq!(server.stats()["revocation"], 2);
}

#[test]
fn a_logout_waiting_for_a_refresh_in_flight_revokes_the_refresh_token_it_issued() {
    let (hook, race) = at_token_request();
    let (server, env, forwarder, id) = signed_in_via("leaving", hook);
    // The logout starts while the refresh holds the account's lock, and waits for it.
    let logout = start_during(&race, &env, &["logout", &id], after(Duration::from_secs(1)));
    let token = env.refresh(&id);
    finish(&logout)
        .success()
        .says(&["the refresh token was revoked at the provider"]);
    let issued = issued_refresh_token(&forwarder);
    assert!(
        !server.refresh_token_is_live(&issued),
        "the refresh token issued while the logout waited is still live"
    );
    assert_eq!(
        server.userinfo(&token).0,
        401,
        "the grant outlived the logout"
    );
    assert_gone(&env, &id);
}

#[test]
fn a_profile_removed_while_a_sign_in_exchanges_its_code_gets_no_account() {
    let (server, env) = with_profile("late", "public-app");
    let (hook, race) = at_token_request();
    let forwarder = token_requests_via(&server, &env, "late", hook);
    let removal = start_during(
        &race,
        &env,
        &["profile", "remove", "late", "--yes"],
        profile_gone(env.config_dir(), "late"),
    );
    env.login("late")
        .fails_with(3, &["profile `late` not found"]);
    finish(&removal).success();
    assert_gone(&env, "late/alice@example.test");
    let issued = issued_refresh_token(&forwarder);
    assert!(
        !server.refresh_token_is_live(&issued),
        "the refresh token of the refused sign-in is still live"
    );
}

//! Env files you trust: a `.latchkey.env` found by searching is used only after `latchkey
//! trust`, only with the content that was trusted, and never with a variable that changes how
//! programs are found or loaded; `exec` finds the program with Latchkey's own PATH.

use crate::util::*;

#[cfg(unix)]
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_cloned_repositorys_env_file_runs_nothing_until_trusted_and_never_sets_path() {
    let (_server, env) = signed_in("work");
    let tools = env.mkdir("repo/tools");
    let repo = env.dir.join("repo");
    let marker = env.dir.join("repo-code-ran");
    let ls = tools.join("ls");
    std::fs::write(
        &ls,
        format!("#!/bin/sh\necho \"$GH\" > {}\n", marker.display()),
    )
    .unwrap();
    chmod(&ls, 0o755);
    let dotenv = repo.join(".latchkey.env");
    std::fs::write(&dotenv, "PATH=./tools:/usr/bin:/bin\nGH=latchkey:work\n").unwrap();

    // PATH is refused before anything else, naming the line: the repository's ls never runs.
    env.run_in(&repo, &["exec", "--", "ls"])
        .fails_with(9, &[".latchkey.env", "line 1", "`PATH`"]);
    // In any env file, trusted or named.
    env.run_in(&repo, &["trust"])
        .fails_with(9, &["line 1", "`PATH`"]);
    env.run_in(&repo, &["exec", "--env-file", ".latchkey.env", "--", "ls"])
        .fails_with(9, &["line 1", "`PATH`"]);
    for line in [
        "LD_PRELOAD=/x.so",
        "BASH_ENV=x",
        "NODE_OPTIONS=--require=x",
        "GIT_SSH_COMMAND=x",
    ] {
        std::fs::write(&dotenv, format!("A=1\n{line}\n")).unwrap();
        env.run_in(&repo, &["trust"]).fails_with(9, &["line 2"]);
    }
    assert!(!marker.exists(), "the repository's code ran");

    // Trusted: its variables are used; the program comes from Latchkey's own PATH.
    std::fs::write(&dotenv, "GH=latchkey:work\nMODE=staging\n").unwrap();
    env.run_in(&repo, &["exec", "--", "true"])
        .fails_with(9, &["not trusted", "latchkey trust"]);
    let out = env.run_in(&repo, &["trust"]);
    out.success()
        .says(&["GH", "a token of account `work`", "MODE"]);
    let out = env.run_in(
        &repo,
        &["exec", "--", "sh", "-c", "printf '%s %s' \"$MODE\" \"$GH\""],
    );
    assert_eq!(
        out.success().stdout,
        format!("staging {}", current_token(&env, "work"))
    );
    env.run_in(&repo.join("tools"), &["exec", "--", "ls"])
        .success();
    assert!(!marker.exists(), "the repository's ls ran");

    // Any change makes it untrusted again.
    std::fs::write(&dotenv, "GH=latchkey:work\nMODE=production\n").unwrap();
    env.run_in(&repo, &["exec", "--", "true"])
        .fails_with(9, &["changed since you trusted it", "latchkey trust"]);
    // `--remove` with a path relative to the directory it runs in.
    env.run_in(&repo, &["trust", "--remove", ".latchkey.env"])
        .success();
    let text = std::fs::read_to_string(env.config_dir().join("trusted.toml")).unwrap();
    assert!(!text.contains("repo/.latchkey.env"), "{text}");
    // `--list` and `--remove`'s wording: src/cli/trust.rs's tests.
}

#[cfg(unix)]
#[test]
fn found_env_files_are_refused_through_symlinks_and_open_directories() {
    let (_server, env) = signed_in("own");
    let real = env.dir.join("real.env");
    std::fs::write(&real, "T=latchkey:own\n").unwrap();

    // A symlink by the name: refused, never followed.
    let linked = env.mkdir("linked");
    std::os::unix::fs::symlink(&real, linked.join(".latchkey.env")).unwrap();
    env.run_in(&linked, &["trust"])
        .fails_with(9, &["symbolic link"]);
    env.run_in(&linked, &["exec", "--", "true"])
        .fails_with(9, &["symbolic link"]);

    // In a directory others may write without the sticky bit: refused; with it: fine.
    let project = env.mkdir("open/project");
    let open = env.dir.join("open");
    std::fs::write(project.join(".latchkey.env"), "T=latchkey:own\n").unwrap();
    chmod(&open, 0o777);
    env.run_in(&project, &["trust"])
        .fails_with(9, &["sticky bit", "open"]);
    chmod(&open, 0o1777);
    env.run_in(&project, &["trust"]).success();
    env.run_in(&project, &["exec", "--", "true"]).success();

    // A file others may write: refused.
    chmod(&project.join(".latchkey.env"), 0o666);
    env.run_in(&project, &["exec", "--", "true"])
        .fails_with(9, &[".latchkey.env", "writable by group or others"]);
    chmod(&open, 0o755);
}

#[test]
fn exec_exits_127_for_no_such_program_and_126_for_one_it_cannot_run() {
    let (_server, env) = signed_in("prog");
    env.run(&["exec", "--env", "T=prog", "--", "nosuchcmd-latchkey"])
        .fails_with(127, &["nosuchcmd-latchkey", "no such program"]);
    env.run(&["exec", "--env", "T=prog", "--", "./nosuchcmd"])
        .fails_with(127, &["no such program"]);
    let plain = env.dir.join("plain-file");
    std::fs::write(&plain, "echo hi\n").unwrap();
    env.run(&["exec", "--env", "T=prog", "--", plain.to_str().unwrap()])
        .fails_with(126, &["not an executable file"]);
    env.run(&["exec", "--env", "T=prog", "--", env.dir.to_str().unwrap()])
        .fails_with(126, &[]);
}

//! Tokens into other tools, with the real tools: `latchkey exec` running programs, the real
//! `git` against `git http-backend`, the real `kubectl` against an HTTPS API stand-in, and the
//! shell completion script. Each server accepts only tokens the test authorization server does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// What a server under tests/tools logged of the requests it served.
fn server_log(server: &NodeServer, client: &reqwest::blocking::Client) -> Vec<Value> {
    client
        .get(format!("{}/__log", server.url))
        .send()
        .and_then(|r| r.json())
        .expect("server log")
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
            {
                hits.push(path);
            }
        }
    }
    hits
}

// ----- exec

/// A node one-liner that calls userinfo with `$TOKEN` and prints the subject.
const CALL_USERINFO: &str = "fetch(process.env.ISSUER + '/me', {headers: {authorization: 'Bearer ' + process.env.TOKEN}}).then(r => r.json()).then(j => { console.log('sub=' + j.sub); process.exit(Number(process.env.CODE)) })";

#[test]
fn exec_gives_the_program_a_working_token_and_its_exit_code() {
    let (server, env) = signed_in("ex");
    let out = env
        .command(&[
            "exec",
            "--env",
            "TOKEN=ex",
            "--",
            "node",
            "-e",
            CALL_USERINFO,
        ])
        .env("ISSUER", &server.issuer)
        .env("CODE", "7")
        .output()
        .expect("run");
    let out = Run::from(out);
    assert_eq!(out.code, 7, "the program's exit code: {out:#?}");
    assert_eq!(out.stdout.trim(), "sub=alice", "{out:#?}");
    // A token about to expire is refreshed first, as for `latchkey token`.
    let before = server.count("refresh_token");
    let out = env
        .command(&[
            "exec",
            "--min-valid",
            "7200",
            "--env",
            "TOKEN=ex",
            "node",
            "-e",
            CALL_USERINFO,
        ])
        .env("ISSUER", &server.issuer)
        .env("CODE", "0")
        .output()
        .expect("run");
    Run::from(out).success();
    assert_eq!(server.count("refresh_token"), before + 1);
}

#[test]
fn exec_reads_env_files_with_references_and_plain_values() {
    let (server, env) = signed_in("envf");
    let file = env.dir.join("deploy.env");
    // Named but not there: a mistyped argument (exit 2), and the program never runs.
    let missing = file.to_str().unwrap().to_string();
    env.run(&["exec", "--env-file", &missing, "--", "true"])
        .fails_with(2, &["--env-file", "deploy.env: no such file"]);
    std::fs::write(
        &file,
        "# for the deploy script\n\nexport API_TOKEN=\"latchkey:envf\"\nGREETING='hello, world'  # plain\nURL=https://api.example.test/#x\nAGAIN=latchkey:envf\n",
    )
    .unwrap();
    let out = env.exec_sh_with(
        &file,
        "printf '%s|%s|%s|%s' \"$API_TOKEN\" \"$GREETING\" \"$URL\" \"$AGAIN\"",
    );
    out.success();
    let token = current_token(&env, "envf");
    assert_eq!(
        out.stdout,
        format!("{token}|hello, world|https://api.example.test/#x|{token}")
    );
    assert_eq!(server.userinfo(&token).0, 200);
}

#[test]
fn exec_finds_latchkey_env_in_a_parent_directory() {
    let (_server, env) = signed_in("proj");
    let deep = env.mkdir("project/src/deep");
    let project = env.dir.join("project");
    let dotenv = project.join(".latchkey.env");
    std::fs::write(&dotenv, "PROJ_TOKEN=latchkey:proj\nMODE=staging\n").unwrap();
    // Found by searching: used once trusted (tests/cli/trust.rs).
    env.run_in(&deep, &["trust"]).success();
    let script = "printf '%s %s' \"$MODE\" \"$PROJ_TOKEN\"";
    let out = env.run_in(&deep, &["exec", "--", "sh", "-c", script]);
    out.success();
    assert_eq!(
        out.stdout,
        format!("staging {}", current_token(&env, "proj"))
    );

    // A file others may write to decides nothing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dotenv, std::fs::Permissions::from_mode(0o666)).unwrap();
        let out = env.run_in(&deep, &["exec", "--", "true"]);
        out.fails_with(9, &[".latchkey.env", "writable by group or others"]);
    }
}

#[test]
fn exec_fails_before_the_program_runs_when_an_account_fails() {
    let (server, env) = signed_in("good");
    let marker = env.dir.join("ran");
    let touch = format!("touch {}", marker.display());
    env.run(&[
        "exec", "--env", "A=good", "--env", "B=nobody", "--", "sh", "-c", &touch,
    ])
    .fails_with(3, &["B", "nobody", "not found"]);
    assert!(!marker.exists(), "the program ran");

    // An account whose grant is gone: exit 4, naming the variable and the sign-in to run.
    let stored = stored_tokens(&env, &account(&env, "good").id());
    let rt = stored.refresh_token.clone().unwrap().secret().clone();
    assert_eq!(server.refresh_directly("public-app", &rt).0, 200);
    let file = env.dir.join("vars.env");
    std::fs::write(&file, "GOOD_TOKEN=latchkey:good\n").unwrap();
    env.run(&[
        "exec",
        "--min-valid",
        "999999",
        "--env-file",
        file.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &touch,
    ])
    .fails_with(4, &["GOOD_TOKEN", "vars.env line 1", "latchkey login good"]);
    assert!(!marker.exists(), "the program ran");
}

// ----- git

/// A HOME of its own with a bare repository served by `git http-backend` behind the token check.
struct GitWorld {
    home: PathBuf,
    repos: PathBuf,
    server: NodeServer,
}

impl GitWorld {
    /// A user signed in to `account` (see [`signed_in`]) and a git server that asks with
    /// `challenge` (`basic`, `bearer`).
    fn signed_in(account: &str, challenge: &str) -> (AuthServer, Env, Self) {
        let (auth, env) = signed_in(account);
        let world = GitWorld::new(&env, &auth, challenge);
        (auth, env, world)
    }

    fn new(env: &Env, auth: &AuthServer, challenge: &str) -> Self {
        let home = env.mkdir("home");
        let repos = env.mkdir("repos");
        let world = GitWorld {
            server: NodeServer::start(
                "tools/git-server.mjs",
                &[
                    ("GIT_PROJECT_ROOT", repos.to_str().unwrap()),
                    ("ISSUER", &auth.issuer),
                    ("CHALLENGE", challenge),
                ],
            ),
            home,
            repos,
        };
        world
            .git(
                env,
                &["init", "-q", "--bare", "-b", "main", "repo.git"],
                &world.repos,
            )
            .success();
        world
            .git(env, &["init", "-q", "-b", "main", "src"], &world.repos)
            .success();
        world.commit(env, "first");
        world
    }

    /// `git` with this world's HOME, no system config, never a prompt, Latchkey's config.
    fn git(&self, env: &Env, args: &[&str], cwd: &Path) -> Run {
        Run::from(
            env.tool("git")
                .args(args)
                .current_dir(cwd)
                .env("HOME", &self.home)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_TERMINAL_PROMPT", "0")
                .stdin(Stdio::null())
                .output()
                .expect("run git"),
        )
    }

    /// A new commit in the served repository (pushed over the file system); its id.
    fn commit(&self, env: &Env, message: &str) -> String {
        let src = self.repos.join("src");
        self.git(
            env,
            &[
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.test",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
            &src,
        )
        .success();
        self.git(env, &["push", "-q", "../repo.git", "main"], &src)
            .success();
        self.git(env, &["rev-parse", "HEAD"], &src)
            .stdout
            .trim()
            .to_string()
    }

    fn url(&self) -> String {
        format!("{}/repo.git", self.server.url)
    }

    /// `latchkey git-credential ARGS…` with this world's HOME.
    fn git_credential(&self, env: &Env, args: &[&str]) -> Run {
        Run::from(
            env.command(&[&["git-credential"], args].concat())
                .env("HOME", &self.home)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap(),
        )
    }

    /// Clones the served repository into HOME/clone, which must work: then
    /// [`GitWorld::schemes`].
    fn clone_repo(&self, env: &Env) -> Vec<(Option<String>, u64)> {
        self.git(env, &["clone", "-q", &self.url(), "clone"], &self.home)
            .success();
        self.schemes()
    }

    /// The scheme of each request's credential (none: none sent) and the status it got.
    fn schemes(&self) -> Vec<(Option<String>, u64)> {
        server_log(&self.server, &reqwest::blocking::Client::new())
            .iter()
            .map(|e| {
                (
                    e["scheme"].as_str().map(str::to_string),
                    e["status"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

#[test]
fn git_clones_and_fetches_with_basic_and_recovers_from_a_revoked_token() {
    let (auth, env, world) = GitWorld::signed_in("forge", "basic");
    // A helper configured before, as many machines have: it must not get a copy of the token.
    world
        .git(
            &env,
            &["config", "--global", "credential.helper", "store"],
            &world.home,
        )
        .success();
    world
        .git_credential(&env, &["--install", "forge", &world.server.url])
        .success();
    let gitconfig = std::fs::read_to_string(world.home.join(".gitconfig")).unwrap();
    let host = world.server.url.trim_start_matches("http://");
    assert!(
        gitconfig.contains(&format!("git-credential --host {host} forge/")),
        "{gitconfig}"
    );

    let log = world.clone_repo(&env);
    assert_eq!(log.first(), Some(&(None, 401)), "{log:?}");
    assert!(log.contains(&(Some("Basic".into()), 200)), "{log:?}");
    let first = current_token(&env, "forge");

    // The provider ends the token early: the failing fetch calls `erase`, the next one works.
    auth.end_access_token(&first);
    assert_eq!(auth.userinfo(&first).0, 401, "the token still works");
    let refreshes = auth.count("refresh_token");
    let clone = world.home.join("clone");
    let failed = world.git(&env, &["fetch", "-q"], &clone);
    assert_ne!(failed.code, 0, "{failed:#?}");
    assert!(
        failed.stderr.contains("refused the token of `forge/"),
        "{failed:#?}"
    );
    let head = world.commit(&env, "second");
    world.git(&env, &["fetch", "-q"], &clone).success();
    assert_eq!(auth.count("refresh_token"), refreshes + 1);
    assert_eq!(
        world
            .git(&env, &["rev-parse", "origin/main"], &clone)
            .stdout
            .trim(),
        head
    );
    let second = current_token(&env, "forge");
    assert_ne!(first, second);
    assert_eq!(auth.userinfo(&second).0, 200);
    // The account stays; a later fetch needs no refresh.
    world.git(&env, &["fetch", "-q"], &clone).success();
    assert_eq!(auth.count("refresh_token"), refreshes + 1);

    // No token in git's config or credential files.
    assert!(!world.home.join(".git-credentials").exists());
    for token in [&first, &second] {
        assert_eq!(files_containing(&world.home, token), Vec::<PathBuf>::new());
    }
    env.assert_not_on_disk(&second);

    world
        .git_credential(&env, &["--uninstall", &world.server.url])
        .success();
    let gitconfig = std::fs::read_to_string(world.home.join(".gitconfig")).unwrap();
    assert!(!gitconfig.contains("git-credential"), "{gitconfig}");
}

#[test]
fn git_sends_a_bearer_token_when_asked_and_able() {
    let (_auth, env, world) = GitWorld::signed_in("bear", "bearer");
    world
        .git_credential(
            &env,
            &["--auth", "bearer", "--install", "bear", &world.server.url],
        )
        .success();
    let log = world.clone_repo(&env);
    assert!(log.contains(&(Some("Bearer".into()), 200)), "{log:?}");
    assert!(
        !log.iter().any(|e| e.0.as_deref() == Some("Basic")),
        "{log:?}"
    );
    assert_eq!(
        files_containing(&world.home, &current_token(&env, "bear")),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn git_credential_speaks_the_protocol_and_never_opens_a_browser_without_a_terminal() {
    let (auth, env) = signed_in("proto");
    let token = current_token(&env, "proto");
    let get = |stdin: &str| {
        let mut cmd = env.command(&[
            "git-credential",
            "--host",
            "git.example.com",
            "proto",
            "get",
        ]);
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        run_with_stdin(cmd, stdin)
    };
    let out = get("protocol=https\nhost=git.example.com\nwwwauth[]=Basic realm=x\n\n");
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "username=oauth2");
    assert_eq!(lines[1], format!("password={token}"));
    assert!(lines[2].starts_with("password_expiry_utc="), "{lines:?}");
    // Bearer without git's capability falls back to Basic.
    let out = run_with_stdin(
        env.command(&[
            "git-credential",
            "--auth",
            "bearer",
            "--username",
            "me",
            "--host",
            "git.example.com",
            "proto",
            "get",
        ]),
        "protocol=https\nhost=git.example.com\n\n",
    );
    assert!(
        out.success().stdout.starts_with("username=me\n"),
        "{out:#?}"
    );
    let out = run_with_stdin(
        env.command(&[
            "git-credential",
            "--auth",
            "bearer",
            "--host=git.example.com",
            "proto",
            "get",
        ]),
        "capability[]=authtype\nprotocol=https\nhost=git.example.com\n\n",
    );
    assert_eq!(
        out.success().stdout,
        format!("capability[]=authtype\nauthtype=Bearer\ncredential={token}\nephemeral=1\n")
    );
    // Another host, or a helper line naming none: no credential, git goes on (exit 0).
    let out = get("protocol=https\nhost=evil.example\n\n");
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:#?}");
    assert!(
        out.stderr.contains("not answering git for evil.example"),
        "{out:#?}"
    );
    let out = run_with_stdin(
        env.command(&["git-credential", "proto", "get"]),
        "protocol=https\nhost=git.example.com\n\n",
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:#?}");
    assert!(out.stderr.contains("--host HOST"), "{out:#?}");
    // Plain http to a remote host: refused, nothing printed.
    let out = get("protocol=http\nhost=git.example.com\n\n");
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:#?}");
    // `store` keeps nothing; an unknown action is ignored.
    for action in ["store", "frobnicate"] {
        let out = run_with_stdin(
            env.command(&["git-credential", "proto", action]),
            &format!("protocol=https\nhost=x\nusername=u\npassword={token}\n\n"),
        );
        assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:#?}");
    }
    env.assert_not_on_disk(&token);

    // A profile not signed in yet: exit 4 with the command to run, and no browser.
    let fresh = Env::new();
    fresh.add_profile(&auth, "later", "public-app", None);
    let started = Instant::now();
    let mut cmd = fresh.command(&[
        "git-credential",
        "--host",
        "git.example.com",
        "later/work",
        "get",
    ]);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    run_with_stdin(cmd, "protocol=https\nhost=git.example.com\n\n").fails_with(
        4,
        &[
            "GIT_TERMINAL_PROMPT",
            "latchkey login later --account work",
            "opens no browser",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        !fresh.dir.join("browser.log").exists(),
        "a browser was opened"
    );
}

#[test]
fn git_gets_no_token_for_a_host_the_helper_is_not_for() {
    let (_auth, env, world) = GitWorld::signed_in("scoped", "basic");
    let host = world.server.url.trim_start_matches("http://").to_string();
    // The same server under another name: another host to git.
    let other = world.url().replace("127.0.0.1", "localhost");
    let token = current_token(&env, "scoped");
    let clone = |url: &str, dir: &str| world.git(&env, &["clone", "-q", url, dir], &world.home);

    // A hand-written helper for every remote, scoped with --host: answers its host only.
    let line = format!(
        "!{} git-credential --host {host} scoped",
        env!("CARGO_BIN_EXE_latchkey")
    );
    world
        .git(
            &env,
            &["config", "--global", "credential.helper", &line],
            &world.home,
        )
        .success();
    let failed = clone(&other, "other");
    assert_ne!(failed.code, 0, "{failed:#?}");
    assert!(
        failed.stderr.contains("not answering git for localhost"),
        "{failed:#?}"
    );
    assert!(
        !world.schemes().iter().any(|e| e.0.is_some()),
        "a credential was sent to the other host: {:?}",
        world.schemes()
    );
    clone(&world.url(), "mine").success();

    // Without --host: no host gets it, and git says why.
    let unscoped = format!("!{} git-credential scoped", env!("CARGO_BIN_EXE_latchkey"));
    world
        .git(
            &env,
            &["config", "--global", "credential.helper", &unscoped],
            &world.home,
        )
        .success();
    let failed = clone(&world.url(), "unscoped");
    assert_ne!(failed.code, 0, "{failed:#?}");
    assert!(failed.stderr.contains("--host HOST"), "{failed:#?}");

    // --install wants a URL, names the full account, and warns about helpers after its own.
    world
        .git_credential(&env, &["--install", "scoped", &host.replace(":", "/")])
        .fails_with(2, &["https://"]);
    world
        .git(
            &env,
            &["config", "--global", "--unset-all", "credential.helper"],
            &world.home,
        )
        .success();
    let install = || world.git_credential(&env, &["--install", "scoped", &world.server.url]);
    assert!(!install().success().stderr.contains("warning"));
    // A helper added later for the repository runs after Latchkey's (the reset is before).
    let after = format!("credential.{}.helper", world.url());
    world
        .git(&env, &["config", "--global", &after, "store"], &world.home)
        .success();
    let out = install();
    out.success();
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("store"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("scoped/"), "{out:#?}");
    // An account not signed in yet may be named (sign in later), with a warning.
    let out = world.git_credential(&env, &["--install", "scoped/nobody", &world.server.url]);
    out.success();
    assert!(
        out.stderr.contains(
            "warning: there is no account `scoped/nobody` yet: sign in as it with `latchkey login scoped --account nobody`"
        ),
        "{out:#?}"
    );
    assert_eq!(files_containing(&world.home, &token), Vec::<PathBuf>::new());
}

// ----- kubectl

/// A self-signed certificate for 127.0.0.1 and its key, made with openssl: (cert, key).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (run scripts/setup)");
    assert!(out.status.success(), "{out:?}");
    (cert, key)
}

/// A kubeconfig for the API stand-in whose `users:` section is what `--print-user` printed.
fn kubeconfig(env: &Env, api: &str, cert: &Path, account: &str) -> PathBuf {
    let users = env
        .run(&[
            "kube-credential",
            "--print-user",
            "--user-name",
            "me",
            account,
        ])
        .success()
        .stdout
        .clone();
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(std::fs::read(cert).unwrap());
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {api}\n    certificate-authority-data: {ca}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: me\ncurrent-context: test\n{users}"
    );
    let path = env
        .dir
        .join(format!("kubeconfig-{}", account.replace('/', "_")));
    std::fs::write(&path, text).unwrap();
    path
}

fn kubectl(env: &Env, config: &Path) -> Run {
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    Run::from(
        env.tool(&kubectl)
            .arg("--kubeconfig")
            .arg(config)
            .args(["get", "--raw", "/api"])
            .env("HOME", env.dir.join("home"))
            .stdin(Stdio::null())
            .output()
            .expect("kubectl (run scripts/setup)"),
    )
}

#[test]
fn kubectl_gets_its_token_from_the_plugin_and_fails_fast_without_a_terminal() {
    let (auth, env) = signed_in("kube");
    let (cert, key) = self_signed(&env.dir);
    let api = NodeServer::start(
        "tools/kube-api.mjs",
        &[
            ("TLS_CERT", cert.to_str().unwrap()),
            ("TLS_KEY", key.to_str().unwrap()),
            ("ISSUER", &auth.issuer),
        ],
    );
    // Only for reading the stand-in's own log: rustls refuses a self-signed CA as the server's
    // certificate, which kubectl (Go) verifies and accepts.
    let client = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();

    let out = kubectl(&env, &kubeconfig(&env, &api.url, &cert, "kube"));
    out.success();
    let body: Value = serde_json::from_str(&out.stdout).expect("JSON from /api");
    assert_eq!(body["kind"], "APIVersions", "{out:#?}");
    assert_eq!(server_log(&api, &client).last().unwrap()["status"], 200);

    // An account not signed in, and kubectl without a terminal: a fast failure, no browser.
    env.add_profile(&auth, "kube2", "public-app", None);
    let requests = server_log(&api, &client).len();
    let started = Instant::now();
    let out = kubectl(&env, &kubeconfig(&env, &api.url, &cert, "kube2"));
    assert_ne!(out.code, 0, "{out:#?}");
    assert!(out.stderr.contains("latchkey login kube2"), "{out:#?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let log = std::fs::read_to_string(env.dir.join("browser.log")).unwrap();
    assert_eq!(
        log.lines().count(),
        1,
        "only the first sign-in's browser: {log}"
    );
    // Without a credential, kubectl sent nothing.
    assert_eq!(server_log(&api, &client).len(), requests);
}

#[test]
fn kube_credential_answers_in_the_version_asked_and_signs_in_once_for_many_callers() {
    let auth = AuthServer::start();
    let env = Env::new();
    env.add_profile(&auth, "many", "public-app", None);
    let interactive = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}"#;
    // Three kubectl processes at once, at a terminal, for an account not signed in yet.
    let children: Vec<Child> = (0..3)
        .map(|_| {
            env.command(&["kube-credential", "many"])
                .env("KUBERNETES_EXEC_INFO", interactive)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().unwrap()))
        .collect();
    let creds: Vec<Value> = outs
        .iter()
        .map(|o| serde_json::from_str(&o.success().stdout).expect("ExecCredential"))
        .collect();
    let log = std::fs::read_to_string(env.dir.join("browser.log")).unwrap();
    assert_eq!(log.lines().count(), 1, "one browser sign-in: {log}");
    assert_eq!(auth.stats()["authorization"], 1, "{}", auth.stats());
    let token = creds[0]["status"]["token"].as_str().unwrap();
    for c in &creds {
        assert_eq!(c["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(c["kind"], "ExecCredential");
        assert_eq!(c["status"]["token"], token);
        let at = c["status"]["expirationTimestamp"].as_str().unwrap();
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339");
        assert!(at.unix_timestamp() > latchkey::model::tokens::now() + 600);
    }
    assert_eq!(auth.userinfo(token).0, 200);
    // Without KUBERNETES_EXEC_INFO (run by hand): v1.
    let out = env.run(&["kube-credential", "many"]);
    let cred: Value = serde_json::from_str(&out.success().stdout).unwrap();
    assert_eq!(cred["apiVersion"], "client.authentication.k8s.io/v1");
}

// ----- completions

#[test]
fn completion_scripts_parse_and_complete_account_names() {
    let (_server, env) = signed_in("comp");
    let script = env.dir.join("latchkey.bash");
    std::fs::write(&script, &env.run(&["completions", "bash"]).success().stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    // The other shells' scripts: src/cli/completions.rs's tests.
    // What the script asks at a TAB after `latchkey token `: the accounts, from the config.
    let out = Run::from(
        env.command(&["--", "latchkey", "token", ""])
            .env("LATCHKEY_COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", "2")
            .env("_CLAP_COMPLETE_COMP_TYPE", "9")
            .output()
            .unwrap(),
    );
    let words: Vec<&str> = out.success().stdout.lines().collect();
    assert!(words.contains(&"comp/alice@example.test"), "{words:?}");
    assert!(words.contains(&"comp"), "{words:?}");
    let out = Run::from(
        env.command(&["--", "latchkey", "login", "co"])
            .env("LATCHKEY_COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", "2")
            .output()
            .unwrap(),
    );
    assert_eq!(out.success().stdout.trim(), "comp");
}

/// Drives the registered bash function as bash does at a TAB after `$1`: `COMP_WORDS` split at
/// blanks and at `=` and `:` (`COMP_WORDBREAKS`), each of those a word of its own; prints
/// `complete -p latchkey`, then `COMPREPLY`, one per line.
const BASH_TAB: &str = r#"
source "$SCRIPT" || exit 9
complete -p latchkey || exit 8
line=$1 piece= COMP_WORDS=()
for ((j = 0; j < ${#line}; j++)); do
    c=${line:j:1}
    if [[ $c == ' ' ]]; then
        [[ -n $piece ]] && COMP_WORDS+=("$piece"); piece=
    elif [[ $c == [=:] ]]; then
        [[ -n $piece ]] && COMP_WORDS+=("$piece"); COMP_WORDS+=("$c"); piece=
    else
        piece+=$c
    fi
done
if [[ -n $piece || ${line: -1} == ' ' ]]; then COMP_WORDS+=("$piece"); fi
COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line} COMP_TYPE=9
cur=${COMP_WORDS[COMP_CWORD]}
[[ $cur == [=:] ]] && cur=
_clap_complete_latchkey latchkey "$cur" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

#[test]
fn bash_completes_accounts_after_env_name_and_for_install() {
    let (_server, env) = signed_in("comp");
    let script = env.dir.join("latchkey.bash");
    std::fs::write(&script, &env.run(&["completions", "bash"]).success().stdout).unwrap();
    let tab = |line: &str| -> Vec<String> {
        let out = Run::from(
            env.tool("bash")
                .args(["-c", BASH_TAB, "bash", line])
                .env("SCRIPT", &script)
                .output()
                .unwrap(),
        );
        let mut lines = out.success().stdout.lines().map(str::to_string);
        let registered = lines.next().unwrap_or_default();
        assert!(
            registered.contains("-F _clap_complete_latchkey latchkey"),
            "{registered}"
        );
        lines.filter(|l| !l.is_empty()).collect()
    };
    // bash replaces only what follows `=`: the answers are the accounts, not `--` or flags.
    let after_name = tab("latchkey exec --env API=");
    assert!(
        after_name.contains(&"comp/alice@example.test".to_string()),
        "{after_name:?}"
    );
    assert!(
        after_name.iter().all(|w| !w.starts_with('-')),
        "{after_name:?}"
    );
    assert_eq!(
        tab("latchkey exec --env API=comp/"),
        ["comp/alice@example.test"]
    );
    let install = tab("latchkey git-credential --install ");
    assert!(install.contains(&"comp".to_string()), "{install:?}");
    assert!(
        install.contains(&"comp/alice@example.test".to_string()),
        "{install:?}"
    );
    // Elsewhere as before.
    assert!(tab("latchkey token ").contains(&"comp".to_string()));
}

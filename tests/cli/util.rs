//! Test harness: the real authorization server, the scripted browser, the `latchkey` binary in
//! a private config dir, and a small fault server for answers no real server gives on demand.
//! The Secret Service is the one `scripts/with-keyring` starts for the whole test run.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The scopes of a sign-in with an id_token and a refresh token.
pub const OIDC: &str = "openid email offline_access";

/// Hand-given endpoints of a provider that is never asked (`profile add` flags).
pub const EXAMPLE_ENDPOINTS: &str =
    "--authorize-url https://example.com/a --token-url https://example.com/t";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Fails loudly when the tests run outside `scripts/with-keyring`: they must never touch a
/// user's own keychain.
fn require_private_keyring() {
    assert!(
        std::env::var_os("LATCHKEY_TEST_SANDBOX").is_some(),
        "run the tests through scripts/test (it starts a private Secret Service)"
    );
}

/// A node script under tests/ (a test server), running until dropped.
pub struct NodeServer {
    child: Child,
    /// What it announced on its first line of output, `READY <url>`.
    pub url: String,
}

impl NodeServer {
    /// `node tests/SCRIPT` on a port the kernel picks (`PORT=0`; a script that takes no port
    /// ignores it), with these environment variables.
    pub fn start(script: &str, vars: &[(&str, &str)]) -> Self {
        Self::spawn(Self::command(script).envs(vars.iter().copied()), script)
    }

    /// The command [`NodeServer::start`] runs, for more settings before [`NodeServer::spawn`].
    pub fn command(script: &str) -> Command {
        let mut cmd = Command::new("node");
        cmd.arg(root().join("tests").join(script))
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        cmd
    }

    /// Starts `cmd` (from [`NodeServer::command`]) and waits for its READY line.
    pub fn spawn(cmd: &mut Command, script: &str) -> Self {
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start node tests/{script} (run scripts/setup): {e}"));
        let url = read_ready(&mut child, script);
        NodeServer { child, url }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The panva oidc-provider test server (tests/authserver/server.mjs).
pub struct AuthServer {
    _node: NodeServer,
    pub issuer: String,
}

impl AuthServer {
    pub fn start() -> Self {
        Self::start_with_ttl(3600)
    }

    pub fn start_with_ttl(ttl: u64) -> Self {
        Self::start_with_env(&[("ACCESS_TOKEN_TTL", &ttl.to_string())])
    }

    /// Starts the server with these environment variables (tests/authserver/server.mjs lists
    /// them: ACCESS_TOKEN_TTL, DPOP_REQUIRE_NONCE, PKJWT_JWKS_FILE, ISSUER, TLS_CERT, …).
    pub fn start_with_env(vars: &[(&str, &str)]) -> Self {
        require_private_keyring();
        let node = NodeServer::start("authserver/server.mjs", vars);
        AuthServer {
            issuer: node.url.clone(),
            _node: node,
        }
    }

    pub fn stats(&self) -> Value {
        reqwest::blocking::get(format!("{}/__test/stats", self.issuer))
            .and_then(|r| r.json())
            .expect("stats")
    }

    pub fn count(&self, grant: &str) -> u64 {
        self.stats()["token"][grant].as_u64().unwrap_or(0)
    }

    /// Calls the userinfo endpoint with an access token; the HTTP status and body.
    pub fn userinfo(&self, access_token: &str) -> (u16, Value) {
        let r = reqwest::blocking::Client::new()
            .get(format!("{}/me", self.issuer))
            .bearer_auth(access_token)
            .send()
            .expect("userinfo");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Introspects a token (RFC 7662) as the m2m client, which may introspect any token here.
    pub fn introspect(&self, token: &str) -> Value {
        reqwest::blocking::Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth("m2m", Some("m2m-secret"))
            .form(&[("token", token)])
            .send()
            .expect("introspection")
            .json()
            .expect("introspection json")
    }

    /// Whether the server would still accept `refresh_token` (issued, neither spent by a
    /// rotation nor revoked).
    pub fn refresh_token_is_live(&self, refresh_token: &str) -> bool {
        self.introspect(refresh_token)["active"] == true
    }

    /// Uses a refresh token directly, as an attacker or a second client would.
    pub fn refresh_directly(&self, client_id: &str, refresh_token: &str) -> (u16, Value) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/token", self.issuer))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client_id),
            ])
            .send()
            .expect("token request");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Ends an access token early, leaving the grant and its refresh token (oidc-provider's
    /// RFC 7009 endpoint would end every token of the grant, the refresh token included).
    pub fn end_access_token(&self, token: &str) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/__test/end-access-token", self.issuer))
            .query(&[("token", token)])
            .send()
            .expect("end the access token");
        assert_eq!(r.status().as_u16(), 204);
    }
}

/// The test server's userinfo endpoint accepts `token` as alice's.
#[track_caller]
pub fn assert_accepted_for_alice(server: &AuthServer, token: &str) {
    let (status, info) = server.userinfo(token);
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], "alice");
}

/// The test server, and a user with a profile `name` for its `client` (without a secret).
pub fn with_profile(name: &str, client: &str) -> (AuthServer, Env) {
    let server = AuthServer::start();
    let env = Env::new();
    env.add_profile(&server, name, client, None);
    (server, env)
}

/// [`with_profile`] for the public client, signed in through the scripted browser.
#[track_caller]
pub fn signed_in(name: &str) -> (AuthServer, Env) {
    let server = AuthServer::start();
    let env = signed_in_at(&server, name);
    (server, env)
}

/// A new [`Env`] with profile `name` for the public client of `server`, signed in through the
/// scripted browser.
#[track_caller]
pub fn signed_in_at(server: &AuthServer, name: &str) -> Env {
    let env = Env::new();
    env.add_profile(server, name, "public-app", None);
    env.login(name).success();
    env
}

/// The refresh token the keychain holds for `account`.
pub fn stored_refresh_token(env: &Env, account: &str) -> String {
    let tokens = stored_tokens(env, account);
    tokens
        .refresh_token
        .expect("a refresh token")
        .secret()
        .clone()
}

/// The access token the keychain holds for the account `name` names.
pub fn current_token(env: &Env, name: &str) -> String {
    stored_tokens(env, &account(env, name).id())
        .access_token
        .secret()
        .clone()
}

/// The first line `child` writes to its standard output (taken from it), trimmed.
pub fn first_line(child: &mut Child, what: &str) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    line.trim().to_string()
}

/// The URL a test server announces on its first line of output, `READY <url>`.
pub fn read_ready(child: &mut Child, what: &str) -> String {
    let line = first_line(child, what);
    line.strip_prefix("READY ")
        .unwrap_or_else(|| panic!("{what} said {line:?}"))
        .to_string()
}

/// Runs `cmd` with `stdin` as its standard input.
pub fn run_with_stdin(mut cmd: Command, stdin: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    Run::from(child.wait_with_output().expect("wait"))
}

/// One user's world: a private config dir, the scripted browser, the `latchkey` binary.
pub struct Env {
    pub dir: PathBuf,
    pub browser_env: Vec<(String, String)>,
    pub extra_env: Vec<(String, String)>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Env {
    pub fn new() -> Self {
        require_private_keyring();
        let dir = std::env::temp_dir().join(format!(
            "latchkey-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(dir.join("run")).expect("temp dir");
        Env {
            dir,
            browser_env: vec![],
            extra_env: vec![],
        }
    }

    /// A new world with the profile of [`Env::add_oidc_profile`], which must be added.
    #[track_caller]
    pub fn with_oidc_profile(issuer: &str, name: &str, client_and_flags: &str) -> Self {
        let env = Env::new();
        env.add_oidc_profile(issuer, name, client_and_flags)
            .success();
        env
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("config/latchkey")
    }

    /// `relative` below the test's directory, made with its parents.
    #[track_caller]
    pub fn mkdir(&self, relative: &str) -> PathBuf {
        let dir = self.dir.join(relative);
        std::fs::create_dir_all(&dir).expect("a test directory");
        dir
    }

    pub fn browser(mut self, key: &str, value: &str) -> Self {
        self.browser_env.push((key.into(), value.into()));
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.tool(env!("CARGO_BIN_EXE_latchkey"));
        cmd.args(args);
        cmd
    }

    /// Another program (git, kubectl) in this world: it runs `latchkey` with this config dir
    /// and scripted browser.
    pub fn tool(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("XDG_CONFIG_HOME", self.dir.join("config"))
            // The agent's socket and the history are this world's own; no agent of the user's.
            .env("XDG_RUNTIME_DIR", self.dir.join("run"))
            .env("XDG_STATE_HOME", self.dir.join("state"))
            .env_remove("LATCHKEY_AGENT")
            // No `latchkey serve` of the user's either.
            .env_remove("LATCHKEY_URL")
            .env_remove("LATCHKEY_SERVE_TOKEN")
            .env("BROWSER", root().join("tests/authserver/browser"))
            .env("SCRIPTED_BROWSER_LOG", self.dir.join("browser.log"))
            .env_remove("SCRIPTED_BROWSER_ACTION")
            .env_remove("SCRIPTED_BROWSER_TAMPER")
            .env_remove("SCRIPTED_BROWSER_LOGIN")
            .env_remove("SCRIPTED_BROWSER_DEVICE")
            .stdin(Stdio::null());
        for (k, v) in self.browser_env.iter().chain(&self.extra_env) {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run latchkey"))
    }

    /// Runs `latchkey` with the words of `line` (see [`words`]).
    pub fn cli(&self, line: &str) -> Run {
        let words = words(line);
        self.run(&words.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `latchkey ARGS…` run in `dir`.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        Run::from(self.command(args).current_dir(dir).output().expect("run"))
    }

    /// `latchkey exec --env-file FILE -- sh -c SCRIPT`.
    pub fn exec_sh_with(&self, env_file: &Path, script: &str) -> Run {
        let file = env_file.to_str().expect("env file path");
        self.run(&["exec", "--env-file", file, "--", "sh", "-c", script])
    }

    /// [`Env::cli`] with `stdin` on standard input.
    pub fn cli_stdin(&self, line: &str, stdin: &str) -> Run {
        let words = words(line);
        self.run_with_stdin(&words.iter().map(String::as_str).collect::<Vec<_>>(), stdin)
    }

    /// Starts `latchkey` with standard output and error piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn latchkey")
    }

    /// Starts `latchkey login …` (the words of `line`, `--no-browser` among them) and returns
    /// it with the authorization URL it printed.
    pub fn start_login(&self, line: &str) -> (Child, url::Url) {
        let words = words(line);
        let mut child = self.spawn(&words.iter().map(String::as_str).collect::<Vec<_>>());
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("authorization URL");
        let url = url::Url::parse(line.trim()).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        (child, url)
    }

    /// `latchkey token ARGS…`, which must succeed: the token it printed.
    #[track_caller]
    pub fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["token"];
        all.extend(args);
        self.run(&all).success().stdout.trim().to_string()
    }

    /// `latchkey refresh ACCOUNT`, which must succeed: the new access token it printed.
    #[track_caller]
    pub fn refresh(&self, account: &str) -> String {
        self.run(&["refresh", account])
            .success()
            .stdout
            .trim()
            .to_string()
    }

    /// `latchkey profile show NAME --json`, which must succeed, parsed.
    #[track_caller]
    pub fn profile_json(&self, name: &str) -> Value {
        let out = self.run(&["profile", "show", name, "--json"]);
        serde_json::from_str(&out.success().stdout).expect("profile json")
    }

    /// What the scripted browser logged (empty when it never ran).
    pub fn browser_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("browser.log")).unwrap_or_default()
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        run_with_stdin(self.command(args), stdin)
    }

    /// Every byte of every file under the config dir, for "no secret on disk" checks.
    pub fn config_bytes(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = vec![];
        walk(&self.dir, &mut out);
        out
    }

    pub fn assert_not_on_disk(&self, secret: &str) {
        assert!(secret.len() >= 8, "too short to search for: {secret:?}");
        for (path, bytes) in self.config_bytes() {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(
                !hay.contains(secret),
                "a secret was written to {}",
                path.display()
            );
        }
    }

    /// No account in `accounts --json`, and no tokens in the keychain for `profile` under any
    /// of `labels`.
    #[track_caller]
    pub fn assert_no_account(&self, profile: &str, labels: &[&str]) {
        assert!(self.accounts().is_empty(), "{:?}", self.accounts());
        let keychain = keychain_of(self);
        for label in labels {
            let key = latchkey::model::account::account_key(profile, label);
            let stored = block_on(keychain.get(&key)).expect("keychain");
            assert!(stored.is_none(), "tokens stored for {profile}/{label}");
        }
    }

    pub fn accounts(&self) -> Vec<Value> {
        let out = self.run(&["accounts", "--json"]);
        out.success();
        serde_json::from_str::<Value>(&out.stdout)
            .expect("accounts json")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Adds a profile for one of the test server's clients.
    pub fn add_profile(&self, server: &AuthServer, name: &str, client: &str, secret: Option<&str>) {
        let line = oidc_profile_line(&server.issuer, name, client);
        let out = match secret {
            Some(secret) if client == "conf-post" => self.cli_stdin(
                &format!("{line} --client-secret-stdin --auth-method post"),
                secret,
            ),
            Some(secret) => self.cli_stdin(&format!("{line} --client-secret-stdin"), secret),
            None => self.cli(&line),
        };
        out.success();
    }

    /// `profile add NAME --issuer ISSUER --client-id CLIENT_AND_FLAGS` with the scopes
    /// [`OIDC`]: a profile for a client of a test provider, with more flags after the client.
    pub fn add_oidc_profile(&self, issuer: &str, name: &str, client_and_flags: &str) -> Run {
        self.cli(&oidc_profile_line(issuer, name, client_and_flags))
    }

    pub fn login(&self, profile: &str) -> Run {
        self.run(&["login", profile, "--timeout", "30"])
    }
}

/// The words of [`Env::add_oidc_profile`].
fn oidc_profile_line(issuer: &str, name: &str, client_and_flags: &str) -> String {
    format!("profile add {name} --issuer {issuer} --scope '{OIDC}' --client-id {client_and_flags}")
}

impl Drop for Env {
    fn drop(&mut self) {
        // An agent started in this world ends with it.
        if self.dir.join("run/latchkey/agent.sock").exists() {
            let _ = self.command(&["agent", "stop"]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    /// Succeeds, and standard output has every needle.
    #[track_caller]
    pub fn says(&self, needles: &[&str]) -> &Self {
        self.success();
        for needle in needles {
            assert!(
                self.stdout.contains(needle),
                "stdout lacks {needle:?}: {self:#?}"
            );
        }
        self
    }

    #[track_caller]
    pub fn fails_with(&self, code: i32, needles: &[&str]) -> &Self {
        assert_eq!(self.code, code, "wrong exit code: {self:#?}");
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}: {}",
                self.stderr
            );
        }
        self
    }
}

/// The account's tokens as the keychain holds them.
pub fn stored_tokens(env: &Env, account: &str) -> latchkey::TokenSet {
    let engine = latchkey::Latchkey::open_at(env.config_dir());
    block_on(engine.stored_tokens(account))
        .unwrap_or_else(|e| panic!("tokens of {account}: {e}"))
        .1
}

/// Overwrites the account's stored tokens (e.g. to make the access token expired).
pub fn write_tokens(env: &Env, account: &latchkey::Account, tokens: &latchkey::TokenSet) {
    block_on(keychain_of(env).set(&account.keychain_key(), tokens.to_bytes()))
        .expect("write tokens");
}

/// The keychain as `env`'s config directory sees it: its entries, under its namespace.
pub fn keychain_of(env: &Env) -> latchkey::store::keychain::Keychain {
    latchkey::store::keychain::Keychain::default()
        .for_config(latchkey::store::config::Config::new(env.config_dir()))
}

pub fn account(env: &Env, name: &str) -> latchkey::Account {
    latchkey::store::config::Config::new(env.config_dir())
        .accounts()
        .expect("accounts")
        .into_iter()
        .find(|a| a.id() == name || a.profile == name)
        .unwrap_or_else(|| panic!("no account {name}"))
}

/// Sets `key` of the (first) profile in profiles.toml to `value`, as a hand edit would; the
/// old value.
pub fn set_profile_value(env: &Env, key: &str, value: &str) -> String {
    let path = env.config_dir().join("profiles.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut doc: toml::Table = text.parse().unwrap();
    let profile = doc["profiles"]
        .as_table_mut()
        .unwrap()
        .iter_mut()
        .next()
        .unwrap()
        .1;
    let old = profile[key].as_str().unwrap().to_string();
    profile.as_table_mut().unwrap()[key] = toml::Value::String(value.into());
    std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
    old
}

/// `line` split at spaces into `latchkey` arguments; text in single quotes is one word
/// (`--scope 'openid email'`). No other quoting: arguments here hold no quote.
pub fn words(line: &str) -> Vec<String> {
    line.split('\'')
        .enumerate()
        .flat_map(|(i, part)| {
            if i % 2 == 1 {
                vec![part.to_string()]
            } else {
                part.split_whitespace().map(str::to_string).collect()
            }
        })
        .collect()
}

/// One HTTP request as the test servers read it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    /// The body parsed as a form (empty when it is none).
    pub form: HashMap<String, String>,
}

/// Reads one request (head and a small body) from `stream`; `None` when it is not HTTP.
pub fn read_request(stream: &mut TcpStream) -> Option<HttpRequest> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = vec![0u8; 65536];
    let mut read = 0;
    let started = Instant::now();
    let mut body_start = None;
    while read < buf.len() && started.elapsed() < Duration::from_secs(5) {
        match stream.read(&mut buf[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
        let head = String::from_utf8_lossy(&buf[..read]);
        if let Some(end) = head.find("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            body_start = Some(end + 4);
            if read >= end + 4 + length {
                break;
            }
        }
    }
    let body_start = body_start?;
    let head = String::from_utf8_lossy(&buf[..body_start]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let url = url::Url::parse(&format!("http://x{target}")).ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(HttpRequest {
        method,
        path: url.path().to_string(),
        query: url.query_pairs().into_owned().collect(),
        headers,
        form: url::form_urlencoded::parse(&buf[body_start..read])
            .into_owned()
            .collect(),
    })
}

/// A canned HTTP response.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Canned {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Canned {
            status,
            content_type,
            body: body.into(),
        }
    }

    pub fn json(body: impl Into<String>) -> Self {
        Self::new(200, "application/json", body)
    }

    pub fn not_found() -> Self {
        Self::new(404, "text/plain", "not found")
    }
}

/// A tiny HTTP/1.1 server answering with canned responses, counting and recording requests.
/// For faults and provider quirks no real authorization server produces on demand.
pub struct FaultServer {
    pub base: String,
    pub hits: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<HttpRequest>>>,
    /// The path and body of every answer, oldest first.
    pub answers: Arc<Mutex<Vec<(String, String)>>>,
}

type Handler = dyn Fn(&str, &HttpRequest) -> (Canned, Vec<(&'static str, String)>) + Send + Sync;

impl FaultServer {
    /// Answers by path; `{base}` in a body becomes the server's base URL.
    pub fn start(routes: Vec<(&'static str, Canned)>) -> Self {
        Self::handle(move |_, req| {
            let canned = routes
                .iter()
                .find(|(p, _)| *p == req.path)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(Canned::not_found);
            (canned, vec![])
        })
    }

    /// Answers each request with what `handler` returns for (base URL, request): a response and
    /// extra headers (e.g. `location`).
    pub fn handle(
        handler: impl Fn(&str, &HttpRequest) -> (Canned, Vec<(&'static str, String)>)
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let (counter, log, answered) = (hits.clone(), requests.clone(), answers.clone());
        let own_base = base.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                log.lock().unwrap().push(req.clone());
                let (canned, headers) = handler(&own_base, &req);
                let body = canned.body.replace("{base}", &own_base);
                let mut response = format!(
                    "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
                    canned.status,
                    canned.content_type,
                    body.len(),
                );
                for (k, v) in headers {
                    response.push_str(&format!("{k}: {v}\r\n"));
                }
                response.push_str("\r\n");
                response.push_str(&body);
                let _ = stream.write_all(response.as_bytes());
                answered.lock().unwrap().push((req.path.clone(), body));
            }
        });
        FaultServer {
            base,
            hits,
            requests,
            answers,
        }
    }

    /// The bodies of the answers at `path`, oldest first.
    pub fn answers_from(&self, path: &str) -> Vec<String> {
        self.answers
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The requests served at `path`, oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// The history as `latchkey history --json` prints it (up to 1000 lines).
pub fn history(env: &Env) -> Vec<Value> {
    let out = env.run(&["history", "--json", "--limit", "1000"]);
    serde_json::from_str::<Value>(&out.success().stdout)
        .expect("history json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

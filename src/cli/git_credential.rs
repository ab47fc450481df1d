//! `latchkey git-credential`: git's credential helper protocol (`key=value` lines in, the same
//! out), and `--install` / `--uninstall` of the git config lines that use it.

use std::io::{IsTerminal, Read};
use std::process::Command;

use clap::{Args, ValueEnum};
use latchkey::api::integrations::git::{self, Auth, Helper};
use latchkey::door::Purpose;
use latchkey::model::profile::is_loopback;
use latchkey::model::untrusted::for_terminal;
use latchkey::{Error, Latchkey, Result, model::presets};

use super::completions::account_names;
use super::io::{Io, errln, out, outln};
use super::tool_token::token_for_tool;

#[derive(Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
enum AuthArg {
    /// `username` + the token as `password`: every git, every server that takes tokens.
    #[default]
    Basic,
    /// `Authorization: Bearer`, when git announces it can (git ≥ 2.46); Basic otherwise.
    Bearer,
}

#[derive(Args)]
pub struct GitCredentialArgs {
    /// How `get` answers.
    #[arg(long, value_enum, default_value_t)]
    auth: AuthArg,
    /// The user name sent with the token for Basic (default: the provider preset's, e.g.
    /// `x-access-token` for GitHub, `oauth2` for GitLab; else `oauth2`).
    #[arg(long)]
    username: Option<String>,
    /// The host `get` answers for (`HOST` or `HOST:PORT`, as git sends it; repeatable). Any
    /// other host gets no credential; without --host, no host does. --install sets it from URL.
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Make Latchkey git's credential helper for URL, answering with ACCOUNT's tokens for
    /// URL's host only: writes two lines to ~/.gitconfig (an empty helper that clears those
    /// configured before, then Latchkey), and warns about helpers git would run after it.
    #[arg(long, num_args = 2, value_names = ["ACCOUNT", "URL"], conflicts_with_all = ["account", "action", "uninstall"], add = super::completions::first_value_accounts())]
    install: Option<Vec<String>>,
    /// Remove the credential helpers configured for URL from ~/.gitconfig.
    #[arg(long, value_name = "URL", conflicts_with_all = ["account", "action"])]
    uninstall: Option<String>,
    /// `PROFILE/LABEL`, or `PROFILE` when it has one account.
    #[arg(required_unless_present_any = ["install", "uninstall"], add = account_names())]
    account: Option<String>,
    /// What git asks: `get`, `store` or `erase` (others are ignored, as the protocol asks).
    #[arg(required_unless_present_any = ["install", "uninstall"])]
    action: Option<String>,
}

impl GitCredentialArgs {
    fn auth(&self) -> Auth {
        match self.auth {
            AuthArg::Basic => Auth::Basic,
            AuthArg::Bearer => Auth::Bearer,
        }
    }
}

pub async fn run(
    engine: &std::sync::Arc<Latchkey>,
    args: GitCredentialArgs,
    io: &mut Io<'_>,
) -> Result<()> {
    if let Some(pair) = &args.install {
        return install(engine, &args, &pair[0], &pair[1], io);
    }
    if let Some(url) = &args.uninstall {
        return uninstall(url, io);
    }
    let (Some(account), Some(action)) = (&args.account, &args.action) else {
        return Err(Error::InvalidInput(
            "give ACCOUNT and the action (get, store or erase)".into(),
        ));
    };
    match action.as_str() {
        "get" => get(engine, &args, account, &read_request()?, io).await,
        "erase" => erase(engine, &args, account, &read_request()?, io).await,
        // Latchkey owns the tokens: nothing to store. Unknown actions are ignored.
        _ => read_request().map(drop),
    }
}

/// What git sends: the attributes of the credential it wants, one `key=value` per line.
#[derive(Default)]
struct Request {
    fields: Vec<(String, String)>,
}

/// git sends the rejected `password` (a token) with `erase`: Debug shows the keys only.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.fields.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Request {
    fn parse(text: &str) -> Request {
        let fields = text
            .lines()
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Request { fields }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn has_capability(&self, name: &str) -> bool {
        self.fields
            .iter()
            .any(|(k, v)| k == "capability[]" && v == name)
    }
}

fn read_request() -> Result<Request> {
    let mut text = String::new();
    // Git's requests are a few hundred bytes; the limit keeps a runaway writer out.
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| Error::io("cannot read git's request from standard input", e))?;
    Ok(Request::parse(&text))
}

/// Whether a token may go to this server: https, or plain http on loopback only. `false` for
/// what is not http at all (e.g. `cert`): not Latchkey's to answer.
fn may_send(request: &Request) -> Result<bool> {
    let host = request.get("host").unwrap_or_default();
    match request.get("protocol") {
        Some("https") => Ok(true),
        Some("http") => {
            let loopback =
                url::Url::parse(&format!("http://{host}/")).is_ok_and(|u| is_loopback(&u));
            if loopback {
                Ok(true)
            } else {
                Err(Error::InvalidInput(format!(
                    "git asked for a token for http://{host}, which is not https: refusing to send it in the clear"
                )))
            }
        }
        _ => Ok(false),
    }
}

/// Whether this helper answers for the host git asks about: one of its `--host`s. When not,
/// says why on standard error (git goes on to its other helpers, or asks).
fn for_this_host(args: &GitCredentialArgs, name: &str, request: &Request, io: &mut Io) -> bool {
    let protocol = request.get("protocol").unwrap_or_default();
    let host = request.get("host").unwrap_or_default();
    if args.hosts.is_empty() {
        errln!(
            io,
            "latchkey: not answering git: this helper line for `{}` names no host, and a helper without --host would hand the token to every remote; add `--host HOST` to it, or run `latchkey git-credential --install ACCOUNT URL` again",
            for_terminal(name)
        );
        return false;
    }
    if git::host_allowed(protocol, host, &args.hosts) {
        return true;
    }
    errln!(
        io,
        "latchkey: not answering git for {}: this helper answers for {} only",
        for_terminal(host),
        for_terminal(&args.hosts.join(", "))
    );
    false
}

async fn get(
    engine: &std::sync::Arc<Latchkey>,
    args: &GitCredentialArgs,
    name: &str,
    request: &Request,
    io: &mut Io<'_>,
) -> Result<()> {
    // Not http(s): not Latchkey's to answer (nothing said).
    if !matches!(request.get("protocol"), Some("https" | "http")) {
        return Ok(());
    }
    if !for_this_host(args, name, request, io) || !may_send(request)? {
        return Ok(());
    }
    let interactive = std::env::var_os("GIT_TERMINAL_PROMPT").is_none_or(|v| v != "0")
        && std::io::stderr().is_terminal();
    let handed = token_for_tool(
        engine,
        name,
        60,
        Purpose::Git,
        interactive,
        "git runs Latchkey without a terminal (or with GIT_TERMINAL_PROMPT=0)",
    )
    .await?;
    let token = handed.access_token.as_str();
    let bearer = args.auth() == Auth::Bearer && request.has_capability("authtype");
    if args.auth() == Auth::Bearer && !bearer {
        errln!(
            io,
            "latchkey: this git does not take Bearer credentials from helpers (git 2.46 or later does); answering with Basic"
        );
    }
    let mut out = Vec::new();
    if bearer {
        out.push(("capability[]", "authtype".to_string()));
        out.push(("authtype", "Bearer".to_string()));
        out.push(("credential", token.to_string()));
        out.push(("ephemeral", "1".to_string()));
    } else {
        let username = match &args.username {
            Some(u) => u.clone(),
            // Inside a container with `latchkey serve`: no profile here to name a username.
            None if super::handout::remote() => {
                latchkey::model::presets::DEFAULT_GIT_USERNAME.to_string()
            }
            None => {
                let profile = engine.profile(handed.profile())?;
                presets::git_username(engine.config().dir(), &profile)?
            }
        };
        out.push(("username", username));
        out.push(("password", token.to_string()));
        if let Some(at) = handed.expires_at {
            out.push(("password_expiry_utc", at.to_string()));
        }
    }
    // A value with a line break would smuggle attributes into git's protocol.
    if out.iter().any(|(_, v)| v.chars().any(char::is_control)) {
        return Err(Error::BadResponse {
            context: format!("the token of `{}`", handed.account),
            detail: "it holds control characters, which git's protocol cannot carry".into(),
        });
    }
    let text: String = out.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    out!(io, "{text}")
}

/// The server refused the credential: mark the token so that the next `get` refreshes.
async fn erase(
    engine: &Latchkey,
    args: &GitCredentialArgs,
    name: &str,
    request: &Request,
    io: &mut Io<'_>,
) -> Result<()> {
    let protocol = request.get("protocol").unwrap_or_default();
    let host = request.get("host").unwrap_or_default();
    // From a `latchkey serve` endpoint: nothing here to mark; its host refreshes by expiry.
    if super::handout::remote()
        || !may_send(request).unwrap_or(false)
        || !git::host_allowed(protocol, host, &args.hosts)
    {
        return Ok(());
    }
    let presented = request.get("password").or(request.get("credential"));
    if engine.reject_token(name, presented).await? {
        errln!(
            io,
            "latchkey: the server refused the token of `{name}`; the next git command gets a fresh one"
        );
    }
    Ok(())
}

fn install(
    engine: &Latchkey,
    args: &GitCredentialArgs,
    account: &str,
    url: &str,
    io: &mut Io,
) -> Result<()> {
    let url = git::normalize_url(url)?;
    let account = full_account(engine, account)?;
    let mut hosts = vec![git::host_of(&url)?];
    for h in &args.hosts {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    let program = super::program();
    let helper = Helper {
        program: &program,
        account: &account,
        auth: args.auth(),
        username: args.username.as_deref(),
        hosts,
    };
    let [(key, reset), (_, value)] = helper.entries(&url);
    git_config(&["--replace-all", &key, &reset])?;
    git_config(&["--add", &key, &value])?;
    outln!(io, "git now asks Latchkey for {url}: {key} = {value}")?;
    // Allowed (sign in afterwards), but a mistyped label would otherwise go unnoticed.
    // A machine client (client credentials) has no sign-in: its token is fetched when asked.
    if engine.account(&account).is_err()
        && let Some((profile, label)) = account.split_once('/')
        && engine
            .profile(profile)
            .is_ok_and(|p| p.grant != latchkey::Grant::ClientCredentials)
    {
        errln!(
            io,
            "warning: there is no account `{}` yet: sign in as it with `{}`",
            for_terminal(&account),
            latchkey::api::integrations::login_command(profile, Some(label))
        );
    }
    warn_about_later_helpers(&url, &value, io);
    Ok(())
}

/// The full `PROFILE/LABEL` of `name`: a helper line must keep naming the same account when
/// the profile gets another one. An account not signed in yet must be named in full, and its
/// profile must exist.
fn full_account(engine: &Latchkey, name: &str) -> Result<String> {
    if let Ok(account) = engine.account(name) {
        return Ok(account.id().to_string());
    }
    match name.split_once('/') {
        Some((profile, label)) if !label.is_empty() => {
            engine.profile(profile)?;
            Ok(name.to_string())
        }
        _ => {
            engine.profile(name)?;
            Err(Error::InvalidInput(format!(
                "profile `{name}` has no account to name yet: name the account in full, as {name}/LABEL (the label `latchkey login {name} --account LABEL` signs in as)"
            )))
        }
    }
}

/// Warns about credential helpers git would run after Latchkey's for `url`: git hands each
/// of them the token (its `store` after the token worked), e.g. `store` writes it to
/// ~/.git-credentials. The empty line before Latchkey's clears only those before.
fn warn_about_later_helpers(url: &str, ours: &str, io: &mut Io) {
    let Ok(out) = Command::new("git")
        .args(["config", "--show-origin", "--null", "--list"])
        .output()
    else {
        return;
    };
    let entries = git::parse_config_list(&String::from_utf8_lossy(&out.stdout));
    let after = git::helpers_after(&entries, url, ours);
    if after.is_empty() {
        return;
    }
    errln!(
        io,
        "latchkey: warning: git runs these credential helpers after Latchkey's for {url}, and git hands each of them the token (a `store` helper writes it to ~/.git-credentials):"
    );
    for e in &after {
        errln!(
            io,
            "  {} = {}  ({})",
            for_terminal(&e.key),
            for_terminal(&e.value),
            for_terminal(&e.origin)
        );
    }
    errln!(
        io,
        "latchkey: remove them, or scope them to other URLs (credential.<URL>.helper), so that tokens stay in Latchkey"
    );
}

fn uninstall(url: &str, io: &mut Io) -> Result<()> {
    let url = git::normalize_url(url)?;
    let key = git::config_key(&url);
    match git_config(&["--unset-all", &key]) {
        Ok(()) => outln!(io, "Removed the credential helpers for {url} ({key})."),
        // git config exits 5 when there was nothing to unset.
        Err(GitConfigError::Status(5)) => {
            outln!(io, "No credential helper was configured for {url}.")
        }
        Err(e) => Err(e.into()),
    }
}

enum GitConfigError {
    Status(i32),
    Spawn(std::io::Error),
}

impl From<GitConfigError> for Error {
    fn from(e: GitConfigError) -> Self {
        match e {
            GitConfigError::Status(code) => Error::io(
                "git config failed",
                std::io::Error::other(format!("exit code {code}")),
            ),
            GitConfigError::Spawn(e) => Error::io("cannot run git (is it installed?)", e),
        }
    }
}

fn git_config(args: &[&str]) -> std::result::Result<(), GitConfigError> {
    let status = Command::new("git")
        .args(["config", "--global"])
        .args(args)
        .status()
        .map_err(GitConfigError::Spawn)?;
    match status.code() {
        Some(0) => Ok(()),
        code => Err(GitConfigError::Status(code.unwrap_or(-1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::Captured;

    #[test]
    fn requests_are_key_value_lines_up_to_a_blank_line() {
        let r = Request::parse(
            "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=git.example.com\nwwwauth[]=Bearer realm=\"x\"\npath=a=b\n\nhost=ignored\n",
        );
        assert!(r.has_capability("authtype") && !r.has_capability("nope"));
        assert_eq!(r.get("host"), Some("git.example.com"));
        assert_eq!(r.get("path"), Some("a=b"));
        assert_eq!(r.get("wwwauth[]"), Some("Bearer realm=\"x\""));
        assert!(may_send(&r).unwrap());
    }

    #[test]
    fn tokens_go_over_https_or_loopback_http_only() {
        let req = |p: &str, h: &str| Request::parse(&format!("protocol={p}\nhost={h}\n"));
        assert!(may_send(&req("http", "127.0.0.1:8080")).unwrap());
        assert!(may_send(&req("http", "localhost")).unwrap());
        assert!(may_send(&req("http", "git.example.com")).is_err());
        assert!(!may_send(&req("cert", "")).unwrap());
    }

    #[derive(clap::Parser)]
    struct Helper {
        #[command(flatten)]
        args: GitCredentialArgs,
    }

    fn helper(argv: &[&str]) -> GitCredentialArgs {
        use clap::Parser;
        Helper::try_parse_from(std::iter::once("git-credential").chain(argv.iter().copied()))
            .expect("parsed")
            .args
    }

    #[test]
    fn a_helper_answers_only_for_its_hosts_and_says_why_not() {
        let asked = |host: &str| Request::parse(&format!("protocol=https\nhost={host}\n"));
        let mut c = Captured::default();
        let args = helper(&["--host", "github.com", "work", "get"]);
        assert!(for_this_host(
            &args,
            "work",
            &asked("github.com"),
            &mut c.io()
        ));
        assert_eq!(c.err(), "");
        assert!(!for_this_host(
            &args,
            "work",
            &asked("evil\u{1b}]0;x\u{7}.example"),
            &mut c.io()
        ));
        assert_eq!(
            c.err(),
            "latchkey: not answering git for evil\\u{1b}]0;x\\u{7}.example: this helper answers for github.com only\n"
        );
        let mut c = Captured::default();
        let anywhere = helper(&["work", "get"]);
        assert!(!for_this_host(
            &anywhere,
            "work",
            &asked("github.com"),
            &mut c.io()
        ));
        assert!(
            c.err().starts_with(
                "latchkey: not answering git: this helper line for `work` names no host"
            ) && c.err().contains("add `--host HOST` to it"),
            "{}",
            c.err()
        );
        assert_eq!(c.out(), "");
    }
}

//! Command-line interface: argument parsing, one module per verb, exit codes. A front end, in
//! the binary: may import every layer of the library below it.

mod access;
mod accounts;
#[cfg(unix)]
mod agent;
#[cfg(unix)]
mod agent_unit;
mod completions;
mod exec;
mod format;
mod front;
mod git_credential;
mod handout;
mod hint;
mod history;
mod io;
mod kube_credential;
mod login;
mod presets;
mod profile;
mod profile_keys;
mod profile_remove;
mod profile_resource;
mod profile_set;
mod profile_share;
mod proxy;
mod proxy_path;
mod serve;
mod serve_client;
#[cfg(unix)]
mod ssh;
#[cfg(test)]
mod testing;
mod token;
mod tool_token;
mod trust;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use latchkey::model::untrusted::for_terminal;
use latchkey::store::paths;
use latchkey::{ErrorKind, Latchkey};

/// The exit codes' list, a literal for `concat!`.
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0  success
  1  other error (local files, I/O)
  2  usage: bad arguments or input
  3  not found: no such profile or account
  4  needs sign-in: the account's grant is gone (run `latchkey login`)
  5  provider error: the provider refused or answered something unusable
  6  network: the provider could not be reached or did not answer in time
  7  keychain unavailable: the OS keychain is missing, locked or not answering
  8  sign-in not completed: timed out, or the browser's response was rejected
  9  refused by an access rule or an untrusted file (see `latchkey access`, `latchkey trust`)"
    };
}
const EXIT_CODES: &str = exit_codes!();

/// `exec`'s: [`EXIT_CODES`], then those of a COMMAND that cannot start (as shells say them).
const EXEC_EXIT_CODES: &str = concat!(
    exit_codes!(),
    "
  126  COMMAND was found but cannot be executed
  127  no such COMMAND on Latchkey's `PATH`
Once COMMAND runs, the exit code is COMMAND's own."
);

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "OAuth 2.0 credentials from the OS keychain: sign in through the browser, get fresh tokens into scripts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The parser: every command's long help (`--help`) ends with the exit codes, `exec`'s with
/// its own two more.
fn command() -> clap::Command {
    fn with_exit_codes(c: clap::Command) -> clap::Command {
        c.after_long_help(EXIT_CODES)
            .mut_subcommands(with_exit_codes)
    }
    with_exit_codes(Cli::command()).mut_subcommand("exec", |c| c.after_long_help(EXEC_EXIT_CODES))
}

#[derive(Subcommand)]
enum Command {
    /// Manage OAuth client profiles.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// List the provider presets for `profile add --preset` (built-in and your own).
    Presets {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Sign in to a profile through the system browser (authorization code + PKCE), or with
    /// `--device` by entering a code on any device (RFC 8628). The legacy `--implicit` and
    /// `--password` grants work only for a profile added with `--allow-legacy-grant`.
    Login(login::LoginArgs),
    /// List accounts with their expiry and status (reads no secret).
    Accounts(accounts::AccountsArgs),
    /// Print a valid access token, refreshing it first when it is about to expire (for a
    /// client credentials profile: fetching a new one).
    Token(token::TokenArgs),
    /// Refresh an account's tokens now and print the new access token.
    Refresh(token::RefreshArgs),
    /// Print a DPoP proof (RFC 9449) for one request with a DPoP-bound account's token: the
    /// `DPoP` header's value, bound to the current token (`ath`).
    DpopProof(token::DpopProofArgs),
    /// Sign out: revoke the refresh token at the provider and delete the account.
    Logout(accounts::LogoutArgs),
    /// Run a program with valid access tokens in its environment (from --env, --env-file or
    /// the nearest `.latchkey.env`); Latchkey exits with the program's exit code.
    Exec(exec::ExecArgs),
    /// Trust a `.latchkey.env` that `exec` finds by searching (default: the nearest one): shows
    /// its variables and the accounts they take, then records its content's SHA-256; any
    /// change needs trusting again. `--list`, `--remove FILE`.
    Trust(trust::TrustArgs),
    /// git's credential helper: let `--install ACCOUNT URL` write it, or `git config --global
    /// credential.https://HOST.helper '!latchkey git-credential --host HOST ACCOUNT'`.
    #[command(name = "git-credential")]
    GitCredential(git_credential::GitCredentialArgs),
    /// kubectl's exec credential plugin (client.authentication.k8s.io/v1 and v1beta1);
    /// `--print-user` prints the kubeconfig entry that runs it.
    #[command(name = "kube-credential")]
    KubeCredential(kube_credential::KubeCredentialArgs),
    /// The agent: tokens from memory over a private socket, refreshed before they expire.
    /// `token`, `refresh`, `exec`, `git-credential` and `kube-credential` ask it when it runs
    /// (`LATCHKEY_AGENT=off` skips it).
    #[cfg(unix)]
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Who took which token: time, account, how, and the program that asked.
    History(history::HistoryArgs),
    /// Hand out tokens over HTTP to a container, VM or WSL: prints `LATCHKEY_URL=…` and
    /// `LATCHKEY_SERVE_TOKEN=…`; a `latchkey` with both set takes its tokens from here.
    Serve(serve::ServeArgs),
    /// Forward a tool's requests to an API with the account's token: prints the base URL to
    /// give the tool (`http://127.0.0.1:PORT/SECRET/`), for tools that can't do OAuth.
    Proxy(proxy::ProxyArgs),
    /// Run `ssh` with the agent forwarded: `latchkey` on the far side takes its tokens from
    /// here, each asked about unless a rule allows `ssh` (`latchkey access allow ACCOUNT
    /// --program ssh`).
    #[cfg(unix)]
    Ssh(ssh::SshArgs),
    /// Which program may take which account's token: rules that allow, ask or deny.
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell); it completes
    /// account and profile names too.
    Completions(completions::CompletionsArgs),
}

/// The process's exit code (see `EXIT_CODES`).
pub fn main() -> u8 {
    quiet_on_closed_stdout();
    // `latchkey token` answered by the agent: no runtime, no engine (see `token::fast_path`).
    #[cfg(target_os = "linux")]
    if let Some(code) = token::fast_path() {
        return code;
    }
    // A TAB in a shell with `latchkey completions` installed: answer and exit.
    clap_complete::CompleteEnv::with_factory(command)
        .var(completions::VAR)
        .complete();
    // A plain `token ACCOUNT` or `refresh ACCOUNT` no agent answered: read as the fast path
    // reads it, without building the parser.
    let cli = match token::plain_command(std::env::args_os().skip(1)) {
        Some(command) => {
            // It reads the keychain (no agent answered): connect to it meanwhile.
            if !handout::remote() {
                latchkey::store::keychain::connect_ahead();
            }
            Cli { command }
        }
        None => Cli::from_arg_matches(&command().get_matches())
            .map_err(|e| e.format(&mut command()))
            .unwrap_or_else(|e| e.exit()),
    };
    // One thread, for the serving commands too (the agent, `serve`, `proxy`): what may block
    // (the keychain, the account lock) runs on the blocking pool, and the rest of a request is
    // microseconds. Their futures are `Send` (the app runs the same agent on Tauri's
    // multi-threaded runtime), but two workers measured slower here, each request handed
    // between threads: `token` through the agent 0.95-1.01x of oidc-token against 0.91-0.93x,
    // and 1.4 MB more agent RSS (`scripts/bench`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latchkey: cannot start: {e}");
            return 1;
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(()) => 0,
        Err(e) => report_suggesting(e),
    };
    // The command is done (a serving one has stopped accepting and removed its sockets; a
    // connection still open ends with the process), and the process ends now: nothing the
    // runtime still holds needs an orderly end (its files close with the process, and what a
    // refresh stored is in the keychain). Ending it would cost its threads' teardown, or wait
    // for a keychain call that timed out and may never return (a hung Secret Service).
    std::mem::forget(runtime);
    code
}

/// A reader that stops early (`latchkey history --json | head -5`) ends a printing command
/// quietly, as with other Unix tools: killed by SIGPIPE (exit 141 in a shell), never a panic
/// from `println!`. Where the signal is not the default (elsewhere, or in the unit tests),
/// [`io::finish`] ends the verb quietly on the same closed pipe. Not for the commands that
/// serve sockets (the agent, `serve`, `proxy`, `ssh`): a client going away must cost them one
/// connection, not the process.
fn quiet_on_closed_stdout() {
    #[cfg(unix)]
    {
        let verb = std::env::args_os().nth(1);
        let serves = verb
            .as_deref()
            .and_then(|v| v.to_str())
            .is_some_and(|v| matches!(v, "agent" | "serve" | "proxy" | "ssh"));
        // The commands that serve sockets ignore it, as std's runtime sets it (which `main`
        // skips on Linux): a write to a closed socket is then an error, not the end.
        let action = if serves { libc::SIG_IGN } else { libc::SIG_DFL };
        // SAFETY: sets the action of one signal before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, action) };
    }
}

/// [`report`], with the nearest existing name as the hint of a mistyped one (the agent adds
/// it to the errors it relays).
fn report_suggesting(e: latchkey::Error) -> u8 {
    if e.kind() != ErrorKind::NotFound {
        return report(&e);
    }
    report(&match Latchkey::open() {
        Ok(engine) => latchkey::api::with_suggestion(&engine, e),
        Err(_) => e,
    })
}

/// Says what went wrong on standard error; the exit code that tells it.
fn report(e: &latchkey::Error) -> u8 {
    report_to(e, &mut std::io::stderr())
}

/// [`report`] on `err`.
fn report_to(e: &latchkey::Error, err: &mut dyn std::io::Write) -> u8 {
    // Provider text was escaped where it entered the error; this is the last guard.
    let _ = writeln!(err, "latchkey: {}", for_terminal(&hint::render(e)));
    exit_code(e.kind())
}

async fn run(cli: Cli) -> latchkey::Result<()> {
    let engine = match Latchkey::open() {
        Ok(engine) => engine,
        // A container with only the binary and the endpoint's variables may have no HOME: the
        // commands that take tokens from `latchkey serve` read no config.
        // The same on a remote machine with only the binary and a forwarded agent.
        Err(_) if handout::remote() => Latchkey::new(
            latchkey::store::config::Config::new(std::env::temp_dir().join("latchkey-no-config")),
            latchkey::store::keychain::Keychain::default(),
        ),
        Err(e) => return Err(e),
    };
    let engine = std::sync::Arc::new(engine.with_notices(std::sync::Arc::new(|notice| {
        // The command's error says it already.
        if !matches!(notice, latchkey::model::notice::Notice::NeedsSignIn { .. }) {
            eprintln!("latchkey: {}", for_terminal(&notice.to_string()))
        }
    })));
    // Once per config directory that predates keychain namespaces: its entries move into its
    // own namespace. Until that succeeds (a locked keychain), each entry moves when first read.
    // Not for a client of `latchkey serve` or of a forwarded agent: it keeps nothing here.
    if !matches!(cli.command, Command::Completions(_)) && !handout::remote() {
        let _ = engine.finish_keychain_migration().await;
    }
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let io = &mut io::Io {
        out: &mut stdout,
        err: &mut stderr,
    };
    let now = latchkey::model::tokens::now();
    io::finish(match cli.command {
        Command::Profile(cmd) => profile::run(&engine, cmd, io).await,
        Command::Presets { json } => presets::list_presets(&engine, json, io),
        Command::Login(args) => login::run(&engine, args, io).await,
        Command::Accounts(args) => accounts::list(&engine, args, io, now),
        Command::Token(args) => token::token(&engine, args, io).await,
        Command::Refresh(args) => token::refresh(&engine, args, io).await,
        Command::DpopProof(args) => token::dpop_proof(&engine, args, io).await,
        Command::Logout(args) => accounts::logout(&engine, args, io).await,
        Command::Exec(args) => exec::run(&engine, args).await,
        Command::Trust(args) => trust::run(&engine, args, io),
        Command::GitCredential(args) => git_credential::run(&engine, args, io).await,
        Command::KubeCredential(args) => kube_credential::run(&engine, args, io).await,
        Command::Completions(args) => completions::run(args, &program(), io),
        #[cfg(unix)]
        Command::Agent(cmd) => agent::run(engine, cmd, io).await,
        Command::History(args) => history::run(&engine, args, &paths::state_dir()?, io),
        Command::Access(cmd) => access::run(&engine, cmd, io),
        Command::Serve(args) => serve::run(engine, args).await,
        Command::Proxy(args) => proxy::run(engine, args).await,
        #[cfg(unix)]
        Command::Ssh(args) => ssh::run(&engine, args).await,
    })
}

/// How other programs (git, kubectl, shells) should start Latchkey: `latchkey` when that is
/// this binary on the PATH, else this binary's full path.
fn program() -> String {
    std::env::current_exe().map_or_else(
        |_| "latchkey".into(),
        |me| latchkey::api::integrations::program_for(&me),
    )
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Other => 1,
        ErrorKind::Usage => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::NeedsSignIn => 4,
        ErrorKind::Provider => 5,
        ErrorKind::Network => 6,
        ErrorKind::Keychain => 7,
        ErrorKind::SignIn => 8,
        ErrorKind::Refused => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_json_flag_says_what_it_prints() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                if arg.get_long() == Some("json") && arg.get_help().is_none() {
                    missing.push(path.to_string());
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&command(), "latchkey", &mut missing);
        assert!(missing.is_empty(), "--json without help in: {missing:?}");
    }

    #[test]
    fn exec_help_says_whose_exit_code_it_is() {
        let mut cli = command();
        let exec = cli.find_subcommand_mut("exec").expect("exec");
        let about = exec.get_about().map(|a| a.to_string()).unwrap_or_default();
        assert!(
            about.contains("Latchkey exits with the program's exit code"),
            "{about}"
        );
    }

    #[test]
    fn every_exit_code_is_documented() {
        for kind in [
            ErrorKind::Other,
            ErrorKind::Usage,
            ErrorKind::NotFound,
            ErrorKind::NeedsSignIn,
            ErrorKind::Provider,
            ErrorKind::Network,
            ErrorKind::Keychain,
            ErrorKind::SignIn,
            ErrorKind::Refused,
        ] {
            let code = exit_code(kind);
            assert!(EXIT_CODES.contains(&format!("\n  {code}  ")), "{code}");
        }
        // `exec`'s list is the same one, and more.
        assert!(EXEC_EXIT_CODES.starts_with(EXIT_CODES), "{EXEC_EXIT_CODES}");
        assert!(EXEC_EXIT_CODES.contains("\n  127  "));
    }

    #[test]
    fn every_commands_help_documents_the_exit_codes() {
        fn walk(cmd: &mut clap::Command, path: &str) {
            let help = cmd.render_long_help().to_string();
            assert!(
                help.contains("\n  4  needs sign-in")
                    && help.contains("\n  7  keychain unavailable"),
                "{path}: {help}"
            );
            assert_eq!(
                help.contains("\n  127  "),
                path == "latchkey exec",
                "{path}"
            );
            // clap's own `help` subcommand prints the others' help.
            for sub in cmd.get_subcommands_mut().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                walk(sub, &path);
            }
        }
        walk(&mut command(), "latchkey");
    }

    #[test]
    fn report_says_the_error_with_its_hint_and_exits_with_its_kind() {
        use latchkey::{Error, Hint};
        let relayed = |kind| Error::Relayed {
            kind,
            message: "the agent said \x1b[31mno".into(),
            hint: None,
        };
        let cases = [
            (
                Error::io("cannot read x", std::io::ErrorKind::NotFound.into()),
                1,
            ),
            (Error::InvalidInput("bad flag".into()), 2),
            (Error::AccountNotFound("p/x".into()), 3),
            (
                Error::NeedsSignIn {
                    account: "p/me".into(),
                    profile: "p".into(),
                    reason: "revoked".into(),
                },
                4,
            ),
            (relayed(ErrorKind::Provider), 5),
            (relayed(ErrorKind::Network), 6),
            (relayed(ErrorKind::Keychain), 7),
            (relayed(ErrorKind::SignIn), 8),
            (relayed(ErrorKind::Refused), 9),
        ];
        for (error, code) in cases {
            let mut err = Vec::new();
            assert_eq!(report_to(&error, &mut err), code, "{error}");
            let text = String::from_utf8(err).unwrap();
            assert!(
                text.starts_with("latchkey: ") && text.ends_with('\n'),
                "{text}"
            );
            assert_eq!(text.lines().count(), 1, "{text}");
            assert!(
                !text.contains('\x1b'),
                "escapes reach the terminal: {text:?}"
            );
        }
        let mut err = Vec::new();
        let missing = Error::AccountNotFound("tset".into()).with_hint(Hint::DidYouMeanAccount {
            name: "test".into(),
        });
        assert_eq!(report_to(&missing, &mut err), 3);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "latchkey: account `tset` not found; did you mean `test`? (`latchkey accounts` shows the accounts)\n"
        );
    }
}

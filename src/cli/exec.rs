//! `latchkey exec`: runs a program with valid access tokens in its environment, named by
//! `--env`, env files, or the nearest `.latchkey.env` once the user trusted it (`latchkey
//! trust`). Tokens never appear on a command line. The program is found with Latchkey's own
//! `PATH` before any token is fetched, and started by that absolute path.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use latchkey::api::integrations::envfile::{self, Value};
use latchkey::api::integrations::{ProgramError, resolve_program};
use latchkey::door::Purpose;
use latchkey::model::untrusted::for_terminal;
use latchkey::{Error, Latchkey, Result};

use super::handout::hand_out;

#[derive(Args)]
pub struct ExecArgs {
    /// Set the variable NAME to a valid access token of ACCOUNT (repeatable).
    #[arg(long = "env", value_name = "NAME=ACCOUNT", value_parser = parse_binding, add = super::completions::env_bindings())]
    env: Vec<(String, String)>,
    /// Read variables from a dotenv file: a value `latchkey:ACCOUNT` becomes a token of the
    /// account, others are passed as written (repeatable). Without --env and --env-file, the
    /// nearest `.latchkey.env` in this directory or a parent is read.
    #[arg(long = "env-file", value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// Refresh first when a token expires within this many seconds.
    #[arg(long, default_value_t = 60)]
    min_valid: u32,
    /// The program to run and its arguments (after `--`).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    #[arg(value_name = "COMMAND")]
    command: Vec<OsString>,
}

fn parse_binding(input: &str) -> std::result::Result<(String, String), String> {
    let (name, account) = input
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=ACCOUNT, got {input:?}"))?;
    if !envfile::valid_name(name) || account.is_empty() {
        return Err(format!(
            "expected NAME=ACCOUNT with a variable name of letters, digits and `_`, got {input:?}"
        ));
    }
    Ok((name.to_string(), account.to_string()))
}

/// One variable to set, and where it came from (for messages).
struct Binding {
    name: String,
    value: Value,
    origin: String,
}

pub async fn run(engine: &std::sync::Arc<Latchkey>, args: ExecArgs) -> Result<()> {
    let bindings = bindings(engine, &args)?;
    let (name, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::InvalidInput("give the program to run after `--`".into()))?;
    // Found before any token is fetched, with Latchkey's own PATH (an env file cannot set it):
    // the door decides for this very program, and it is the one that runs.
    let program = resolve_program(name).unwrap_or_else(|e| fail(&e));
    // Every token first: a failing account stops here, before the program starts.
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    let mut env: Vec<(String, String)> = Vec::new();
    for b in bindings {
        let value = match b.value {
            Value::Plain(v) => v,
            Value::Token(account) => {
                if let Some(token) = tokens.get(&account) {
                    token.clone()
                } else {
                    let handed = hand_out(
                        engine,
                        &account,
                        args.min_valid,
                        Purpose::Exec,
                        Some(&program),
                    )
                    .await
                    .map_err(|e| e.context(format!("{} ({})", b.name, b.origin)))?;
                    let token = handed.access_token.to_string();
                    tokens.insert(account, token.clone());
                    token
                }
            }
        };
        env.push((b.name, value));
    }
    let mut command = Command::new(&program);
    command.args(rest).envs(env);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::arg0(&mut command, name);
    start(command, &program)
}

/// Says why the program cannot start and exits as a shell would: 127 when there is no such
/// program, 126 when it cannot be executed.
fn fail(e: &ProgramError) -> ! {
    eprintln!("latchkey: {}", for_terminal(&e.to_string()));
    std::process::exit(i32::from(e.exit_code()))
}

/// Replaces this process with the program, so its exit code, signals and job control are the
/// program's own.
#[cfg(unix)]
fn start(mut command: Command, program: &Path) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    fail_to_start(program, error)
}

/// Runs the program and exits with its exit code.
#[cfg(not(unix))]
fn start(mut command: Command, program: &Path) -> Result<()> {
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(error) => fail_to_start(program, error),
    }
}

fn fail_to_start(program: &Path, error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::NotFound {
        fail(&ProgramError::NotFound {
            name: OsString::from(program),
            searched: false,
        })
    }
    eprintln!(
        "latchkey: {}",
        for_terminal(&format!("cannot run {}: {error}", program.display()))
    );
    std::process::exit(126)
}

fn bindings(engine: &Latchkey, args: &ExecArgs) -> Result<Vec<Binding>> {
    let mut out = Vec::new();
    let files: Vec<(PathBuf, Vec<envfile::Entry>)> = if args.env.is_empty()
        && args.env_file.is_empty()
    {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?;
        let found = envfile::find(&cwd).ok_or_else(|| {
            Error::InvalidInput(format!(
                "no --env, no --env-file and no {} in {} or a parent directory: say which tokens the program gets",
                envfile::FILE_NAME,
                cwd.display()
            ))
        })?;
        // Found, not chosen: used only as the user trusted it.
        let file = envfile::open_found(&found)?;
        envfile::require_trusted(engine.config(), &file)?;
        vec![(file.path, file.entries)]
    } else {
        let mut files = Vec::new();
        for path in &args.env_file {
            // A file named on the command line that is not there is a mistyped argument.
            if std::fs::symlink_metadata(path).is_err() {
                return Err(Error::InvalidInput(format!(
                    "--env-file {}: no such file",
                    path.display()
                )));
            }
            files.push((path.clone(), envfile::read(path)?));
        }
        files
    };
    for (file, entries) in files {
        for entry in entries {
            out.push(Binding {
                name: entry.name,
                value: entry.value,
                origin: format!("{} line {}", file.display(), entry.line),
            });
        }
    }
    // --env last: it wins over a file's line for the same variable.
    for (name, account) in &args.env {
        out.push(Binding {
            name: name.clone(),
            value: Value::Token(account.clone()),
            origin: format!("--env {name}={account}"),
        });
    }
    Ok(out)
}

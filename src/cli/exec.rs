//! `latchkey exec`: runs a program with valid access tokens in its environment, named by
//! `--env`, env files, or the nearest `.latchkey.env`. Tokens never appear on a command line.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use latchkey::agent::How;
use latchkey::api::integrations::envfile::{self, Value};
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
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
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

pub async fn run(engine: &Latchkey, args: ExecArgs) -> Result<()> {
    let bindings = bindings(&args)?;
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
                    let handed = hand_out(engine, &account, args.min_valid, How::Exec)
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
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::InvalidInput("give the program to run after `--`".into()))?;
    let mut command = Command::new(program);
    command.args(rest).envs(env);
    start(command, program)
}

/// Replaces this process with the program, so its exit code, signals and job control are the
/// program's own.
#[cfg(unix)]
fn start(mut command: Command, program: &OsString) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    Err(Error::io(
        format!("cannot run {}", Path::new(program).display()),
        error,
    ))
}

/// Runs the program and exits with its exit code.
#[cfg(not(unix))]
fn start(mut command: Command, program: &OsString) -> Result<()> {
    let status = command
        .status()
        .map_err(|e| Error::io(format!("cannot run {}", Path::new(program).display()), e))?;
    std::process::exit(status.code().unwrap_or(1))
}

fn bindings(args: &ExecArgs) -> Result<Vec<Binding>> {
    let mut out = Vec::new();
    let files: Vec<PathBuf> = if args.env.is_empty() && args.env_file.is_empty() {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?;
        let found = envfile::find(&cwd).ok_or_else(|| {
            Error::InvalidInput(format!(
                "no --env, no --env-file and no {} in {} or a parent directory: say which tokens the program gets",
                envfile::FILE_NAME,
                cwd.display()
            ))
        })?;
        check_found_file(&found)?;
        vec![found]
    } else {
        args.env_file.clone()
    };
    for file in &files {
        for entry in envfile::read(file)? {
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

/// A `.latchkey.env` found by searching the parent directories may be one nobody chose (e.g. in
/// a shared /tmp): it must be the user's own and writable by nobody else, since it decides the
/// program's environment and where tokens go.
#[cfg(unix)]
fn check_found_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let uid = rustix::process::geteuid().as_raw();
    if meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(Error::InvalidInput(format!(
            "{} belongs to another user or others may write to it; Latchkey does not take its variables. Pass it with --env-file if you trust it",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_found_file(_path: &Path) -> Result<()> {
    Ok(())
}

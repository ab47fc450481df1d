//! `latchkey agent run|start|stop|status|install|uninstall`: the agent's life cycle. The agent
//! itself is `latchkey::agent`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Subcommand;
use latchkey::agent::{client, server, socket_path};
use latchkey::{Error, ErrorKind, Latchkey, Result};

use super::io::{Io, errln, outln};

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Run the agent in the foreground (for a service manager); SIGTERM stops it.
    Run,
    /// Start the agent in the background; returns once it answers.
    Start,
    /// Stop the running agent.
    Stop,
    /// Say whether the agent runs (exit code 3 when it does not).
    Status,
    /// Start the agent at login: a systemd user unit, `latchkey-agent.service` (on macOS a
    /// LaunchAgent, `~/Library/LaunchAgents/org.latchkey.agent.plist`).
    Install,
    /// Remove the unit `install` wrote.
    Uninstall,
}

/// How long `start` waits for the new agent to answer, and `stop` for it to go.
const SETTLE: Duration = Duration::from_secs(5);

pub async fn run(
    engine: std::sync::Arc<Latchkey>,
    command: AgentCommand,
    io: &mut Io<'_>,
) -> Result<()> {
    let config = engine.config().dir().to_path_buf();
    match command {
        // Without the app, a rule that says ask asks by desktop notification.
        AgentCommand::Run => {
            let asker = std::sync::Arc::new(latchkey::agent::asking::NotificationAsker);
            server::serve(engine, socket_path(), Some(asker)).await
        }
        AgentCommand::Start => start(&config, io, false).await,
        AgentCommand::Stop => stop(&config, io).await,
        AgentCommand::Status => status(&config, io).await,
        AgentCommand::Install => super::agent_unit::install(io),
        AgentCommand::Uninstall => super::agent_unit::uninstall(io),
    }
}

/// Starts the agent unless it runs; says so on stdout, or on stderr when `to_stderr` (for a
/// command whose stdout is another program's).
pub async fn start(config: &Path, io: &mut Io<'_>, to_stderr: bool) -> Result<()> {
    let mut say = |text: String| {
        if to_stderr {
            errln!(io, "latchkey: {text}");
            Ok(())
        } else {
            outln!(io, "{text}")
        }
    };
    let socket = socket_path();
    if let Some(pid) = client::ping(config).await {
        return say(format!(
            "the agent is already running (pid {pid}) on {}",
            socket.display()
        ));
    }
    if client::serves_another_config(config).await {
        return Err(another_config(config, &socket));
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("cannot find the latchkey program to start", e))?;
    let log = log_file(&socket);
    let stderr = log
        .as_ref()
        .and_then(|p| std::fs::File::create(p).ok())
        .map_or_else(Stdio::null, Stdio::from);
    let mut command = Command::new(exe);
    command
        .args(["agent", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // Its own process group: a Ctrl-C in the terminal that started it does not stop it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| Error::io("cannot start the agent", e))?;
    let started = Instant::now();
    while started.elapsed() < SETTLE {
        if let Some(pid) = client::ping(config).await {
            return say(format!(
                "the agent is running (pid {pid}) on {}",
                socket.display()
            ));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let said = log
                .and_then(|p| std::fs::read_to_string(p).ok())
                .map(|t| {
                    // Its own message already starts with the program's name.
                    let t = t.trim();
                    t.strip_prefix("latchkey: ")
                        .unwrap_or(t)
                        .replace(['\r', '\u{1b}'], "?")
                })
                .unwrap_or_default();
            return Err(Error::io(
                "the agent did not start",
                std::io::Error::other(format!("it exited with {status}: {said}")),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(Error::io(
        "the agent did not start",
        std::io::Error::other(format!(
            "it did not answer on {} within {} s",
            socket.display(),
            SETTLE.as_secs()
        )),
    ))
}

/// Where a background agent's messages go: beside its socket.
fn log_file(socket: &Path) -> Option<PathBuf> {
    let dir = socket.parent()?;
    latchkey::agent::socket::prepare_dir(dir).ok()?;
    Some(dir.join("agent.log"))
}

async fn stop(config: &Path, io: &mut Io<'_>) -> Result<()> {
    if !client::stop(config).await {
        return outln!(io, "the agent is not running");
    }
    let started = Instant::now();
    let socket = socket_path();
    while started.elapsed() < SETTLE {
        // Gone once it no longer answers and has let go of its lock: its sockets are removed.
        if client::ping(config).await.is_none() && !latchkey::agent::socket::lock_held(&socket) {
            return outln!(io, "the agent stopped");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(Error::io(
        "the agent did not stop",
        std::io::Error::other(format!("it still answers after {} s", SETTLE.as_secs())),
    ))
}

async fn status(config: &Path, io: &mut Io<'_>) -> Result<()> {
    let socket = socket_path();
    match client::ping(config).await {
        Some(pid) => outln!(
            io,
            "the agent is running (pid {pid}) on {}",
            socket.display()
        ),
        None if client::serves_another_config(config).await => Err(another_config(config, &socket)),
        None => Err(Error::Relayed {
            kind: ErrorKind::NotFound,
            message: format!(
                "the agent is not running (nothing answers on {}); `latchkey agent start` starts it",
                socket.display()
            ),
            hint: None,
        }),
    }
}

/// An agent answers on the socket, for another config directory: this directory's commands go
/// to the keychain directly.
fn another_config(config: &Path, socket: &Path) -> Error {
    Error::Relayed {
        kind: ErrorKind::NotFound,
        message: format!(
            "the agent on {} serves another config directory, not {}: this one's commands read the keychain directly. One agent serves one config directory per session: to have one for this directory, stop that agent (`latchkey agent stop` with its XDG_CONFIG_HOME) and start one here",
            socket.display(),
            config.display()
        ),
        hint: None,
    }
}

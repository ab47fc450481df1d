//! `latchkey agent install|uninstall`: a systemd user unit that runs the agent at login.

use std::path::PathBuf;
use std::process::Command;

use latchkey::{Error, Result};

const UNIT: &str = "latchkey-agent.service";

/// `$XDG_CONFIG_HOME/systemd/user/latchkey-agent.service` (`~/.config/…`).
fn unit_path() -> Result<PathBuf> {
    // The config dir is `…/latchkey`; systemd's user units live beside it.
    let config = latchkey::paths::config_dir()?;
    let base = config.parent().map(PathBuf::from).unwrap_or(config);
    Ok(base.join("systemd/user").join(UNIT))
}

fn unit_text(program: &str) -> String {
    format!(
        "# Written by `latchkey agent install`; `latchkey agent uninstall` removes it.\n\
         [Unit]\n\
         Description=Latchkey agent: OAuth tokens from memory over a private socket\n\
         \n\
         [Service]\n\
         ExecStart=\"{program}\" agent run\n\
         Restart=on-failure\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n"
    )
}

pub fn install() -> Result<()> {
    if !cfg!(target_os = "linux") {
        return Err(Error::InvalidInput(
            "`agent install` writes a systemd user unit, on Linux only; elsewhere start the agent with `latchkey agent start`".into(),
        ));
    }
    let program = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("cannot find the latchkey program", e))?;
    let program = program.to_string_lossy();
    if program.contains(['"', '\\', '\n', '%']) {
        return Err(Error::InvalidInput(format!(
            "the program's path {program:?} holds characters a systemd unit cannot quote simply; install latchkey elsewhere"
        )));
    }
    let path = unit_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    std::fs::write(&path, unit_text(&program))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    println!("wrote {}", path.display());
    if systemctl(&["daemon-reload"]) && systemctl(&["enable", "--now", UNIT]) {
        println!("enabled and started {UNIT}: the agent starts at login");
    } else {
        println!(
            "systemd's user manager is not reachable here; to start the agent at login, run:\n  systemctl --user daemon-reload && systemctl --user enable --now {UNIT}"
        );
    }
    Ok(())
}

pub fn uninstall() -> Result<()> {
    let path = unit_path()?;
    let disabled = systemctl(&["disable", "--now", UNIT]);
    match std::fs::remove_file(&path) {
        Ok(()) => println!("removed {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no unit at {}", path.display())
        }
        Err(e) => return Err(Error::io(format!("cannot remove {}", path.display()), e)),
    }
    if disabled {
        systemctl(&["daemon-reload"]);
    } else {
        println!("if the unit was enabled, run: systemctl --user disable --now {UNIT}");
    }
    Ok(())
}

/// `systemctl --user ARGS…`; whether it ran and succeeded (quietly: failures are reported by
/// the caller with what to run instead).
fn systemctl(args: &[&str]) -> bool {
    Command::new("systemctl")
        .arg("--user")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_agent_in_the_foreground() {
        let text = unit_text("/usr/bin/latchkey");
        assert!(text.contains("ExecStart=\"/usr/bin/latchkey\" agent run\n"));
        assert!(text.contains("WantedBy=default.target"));
    }
}

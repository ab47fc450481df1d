//! `latchkey agent install|uninstall`: the agent at login — a systemd user unit on Linux, a
//! launchd LaunchAgent on macOS. Both texts are built (and tested) on every platform.

use std::path::PathBuf;
use std::process::Command;

use latchkey::{Error, Result};

use super::io::{Io, outln};

#[cfg_attr(target_os = "macos", allow(dead_code))]
const UNIT: &str = "latchkey-agent.service";

/// `$XDG_CONFIG_HOME/systemd/user/latchkey-agent.service` (`~/.config/…`).
#[cfg_attr(target_os = "macos", allow(dead_code))]
fn unit_path() -> Result<PathBuf> {
    // The config dir is `…/latchkey`; systemd's user units live beside it.
    let config = latchkey::store::paths::config_dir()?;
    let base = config.parent().map(PathBuf::from).unwrap_or(config);
    Ok(base.join("systemd/user").join(UNIT))
}

#[cfg_attr(target_os = "macos", allow(dead_code))]
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

/// launchd's name for the agent, and its plist's file name.
const LAUNCHD_LABEL: &str = "org.latchkey.agent";

/// `~/Library/LaunchAgents/org.latchkey.agent.plist`.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn plist_path() -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::InvalidInput("HOME is not set".into()))?;
    Ok(PathBuf::from(home)
        .join("Library/LaunchAgents")
        .join(format!("{LAUNCHD_LABEL}.plist")))
}

/// The LaunchAgent: `PROGRAM agent run` at login, started again when it fails (not after a
/// clean `latchkey agent stop`), its messages in `log`.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn plist_text(program: &str, log: &str) -> String {
    let (program, log) = (xml_escape(program), xml_escape(log));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Written by `latchkey agent install`; `latchkey agent uninstall` removes it. -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \t<key>Label</key>\n\
         \t<string>{LAUNCHD_LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\
         \t<array>\n\
         \t\t<string>{program}</string>\n\
         \t\t<string>agent</string>\n\
         \t\t<string>run</string>\n\
         \t</array>\n\
         \t<key>RunAtLoad</key>\n\
         \t<true/>\n\
         \t<key>KeepAlive</key>\n\
         \t<dict>\n\
         \t\t<key>SuccessfulExit</key>\n\
         \t\t<false/>\n\
         \t</dict>\n\
         \t<key>ProcessType</key>\n\
         \t<string>Background</string>\n\
         \t<key>StandardErrorPath</key>\n\
         \t<string>{log}</string>\n\
         </dict>\n\
         </plist>\n"
    )
}

/// Text as XML character data (a path may hold `&` or `<`).
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// This program's canonical path, for a service manager to start.
fn own_program() -> Result<String> {
    let program = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("cannot find the latchkey program", e))?;
    Ok(program.to_string_lossy().into_owned())
}

#[cfg(target_os = "macos")]
pub fn install(io: &mut Io) -> Result<()> {
    let program = own_program()?;
    let path = plist_path()?;
    let log = latchkey::agent::socket_path().with_file_name("agent.log");
    write_file(&path, &plist_text(&program, &log.to_string_lossy()), io)?;
    let domain = format!("gui/{}", latchkey::agent::socket::euid());
    // A LaunchAgent loaded before (an earlier install) is replaced by the new text.
    launchctl(&["bootout", &domain, &path.to_string_lossy()]);
    if launchctl(&["bootstrap", &domain, &path.to_string_lossy()]) {
        outln!(io, "loaded {LAUNCHD_LABEL}: the agent starts at login")
    } else {
        outln!(
            io,
            "launchd did not load it now; it starts at the next login, or run:\n  launchctl bootstrap {domain} {}",
            path.display()
        )
    }
}

#[cfg(target_os = "macos")]
pub fn uninstall(io: &mut Io) -> Result<()> {
    let path = plist_path()?;
    let domain = format!("gui/{}", latchkey::agent::socket::euid());
    launchctl(&["bootout", &domain, &path.to_string_lossy()]);
    remove_file(&path, "LaunchAgent", io)
}

/// `launchctl ARGS…`; whether it succeeded (quietly, like [`systemctl`]).
#[cfg(target_os = "macos")]
fn launchctl(args: &[&str]) -> bool {
    quiet_status(Command::new("launchctl").args(args))
}

fn write_file(path: &std::path::Path, text: &str, io: &mut Io) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    std::fs::write(path, text)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    outln!(io, "wrote {}", path.display())
}

/// Removes what `install` wrote (a `what`); saying so, or that there was none.
fn remove_file(path: &std::path::Path, what: &str, io: &mut Io) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => outln!(io, "removed {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            outln!(io, "no {what} at {}", path.display())
        }
        Err(e) => Err(Error::io(format!("cannot remove {}", path.display()), e)),
    }
}

#[cfg(not(target_os = "macos"))]
pub fn install(io: &mut Io) -> Result<()> {
    if !cfg!(target_os = "linux") {
        return Err(Error::InvalidInput(
            "`agent install` writes a systemd user unit (Linux) or a LaunchAgent (macOS); elsewhere start the agent with `latchkey agent start`".into(),
        ));
    }
    install_unit(&own_program()?, &unit_path()?, systemctl, io)
}

/// Writes the unit that runs `program` at `path` and enables it with `systemctl` (`systemctl
/// --user ARGS…`, whether it succeeded); says what it did, or what to run instead.
#[cfg(not(target_os = "macos"))]
fn install_unit(
    program: &str,
    path: &std::path::Path,
    mut systemctl: impl FnMut(&[&str]) -> bool,
    io: &mut Io,
) -> Result<()> {
    if program.contains(['"', '\\', '\n', '%']) {
        return Err(Error::InvalidInput(format!(
            "the program's path {program:?} holds characters a systemd unit cannot quote simply; install latchkey elsewhere"
        )));
    }
    write_file(path, &unit_text(program), io)?;
    if systemctl(&["daemon-reload"]) && systemctl(&["enable", "--now", UNIT]) {
        outln!(io, "enabled and started {UNIT}: the agent starts at login")
    } else {
        outln!(
            io,
            "systemd's user manager is not reachable here; to start the agent at login, run:\n  systemctl --user daemon-reload && systemctl --user enable --now {UNIT}"
        )
    }
}

#[cfg(not(target_os = "macos"))]
pub fn uninstall(io: &mut Io) -> Result<()> {
    uninstall_unit(&unit_path()?, systemctl, io)
}

/// Disables the unit with `systemctl` (as [`install_unit`]) and removes it from `path`.
#[cfg(not(target_os = "macos"))]
fn uninstall_unit(
    path: &std::path::Path,
    mut systemctl: impl FnMut(&[&str]) -> bool,
    io: &mut Io,
) -> Result<()> {
    let disabled = systemctl(&["disable", "--now", UNIT]);
    remove_file(path, "unit", io)?;
    if disabled {
        systemctl(&["daemon-reload"]);
        Ok(())
    } else {
        outln!(
            io,
            "if the unit was enabled, run: systemctl --user disable --now {UNIT}"
        )
    }
}

/// `systemctl --user ARGS…`; whether it ran and succeeded (quietly: failures are reported by
/// the caller with what to run instead).
#[cfg(not(target_os = "macos"))]
fn systemctl(args: &[&str]) -> bool {
    quiet_status(Command::new("systemctl").arg("--user").args(args))
}

fn quiet_status(command: &mut Command) -> bool {
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(not(target_os = "macos"))]
    use crate::cli::testing::{Captured, temp_dir};

    /// A `systemctl` that answers `ok` and records what it was asked.
    #[cfg(not(target_os = "macos"))]
    fn systemctl_answering(ok: bool, asked: &mut Vec<String>) -> impl FnMut(&[&str]) -> bool + '_ {
        move |args: &[&str]| {
            asked.push(args.join(" "));
            ok
        }
    }

    /// `install_unit` of `/usr/bin/latchkey` at `path`, which must succeed, with a `systemctl`
    /// that answers `ok`: what it printed, and what `systemctl` was asked.
    #[cfg(not(target_os = "macos"))]
    fn install_answered(path: &std::path::Path, ok: bool) -> (String, Vec<String>) {
        let mut asked = Vec::new();
        let mut c = Captured::default();
        install_unit(
            "/usr/bin/latchkey",
            path,
            systemctl_answering(ok, &mut asked),
            &mut c.io(),
        )
        .unwrap();
        (c.out(), asked)
    }

    #[cfg(not(target_os = "macos"))]
    #[test]
    fn install_writes_the_unit_and_enables_it_or_says_what_to_run() {
        let path = temp_dir("units").join("systemd/user").join(UNIT);
        let (out, asked) = install_answered(&path, true);
        assert_eq!(
            out,
            format!(
                "wrote {}\nenabled and started latchkey-agent.service: the agent starts at login\n",
                path.display()
            )
        );
        assert_eq!(
            asked,
            ["daemon-reload", "enable --now latchkey-agent.service"]
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            unit_text("/usr/bin/latchkey")
        );

        let (out, asked) = install_answered(&path, false);
        assert!(
            out.ends_with(
                "systemd's user manager is not reachable here; to start the agent at login, run:\n  systemctl --user daemon-reload && systemctl --user enable --now latchkey-agent.service\n"
            ),
            "{out}"
        );
        assert_eq!(asked, ["daemon-reload"]);

        let mut c = Captured::default();
        let e = install_unit("/opt/50%/latchkey", &path, |_| true, &mut c.io())
            .expect_err("a path systemd would expand");
        assert_eq!(e.kind(), latchkey::ErrorKind::Usage);
        assert!(e.to_string().contains("\"/opt/50%/latchkey\""), "{e}");
        assert_eq!(c.out(), "");
    }

    #[cfg(not(target_os = "macos"))]
    #[test]
    fn uninstall_removes_the_unit_and_says_when_there_was_none() {
        let path = temp_dir("units").join(UNIT);
        std::fs::write(&path, "x").unwrap();
        let mut asked = Vec::new();
        let mut c = Captured::default();
        uninstall_unit(&path, systemctl_answering(true, &mut asked), &mut c.io()).unwrap();
        assert_eq!(c.out(), format!("removed {}\n", path.display()));
        assert_eq!(
            asked,
            ["disable --now latchkey-agent.service", "daemon-reload"]
        );
        assert!(!path.exists());

        let mut c = Captured::default();
        uninstall_unit(&path, |_| false, &mut c.io()).unwrap();
        assert_eq!(
            c.out(),
            format!(
                "no unit at {}\nif the unit was enabled, run: systemctl --user disable --now latchkey-agent.service\n",
                path.display()
            )
        );
    }

    #[test]
    fn the_unit_runs_the_agent_in_the_foreground() {
        let text = unit_text("/usr/bin/latchkey");
        assert!(text.contains("ExecStart=\"/usr/bin/latchkey\" agent run\n"));
        assert!(text.contains("WantedBy=default.target"));
    }

    #[test]
    fn the_launch_agent_runs_the_agent_at_login_and_again_after_a_failure() {
        let text = plist_text(
            "/Applications/A&B <x>/latchkey",
            "/tmp/latchkey-501/agent.log",
        );
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist"));
        assert!(text.contains("<key>Label</key>\n\t<string>org.latchkey.agent</string>"));
        assert!(text.contains(
            "<array>\n\t\t<string>/Applications/A&amp;B &lt;x&gt;/latchkey</string>\n\t\t<string>agent</string>\n\t\t<string>run</string>\n\t</array>"
        ));
        assert!(text.contains("<key>RunAtLoad</key>\n\t<true/>"));
        assert!(text.contains("<key>SuccessfulExit</key>\n\t\t<false/>"));
        assert!(text.contains("<string>/tmp/latchkey-501/agent.log</string>"));
        // Every element opened is closed, in order.
        let mut open = Vec::new();
        for tag in text
            .split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or(""))
        {
            if tag.starts_with(['?', '!']) || tag.ends_with('/') {
                continue;
            }
            match tag.strip_prefix('/') {
                Some(name) => assert_eq!(open.pop(), Some(name.to_string())),
                None => open.push(tag.split(' ').next().unwrap_or("").to_string()),
            }
        }
        assert!(open.is_empty(), "{open:?}");
        assert_eq!(
            plist_path()
                .ok()
                .map(|p| p.ends_with("Library/LaunchAgents/org.latchkey.agent.plist")),
            Some(true)
        );
    }
}

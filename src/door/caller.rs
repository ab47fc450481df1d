//! Who is asking, as the door itself establishes it: from `/proc` and the socket's peer
//! credentials, never from what a client says about itself. The program is the one that will
//! hold the token; rules name it, history records it.

use std::path::{Path, PathBuf};

/// How a request reached the door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// The CLI answered in the asking program's own process tree (no agent).
    Direct,
    /// Through the agent's socket, from a program of this machine.
    Agent,
    /// A click in the desktop app's window.
    Window,
    /// A click in the desktop app's tray menu.
    Tray,
    /// Through the agent's socket forwarded over SSH: the peer is the local `ssh` client.
    Forwarded { destination: Option<String> },
    /// A client of a `latchkey serve` endpoint (a container, a VM).
    Serve { name: String },
    /// A client of `latchkey proxy`.
    Proxy,
}

impl Arrival {
    /// As history writes it (`via`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Arrival::Direct => "direct",
            Arrival::Agent => "agent",
            Arrival::Window => "window",
            Arrival::Tray => "tray",
            Arrival::Forwarded { .. } => "forwarded",
            Arrival::Serve { .. } => "serve",
            Arrival::Proxy => "proxy",
        }
    }

    /// A click in the app: the user's own act, recorded and never asked about.
    pub fn by_hand(&self) -> bool {
        matches!(self, Arrival::Window | Arrival::Tray)
    }
}

/// The caller of one hand-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arrival: Arrival,
    /// The program that will hold the token (absent when the door could not tell).
    pub pid: Option<u32>,
    pub exe: Option<PathBuf>,
    /// The process the door talked to, when it is not the program (the `latchkey` CLI between
    /// a program and the agent, or the `ssh` client of a forwarded socket).
    pub client_pid: Option<u32>,
    /// The program's parent was gone (`setsid -f`, a double fork): the door cannot name it.
    pub detached: bool,
}

/// The `latchkey` CLI's file name.
pub const CLI_FILE: &str = if cfg!(windows) {
    "latchkey.exe"
} else {
    "latchkey"
};

/// Shells a tool runs its helpers through: the tool is the shell's parent.
const SHELLS: &[&str] = &["sh", "dash", "bash", "zsh", "ksh", "mksh", "busybox"];

impl Caller {
    fn of(arrival: Arrival, pid: Option<u32>) -> Self {
        let pid = pid.filter(|&p| p > 1);
        Caller {
            arrival,
            pid,
            exe: pid.and_then(exe_of),
            client_pid: None,
            detached: pid.is_none(),
        }
    }

    /// The program that ran this `latchkey` process (its parent; for a tool that runs helpers
    /// through a shell, the shell's parent).
    pub fn this_process_parent(through_shell: bool) -> Self {
        let parent = parent_of(std::process::id());
        let pid = if through_shell {
            parent.map(past_shells)
        } else {
            parent
        };
        Caller {
            client_pid: Some(std::process::id()),
            ..Caller::of(Arrival::Direct, pid)
        }
    }

    /// A program this process is about to start (`exec`): resolved to its path before it runs.
    pub fn program_to_start(program: &Path, arrival: Arrival) -> Self {
        Caller {
            arrival,
            pid: None,
            exe: Some(program.to_path_buf()),
            client_pid: Some(std::process::id()),
            detached: false,
        }
    }

    /// The peer of the agent's socket. When the peer is the `latchkey` CLI (one of `cli_exes`,
    /// compared by path, not by name), the program is its parent, or for `exec` the program it
    /// names; any other peer is the program itself.
    pub fn of_peer(
        peer: Option<u32>,
        cli_exes: &[PathBuf],
        through_shell: bool,
        claimed_program: Option<&str>,
    ) -> Self {
        let peer = peer.filter(|&p| p > 1);
        let peer_exe = peer.and_then(exe_of);
        let is_cli = peer_exe
            .as_ref()
            .is_some_and(|exe| cli_exes.iter().any(|c| c == exe));
        if !is_cli {
            return Caller {
                client_pid: peer,
                ..Caller::of(Arrival::Agent, peer)
            };
        }
        if let Some(program) = claimed_program.filter(|p| p.starts_with('/')) {
            return Caller {
                client_pid: peer,
                ..Caller::program_to_start(Path::new(program), Arrival::Agent)
            };
        }
        let parent = peer.and_then(parent_of);
        let pid = if through_shell {
            parent.map(past_shells)
        } else {
            parent
        };
        Caller {
            client_pid: peer,
            ..Caller::of(Arrival::Agent, pid)
        }
    }

    /// A local process the front end found as its peer (a Unix socket's peer credentials, a
    /// TCP connection's owner from `/proc`); without one, a caller the door cannot see.
    pub fn local_peer(arrival: Arrival, pid: Option<u32>) -> Self {
        match pid.filter(|&p| p > 1) {
            Some(pid) => Caller {
                client_pid: Some(pid),
                ..Caller::of(arrival, Some(pid))
            },
            None => Caller::remote(arrival),
        }
    }

    /// The peer of a forwarding socket: the local `ssh` client that carries the remote
    /// program's request (rules name it `ssh`); `destination` is the ssh session's.
    pub fn forwarded(peer: Option<u32>, destination: Option<String>) -> Self {
        let peer = peer.filter(|&p| p > 1);
        Caller {
            client_pid: peer,
            ..Caller::of(Arrival::Forwarded { destination }, peer)
        }
    }

    /// The desktop app itself, for a copy clicked in its window or tray.
    pub fn app(arrival: Arrival) -> Self {
        Caller::of(arrival, Some(std::process::id()))
    }

    /// A caller that is not a local process (a `serve` client), or one the door cannot see.
    pub fn remote(arrival: Arrival) -> Self {
        Caller {
            arrival,
            pid: None,
            exe: None,
            client_pid: None,
            detached: false,
        }
    }

    /// The program as rules match it and messages name it.
    pub fn program(&self) -> String {
        match (&self.arrival, &self.exe) {
            (Arrival::Serve { name }, _) => format!("serve:{name}"),
            (_, Some(exe)) => exe.to_string_lossy().into_owned(),
            (Arrival::Proxy, None) => "proxy client".into(),
            (_, None) if self.detached => "a detached program (its parent is gone)".into(),
            (_, None) => "an unknown program".into(),
        }
    }

    /// Whether a rule's `program` names this caller: an absolute path is compared with the
    /// executable, `serve:NAME` with a serve session, a bare name with the executable's file
    /// name.
    pub fn is(&self, program: &str) -> bool {
        if let Some(name) = program.strip_prefix("serve:") {
            return matches!(&self.arrival, Arrival::Serve { name: n } if n == name);
        }
        let Some(exe) = &self.exe else {
            return false;
        };
        if program.starts_with('/') {
            return exe == Path::new(program);
        }
        exe.file_name().is_some_and(|n| n == program)
    }
}

/// Up from `pid` past shells (at most a few: `git` → `sh` → helper).
fn past_shells(mut pid: u32) -> u32 {
    for _ in 0..4 {
        let is_shell = exe_of(pid).is_some_and(|exe| {
            exe.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| SHELLS.contains(&n))
        });
        match parent_of(pid) {
            Some(parent) if is_shell && parent > 1 => pid = parent,
            _ => break,
        }
    }
    pid
}

/// The process holding the client end of a loopback TCP connection that this process accepted
/// (`peer` connected to `local`): its socket's inode (from the kernel's sock_diag, else
/// `/proc/net/tcp` or `tcp6`), then the process with that inode among its file descriptors. `None` when `/proc` does not tell.
pub fn tcp_peer_pid(peer: std::net::SocketAddr, local: std::net::SocketAddr) -> Option<u32> {
    use std::net::{IpAddr, SocketAddr};
    fn hex(addr: SocketAddr) -> String {
        match addr.ip() {
            IpAddr::V4(ip) => format!(
                "{:08X}:{:04X}",
                u32::from_le_bytes(ip.octets()),
                addr.port()
            ),
            IpAddr::V6(ip) => {
                let words: String = ip
                    .octets()
                    .chunks(4)
                    .map(|c| format!("{:08X}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect();
                format!("{words}:{:04X}", addr.port())
            }
        }
    }
    // The kernel names the one socket (sock_diag); `/proc/net/tcp` lists them all when it cannot.
    #[cfg(target_os = "linux")]
    let diag = super::sock_diag::inode_of(peer, local);
    #[cfg(not(target_os = "linux"))]
    let diag: Option<u32> = None;
    let inode = match diag {
        Some(inode) => inode.to_string(),
        None => {
            let table = if peer.is_ipv4() { "tcp" } else { "tcp6" };
            let text = std::fs::read_to_string(format!("/proc/net/{table}")).ok()?;
            let (peer, local) = (hex(peer), hex(local));
            text.lines().skip(1).find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields.get(1) == Some(&peer.as_str()) && fields.get(2) == Some(&local.as_str()))
                    .then(|| fields.get(9).map(|i| i.to_string()))
                    .flatten()
            })?
        }
    };
    if inode == "0" {
        return None;
    }
    let wanted = PathBuf::from(format!("socket:[{inode}]"));
    let holds = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == wanted))
        })
    };
    // A client mostly connects again and again (one connection per request): the process that
    // held the last connection is looked at first, instead of every process's descriptors.
    static LAST: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let last = LAST.load(std::sync::atomic::Ordering::Relaxed);
    if last != 0 && holds(last) {
        return Some(last);
    }
    // Newest first: a client that just started (curl, a script) has one of the highest pids.
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .collect();
    pids.sort_unstable_by(|a, b| b.cmp(a));
    let pid = pids.into_iter().find(|&pid| pid != last && holds(pid))?;
    LAST.store(pid, std::sync::atomic::Ordering::Relaxed);
    Some(pid)
}

/// A process's executable (`/proc/PID/exe`), when it can be read.
pub fn exe_of(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// A process's parent (`/proc/PID/stat`, the field after the parenthesised name).
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_exe(exe: &str, arrival: Arrival) -> Caller {
        Caller {
            arrival,
            pid: Some(42),
            exe: Some(exe.into()),
            client_pid: None,
            detached: false,
        }
    }

    #[test]
    fn programs_match_by_path_by_name_or_by_serve_session() {
        let python = with_exe("/usr/bin/python3", Arrival::Agent);
        assert!(python.is("/usr/bin/python3"));
        assert!(python.is("python3"));
        assert!(!python.is("/usr/local/bin/python3"));
        assert!(!python.is("python"));
        assert!(!python.is("serve:python3"));
        let serve = Caller::remote(Arrival::Serve { name: "ci".into() });
        assert!(serve.is("serve:ci"));
        assert!(!serve.is("serve:other"));
        assert!(!serve.is("ci"));
        assert_eq!(serve.program(), "serve:ci");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_peer_named_latchkey_that_is_not_the_cli_is_the_program_itself() {
        // The test binary is the peer; it is not in the list of CLI executables, so its own
        // executable is recorded, never its parent's.
        let me = std::process::id();
        let caller = Caller::of_peer(Some(me), &["/usr/bin/latchkey".into()], false, None);
        assert_eq!(caller.pid, Some(me));
        assert_eq!(caller.exe, exe_of(me));
        // Listed as the CLI: its parent is the program, and a claimed exec program is taken.
        let cli = exe_of(me).unwrap();
        let caller = Caller::of_peer(Some(me), std::slice::from_ref(&cli), false, None);
        assert_eq!(caller.pid, parent_of(me));
        let caller = Caller::of_peer(Some(me), &[cli], false, Some("/usr/bin/env"));
        assert_eq!(caller.exe, Some(PathBuf::from("/usr/bin/env")));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_owner_of_a_loopback_connection_is_found_in_proc() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(local).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(tcp_peer_pid(peer, local), Some(std::process::id()));
        let caller = Caller::local_peer(Arrival::Proxy, tcp_peer_pid(peer, local));
        assert_eq!(caller.exe, exe_of(std::process::id()));
        assert_eq!(
            Caller::local_peer(Arrival::Proxy, None).program(),
            "proxy client"
        );
    }

    #[test]
    fn pid_one_is_a_detached_caller_not_init() {
        let caller = Caller::of(Arrival::Direct, Some(1));
        assert!(caller.detached);
        assert_eq!(caller.pid, None);
        assert!(caller.program().contains("detached"));
    }
}

//! A real OpenSSH server on loopback for "the remote side" of a test: its own config, host key
//! and authorized key in a temp dir, a second local user (`latchkey-remote`) to log in as, and
//! helpers to build `ssh` command lines against it. No system sshd or user's ssh config is
//! touched. Needs root (tests run as root), /usr/sbin/sshd and ssh (scripts/setup).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The local account the tests' ssh logs in as (created on first use, kept afterwards).
pub const REMOTE_USER: &str = "latchkey-remote";

static USER_LOCK: Mutex<()> = Mutex::new(());

/// Creates [`REMOTE_USER`] when missing (home directory, bash) and makes sure its account is not
/// locked (sshd without PAM refuses a `!` password field); returns its (uid, gid).
pub fn ensure_remote_user() -> (u32, u32) {
    let _guard = USER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, REMOTE_USER]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id("-u").is_none() {
        let st = Command::new("useradd")
            .args(["-m", "-s", "/bin/bash", REMOTE_USER])
            .status()
            .expect("useradd (run scripts/setup; tests run as root)");
        // A parallel run may have created it meanwhile (exit 9: already exists).
        assert!(st.success() || st.code() == Some(9), "useradd: {st}");
    }
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let locked = shadow
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{REMOTE_USER}:")))
        .is_none_or(|rest| rest.starts_with('!'));
    if locked {
        let st = Command::new("usermod")
            .args(["-p", "*", REMOTE_USER])
            .status()
            .expect("usermod");
        assert!(st.success(), "usermod -p '*': {st}");
    }
    // The far side is a machine where Latchkey was never set up: nothing a run before left
    // in the test user's home (its own config would stop the forwarded socket being found).
    let home = std::path::Path::new("/home").join(REMOTE_USER);
    for dir in [".config/latchkey", ".local/state/latchkey"] {
        let _ = std::fs::remove_dir_all(home.join(dir));
    }
    (
        id("-u").expect("uid of the remote user"),
        id("-g").expect("gid of the remote user"),
    )
}

/// An sshd on 127.0.0.1:`port`, killed when dropped (its temp dir removed).
pub struct Sshd {
    child: Child,
    /// The port sshd listens on (127.0.0.1 only).
    pub port: u16,
    /// The temp dir (0755) with sshd_config, host_key, authorized_keys and the client key.
    pub dir: PathBuf,
    /// The client's private key (ed25519, no passphrase); its public half is authorized.
    pub client_key: PathBuf,
    /// A directory owned by [`REMOTE_USER`] (0755): remote sockets and files go here.
    pub remote_dir: PathBuf,
    log: Arc<Mutex<String>>,
}

impl Sshd {
    /// Starts sshd on a free loopback port and waits until it listens.
    pub fn start() -> Self {
        let (uid, gid) = ensure_remote_user();
        // Removed by Drop.
        let dir = tempfile::Builder::new()
            .prefix("latchkey-sshd-")
            .tempdir()
            .expect("sshd temp dir")
            .keep();
        // The remote user reads authorized_keys and runs what tests copy here.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let remote_dir = dir.join("remote");
        std::fs::create_dir(&remote_dir).expect("remote dir");
        std::os::unix::fs::chown(&remote_dir, Some(uid), Some(gid)).expect("chown remote dir");
        std::fs::set_permissions(&remote_dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod remote dir");
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd (privilege separation)");

        let host_key = dir.join("host_key");
        let client_key = dir.join("client_key");
        for key in [&host_key, &client_key] {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "latchkey-test", "-f"])
                .arg(key)
                .status()
                .expect("ssh-keygen (run scripts/setup)");
            assert!(st.success(), "ssh-keygen: {st}");
        }
        let authorized = dir.join("authorized_keys");
        std::fs::copy(dir.join("client_key.pub"), &authorized).expect("authorized_keys");
        std::fs::set_permissions(&authorized, std::fs::Permissions::from_mode(0o644))
            .expect("chmod authorized_keys");

        // A port picked by the kernel, then given to sshd: another process may take it in
        // between, so a failed bind is retried on a new port.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let config = dir.join("sshd_config");
            std::fs::write(&config, sshd_config(port, &host_key, &authorized)).expect("config");
            let mut child = Command::new("/usr/sbin/sshd")
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start /usr/sbin/sshd (run scripts/setup)");
            let log = Arc::new(Mutex::new(String::new()));
            if wait_listening(&mut child, &log) {
                return Sshd {
                    child,
                    port,
                    dir,
                    client_key,
                    remote_dir,
                    log,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "sshd did not start on port {port}:\n{}",
                log.lock().unwrap()
            );
        }
        panic!("sshd never started (see its log above)");
    }

    /// `latchkey-remote@127.0.0.1`.
    pub fn destination(&self) -> String {
        format!("{REMOTE_USER}@127.0.0.1")
    }

    /// The options of every `ssh` to this server (no user config, this key only, no host key
    /// prompts, never a password prompt, the port), without the destination.
    pub fn ssh_options(&self) -> Vec<String> {
        let mut args: Vec<String> = vec!["-F".into(), "/dev/null".into(), "-i".into()];
        args.push(self.client_key.display().to_string());
        for opt in [
            "IdentitiesOnly=yes",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "BatchMode=yes",
            "LogLevel=ERROR",
            "ConnectTimeout=10",
            "ExitOnForwardFailure=yes",
            "StreamLocalBindUnlink=yes",
        ] {
            args.push("-o".into());
            args.push(opt.into());
        }
        args.push("-p".into());
        args.push(self.port.to_string());
        args
    }

    /// `ssh OPTIONS` ready for more options (`-R`, `-T`, …) and then the destination: see
    /// [`Sshd::ssh_to`] for the usual command line.
    pub fn ssh(&self) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.ssh_options());
        cmd
    }

    /// `ssh OPTIONS EXTRA… latchkey-remote@127.0.0.1 REMOTE_COMMAND`: `remote_command` is one
    /// string run by the remote user's shell (bash); `extra` goes before the destination.
    pub fn ssh_to(&self, extra: &[&str], remote_command: &str) -> Command {
        let mut cmd = self.ssh();
        cmd.args(extra).arg(self.destination()).arg(remote_command);
        cmd
    }

    /// Runs `remote_command` on the far side (stdin closed) and returns its output.
    pub fn run(&self, remote_command: &str) -> Output {
        self.ssh_to(&[], remote_command)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh")
    }

    /// `-R remote_socket:local_socket`, the arguments of a Unix socket forward from the far side
    /// to here (sshd creates `remote_socket` as the remote user; a stale one is replaced).
    pub fn forward_socket_args(remote_socket: &Path, local_socket: &Path) -> [String; 2] {
        [
            "-R".into(),
            format!("{}:{}", remote_socket.display(), local_socket.display()),
        ]
    }

    /// Copies `program` into the server's temp dir (0755, readable by the remote user, who
    /// cannot enter the 0700 dirs tests usually use) and returns the copy's path.
    pub fn install_for_remote(&self, program: &Path) -> PathBuf {
        let bin = self.dir.join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let dest = bin.join(program.file_name().expect("a file name"));
        std::fs::copy(program, &dest).expect("copy program for the remote user");
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        dest
    }

    /// What sshd has logged so far (`-e`: its log goes to stderr, kept here).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sshd_config(port: u16, host_key: &Path, authorized: &Path) -> String {
    format!(
        "Port {port}
ListenAddress 127.0.0.1
AddressFamily inet
HostKey {host}
PidFile none
UsePAM no
StrictModes no
PermitRootLogin no
AllowUsers {REMOTE_USER}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile {auth}
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
StreamLocalBindUnlink yes
X11Forwarding no
PrintMotd no
PrintLastLog no
LogLevel INFO
",
        host = host_key.display(),
        auth = authorized.display(),
    )
}

/// Reads sshd's stderr until it says it listens (true) or exits (false); a thread keeps
/// reading afterwards into `log`.
fn wait_listening(child: &mut Child, log: &Arc<Mutex<String>>) -> bool {
    let stderr = child.stderr.take().expect("sshd stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = Arc::clone(log);
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&format!("{line}\n"));
            if line.contains("Server listening on")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(true);
            }
        }
        if let Some(tx) = tx.take() {
            let _ = tx.send(false);
        }
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or(false)
}

/// Waits (up to `timeout`) until `path` exists on this machine.
pub fn wait_for_path(path: &Path, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn sshd_runs_commands_as_the_remote_user() {
    let sshd = Sshd::start();
    let out = sshd.run("true");
    assert!(out.status.success(), "{out:?}\n{}", sshd.log());
    let out = sshd.run("id -un");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), REMOTE_USER);
}

#[test]
fn sshd_forwards_a_unix_socket_to_the_far_side() {
    use std::io::Write;
    use std::os::unix::net::UnixListener;

    let sshd = Sshd::start();
    let local = sshd.dir.join("local.sock");
    let listener = UnixListener::bind(&local).expect("bind local socket");
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept a forwarded connection");
        conn.write_all(b"pong\n").expect("write");
    });
    let remote = sshd.remote_dir.join("agent.sock");
    let [r, spec] = Sshd::forward_socket_args(&remote, &local);
    // On the far side: wait for the socket sshd creates, check it is the remote user's socket,
    // and read through it (perl is always there on Debian).
    let script = format!(
        "for i in $(seq 100); do [ -S {p} ] && break; sleep 0.05; done; \
         stat -c %U {p} && \
         perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die $!; print scalar <$s>' {p}",
        p = remote.display()
    );
    let out = sshd
        .ssh_to(&[&r, &spec], &script)
        .stdin(Stdio::null())
        .output()
        .expect("ssh -R");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}\nsshd log:\n{}", sshd.log());
    assert_eq!(stdout, format!("{REMOTE_USER}\npong\n"));
    server.join().expect("local socket server");
}

//! A "container" for a test: a network namespace joined to this host by a veth pair, with
//! 10.231.x.y/30 addresses on both ends. Inside it, 127.0.0.1 is its own loopback (the host's
//! loopback servers are out of reach), there is no D-Bus and no keychain: only what the test
//! serves on [`Netns::host_addr`] is reachable. Needs root and `ip` (scripts/setup).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace and its veth pair, removed when dropped.
pub struct Netns {
    /// The namespace's name (`ip netns exec NAME …`).
    pub name: String,
    /// The host's end of the veth pair (in the host's namespace).
    pub host_if: String,
    /// The namespace's end of the veth pair.
    pub ns_if: String,
    /// The host's address as seen from inside: bind test servers here.
    pub host_addr: Ipv4Addr,
    /// The namespace's own address.
    pub ns_addr: Ipv4Addr,
    /// An empty directory (0700), HOME of the commands run inside.
    pub home: PathBuf,
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2; run scripts/setup)")
}

#[track_caller]
fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// Creates the namespace (loopback up), the veth pair, and the two addresses.
    pub fn create() -> Self {
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        // Interface names have at most 15 characters: "lkh" + pid (≤ 7 digits) + "x" + n.
        let name = format!("latchkey-{pid}-{n}");
        let host_if = format!("lkh{pid}x{n}");
        let ns_if = format!("lkc{pid}x{n}");
        assert!(
            host_if.len() <= 15,
            "{host_if} is too long for an interface name"
        );

        // A /30 of 10.231.0.0/16 from the pid and the counter, skipping one a parallel run
        // already has on this host.
        let taken = String::from_utf8_lossy(&ip(&["-o", "-4", "addr", "show"]).stdout).into_owned();
        let mut block = (pid as usize * 8 + n) % 16384;
        let (host_addr, ns_addr) = loop {
            let (x, y) = ((block / 64) as u8, ((block % 64) * 4) as u8);
            let host = Ipv4Addr::new(10, 231, x, y + 1);
            if !taken.contains(&format!(" 10.231.{x}.{}/", y + 1)) {
                break (host, Ipv4Addr::new(10, 231, x, y + 2));
            }
            block = (block + 1) % 16384;
        };

        // Leftovers of a run that died with this pid and counter.
        let _ = ip(&["link", "del", &host_if]);
        let _ = ip(&["netns", "del", &name]);

        ip_ok(&["netns", "add", &name]);
        let ns = Netns {
            name,
            host_if,
            ns_if,
            host_addr,
            ns_addr,
            home: std::env::temp_dir().join(format!("latchkey-netns-{pid}-{n}")),
        };
        // From here on, Drop cleans up whatever fails.
        let (name, host_if, ns_if) = (&ns.name, &ns.host_if, &ns.ns_if);
        let host_cidr = format!("{host_addr}/30");
        let ns_cidr = format!("{ns_addr}/30");
        ip_ok(&[
            "link", "add", host_if, "type", "veth", "peer", "name", ns_if,
        ]);
        ip_ok(&["link", "set", ns_if, "netns", name]);
        ip_ok(&["addr", "add", &host_cidr, "dev", host_if]);
        ip_ok(&["link", "set", host_if, "up"]);
        ip_ok(&["-n", name, "addr", "add", &ns_cidr, "dev", ns_if]);
        ip_ok(&["-n", name, "link", "set", ns_if, "up"]);
        ip_ok(&["-n", name, "link", "set", "lo", "up"]);
        let _ = std::fs::remove_dir_all(&ns.home);
        std::fs::create_dir_all(&ns.home).expect("netns HOME");
        ns
    }

    /// `ip netns exec NAME env -i PATH=/usr/bin:/bin HOME=<home> PROGRAM`: a command run inside
    /// with no environment besides PATH and HOME. Add arguments with `.arg(…)`; variables set
    /// with `.env(…)` never reach PROGRAM (`env -i` drops them): use
    /// [`Netns::command_with_env`].
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        self.command_with_env(&[], program)
    }

    /// [`Netns::command`] with more `VAR=value` pairs in the command's environment.
    pub fn command_with_env(&self, vars: &[(&str, &str)], program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.name,
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
        ])
        .arg(format!("HOME={}", self.home.display()));
        for (k, v) in vars {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(program);
        cmd
    }

    /// Runs `script` with `bash -c` inside and returns its output.
    pub fn sh(&self, script: &str) -> Output {
        self.command("bash")
            .args(["-c", script])
            .output()
            .expect("ip netns exec")
    }

    /// A TCP listener on the host's end, on a port the kernel picks: reachable from inside at
    /// `host_addr:port`, and only from there and this host.
    pub fn listen_on_host(&self) -> TcpListener {
        TcpListener::bind((self.host_addr, 0)).expect("bind on the host's veth address")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end deletes the pair; the namespace goes with the last process in it.
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[test]
fn netns_reaches_a_listener_on_the_host_veth_address_only() {
    use std::io::Write;

    let ns = Netns::create();
    let listener = ns.listen_on_host();
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut conn, peer) = listener.accept().expect("accept");
        conn.write_all(b"hello\n").expect("write");
        peer.ip()
    });
    let out = ns.sh(&format!(
        "exec 3<>/dev/tcp/{}/{port} && head -n 1 <&3 && echo HOME=$HOME && env | wc -l",
        ns.host_addr
    ));
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "hello");
    assert_eq!(lines[1], format!("HOME={}", ns.home.display()));
    // PATH, HOME, PWD, SHLVL and `_` from bash: nothing of the test's environment.
    assert!(
        lines[2].trim().parse::<u32>().expect("count") <= 5,
        "{stdout}"
    );
    assert_eq!(server.join().expect("server"), ns.ns_addr);

    // The host's loopback is not the namespace's.
    let local = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = local.local_addr().expect("addr").port();
    let out = ns.sh(&format!("exec 3<>/dev/tcp/127.0.0.1/{port}"));
    assert!(
        !out.status.success(),
        "host loopback reachable from inside: {out:?}"
    );
}

#[test]
fn netns_reaches_the_test_servers_on_the_host_end() {
    let ns = Netns::create();
    let host = ns.host_addr.to_string();
    let server = crate::util::AuthServer::start_with_env(&[("LISTEN_HOST", &host)]);
    assert!(
        server.issuer.starts_with(&format!("http://{host}:")),
        "{}",
        server.issuer
    );
    let mcp = crate::mcp::McpServer::start_with(&[("LISTEN_HOST", &host)]);
    let out = ns
        .command("curl")
        .args(["-sS", "--max-time", "10"])
        .arg(format!(
            "{}/.well-known/openid-configuration",
            server.issuer
        ))
        .output()
        .expect("curl inside");
    assert!(out.status.success(), "{out:?}");
    let discovery: serde_json::Value = serde_json::from_slice(&out.stdout).expect("discovery");
    assert_eq!(discovery["issuer"], server.issuer);
    let out = ns
        .command("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
        ])
        .arg(mcp.mcp_url())
        .output()
        .expect("curl inside");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401", "{out:?}");
}

//! Proxies and private CAs end to end: the test OpenID Provider served over TLS with a
//! certificate from a CA this test makes, under a name that does not resolve (`as.test`),
//! reachable only through a small CONNECT proxy on 127.0.0.1 that counts its tunnels.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::util::*;

const NAME: &str = "as.test";
const PROXY_PASSWORD: &str = "pr0xy-pa55word";

/// A private CA and a server certificate for `as.test` and 127.0.0.1, made with openssl.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(env: &Env, name: &str) -> Pki {
        let dir = env.mkdir(name);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl");
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Latchkey Test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=as.test",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:as.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        Pki { dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}

/// The test OpenID Provider over TLS on 127.0.0.1, with `issuer` as its issuer.
struct TlsServer {
    _node: NodeServer,
    port: u16,
}

impl TlsServer {
    fn start(pki: &Pki, issuer: Option<&str>) -> TlsServer {
        let mut cmd = NodeServer::command("authserver/server.mjs");
        cmd.env("TLS_CERT", pki.dir.join("server.pem"))
            .env("TLS_KEY", pki.dir.join("server.key"));
        match issuer {
            Some(issuer) => cmd.env("ISSUER", issuer),
            None => cmd.env_remove("ISSUER"),
        };
        let node = NodeServer::spawn(&mut cmd, "authserver/server.mjs");
        let port = url::Url::parse(&node.url).unwrap().port().unwrap();
        TlsServer { _node: node, port }
    }
}

/// A CONNECT proxy on 127.0.0.1: `as.test:443` goes to the TLS server's port, `127.0.0.1:N` to
/// that port, anything else gets 502. `refuse` answers every CONNECT with 403 instead.
struct Proxy {
    port: u16,
    tunnels: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(as_test_port: u16, refuse: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (tunnels.clone(), stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let seen = seen.clone();
                thread::spawn(move || tunnel(client, as_test_port, refuse, &seen));
            }
        });
        Proxy {
            port,
            tunnels,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The CONNECT targets asked for so far.
    fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn tunnel(client: TcpStream, as_test_port: u16, refuse: bool, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let mut client = client;
    let target = first
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    if !first.starts_with("CONNECT ") {
        return;
    }
    seen.lock().unwrap().push(target.clone());
    let port = match target.rsplit_once(':') {
        Some((NAME, _)) => Some(as_test_port),
        Some(("127.0.0.1", p)) => p.parse().ok(),
        _ => None,
    };
    let upstream = port.and_then(|p| TcpStream::connect(("127.0.0.1", p)).ok());
    let (Some(upstream), false) = (upstream, refuse) else {
        let status = if refuse {
            "403 Forbidden"
        } else {
            "502 Bad Gateway"
        };
        let _ = write!(
            client,
            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        // A graceful close, as real proxies do: the answer is not cut off by a reset.
        let _ = client.shutdown(Shutdown::Write);
        let _ = client.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let pipe = |mut from: Box<dyn Read + Send>, mut to: TcpStream| {
        thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        })
    };
    // What the reader buffered after the head belongs to the tunnel.
    let buffered = reader.buffer().to_vec();
    let from_client = Box::new(std::io::Cursor::new(buffered).chain(reader.into_inner()));
    let a = pipe(from_client, upstream.try_clone().unwrap());
    let b = pipe(Box::new(upstream), client);
    let _ = (a.join(), b.join());
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn with_env(mut env: Env, vars: &[(&str, String)]) -> Env {
    for (k, v) in vars {
        env.extra_env.push((k.to_string(), v.clone()));
    }
    env
}

/// `profile add NAME` for the m2m client at `issuer`, with `extra` flags.
fn add_machine(env: &Env, name: &str, issuer: &str, extra: &str) -> Run {
    env.cli_stdin(
        &format!(
            "profile add {name} --grant client-credentials --issuer {issuer} --client-id m2m \
             --client-secret-stdin {extra}"
        ),
        "m2m-secret\n",
    )
}

fn no_client_secret_stored(env: &Env, profile: &str) -> bool {
    let keychain = keychain_of(env);
    block_on(keychain.get(&format!("client-secret:{profile}")))
        .expect("keychain")
        .is_none()
}

fn assert_never_shows_password(run: &Run) {
    assert!(
        !run.stdout.contains(PROXY_PASSWORD) && !run.stderr.contains(PROXY_PASSWORD),
        "{run:#?}"
    );
}

/// The provider at `https://as.test`, its CA, and the proxy that alone reaches it.
fn as_test_behind_a_proxy() -> (Env, Pki, TlsServer, Proxy) {
    let env = Env::new();
    let pki = Pki::new(&env, "pki");
    let server = TlsServer::start(&pki, Some("https://as.test"));
    let proxy = Proxy::start(server.port, false);
    (env, pki, server, proxy)
}

#[test]
fn client_credentials_through_the_proxy_with_the_ca_file() {
    let (env, pki, _server, proxy) = as_test_behind_a_proxy();
    let env = with_env(env, &[("HTTPS_PROXY", proxy.url())]);
    let ca = pki.ca();
    add_machine(
        &env,
        "corp",
        "https://as.test",
        &format!("--ca-file {}", ca.display()),
    )
    .says(&["Added profile `corp`"]);
    let shown = env.cli("profile show corp");
    shown.says(&["CA file:", &ca.display().to_string()]);
    assert_eq!(
        env.profile_json("corp")["ca_file"],
        ca.display().to_string()
    );
    let token = env.token(&["corp"]);
    assert!(!token.is_empty());
    let tunnels = proxy.tunnels();
    // Discovery, keys (none for m2m), token: every one through the proxy, to as.test only.
    assert!(tunnels.len() >= 2, "{tunnels:?}");
    assert!(tunnels.iter().all(|t| t == "as.test:443"), "{tunnels:?}");
}

#[test]
fn browser_sign_in_through_the_proxy_with_the_ca_file() {
    let (env, pki, _server, proxy) = as_test_behind_a_proxy();
    // The scripted browser reads the same proxy, and trusts the test CA as any Node program.
    let env = with_env(
        env,
        &[
            ("HTTPS_PROXY", proxy.url()),
            ("NODE_EXTRA_CA_CERTS", pki.ca().display().to_string()),
        ],
    );
    env.cli(&format!(
        "profile add corp --issuer https://as.test --client-id public-app --scope '{OIDC}' --ca-file {}",
        pki.ca().display()
    ))
    .success();
    env.login("corp").success();
    let accounts = env.accounts();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0]["account"], "corp/alice@example.test");
    // Latchkey (discovery, keys, code exchange) and the browser: all tunnelled to as.test.
    let tunnels = proxy.tunnels();
    assert!(tunnels.len() >= 4, "{tunnels:?}");
    assert!(tunnels.iter().all(|t| t == "as.test:443"), "{tunnels:?}");
    assert!(
        env.browser_log().starts_with("approve"),
        "{}",
        env.browser_log()
    );
    let before = tunnels.len();
    env.refresh("corp");
    assert!(proxy.tunnels().len() > before);
}

#[test]
fn the_profiles_proxy_wins_over_the_environment() {
    let (env, pki, _server, proxy) = as_test_behind_a_proxy();
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let env = with_env(env, &[("HTTPS_PROXY", dead), ("ALL_PROXY", proxy.url())]);
    let flags = format!("--proxy {} --ca-file {}", proxy.url(), pki.ca().display());
    add_machine(&env, "corp", "https://as.test", &flags).success();
    env.cli("profile show corp")
        .says(&[&format!("proxy:                  {}/", proxy.url())]);
    env.token(&["corp"]);
    assert!(!proxy.tunnels().is_empty());
}

#[test]
fn no_proxy_is_honoured() {
    let env = Env::new();
    let pki = Pki::new(&env, "pki");
    // Issued as https://127.0.0.1:PORT, which resolves: reachable with or without the proxy.
    let server = TlsServer::start(&pki, None);
    let issuer = format!("https://127.0.0.1:{}", server.port);
    let proxy = Proxy::start(server.port, false);
    let ca = format!("--ca-file {}", pki.ca().display());
    let proxied = with_env(Env::new(), &[("https_proxy", proxy.url())]);
    add_machine(&proxied, "np-1", &issuer, &ca).success();
    proxied.token(&["np-1"]);
    let through = proxy.tunnels().len();
    assert!(through >= 2, "{:?}", proxy.tunnels());
    // The same with the host in no_proxy (a CIDR range here): straight to the server.
    let direct = with_env(
        Env::new(),
        &[
            ("https_proxy", proxy.url()),
            ("no_proxy", "example.com, 127.0.0.0/8".into()),
        ],
    );
    add_machine(&direct, "np-2", &issuer, &ca).success();
    direct.token(&["np-2"]);
    assert_eq!(proxy.tunnels().len(), through, "{:?}", proxy.tunnels());
    // NO_PROXY naming the provider that only the proxy can reach: its name does not resolve.
    let bypassed = with_env(
        Env::new(),
        &[
            ("HTTPS_PROXY", proxy.url()),
            ("NO_PROXY", ".as.test".into()),
        ],
    );
    add_machine(&bypassed, "np-3", "https://as.test", &ca)
        .fails_with(6, &["name not resolvable", "as.test"]);
    assert_eq!(proxy.tunnels().len(), through);
}

#[test]
fn without_the_ca_a_clear_failure_and_nothing_written() {
    let (env, pki, _server, proxy) = as_test_behind_a_proxy();
    let env = with_env(env, &[("HTTPS_PROXY", proxy.url())]);
    add_machine(&env, "noca", "https://as.test", "")
        .fails_with(6, &["certificate not trusted", "as.test", "--ca-file"]);
    assert!(!env.config_dir().join("profiles.toml").exists());
    assert!(no_client_secret_stored(&env, "noca"));
    // A CA file that is no PEM is refused at add, naming the file.
    let junk = env.dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    add_machine(
        &env,
        "noca",
        "https://as.test",
        &format!("--ca-file {}", junk.display()),
    )
    .fails_with(2, &["junk.pem", "no PEM certificate"]);
    assert!(!env.config_dir().join("profiles.toml").exists());
    // The CA file replaced by another CA's: the token request fails, nothing is stored.
    add_machine(
        &env,
        "noca",
        "https://as.test",
        &format!("--ca-file {}", pki.ca().display()),
    )
    .success();
    let profiles = std::fs::read(env.config_dir().join("profiles.toml")).unwrap();
    let other = Pki::new(&env, "other");
    std::fs::copy(other.ca(), pki.ca()).unwrap();
    env.run(&["token", "noca"])
        .fails_with(6, &["certificate not trusted", "--ca-file"]);
    assert!(env.accounts().is_empty());
    env.assert_no_account("noca", &["client"]);
    assert_eq!(
        std::fs::read(env.config_dir().join("profiles.toml")).unwrap(),
        profiles
    );
}

#[test]
fn a_proxy_down_or_refusing_is_named_and_its_credentials_never_shown() {
    let env = Env::new();
    let pki = Pki::new(&env, "pki");
    let server = TlsServer::start(&pki, Some("https://as.test"));
    let ca = format!("--ca-file {}", pki.ca().display());
    let down = format!("http://me:{PROXY_PASSWORD}@127.0.0.1:{}", closed_port());
    let unreachable = with_env(Env::new(), &[("HTTPS_PROXY", down)]);
    let run = add_machine(&unreachable, "refused", "https://as.test", &ca);
    run.fails_with(
        6,
        &["proxy unreachable", "http://***@127.0.0.1:", "HTTPS_PROXY"],
    );
    assert_never_shows_password(&run);

    let refusing = Proxy::start(server.port, true);
    let with_password = format!("http://me:{PROXY_PASSWORD}@127.0.0.1:{}", refusing.port);
    let refused = with_env(Env::new(), &[("https_proxy", with_password)]);
    let run = add_machine(&refused, "refused", "https://as.test", &ca);
    run.fails_with(6, &["proxy refused (403)", "as.test"]);
    assert_never_shows_password(&run);
    assert!(!refused.config_dir().join("profiles.toml").exists());
    assert!(!refusing.tunnels().is_empty());

    // Credentials in a profile's proxy are a secret profiles.toml never holds.
    let run = add_machine(
        &env,
        "refused",
        "https://as.test",
        &format!("--proxy http://me:{PROXY_PASSWORD}@proxy.corp:3128 {ca}"),
    );
    run.fails_with(2, &["holds credentials", "HTTPS_PROXY"]);
    assert_never_shows_password(&run);
    assert!(!env.config_dir().join("profiles.toml").exists());
    assert!(no_client_secret_stored(&env, "refused"));
}

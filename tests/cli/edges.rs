//! Edges of the provider boundary: proxies for loopback endpoints, provider text at the
//! terminal, names that look alike, redirect URIs, metadata split between documents, and
//! refused callbacks that must not go unnoticed.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::util::*;

/// A "proxy" that only counts the connections it receives (and closes them).
struct CountingProxy {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl CountingProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        CountingProxy { url, connections }
    }

    /// Every proxy variable reqwest reads, pointing here.
    fn env(&self) -> Vec<(String, String)> {
        ["http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"]
            .into_iter()
            .map(|k| (k.to_string(), self.url.clone()))
            .chain([
                ("NO_PROXY".to_string(), String::new()),
                ("no_proxy".to_string(), String::new()),
            ])
            .collect()
    }
}

#[test]
fn plain_http_loopback_endpoints_never_go_through_a_proxy() {
    let proxy = CountingProxy::start();
    let server = AuthServer::start();
    let mut env = Env::new();
    env.extra_env = proxy.env();
    // Discovery, sign-in (code, secret), refresh and revocation: all straight to the server.
    env.add_profile(
        &server,
        "noproxy",
        "conf-basic",
        Some("s3cr+t/with:%chars&more"),
    );
    env.login("noproxy").success();
    env.refresh("noproxy");
    env.run(&["logout", "noproxy"])
        .says(&["revoked at the provider"]);
    assert_eq!(server.count("authorization_code"), 1);
    assert_eq!(server.count("refresh_token"), 1);
    assert_eq!(
        proxy.connections.load(Ordering::SeqCst),
        0,
        "a proxy received a loopback request"
    );
}

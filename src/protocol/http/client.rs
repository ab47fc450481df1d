//! Building the reqwest clients: the profile's proxy and CA file, no redirects followed.

use std::time::Duration;

use crate::protocol::network::{self, Network, ProxyRoute, SetupError};

/// A client builder with `network`'s proxy (else the environment's) and CA file for `tls`;
/// none for plain-http loopback endpoints (see [`super::Http::for_network`]).
pub(super) fn builder(
    tls: bool,
    network: &Network,
) -> Result<(reqwest::ClientBuilder, Option<ProxyRoute>), SetupError> {
    // The environment's proxies are read here, not by reqwest (which reads them in another
    // order than curl, and for plain http too).
    let mut builder = reqwest::Client::builder().no_proxy();
    let mut route = None;
    if tls {
        route = ProxyRoute::choose(network.proxy.as_ref(), |v| std::env::var(v).ok())?;
        if let Some(r) = route.clone() {
            let proxy = r.url().clone();
            builder = builder.proxy(reqwest::Proxy::custom(move |url| {
                r.applies_to(url).then(|| proxy.clone())
            }));
        }
        if let Some(path) = &network.ca_file {
            for cert in network::load_ca_file(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
    }
    Ok((builder, route))
}

/// The settings every client shares: no redirects, the connect timeout, the user agent.
pub(super) fn finish(
    builder: reqwest::ClientBuilder,
    tls: bool,
    connect: Duration,
) -> reqwest::Result<reqwest::Client> {
    builder
        .tls_built_in_root_certs(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect)
        .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// reqwest's own message is terse ("error sending request"); the cause is further down.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

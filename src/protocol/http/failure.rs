//! Which part of the way to a provider failed: the proxy (unreachable, or refusing the tunnel
//! with its status), the server's certificate, or the name. reqwest reports these as a chain of
//! messages; this names them for the user.

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::protocol::network::ProxyRoute;

/// A request that never reached the provider, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectFailure {
    #[error("proxy unreachable: cannot connect to the proxy {proxy}: {detail}")]
    ProxyUnreachable { proxy: String, detail: String },
    #[error("proxy refused ({}): the proxy {proxy} did not open a tunnel to {host}", status.map_or_else(|| "no status".to_string(), |s| s.to_string()))]
    ProxyRefused {
        proxy: String,
        host: String,
        status: Option<u16>,
    },
    #[error(
        "certificate not trusted: the certificate of {host} is not signed by a CA Latchkey trusts for this profile (the OS store, and its CA file if it has one): {detail}"
    )]
    CertificateNotTrusted { host: String, detail: String },
    #[error("the certificate of {host} was refused: {detail}")]
    CertificateRefused { host: String, detail: String },
    #[error("name not resolvable: {host} is not known to the name service")]
    NameNotResolved { host: String },
}

/// Names the failure in `chain` (reqwest's error and its causes, as text) of a request to
/// `url`, which `route` carried when it applies to it.
pub(super) async fn classify(
    chain: &str,
    url: Option<&Url>,
    route: Option<&ProxyRoute>,
) -> Option<ConnectFailure> {
    let host = url
        .and_then(Url::host_str)
        .unwrap_or("the server")
        .to_string();
    let route = route.filter(|r| url.is_some_and(|u| r.applies_to(u)));
    if let Some(route) = route {
        let proxy = route.describe();
        if chain.contains("tunnel error: proxy authorization required") {
            return Some(ConnectFailure::ProxyRefused {
                proxy,
                host,
                status: Some(407),
            });
        }
        if chain.contains("tunnel error: unsuccessful") {
            let status = match url {
                Some(url) => tunnel_status(route.url(), url).await,
                None => None,
            };
            return Some(ConnectFailure::ProxyRefused {
                proxy,
                host,
                status,
            });
        }
        if chain.contains("tunnel error: failed to create underlying connection")
            || chain.contains("tunnel error: io error")
            || chain.contains("tunnel error: unexpected end of file")
        {
            return Some(ConnectFailure::ProxyUnreachable {
                proxy,
                detail: innermost(chain),
            });
        }
    }
    if let Some(at) = chain.find("invalid peer certificate: ") {
        let detail = chain[at + "invalid peer certificate: ".len()..]
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let untrusted = ["UnknownIssuer", "BadSignature", "UnknownRevocationStatus"]
            .iter()
            .any(|d| detail.contains(d));
        return Some(if untrusted {
            ConnectFailure::CertificateNotTrusted { host, detail }
        } else {
            ConnectFailure::CertificateRefused { host, detail }
        });
    }
    if chain.contains("dns error") || chain.contains("failed to lookup address") {
        return Some(ConnectFailure::NameNotResolved { host });
    }
    None
}

/// The last cause in the chain ("Connection refused (os error 111)").
fn innermost(chain: &str) -> String {
    chain
        .rsplit(": ")
        .next()
        .unwrap_or(chain)
        .trim()
        .to_string()
}

/// The status a plain-http proxy answers to `CONNECT host:port`, asked once more after the
/// HTTP client saw it refuse (the client keeps no status). `None` for an https proxy, or when
/// it does not answer the same way within a few seconds.
async fn tunnel_status(proxy: &Url, target: &Url) -> Option<u16> {
    if proxy.scheme() != "http" {
        return None;
    }
    let authority = format!("{}:{}", target.host_str()?, target.port_or_known_default()?);
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if !proxy.username().is_empty() {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
        let mut pair = decode(proxy.username());
        pair.push(b':');
        pair.extend(decode(proxy.password().unwrap_or_default()));
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    let address = (
        proxy.host_str()?.trim_matches(['[', ']']).to_string(),
        proxy.port_or_known_default()?,
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        // The status line, however the proxy's answer is cut into reads.
        let mut answer = Vec::new();
        let mut chunk = [0; 256];
        while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < 1024 {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&answer);
        let mut words = line.lines().next()?.split_whitespace();
        words.next().filter(|v| v.starts_with("HTTP/"))?;
        words.next()?.parse::<u16>().ok()
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_now(chain: &str, url: &str, proxy: Option<&str>) -> Option<ConnectFailure> {
        let url = Url::parse(url).unwrap();
        let route = proxy.map(|p| {
            ProxyRoute::choose(None, |v| (v == "HTTPS_PROXY").then(|| p.to_string()))
                .unwrap()
                .unwrap()
        });
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(classify(chain, Some(&url), route.as_ref()))
    }

    #[test]
    fn certificates_and_names_are_told_apart() {
        let untrusted = classify_now(
            "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer",
            "https://as.test/token",
            None,
        );
        assert_eq!(
            untrusted,
            Some(ConnectFailure::CertificateNotTrusted {
                host: "as.test".into(),
                detail: "UnknownIssuer".into()
            })
        );
        let expired = classify_now(
            "client error (Connect): invalid peer certificate: Expired",
            "https://as.test/",
            None,
        );
        assert!(matches!(
            expired,
            Some(ConnectFailure::CertificateRefused { .. })
        ));
        let dns = classify_now(
            "client error (Connect): dns error: failed to lookup address information: Name or service not known",
            "https://nowhere.test/",
            None,
        );
        assert_eq!(
            dns.unwrap().to_string(),
            "name not resolvable: nowhere.test is not known to the name service"
        );
        assert_eq!(
            classify_now("connection reset", "https://a.test/", None),
            None
        );
    }

    #[test]
    fn proxy_failures_name_the_proxy_without_its_password() {
        let proxy = Some("http://me:s3cret@127.0.0.1:9");
        let refused = classify_now(
            "client error (Connect): tunnel error: proxy authorization required",
            "https://as.test/",
            proxy,
        )
        .unwrap();
        assert_eq!(
            refused.to_string(),
            "proxy refused (407): the proxy http://***@127.0.0.1:9/ (HTTPS_PROXY) did not open a tunnel to as.test"
        );
        let down = classify_now(
            "client error (Connect): tunnel error: failed to create underlying connection: tcp connect error: Connection refused (os error 111)",
            "https://as.test/",
            proxy,
        )
        .unwrap()
        .to_string();
        assert!(
            down.starts_with("proxy unreachable") && down.ends_with("(os error 111)"),
            "{down}"
        );
        assert!(!down.contains("s3cret"), "{down}");
    }
}

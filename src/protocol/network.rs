//! How one profile's requests reach its provider: through the profile's proxy, else the proxy
//! the environment names the way curl reads it, and trusting the OS store plus the profile's CA
//! file. Plain-http loopback endpoints never use a proxy (see [`crate::protocol::http::Http`]).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use url::Url;

/// The proxy and extra CAs of one profile (both optional).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Network {
    /// `http://` or `https://`, never with credentials (see [`check_proxy`]).
    pub proxy: Option<Url>,
    /// A PEM file of one or more certificates trusted besides the OS store.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("proxy", &self.proxy.as_ref().map(redact))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Why a profile's network settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the CA file {}: {detail}", path.display())]
    CaFile { path: PathBuf, detail: String },
    #[error("{0}")]
    Proxy(String),
    /// The proxy URL holds a user name or password: a secret, which profiles.toml never holds.
    /// Holds the URL already redacted, so that not even `Debug` shows the password.
    #[error(
        "the proxy URL {0} holds credentials, and a profile never stores a secret; leave them out of the profile's proxy"
    )]
    ProxyCredentials(String),
}

/// A stored proxy URL must be `http` or `https` (what the HTTP client speaks) and carry no
/// credentials: those belong in `HTTPS_PROXY`, which the profile's proxy borrows them from.
pub fn check_proxy(url: &Url) -> Result<(), SetupError> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SetupError::Proxy(format!(
            "the proxy {} must be an http:// or https:// URL with a host",
            redact(url)
        )));
    }
    if has_credentials(url) {
        return Err(SetupError::ProxyCredentials(redact(url)));
    }
    Ok(())
}

/// Reads and parses a CA file: at least one PEM certificate, and every block a certificate.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, SetupError> {
    let fail = |detail: String| SetupError::CaFile {
        path: path.to_path_buf(),
        detail,
    };
    if !path.is_absolute() {
        return Err(fail("must be an absolute path".into()));
    }
    let pem = read_trusted_file(path).map_err(fail)?;
    let text = String::from_utf8_lossy(&pem);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(fail(
            "holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into(),
        ));
    }
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| fail(format!("is not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(fail("holds no certificate".into()));
    }
    Ok(certs)
}

/// The largest CA file read (a full CA bundle is about 200 KB).
const MAX_CA_FILE: u64 = 8 << 20;

/// The content of a file that decides whom Latchkey trusts, as the config directory is
/// checked: it must belong to the user or root and be closed to writes by group and others,
/// and its directory too (unless that has the sticky bit, as /tmp). Checked on the open handle
/// (`fstat`), and read from it. The error is what is wrong and how to fix it.
fn read_trusted_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be read ({e})"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot be read ({e})"))?;
        if !meta.is_file() {
            return Err("is not a regular file".into());
        }
        check_owner_and_mode(meta.uid(), meta.mode(), false, path)?;
        if let Some(dir) = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            && let Ok(meta) = std::fs::metadata(&dir)
        {
            check_owner_and_mode(meta.uid(), meta.mode(), true, &dir)
                .map_err(|e| format!("is in directory {}, which {e}", dir.display()))?;
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({e})"))?;
    Ok(bytes)
}

/// Owned by the user or root, not writable by group or others (a directory with the sticky
/// bit may be: others cannot replace what is the user's in it).
#[cfg(unix)]
fn check_owner_and_mode(uid: u32, mode: u32, dir: bool, path: &Path) -> Result<(), String> {
    let me = rustix::process::geteuid().as_raw();
    if uid != me && uid != 0 {
        return Err(format!(
            "belongs to uid {uid}, neither you (uid {me}) nor root: whoever owns it decides which servers Latchkey trusts; use a CA file of your own or root's"
        ));
    }
    let mode = mode & 0o7777;
    let sticky = dir && mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Err(format!(
            "is writable by group or others (mode {mode:04o}): anyone who can write it decides which servers Latchkey trusts; close it with `chmod go-w {}`",
            path.display()
        ));
    }
    Ok(())
}

/// The proxy a client uses, where it was named, and the hosts that bypass it.
#[derive(Clone)]
pub struct ProxyRoute {
    url: Url,
    /// `the profile's proxy`, or the environment variable's name.
    source: String,
    no_proxy: Vec<String>,
}

impl fmt::Debug for ProxyRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRoute")
            .field("url", &redact(&self.url))
            .field("source", &self.source)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyRoute {
    /// The proxy for https requests: the profile's, else `https_proxy`, `HTTPS_PROXY`,
    /// `all_proxy`, `ALL_PROXY` (curl's order: lower case first). `no_proxy`/`NO_PROXY` apply to
    /// both (as with curl's `--proxy`). The profile's proxy takes its credentials from the
    /// environment's proxy when that names the same scheme, host and port (never an
    /// `https://` proxy's credentials for an `http://` one, which would send them in clear).
    pub fn choose(
        profile: Option<&Url>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ProxyRoute>, SetupError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let from_env = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
            .into_iter()
            .find_map(|name| var(name).map(|v| (name, v)))
            .map(|(name, value)| {
                parse_proxy(&value)
                    .map(|url| (name, url))
                    .map_err(|detail| SetupError::Proxy(format!("{name}: {detail}")))
            })
            .transpose();
        // The environment's proxy matters only without the profile's.
        let from_env = match (profile, from_env) {
            (Some(_), Err(_)) => None,
            (_, env_proxy) => env_proxy?,
        };
        let no_proxy = var("no_proxy")
            .or_else(|| var("NO_PROXY"))
            .map(|v| parse_no_proxy(&v))
            .unwrap_or_default();
        let (url, source) = match (profile, from_env) {
            (Some(own), env_proxy) => {
                let mut url = own.clone();
                if let Some((_, e)) = env_proxy
                    && has_credentials(&e)
                    && e.scheme() == own.scheme()
                    && e.host() == own.host()
                    && e.port_or_known_default() == own.port_or_known_default()
                {
                    let _ = url.set_username(e.username());
                    let _ = url.set_password(e.password());
                }
                (url, "the profile's proxy".to_string())
            }
            (None, Some((name, url))) => (url, name.to_string()),
            (None, None) => return Ok(None),
        };
        Ok(Some(ProxyRoute {
            url,
            source,
            no_proxy,
        }))
    }

    /// The proxy's URL, credentials included: for the HTTP client only, never for display.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `http://proxy.example:3128 (HTTPS_PROXY)`, without credentials.
    pub fn describe(&self) -> String {
        format!("{} ({})", redact(&self.url), self.source)
    }

    /// Whether a request to `url` goes through this proxy (its host is not in `no_proxy`).
    pub fn applies_to(&self, url: &Url) -> bool {
        url.host_str().is_some_and(|h| !bypasses(&self.no_proxy, h))
    }
}

/// curl reads a proxy without a scheme as `http://`.
fn parse_proxy(value: &str) -> Result<Url, String> {
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| "not a proxy URL".to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "the proxy {} must be http:// or https:// (Latchkey speaks no SOCKS)",
            redact(&url)
        ));
    }
    Ok(url)
}

/// `no_proxy` entries, separated by commas or spaces, lower-cased.
fn parse_no_proxy(value: &str) -> Vec<String> {
    value
        .split([',', ' ', '\t'])
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// curl's `no_proxy` match: `*` is every host; a name matches itself and its subdomains (a
/// leading dot changes nothing); an address matches itself, or a CIDR range holds it.
fn bypasses(no_proxy: &[String], host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    no_proxy.iter().any(|entry| {
        if entry == "*" {
            return true;
        }
        match ip {
            Some(ip) => in_range(entry, ip),
            None => {
                let name = entry.trim_start_matches('.').trim_end_matches('.');
                !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
            }
        }
    })
}

fn in_range(entry: &str, ip: IpAddr) -> bool {
    let entry = entry.trim_start_matches('[').trim_end_matches(']');
    let (addr, bits) = match entry.split_once('/') {
        Some((a, b)) => match b.parse::<u32>() {
            Ok(b) => (a, Some(b)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let Ok(net) = addr.trim_matches(['[', ']']).parse::<IpAddr>() else {
        return false;
    };
    let (a, b, width) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return false,
    };
    let bits = bits.unwrap_or(width).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (a >> shift) == (b >> shift)
}

fn has_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// A proxy URL for messages: any user name and password replaced by `***`.
pub fn redact(url: &Url) -> String {
    if !has_credentials(url) {
        return url.to_string();
    }
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string().replacen("://", "://***@", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn chosen(profile: Option<&Url>, vars: &[(&str, &str)]) -> Option<String> {
        ProxyRoute::choose(profile, env(vars))
            .unwrap()
            .map(|r| r.describe())
    }

    #[test]
    fn the_environment_is_read_in_curls_order() {
        assert_eq!(chosen(None, &[]), None);
        let all = [
            ("ALL_PROXY", "http://all-upper:1"),
            ("all_proxy", "http://all-lower:1"),
            ("HTTPS_PROXY", "http://https-upper:1"),
            ("https_proxy", "http://https-lower:1"),
        ];
        assert_eq!(
            chosen(None, &all).unwrap(),
            "http://https-lower:1/ (https_proxy)"
        );
        assert_eq!(
            chosen(None, &all[..3]).unwrap(),
            "http://https-upper:1/ (HTTPS_PROXY)"
        );
        assert_eq!(
            chosen(None, &all[..2]).unwrap(),
            "http://all-lower:1/ (all_proxy)"
        );
        // HTTP_PROXY is for http URLs only; an empty value counts as unset.
        assert_eq!(
            chosen(None, &[("HTTP_PROXY", "http://h:1"), ("https_proxy", "")]),
            None
        );
        // A proxy without a scheme is http, as curl reads it.
        assert_eq!(
            chosen(None, &[("HTTPS_PROXY", "proxy.corp:3128")]).unwrap(),
            "http://proxy.corp:3128/ (HTTPS_PROXY)"
        );
        let socks = [("ALL_PROXY", "socks5://s:1")];
        assert!(ProxyRoute::choose(None, env(&socks)).is_err());
        // A profile's own proxy does not care what the environment holds.
        let own = url("http://proxy.corp:3128");
        assert!(ProxyRoute::choose(Some(&own), env(&socks)).is_ok());
    }

    #[test]
    fn the_profiles_proxy_wins_and_borrows_credentials_for_the_same_proxy_only() {
        let own = url("http://proxy.corp:3128");
        let vars = [("HTTPS_PROXY", "http://me:pw@proxy.corp:3128")];
        let route = ProxyRoute::choose(Some(&own), env(&vars)).unwrap().unwrap();
        assert_eq!(route.url().password(), Some("pw"));
        assert_eq!(
            route.describe(),
            "http://***@proxy.corp:3128/ (the profile's proxy)"
        );
        let other = [("HTTPS_PROXY", "http://me:pw@elsewhere:3128")];
        let route = ProxyRoute::choose(Some(&own), env(&other))
            .unwrap()
            .unwrap();
        assert_eq!(route.url().password(), None);
        // An https proxy's credentials never go to an http proxy (in clear), nor to another port.
        for env_proxy in [
            "https://me:pw@proxy.corp:3128",
            "http://me:pw@proxy.corp:8080",
        ] {
            let vars = [("HTTPS_PROXY", env_proxy)];
            let route = ProxyRoute::choose(Some(&own), env(&vars)).unwrap().unwrap();
            assert_eq!(route.url().password(), None, "{env_proxy}");
        }
        let tls = url("https://proxy.corp:3128");
        let vars = [("HTTPS_PROXY", "https://me:pw@PROXY.corp:3128")];
        let route = ProxyRoute::choose(Some(&tls), env(&vars)).unwrap().unwrap();
        assert_eq!(route.url().password(), Some("pw"));
    }

    #[test]
    fn no_proxy_matches_as_curl_does() {
        let route = |list: &str| {
            ProxyRoute::choose(
                None,
                env(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", list)]),
            )
            .unwrap()
            .unwrap()
        };
        let r = route("example.com, .corp.test 10.0.0.0/8,::1");
        for direct in [
            "https://example.com/",
            "https://a.example.com/",
            "https://corp.test/",
            "https://x.corp.test/",
            "https://10.1.2.3/",
            "https://[::1]/",
            "https://EXAMPLE.com./",
        ] {
            assert!(!r.applies_to(&url(direct)), "{direct}");
        }
        for proxied in [
            "https://notexample.com/",
            "https://example.com.evil/",
            "https://11.0.0.1/",
            "https://[::2]/",
        ] {
            assert!(r.applies_to(&url(proxied)), "{proxied}");
        }
        assert!(!route("*").applies_to(&url("https://any.where/")));
        // NO_PROXY is read when no_proxy is not set.
        let upper = ProxyRoute::choose(
            None,
            env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "as.test")]),
        )
        .unwrap()
        .unwrap();
        assert!(!upper.applies_to(&url("https://as.test/")));
    }

    #[test]
    fn credentials_are_refused_in_a_stored_proxy_and_never_shown() {
        let err = check_proxy(&url("http://me:s3cret@proxy.corp:3128")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("http://***@proxy.corp:3128/"), "{text}");
        assert!(!text.contains("s3cret") && !text.contains("me:"), "{text}");
        let network = Network {
            proxy: Some(url("http://me:s3cret@p:1")),
            ca_file: None,
        };
        assert!(!format!("{network:?}").contains("s3cret"));
        assert!(check_proxy(&url("socks5://p:1")).is_err());
        assert!(check_proxy(&url("http://proxy.corp:3128")).is_ok());
    }

    #[test]
    fn a_ca_file_must_hold_pem_certificates() {
        let dir = std::env::temp_dir().join(format!("latchkey-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let err = load_ca_file(&not_pem).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        let missing = load_ca_file(&dir.join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot be read"), "{missing}");
        assert!(load_ca_file(Path::new("relative.pem")).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let open = dir.join("open.pem");
            std::fs::write(&open, "-----BEGIN CERTIFICATE-----\n").unwrap();
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o666)).unwrap();
            let err = load_ca_file(&open).unwrap_err().to_string();
            assert!(
                err.contains("open.pem") && err.contains("mode 0666") && err.contains("chmod go-w"),
                "{err}"
            );
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            let err = load_ca_file(&open).unwrap_err().to_string();
            assert!(err.contains("directory") && err.contains("0777"), "{err}");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
            let err = load_ca_file(&open).unwrap_err().to_string();
            assert!(
                err.contains("not valid PEM") || err.contains("no certificate"),
                "{err}"
            );
            assert!(
                check_owner_and_mode(4242, 0o644, false, &open)
                    .is_err_and(|e| e.contains("uid 4242"))
                    || rustix::process::geteuid().as_raw() == 4242
            );
            assert!(check_owner_and_mode(0, 0o644, false, &open).is_ok());
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

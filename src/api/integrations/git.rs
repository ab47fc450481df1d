//! The git side: the credential helper's config for a URL, as `latchkey git-credential
//! --install` writes it and the app shows it. A helper line names the host(s) it answers for
//! (`--host`): `get` hands the token to no other host, whatever config line runs it.

use url::Url;

use crate::error::{Error, Result};
use crate::model::profile::is_loopback;

/// How `get` answers git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Auth {
    /// `username` + `password`: works with every git and every server that takes tokens.
    #[default]
    Basic,
    /// `authtype=Bearer` + `credential` (git ≥ 2.46 announces it with `capability[]=authtype`).
    Bearer,
}

impl Auth {
    pub fn as_str(self) -> &'static str {
        match self {
            Auth::Basic => "basic",
            Auth::Bearer => "bearer",
        }
    }
}

/// What the helper is called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper<'a> {
    /// How git starts Latchkey: `latchkey`, or a full path.
    pub program: &'a str,
    pub account: &'a str,
    pub auth: Auth,
    pub username: Option<&'a str>,
    /// The hosts `get` answers for (`HOST` or `HOST:PORT`, as git sends them).
    pub hosts: Vec<String>,
}

impl Helper<'_> {
    /// The `credential.<url>.helper` value: `!latchkey git-credential ACCOUNT` (git runs it
    /// through the shell and appends the action).
    pub fn value(&self) -> String {
        let mut words = vec![shell_quote(self.program), "git-credential".to_string()];
        if self.auth == Auth::Bearer {
            words.push("--auth bearer".into());
        }
        if let Some(user) = self.username {
            words.push(format!("--username {}", shell_quote(user)));
        }
        for host in &self.hosts {
            words.push(format!("--host {}", shell_quote(host)));
        }
        words.push(shell_quote(self.account));
        format!("!{}", words.join(" "))
    }

    /// The config entries, in order, for `url`: an empty helper first, which clears helpers
    /// configured elsewhere (a `store` or keychain helper would otherwise keep a copy of each
    /// token), then Latchkey.
    pub fn entries(&self, url: &str) -> [(String, String); 2] {
        let key = config_key(url);
        [(key.clone(), String::new()), (key, self.value())]
    }

    /// The same as shell commands, to copy and paste.
    pub fn commands(&self, url: &str) -> String {
        let key = config_key(url);
        format!(
            "git config --global --replace-all {key} '' && git config --global --add {key} {}",
            shell_quote(&self.value())
        )
    }
}

/// `credential.<url>.helper`.
pub fn config_key(url: &str) -> String {
    format!("credential.{url}.helper")
}

/// A URL for a helper line: https (http only on loopback), no credentials, query or fragment;
/// without a trailing `/`, so that it matches the whole host or path prefix.
pub fn normalize_url(input: &str) -> Result<String> {
    let no_scheme = || {
        Error::InvalidInput(format!(
            "{input:?} is not a URL: give the server's URL with its scheme, like https://{}",
            input.trim_start_matches('/')
        ))
    };
    if !input.contains("://") {
        return Err(no_scheme());
    }
    let url = Url::parse(input)
        .map_err(|e| Error::InvalidInput(format!("{input:?} is not a URL: {e}")))?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(Error::InvalidInput(format!(
            "{input} is not https: git would send the token in the clear (plain http is allowed only on loopback)"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::InvalidInput(format!(
            "{input} carries a user name or password; give the URL without them"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidInput(format!(
            "{input} has a query or fragment; give the server's URL (e.g. https://git.example.com)"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The host of `url` as git names it in a credential request: `HOST`, or `HOST:PORT` when the
/// URL gives a port other than its scheme's default.
pub fn host_of(url: &str) -> Result<String> {
    let parsed =
        Url::parse(url).map_err(|e| Error::InvalidInput(format!("{url:?} is not a URL: {e}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| Error::InvalidInput(format!("{url} names no host")))?;
    Ok(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Whether `requested` (git's `host`, for `protocol`) is one of `allowed`: compared without
/// case and without the scheme's default port.
pub fn host_allowed(protocol: &str, requested: &str, allowed: &[String]) -> bool {
    let norm = |h: &str| {
        let h = h.trim().to_ascii_lowercase();
        let default = match protocol {
            "https" => ":443",
            "http" => ":80",
            _ => "",
        };
        match h.strip_suffix(default) {
            Some(bare) if !default.is_empty() => bare.to_string(),
            _ => h,
        }
    };
    let requested = norm(requested);
    !requested.is_empty() && allowed.iter().any(|a| norm(a) == requested)
}

/// One entry of `git config --show-origin --null --list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub origin: String,
    pub key: String,
    pub value: String,
}

/// Parses `git config --show-origin --null --list`: `ORIGIN\0KEY\nVALUE\0` per entry.
pub fn parse_config_list(text: &str) -> Vec<ConfigEntry> {
    let mut fields = text.split('\0');
    let mut out = Vec::new();
    while let (Some(origin), Some(pair)) = (fields.next(), fields.next()) {
        let (key, value) = pair.split_once('\n').unwrap_or((pair, ""));
        out.push(ConfigEntry {
            origin: origin.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    out
}

/// The credential helpers git runs for `url` after the one whose value is `ours`, in config
/// order: git runs every `credential.helper` and `credential.<URL>.helper` that matches, in
/// the order of its config files, an empty value clearing those before it. Each of them gets
/// the token with git's `store` after it worked (a `store` helper writes it to
/// ~/.git-credentials); the empty line before Latchkey's clears only those before it.
pub fn helpers_after(entries: &[ConfigEntry], url: &str, ours: &str) -> Vec<ConfigEntry> {
    let Ok(target) = Url::parse(url) else {
        return Vec::new();
    };
    let mut active: Vec<&ConfigEntry> = Vec::new();
    for e in entries {
        let key = e.key.as_str();
        let Some(rest) = key.strip_prefix("credential.") else {
            continue;
        };
        let applies = if rest == "helper" {
            true
        } else {
            rest.strip_suffix(".helper")
                .is_some_and(|pattern| url_matches(pattern, &target))
        };
        if !applies {
            continue;
        }
        if e.value.is_empty() {
            active.clear();
        } else {
            active.push(e);
        }
    }
    match active.iter().rposition(|e| e.value == ours) {
        Some(i) => active[i + 1..].iter().map(|e| (*e).clone()).collect(),
        None => Vec::new(),
    }
}

/// Whether a `credential.<pattern>.*` section applies to `target` or to a URL under it (git's
/// urlmatch: same scheme, host (`*.` matching one label), port, and a path prefix at a `/`).
fn url_matches(pattern: &str, target: &Url) -> bool {
    let Ok(p) = Url::parse(pattern) else {
        // `credential.HOST.helper` without a scheme is not a URL to git either.
        return false;
    };
    if p.scheme() != target.scheme() || p.port_or_known_default() != target.port_or_known_default()
    {
        return false;
    }
    let (Some(ph), Some(th)) = (p.host_str(), target.host_str()) else {
        return false;
    };
    let host_ok = match ph.strip_prefix("*.") {
        Some(suffix) => th
            .split_once('.')
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix)),
        None => ph.eq_ignore_ascii_case(th),
    };
    if !host_ok {
        return false;
    }
    // Either path under the other: the section applies to some URL Latchkey's line covers.
    let under = |a: &str, b: &str| {
        let b = b.trim_end_matches('/');
        b.is_empty() || a == b || a.strip_prefix(b).is_some_and(|r| r.starts_with('/'))
    };
    under(target.path(), p.path()) || under(p.path(), target.path())
}

/// Quotes a word for the POSIX shell git runs helpers with, only when needed.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@:=+,%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_lines_for_git_config() {
        let helper = Helper {
            program: "latchkey",
            account: "github/me",
            auth: Auth::Basic,
            username: None,
            hosts: vec!["github.com".into()],
        };
        assert_eq!(
            helper.value(),
            "!latchkey git-credential --host github.com github/me"
        );
        let [(k1, v1), (k2, v2)] = helper.entries("https://github.com");
        assert_eq!(k1, "credential.https://github.com.helper");
        assert_eq!(k2, k1);
        assert_eq!(
            (v1.as_str(), v2.as_str()),
            ("", "!latchkey git-credential --host github.com github/me")
        );
        assert_eq!(
            helper.commands("https://github.com"),
            "git config --global --replace-all credential.https://github.com.helper '' && git config --global --add credential.https://github.com.helper '!latchkey git-credential --host github.com github/me'"
        );
        let odd = Helper {
            program: "/opt/My Tools/latchkey",
            account: "okta/o'neil",
            auth: Auth::Bearer,
            username: Some("x-access-token"),
            hosts: vec!["127.0.0.1:8443".into(), "a.example".into()],
        };
        assert_eq!(
            odd.value(),
            r"!'/opt/My Tools/latchkey' git-credential --auth bearer --username x-access-token --host 127.0.0.1:8443 --host a.example 'okta/o'\''neil'"
        );
    }

    #[test]
    fn hosts_as_git_names_them() {
        assert_eq!(
            host_of("https://git.example.com/team").unwrap(),
            "git.example.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(
            host_of("https://GIT.example.com:443").unwrap(),
            "git.example.com"
        );
        let allowed = vec!["git.example.com".to_string(), "127.0.0.1:8080".to_string()];
        assert!(host_allowed("https", "git.example.com", &allowed));
        assert!(host_allowed("https", "Git.Example.com:443", &allowed));
        assert!(host_allowed("http", "127.0.0.1:8080", &allowed));
        assert!(!host_allowed("http", "127.0.0.1", &allowed));
        assert!(!host_allowed("https", "evil.example", &allowed));
        assert!(!host_allowed(
            "https",
            "git.example.com.evil.example",
            &allowed
        ));
        assert!(!host_allowed("https", "", &allowed));
        assert!(!host_allowed("https", "git.example.com", &[]));
    }

    #[test]
    fn helpers_that_run_after_latchkeys_are_found() {
        let ours = "!latchkey git-credential --host git.example.com w/a";
        let list = [
            ("global", "credential.helper", "cache"),
            ("global", "credential.https://git.example.com.helper", ""),
            ("global", "credential.https://git.example.com.helper", ours),
            ("global", "credential.helper", "store"),
            ("global", "credential.https://other.example.helper", "other"),
            ("global", "credential.https://*.example.com.helper", "wild"),
            (
                "global",
                "credential.https://git.example.com/team.helper",
                "team",
            ),
            (
                "local",
                "credential.https://git.example.com/.helper",
                "slash",
            ),
            ("local", "user.name", "me"),
        ]
        .map(|(o, k, v)| format!("file:{o}\0{k}\n{v}\0"))
        .concat();
        let entries = parse_config_list(&list);
        assert_eq!(entries.len(), 9);
        let after: Vec<String> = helpers_after(&entries, "https://git.example.com", ours)
            .into_iter()
            .map(|e| e.value)
            .collect();
        assert_eq!(after, ["store", "wild", "team", "slash"]);
        // An empty helper after Latchkey's clears it too: nothing after it then.
        let cleared = format!("{list}file:x\0credential.helper\n\0");
        assert!(
            helpers_after(
                &parse_config_list(&cleared),
                "https://git.example.com",
                ours
            )
            .is_empty()
        );
    }

    #[test]
    fn urls_must_be_https_without_credentials() {
        assert_eq!(
            normalize_url("https://git.example.com/").unwrap(),
            "https://git.example.com"
        );
        assert_eq!(
            normalize_url("https://git.example.com/team/").unwrap(),
            "https://git.example.com/team"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "http://git.example.com",
            "https://me:pw@git.example.com",
            "https://git.example.com/?x=1",
            "git.example.com",
            "git.example.com:443",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad}");
        }
        let err = normalize_url("git.example.com").unwrap_err().to_string();
        assert!(err.contains("https://git.example.com"), "{err}");
    }
}

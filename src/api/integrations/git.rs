//! The git side: the credential helper's config for a URL, as `latchkey git-credential
//! --install` writes it and the app shows it.

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
        };
        assert_eq!(helper.value(), "!latchkey git-credential github/me");
        let [(k1, v1), (k2, v2)] = helper.entries("https://github.com");
        assert_eq!(k1, "credential.https://github.com.helper");
        assert_eq!(k2, k1);
        assert_eq!(
            (v1.as_str(), v2.as_str()),
            ("", "!latchkey git-credential github/me")
        );
        assert_eq!(
            helper.commands("https://github.com"),
            "git config --global --replace-all credential.https://github.com.helper '' && git config --global --add credential.https://github.com.helper '!latchkey git-credential github/me'"
        );
        let odd = Helper {
            program: "/opt/My Tools/latchkey",
            account: "okta/o'neil",
            auth: Auth::Bearer,
            username: Some("x-access-token"),
        };
        assert_eq!(
            odd.value(),
            r"!'/opt/My Tools/latchkey' git-credential --auth bearer --username x-access-token 'okta/o'\''neil'"
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
        ] {
            assert!(normalize_url(bad).is_err(), "{bad}");
        }
    }
}

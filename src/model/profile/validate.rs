//! Checks on what users and hand edits put into profiles: names, endpoints, redirect URIs,
//! extra request parameters, and the parsing of scopes and `KEY=VALUE` as typed.

use std::collections::BTreeMap;

use url::{Host, Url};

use super::kinds::{DEEP_LINK_REDIRECT, RedirectMode};
use crate::error::{Error, Hint, Result};
use crate::model::untrusted::is_hidden_or_control;

/// Request parameters given by the user, checked to be usable and not to replace the ones
/// Latchkey itself sets (PKCE, `state`, `grant_type`, credentials…).
pub fn validate_extra_params(params: &BTreeMap<String, String>, what: &str) -> Result<()> {
    const RESERVED: &[&str] = &[
        "response_type",
        "client_id",
        "client_secret",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code",
        "code_challenge",
        "code_challenge_method",
        "code_verifier",
        "grant_type",
        "refresh_token",
        "device_code",
        "client_assertion",
        "client_assertion_type",
    ];
    for (k, v) in params {
        // Printed by `profile show` and sent to the provider: nothing may hide or reorder text
        // (bidi controls, zero-width characters), in a name or a value (`login_hint` is one).
        if k.is_empty()
            || k.chars()
                .any(|c| is_hidden_or_control(c) || c.is_whitespace())
        {
            return Err(Error::InvalidInput(format!(
                "the {what} parameter name {} is empty or contains spaces, control or invisible (bidi, zero-width) characters",
                crate::model::untrusted::sanitize(&format!("{k:?}"))
            )));
        }
        if RESERVED.contains(&k.as_str()) {
            let err = Error::InvalidInput(format!(
                "the {what} parameter `{k}` is set by Latchkey itself and cannot be overridden"
            ));
            return Err(if k == "scope" {
                err.with_hint(Hint::UseScopes)
            } else {
                err
            });
        }
        if v.chars().any(is_hidden_or_control) {
            return Err(Error::InvalidInput(format!(
                "the value of the {what} parameter `{k}` contains control or invisible (bidi, zero-width) characters"
            )));
        }
    }
    Ok(())
}

/// Parses `KEY=VALUE` as typed on the command line.
pub fn parse_param(input: &str) -> std::result::Result<(String, String), String> {
    match input.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {input:?}")),
    }
}

/// Profile names and account labels are used in `PROFILE/LABEL` and in keychain entry names.
/// Bidi and zero-width characters count as control characters: they would let two names that
/// differ look the same.
pub fn validate_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.contains('/')
        && !name.chars().any(is_hidden_or_control)
        && name.trim() == name;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid {what} name {name:?}: use 1–128 characters, no `/`, no control or invisible (bidi, zero-width) characters, no surrounding spaces"
        )))
    }
}

/// Endpoints must be https, except on loopback hosts (development servers).
pub fn validate_endpoint(url: &Url, what: &str) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        scheme => Err(Error::InvalidInput(format!(
            "the {what} {url} uses {scheme}: endpoints must use https (plain http is allowed only on 127.0.0.1, ::1 and localhost)"
        ))),
    }
}

/// A base URL the user typed (an issuer, a preset's base URL): one [`validate_endpoint`]
/// accepts, with no query or fragment. `label` names it in messages.
pub fn parse_base_url(text: &str, label: &str, what: &str) -> Result<Url> {
    let url = Url::parse(text)
        .map_err(|e| Error::InvalidInput(format!("{label} {text:?} is not a URL: {e}")))?;
    validate_endpoint(&url, what)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidInput(format!(
            "{label} {text} must not have a query or fragment"
        )));
    }
    Ok(url)
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub fn validate_redirect_uri(uri: &Url, mode: RedirectMode) -> Result<()> {
    match mode {
        RedirectMode::Loopback => {
            let ip_literal = matches!(uri.host(), Some(Host::Ipv4(ip)) if ip.is_loopback())
                || matches!(uri.host(), Some(Host::Ipv6(ip)) if ip.is_loopback());
            if uri.scheme() == "http" && ip_literal && uri.fragment().is_none() {
                Ok(())
            } else {
                Err(Error::InvalidInput(format!(
                    "redirect URI {uri} is not a loopback redirect: use http://127.0.0.1[:PORT]/PATH (or http://[::1]…); `localhost` is not accepted because providers match it differently (RFC 8252 §8.3)"
                )))
            }
        }
        RedirectMode::DeepLink => {
            if uri.scheme() == "latchkey" {
                Ok(())
            } else {
                Err(Error::InvalidInput(format!(
                    "redirect URI {uri} is not a Latchkey deep link: use {DEEP_LINK_REDIRECT}"
                )))
            }
        }
    }
}

/// [`validate_redirect_uri`] for a profile being added or changed, with what could never
/// complete a sign-in refused too: the desktop app receives only [`DEEP_LINK_REDIRECT`], and
/// the loopback listener matches the path alone, so a query would be lost on the way to the
/// provider (which compares redirect URIs exactly).
pub fn validate_new_redirect_uri(uri: &Url, mode: RedirectMode) -> Result<()> {
    if mode == RedirectMode::Loopback && uri.scheme() == "latchkey" {
        return Err(Error::InvalidInput(format!(
            "redirect URI {uri} is a deep link: pass --redirect deep-link, and the only deep link accepted is {DEEP_LINK_REDIRECT}"
        )));
    }
    validate_redirect_uri(uri, mode)?;
    match mode {
        RedirectMode::DeepLink if uri.as_str() != DEEP_LINK_REDIRECT => {
            Err(Error::InvalidInput(format!(
                "redirect URI {uri} is not accepted: the desktop app receives deep-link sign-ins only at {DEEP_LINK_REDIRECT}; use that (register it at the provider) or leave --redirect-uri out"
            )))
        }
        RedirectMode::Loopback if uri.query().is_some() => Err(Error::InvalidInput(format!(
            "redirect URI {uri} has a query, which the loopback listener cannot keep: use http://127.0.0.1[:PORT]/PATH without `?…`"
        ))),
        _ => Ok(()),
    }
}

/// Splits a scope string the way users type it (`"a b,c"`), dropping duplicates.
pub fn parse_scopes(input: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in input.split(|c: char| c.is_whitespace() || c == ',') {
        if !s.is_empty() && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    scopes
}

/// An RFC 8707 resource indicator: an absolute URI without a fragment (RFC 8707 §2), https or
/// plain http on loopback as for endpoints.
pub fn validate_resource(resource: &str) -> Result<()> {
    let url = Url::parse(resource).map_err(|e| {
        Error::InvalidInput(format!(
            "the resource {:?} is not an absolute URL: {e}",
            crate::model::untrusted::sanitize(resource)
        ))
    })?;
    if url.fragment().is_some() {
        return Err(Error::InvalidInput(format!(
            "the resource {url} has a fragment, which RFC 8707 forbids"
        )));
    }
    validate_endpoint(&url, "resource")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn endpoints_need_https_except_loopback() {
        assert!(validate_endpoint(&url("https://example.com/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://127.0.0.1:8080/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://127.5.6.7/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://[::1]:9/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://LocalHost:1/token"), "t").is_ok());
        let err = validate_endpoint(&url("http://example.com/token"), "token endpoint")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("token endpoint") && err.contains("https"),
            "{err}"
        );
        assert!(validate_endpoint(&url("http://localhost.evil.com/"), "t").is_err());
        assert!(validate_endpoint(&url("ftp://127.0.0.1/"), "t").is_err());
    }

    #[test]
    fn loopback_redirects_are_ip_literals() {
        let m = RedirectMode::Loopback;
        assert!(validate_redirect_uri(&url("http://127.0.0.1/callback"), m).is_ok());
        assert!(validate_redirect_uri(&url("http://127.0.0.1:8765/cb"), m).is_ok());
        assert!(validate_redirect_uri(&url("http://localhost/callback"), m).is_err());
        assert!(validate_redirect_uri(&url("https://127.0.0.1/callback"), m).is_err());
        assert!(validate_redirect_uri(&url("latchkey://callback"), m).is_err());
        let d = RedirectMode::DeepLink;
        assert!(validate_redirect_uri(&url("latchkey://callback"), d).is_ok());
        assert!(validate_redirect_uri(&url("other://callback"), d).is_err());
    }

    #[test]
    fn new_redirects_must_be_ones_a_sign_in_can_complete_at() {
        let d = RedirectMode::DeepLink;
        assert!(validate_new_redirect_uri(&url("latchkey://callback"), d).is_ok());
        for other in [
            "latchkey://callback/",
            "latchkey://other",
            "latchkey://callback?x=1",
            "latchkey:callback",
        ] {
            let err = validate_new_redirect_uri(&url(other), d).unwrap_err();
            assert!(err.to_string().contains(DEEP_LINK_REDIRECT), "{err}");
        }
        let l = RedirectMode::Loopback;
        assert!(validate_new_redirect_uri(&url("http://127.0.0.1:8765/cb"), l).is_ok());
        let err = validate_new_redirect_uri(&url("http://127.0.0.1:8765/cb?x=1"), l).unwrap_err();
        assert!(err.to_string().contains("query"), "{err}");
    }

    #[test]
    fn names_reject_slashes_and_control_characters() {
        assert!(validate_name("github-work", "profile").is_ok());
        assert!(validate_name("alice@example.com", "account").is_ok());
        assert!(validate_name("a/b", "profile").is_err());
        assert!(validate_name("", "profile").is_err());
        assert!(validate_name(" a", "profile").is_err());
        assert!(validate_name("a\nb", "profile").is_err());
        for invisible in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{200b}', '\u{200c}', '\u{200d}',
            '\u{2060}', '\u{feff}',
        ] {
            let name = format!("work{invisible}x");
            let err = validate_name(&name, "account").unwrap_err().to_string();
            assert!(err.contains("invisible"), "{err}");
        }
        assert!(validate_name("équipe-日本", "profile").is_ok());
    }

    #[test]
    fn scopes_split_on_spaces_and_commas() {
        assert_eq!(
            parse_scopes(" openid  email,profile openid "),
            vec!["openid", "email", "profile"]
        );
        assert!(parse_scopes("").is_empty());
    }

    #[test]
    fn extra_parameters_refuse_hidden_characters_in_names_and_values() {
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(validate_extra_params(&one("login_hint", "me@example.com"), "a").is_ok());
        assert!(validate_extra_params(&one("audience", "équipe 日本"), "a").is_ok());
        for bad in [
            '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}', '\x1b', '\n', '\u{9b}',
        ] {
            let value = format!("me{bad}@example.com");
            let err = validate_extra_params(&one("login_hint", &value), "authorization request")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`login_hint`") && err.contains("invisible"),
                "{err}"
            );
            let name = format!("x{bad}y");
            let err = validate_extra_params(&one(&name, "v"), "token request")
                .unwrap_err()
                .to_string();
            assert!(
                !err.chars().any(is_hidden_or_control),
                "the message shows it raw: {err:?}"
            );
        }
    }
}

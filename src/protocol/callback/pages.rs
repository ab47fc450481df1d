//! What the loopback listener serves the browser: its pages (and why a response was refused),
//! and the implicit grant's hand-off script.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode, header};

use crate::model::untrusted::sanitize;

/// The script of the implicit loopback page: reads the fragment (which never reaches a server),
/// removes it from the address bar and history, and posts it back to the listener. Served from
/// the listener (`script-src 'self'`): the page allows no inline script.
pub(super) const FRAGMENT_SCRIPT: &str = "(function () {\n\
  var m = document.getElementById('m');\n\
  var h = location.hash.replace(/^#/, '');\n\
  history.replaceState(null, '', location.pathname);\n\
  fetch(location.pathname, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: h})\n\
    .then(function (r) { return r.text(); })\n\
    .then(function (t) { m.textContent = t; })\n\
    .catch(function () { m.textContent = 'Latchkey did not receive the sign-in. Go back to the terminal.'; });\n\
})();\n";

/// Why a response with `state` (missing or not ours) was refused, for the terminal and the
/// page; the provider's `error` and `error_description`, when it sent them, escaped.
pub(super) fn refusal_reason(
    state: Option<&str>,
    error: Option<&str>,
    description: Option<&str>,
) -> String {
    let answered = match (error, description) {
        (Some(e), Some(d)) => format!("the provider's error `{}` ({})", sanitize(e), sanitize(d)),
        (Some(e), None) => format!("the provider's error `{}`", sanitize(e)),
        (None, _) => "a code".to_string(),
    };
    match state {
        None => format!(
            "it carries {answered} but no `state`, which Latchkey sent with the request and needs back (the provider dropped it, or the response is forged)"
        ),
        Some(_) => format!(
            "it carries {answered} with a `state` that is not this sign-in's (a tab of an earlier sign-in, or a forged redirect)"
        ),
    }
}

/// The page for a response whose `state` is missing or not the one sent: what went wrong, and
/// that the sign-in goes on.
pub(super) fn refused_page(state: Option<&str>, reason: &str) -> String {
    let next = match state {
        // The provider's own redirect, most likely: the tab Latchkey opened is this one.
        None => {
            "Latchkey is still waiting for the sign-in, but this provider did not send back the `state` it was given, so the sign-in cannot complete this way: check the provider's settings for this client, then run the sign-in again"
        }
        Some(_) => {
            "If you started a sign-in, finish it in the tab Latchkey opened most recently; Latchkey is still waiting for it"
        }
    };
    format!(
        "Sign-in rejected: this response does not belong to the sign-in Latchkey started: {reason}. It was ignored and nothing was stored. {next}."
    )
}

pub(super) fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Latchkey: {t}</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;color:#222;background:#fff}}\
         @media(prefers-color-scheme:dark){{body{{color:#eee;background:#1b1b1f}}}}</style></head>\
         <body><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape(title),
        m = escape(message)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A response of `content_type` that no cache keeps.
pub(super) fn no_store_response(
    status: StatusCode,
    body: impl Into<Bytes>,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn page_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = no_store_response(status, body, "text/html; charset=utf-8");
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        "no-referrer".parse().expect("static"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'"
            .parse()
            .expect("static"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_implicit_script_posts_the_fragment_to_its_own_page() {
        assert!(FRAGMENT_SCRIPT.contains("location.hash"));
        assert!(FRAGMENT_SCRIPT.contains("fetch(location.pathname, {method: 'POST'"));
        assert!(FRAGMENT_SCRIPT.contains("history.replaceState"));
    }

    #[test]
    fn refusals_say_what_went_wrong_with_provider_text_escaped() {
        let missing = refusal_reason(None, Some("access_denied"), Some("no\x1b]52;c;x\x07"));
        assert!(missing.contains("no `state`"), "{missing}");
        assert!(
            missing.contains("access_denied") && missing.contains("\\u{1b}"),
            "{missing}"
        );
        assert!(!missing.contains('\x1b'));
        let page = refused_page(None, &missing);
        assert!(page.contains("did not send back the `state`"), "{page}");
        let wrong = refusal_reason(Some("other"), None, None);
        assert!(wrong.contains("not this sign-in's"), "{wrong}");
        assert!(refused_page(Some("other"), &wrong).contains("most recently"));
    }

    #[test]
    fn pages_escape_provider_text() {
        let p = page("x", "<script>alert(1)</script>");
        assert!(!p.contains("<script>alert"));
    }
}

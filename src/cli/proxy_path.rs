//! Where a proxied request goes: the path below the proxy's base URL, refused when it would
//! climb above the upstream's path (the token goes nowhere else), joined to the upstream URL.

use subtle::ConstantTimeEq;
use url::Url;

/// The path below the base URL (starting with `/`), or `None` when the request is not for the
/// base (no secret, or a wrong one; the secret compared in constant time).
pub(super) fn below_base<'a>(prefix: Option<&str>, path: &'a str) -> Option<&'a str> {
    let Some(prefix) = prefix else {
        return Some(path);
    };
    let head = path.get(..prefix.len())?;
    if !bool::from(head.as_bytes().ct_eq(prefix.as_bytes())) {
        return None;
    }
    match &path[prefix.len()..] {
        "" => Some("/"),
        rest if rest.starts_with('/') && !climbs(rest) => Some(rest),
        _ => None,
    }
}

/// Whether a path has a `.` or `..` segment as any server on the way might read it: joined to
/// the upstream's path it would reach above it, with the token. The path is percent-decoded
/// until it no longer changes (`%252e` is `%2e` to a server that decodes once more); `\`
/// separates segments too (the URL parser reads it as `/` in an http(s) path, and some servers
/// do), as does an encoded `/`; a segment's `;parameters` are dropped (`..;` is `..` to some).
/// An encoded `/` within a segment (`group%2Fproject`) is no climb and goes through as it is.
fn climbs(path: &str) -> bool {
    let mut decoded = path.to_string();
    for _ in 0..4 {
        let next = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    decoded.split(['/', '\\']).any(|segment| {
        let name = segment.split(';').next().unwrap_or_default();
        name == "." || name == ".."
    })
}

/// The upstream URL for `rest` (the path below the base) and the client's query; `None` when
/// the joined URL is not on the upstream's origin below its path (whatever the parser made of
/// `rest`: the token goes nowhere else).
pub(super) fn upstream_url(upstream: &Url, rest: &str, query: Option<&str>) -> Option<Url> {
    // Checked here too: without a secret prefix (`--socket`) nothing else looked at the path.
    if climbs(rest) {
        return None;
    }
    let mut url = upstream.clone();
    let base = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{base}/{}", rest.trim_start_matches('/')));
    if url.origin() != upstream.origin() || !url.path().starts_with(&format!("{base}/")) {
        return None;
    }
    let query = match (upstream.query(), query) {
        (Some(a), Some(b)) => Some(format!("{a}&{b}")),
        (a, b) => a.or(b).map(str::to_string),
    };
    url.set_query(query.as_deref());
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_below_the_upstream_and_keep_the_query() {
        let api: Url = "https://api.example.com/v1/".parse().unwrap();
        assert_eq!(
            upstream_url(&api, "/users/7", Some("a=1"))
                .unwrap()
                .as_str(),
            "https://api.example.com/v1/users/7?a=1"
        );
        let keyed: Url = "http://127.0.0.1:9/base?key=k".parse().unwrap();
        assert_eq!(
            upstream_url(&keyed, "/", Some("a=1")).unwrap().as_str(),
            "http://127.0.0.1:9/base/?key=k&a=1"
        );
        assert_eq!(
            upstream_url(&api, "/projects/group%2Fproject", None)
                .unwrap()
                .as_str(),
            "https://api.example.com/v1/projects/group%2Fproject"
        );
        // Whatever the URL parser resolves, the result stays below the upstream's path.
        for climbing in [
            "/a/..\\..\\admin",
            "/..\\x",
            "/%2e%2e\\x",
            "/a/..%5c..%5cadmin",
            "/%2e%2e%2fadmin",
            "/%252e%252e/admin",
            "/..;/admin",
        ] {
            assert_eq!(upstream_url(&api, climbing, None), None, "{climbing}");
        }
    }

    #[test]
    fn only_paths_below_the_secret_are_forwarded() {
        let prefix = Some("/0123abcd");
        assert_eq!(below_base(prefix, "/0123abcd/resource"), Some("/resource"));
        assert_eq!(below_base(prefix, "/0123abcd"), Some("/"));
        assert_eq!(below_base(prefix, "/0123abcdX/resource"), None);
        assert_eq!(below_base(prefix, "/resource"), None);
        assert_eq!(below_base(prefix, "/"), None);
        assert_eq!(below_base(None, "/resource"), Some("/resource"));
        // Nothing climbs above the upstream's path, encoded or not.
        for climbing in [
            "/0123abcd/../admin",
            "/0123abcd/a/%2E%2e/b",
            "/0123abcd/./x",
            "/0123abcd/a/..\\..\\admin",
            "/0123abcd/a\\..\\b",
            "/0123abcd/a/..%5C..%5cadmin",
            "/0123abcd/%2e%2E%5cx",
        ] {
            assert_eq!(below_base(prefix, climbing), None, "{climbing}");
        }
        assert_eq!(below_base(prefix, "/0123abcd/a..b"), Some("/a..b"));
        // An encoded slash inside a segment (GitLab's project paths) is no climb.
        assert_eq!(
            below_base(prefix, "/0123abcd/projects/group%2Fproject"),
            Some("/projects/group%2Fproject")
        );
    }
}

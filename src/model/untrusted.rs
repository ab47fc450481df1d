//! Text that came from the network (provider answers, redirects, metadata) on its way into
//! errors, notices and the terminal. Control and invisible format characters are shown as
//! `\u{…}` escapes, never passed on: a provider must not write escape sequences to the user's
//! terminal (OSC 52 sets the clipboard, OSC 8 disguises links), fake lines of output, or
//! reorder what the user reads with bidi controls.

/// The most characters of one provider-supplied text kept in a message.
const MAX_CHARS: usize = 1000;

/// Characters that must never reach a terminal or a message raw: C0 (newline and tab too), DEL,
/// C1 (8-bit CSI and OSC among them), and the format characters that reorder or hide text: bidi
/// embeddings, overrides, isolates and marks, zero-width spaces and joiners, word joiner and
/// invisible operators, the byte order mark, interlinear annotation and tag characters.
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Whether `token` is made of what RFC 6749 (Appendix A.12) allows an access or refresh token:
/// printable ASCII (`VSCHAR`). Anything else could end a header line or write to a terminal
/// wherever the token is printed, so it is refused when it arrives.
pub fn is_token_text(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// `text` for a desktop notification's body, which servers read as a subset of HTML: the
/// markup characters escaped, so provider text and names stay text.
pub fn markup_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` with every [`is_hidden_or_control`] character escaped as `\u{…}`, cut at
/// [`MAX_CHARS`]. Applying it twice changes nothing more.
pub fn sanitize(text: &str) -> String {
    escape(text, is_hidden_or_control)
}

/// [`sanitize`] that keeps line breaks: for whole messages built by Latchkey, which may span
/// lines of their own, on their way to the terminal.
pub fn for_terminal(text: &str) -> String {
    escape(text, |c| c != '\n' && is_hidden_or_control(c))
}

fn escape(text: &str, hide: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if hide(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_text_cannot_become_markup() {
        assert_eq!(
            markup_escaped("invalid_grant: <a href=\"x\">t&c</a>"),
            "invalid_grant: &lt;a href=\"x\"&gt;t&amp;c&lt;/a&gt;"
        );
    }

    #[test]
    fn escape_sequences_and_invisible_characters_are_escaped() {
        let hostile = "no\x1b]52;c;ZXZpbA==\x07 way\x1b]8;;http://evil\x07here\u{9b}31m\u{202e}txt\u{200b}\u{7f}\r\nfake";
        let clean = sanitize(hostile);
        assert!(
            !clean.chars().any(is_hidden_or_control),
            "{clean:?} still has control characters"
        );
        assert_eq!(
            clean,
            "no\\u{1b}]52;c;ZXZpbA==\\u{7} way\\u{1b}]8;;http://evil\\u{7}here\\u{9b}31m\\u{202e}txt\\u{200b}\\u{7f}\\u{d}\\u{a}fake"
        );
        assert_eq!(sanitize(&clean), clean, "idempotent");
        assert_eq!(sanitize("plain text: é, 日本"), "plain text: é, 日本");
        assert_eq!(for_terminal("a\nb\x1bc"), "a\nb\\u{1b}c");
    }

    #[test]
    fn long_texts_are_cut() {
        let long = "x".repeat(5000);
        assert_eq!(sanitize(&long).chars().count(), MAX_CHARS + 1);
    }

    #[test]
    fn debug_formatting_escapes_the_same_characters() {
        // id_token claims are quoted with `{:?}`; it must escape what `sanitize` escapes.
        for c in [
            '\u{1b}', '\u{9b}', '\u{202e}', '\u{200b}', '\u{2066}', '\u{feff}',
        ] {
            let debug = format!("{:?}", c.to_string());
            assert!(!debug.contains(c), "{c:?} shown raw by Debug");
        }
    }
}

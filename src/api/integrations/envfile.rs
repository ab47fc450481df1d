//! Env files for `latchkey exec`: dotenv syntax (comments, blank lines, single and double quotes,
//! an `export` prefix), where a value that is exactly `latchkey:ACCOUNT` stands for a token of
//! that account. Values are taken as written: no `$VAR` expansion.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file `latchkey exec` looks for when given no variables.
pub const FILE_NAME: &str = ".latchkey.env";

/// What a value refers to.
const REFERENCE: &str = "latchkey:";

#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// A token of this account.
    Token(String),
    /// Passed on as it is.
    Plain(String),
}

/// A plain value may be a secret the user keeps in the file (an API key): Debug never shows it.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Token(account) => f.debug_tuple("Token").field(account).finish(),
            Value::Plain(_) => f.write_str("Plain([redacted])"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub value: Value,
    /// 1-based, for messages.
    pub line: usize,
}

/// The `.latchkey.env` line that gives `variable` a token of `account`.
pub fn line(variable: &str, account: &str) -> String {
    format!("{variable}={REFERENCE}{account}")
}

/// A variable name for an account's token: `github/me` → `GITHUB_TOKEN`.
pub fn suggested_variable(profile: &str) -> String {
    let stem: String = profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with(|c: char| c.is_ascii_digit()) || stem.is_empty() {
        format!("_{stem}_TOKEN")
    } else {
        format!("{stem}_TOKEN")
    }
}

/// A variable name: letters, digits and `_`, not starting with a digit.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The nearest `.latchkey.env` in `dir` or a parent directory, up to the filesystem root.
pub fn find(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    parse(&text).map_err(|(line, detail)| {
        Error::InvalidInput(format!("{} line {line}: {detail}", path.display()))
    })
}

/// Parses dotenv text. Errors carry the line and what is wrong, never the value.
pub fn parse(text: &str) -> std::result::Result<Vec<Entry>, (usize, String)> {
    let mut entries = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let Parsed { entry, used, lines } = parse_line(rest).map_err(|e| (line, e))?;
        if let Some((name, raw)) = entry {
            let value = match raw.strip_prefix(REFERENCE) {
                Some(account) if !account.is_empty() => Value::Token(account.to_string()),
                Some(_) => {
                    return Err((line, format!("`{name}` names no account after `latchkey:`")));
                }
                None => Value::Plain(raw),
            };
            entries.push(Entry { name, value, line });
        }
        rest = &rest[used..];
        line += lines;
    }
    Ok(entries)
}

/// One logical line (a quoted value may span several).
struct Parsed {
    /// `NAME` and the raw value; none for a blank or comment line.
    entry: Option<(String, String)>,
    /// Bytes consumed.
    used: usize,
    /// Lines consumed.
    lines: usize,
}

fn parse_line(text: &str) -> std::result::Result<Parsed, String> {
    let end = text.find('\n').map_or(text.len(), |i| i + 1);
    let first = &text[..end];
    let trimmed = first.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Parsed {
            entry: None,
            used: end,
            lines: 1,
        });
    }
    let lead = first.len() - first.trim_start().len();
    let mut body = &text[lead..];
    if let Some(after) = body.strip_prefix("export")
        && after.starts_with([' ', '\t'])
    {
        body = after.trim_start_matches([' ', '\t']);
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    if !valid_name(name) {
        return Err("expected NAME=VALUE with a variable name of letters, digits and `_`".into());
    }
    let after_name = body[name_len..].trim_start_matches([' ', '\t']);
    let Some(after_eq) = after_name.strip_prefix('=') else {
        return Err(format!("expected `=` after `{name}`"));
    };
    let value_text = after_eq.trim_start_matches([' ', '\t']);
    let offset = text.len() - value_text.len();
    let (value, used) = match value_text.chars().next() {
        Some(q @ ('"' | '\'')) => {
            quoted(&value_text[1..], q).map_err(|e| format!("`{name}`: {e}"))?
        }
        _ => {
            let line_end = value_text.find('\n').unwrap_or(value_text.len());
            let raw = &value_text[..line_end];
            // ` #` starts a comment; a `#` inside a word does not.
            let cut = raw
                .char_indices()
                .find(|&(i, c)| c == '#' && i > 0 && raw[..i].ends_with([' ', '\t']))
                .map_or(raw.len(), |(i, _)| i);
            (
                raw[..cut].trim().trim_end_matches('\r').to_string(),
                line_end,
            )
        }
    };
    let after_value = &text[offset + used..];
    let tail_end = after_value.find('\n').map_or(after_value.len(), |i| i + 1);
    let tail = after_value[..tail_end].trim();
    if !tail.is_empty() && !tail.starts_with('#') {
        return Err(format!("unexpected text after the value of `{name}`"));
    }
    let used_total = offset + used + tail_end;
    let lines = text[..used_total].matches('\n').count().max(1);
    Ok(Parsed {
        entry: Some((name.to_string(), value)),
        used: used_total,
        lines,
    })
}

/// A quoted value after its opening quote: the value and the bytes used including the
/// opening and closing quotes. Single quotes are literal; double quotes know `\n`, `\t`, `\r`,
/// `\"`, `\\` and `\$`.
fn quoted(text: &str, quote: char) -> std::result::Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((out, i + 2)),
            '\\' if quote == '"' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, e @ ('"' | '\\' | '$'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(format!("the value's closing {quote} is missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(name: &str, value: &str, line: usize) -> Entry {
        Entry {
            name: name.into(),
            value: Value::Plain(value.into()),
            line,
        }
    }

    #[test]
    fn dotenv_syntax_with_references() {
        let text = "# tokens for this project\n\nexport GH_TOKEN=latchkey:github\nAPI = \"latchkey:okta/alice@example.com\"  # quoted\nURL=https://api.example.com/#frag # comment\nEMPTY=\nSINGLE='a $b \\n c'\nDOUBLE=\"line\\nnext \\\"q\\\"\"\nMULTI=\"one\ntwo\"\nLAST=latchkey:ci\r\n";
        let entries = parse(text).unwrap();
        assert_eq!(
            entries,
            vec![
                Entry {
                    name: "GH_TOKEN".into(),
                    value: Value::Token("github".into()),
                    line: 3
                },
                Entry {
                    name: "API".into(),
                    value: Value::Token("okta/alice@example.com".into()),
                    line: 4
                },
                plain("URL", "https://api.example.com/#frag", 5),
                plain("EMPTY", "", 6),
                plain("SINGLE", "a $b \\n c", 7),
                plain("DOUBLE", "line\nnext \"q\"", 8),
                plain("MULTI", "one\ntwo", 9),
                Entry {
                    name: "LAST".into(),
                    value: Value::Token("ci".into()),
                    line: 11
                },
            ]
        );
    }

    #[test]
    fn mistakes_name_the_line_and_never_the_value() {
        for (text, line, needle) in [
            ("A=1\nnot a line\n", 2, "expected `=` after `not`"),
            ("A=1\n=x\n", 2, "NAME=VALUE"),
            ("A=1\nB \"x\"\n", 2, "expected `=` after `B`"),
            ("\n\nS=\"open secret\n", 3, "closing \" is missing"),
            ("T='x' y\n", 1, "after the value of `T`"),
            ("R=latchkey:\n", 1, "names no account"),
            ("1A=x\n", 1, "variable name"),
        ] {
            let (at, message) = parse(text).unwrap_err();
            assert_eq!(at, line, "{text:?}: {message}");
            assert!(message.contains(needle), "{text:?}: {message}");
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn lines_and_names_for_the_app() {
        assert_eq!(
            line("GITHUB_TOKEN", "github/me"),
            "GITHUB_TOKEN=latchkey:github/me"
        );
        assert_eq!(suggested_variable("github"), "GITHUB_TOKEN");
        assert_eq!(suggested_variable("my-okta"), "MY_OKTA_TOKEN");
        assert_eq!(suggested_variable("9x"), "_9X_TOKEN");
    }

    #[test]
    fn the_nearest_file_wins() {
        let dir = std::env::temp_dir().join(format!("latchkey-envfile-{}", std::process::id()));
        let deep = dir.join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(dir.join(FILE_NAME), "X=1\n").unwrap();
        assert_eq!(find(&deep), Some(dir.join(FILE_NAME)));
        std::fs::write(dir.join("a/b").join(FILE_NAME), "X=2\n").unwrap();
        assert_eq!(find(&deep), Some(dir.join("a/b").join(FILE_NAME)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Env files for `latchkey exec`: dotenv syntax (comments, blank lines, single and double quotes,
//! an `export` prefix), where a value that is exactly `latchkey:ACCOUNT` stands for a token of
//! that account. Values are taken as written: no `$VAR` expansion.
//!
//! A file found by searching upward is one nobody chose (a cloned repository ships one): it is
//! used only once the user trusted its exact content ([`trust`], `latchkey trust`), and it is
//! opened once, without following a symlink, with its owner and mode checked on that open
//! handle and its content read from it. No env file, trusted or named by the user, may set a
//! variable that changes how programs are found or loaded ([`is_refused_variable`]).

use std::path::{Path, PathBuf};

use crate::error::{Error, Hint, Result};
use crate::store::config::Config;
use crate::store::trusted::{self, TrustedFile};

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

/// The nearest `.latchkey.env` in `dir` or a parent directory, up to the filesystem root. A
/// symlink by that name is found too (and refused when opened), never skipped for a parent's.
pub fn find(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| std::fs::symlink_metadata(p).is_ok())
}

/// The largest env file read.
const MAX_FILE: u64 = 1 << 20;

/// Variables never taken from an env file: they change which program runs or what it loads
/// (the program is looked up with Latchkey's own `PATH`).
pub const REFUSED_VARIABLES: &[&str] = &[
    "PATH",
    "BASH_ENV",
    "ENV",
    "NODE_OPTIONS",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5LIB",
    "PERL5OPT",
    "PERL5DB",
    "PERLLIB",
    "RUBYOPT",
    "RUBYLIB",
    "NODE_PATH",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS",
    "CLASSPATH",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC",
    "GEM_PATH",
    "GEM_HOME",
    "PYTHONBREAKPOINT",
    "ZDOTDIR",
    // They move the user's own configuration (git's global config can run commands).
    "HOME",
    "XDG_CONFIG_HOME",
    "MAKEFILES",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "GCONV_PATH",
    "LUA_PATH",
    "LUA_CPATH",
];

/// Prefixes of variables never taken from an env file (the dynamic loader's, git's, bash's
/// exported functions, cargo's and npm's configuration, which name programs to run).
pub const REFUSED_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "GIT_",
    "BASH_FUNC_",
    "CARGO_",
    // npm reads `npm_config_*` in any case (see `is_refused_variable`).
    "npm_config_",
];

/// Whether `name` changes how programs are found or loaded: [`REFUSED_VARIABLES`] and the
/// names starting with one of [`REFUSED_PREFIXES`]. In any case on Windows, whose
/// environment ignores it (`Path` is `PATH`), and for `npm_config_*` everywhere (npm reads
/// it so).
pub fn is_refused_variable(name: &str) -> bool {
    let same = |a: &str, b: &str, any_case: bool| {
        if any_case || cfg!(windows) {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    REFUSED_VARIABLES.iter().any(|v| same(name, v, false))
        || REFUSED_PREFIXES.iter().any(|p| {
            name.get(..p.len())
                .is_some_and(|head| same(head, p, *p == "npm_config_"))
        })
}

/// An error for the first entry that sets a refused variable, naming its line.
fn refuse_variables(path: &Path, entries: &[Entry]) -> Result<()> {
    match entries.iter().find(|e| is_refused_variable(&e.name)) {
        Some(e) => Err(Error::Untrusted {
            path: path.to_path_buf(),
            detail: format!(
                "line {}: `{}` changes how programs are found or loaded; Latchkey never takes it from an env file (remove the line)",
                e.line, e.name
            ),
        }),
        None => Ok(()),
    }
}

fn parse_file(path: &Path, text: &str) -> Result<Vec<Entry>> {
    let entries = parse(text).map_err(|(line, detail)| {
        Error::InvalidInput(format!("{} line {line}: {detail}", path.display()))
    })?;
    refuse_variables(path, &entries)?;
    Ok(entries)
}

/// A file the user named (`--env-file`): their explicit choice, read as it is (no trust step),
/// but never with a refused variable.
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    parse_file(path, &text)
}

/// An env file found by searching, opened safely: what [`trust`] records and
/// [`require_trusted`] checks.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Canonical: its directory's canonical path and its own name (it is no symlink).
    pub path: PathBuf,
    /// Lowercase hex SHA-256 of the content the entries were read from.
    pub sha256: String,
    pub entries: Vec<Entry>,
}

/// Opens a found env file once, without following a symlink at its name; checks on the open
/// handle that it is a regular file of the user's that nobody else may write, and that no
/// directory on its path is writable by others without the sticky bit; reads and parses the
/// content from the same handle. Refused variables are an error.
pub fn open_found(path: &Path) -> Result<FoundFile> {
    let untrusted = |detail: String| Error::Untrusted {
        path: path.to_path_buf(),
        detail,
    };
    let name = path
        .file_name()
        .ok_or_else(|| untrusted("is not a file name".into()))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(parent)
        .map_err(|e| Error::io(format!("cannot read {}", parent.display()), e))?;
    let canonical = dir.join(name);
    check_directories(&dir).map_err(untrusted)?;
    let text = read_private(&canonical).map_err(|e| match e {
        ReadError::Io(e) => Error::io(format!("cannot read {}", path.display()), e),
        ReadError::Refused(detail) => untrusted(detail),
    })?;
    let entries = parse_file(&canonical, &text)?;
    Ok(FoundFile {
        sha256: trusted::sha256_hex(text.as_bytes()),
        path: canonical,
        entries,
    })
}

enum ReadError {
    Io(std::io::Error),
    Refused(String),
}

/// The content of `path`, opened with `O_NOFOLLOW` and checked on the handle (`fstat`).
#[cfg(unix)]
fn read_private(path: &Path) -> std::result::Result<String, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| {
            // ELOOP: the name is a symlink.
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                ReadError::Refused(
                    "is a symbolic link; Latchkey reads a found env file only when it is the file itself".into(),
                )
            } else {
                ReadError::Io(e)
            }
        })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::Refused("is not a regular file".into()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(ReadError::Refused(format!(
            "belongs to uid {}, not to you (uid {me}); Latchkey does not take its variables",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(ReadError::Refused(format!(
            "is writable by group or others (mode {mode:04o}); Latchkey does not take its variables until you close it (`chmod go-w`)"
        )));
    }
    let mut text = String::new();
    file.take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(ReadError::Io)?;
    Ok(text)
}

#[cfg(not(unix))]
fn read_private(path: &Path) -> std::result::Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(ReadError::Io)
}

/// Refuses `dir` or a parent that others may write without the sticky bit: anyone could put
/// another file in its place.
#[cfg(unix)]
fn check_directories(dir: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    for d in dir.ancestors() {
        let Ok(meta) = std::fs::metadata(d) else {
            continue;
        };
        let mode = meta.mode() & 0o7777;
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            return Err(format!(
                "is in directory {}, which others may write without the sticky bit (mode {mode:04o}): anyone could replace the file",
                d.display()
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_directories(_dir: &Path) -> std::result::Result<(), String> {
    Ok(())
}

/// An error unless the user trusted exactly this content of `file` ([`trust`]).
pub fn require_trusted(config: &Config, file: &FoundFile) -> Result<()> {
    if trusted::is_trusted(config, &file.path, &file.sha256)? {
        return Ok(());
    }
    let was = trusted::list(config)?.iter().any(|t| t.path == file.path);
    let detail = if was {
        "changed since you trusted it; Latchkey does not take its variables until you trust it again"
    } else {
        "was found by searching from the current directory and is not trusted; Latchkey does not take its variables until you trust it"
    };
    Err(Error::Untrusted {
        path: file.path.clone(),
        detail: detail.into(),
    }
    .with_hint(Hint::TrustFile {
        path: file.path.display().to_string(),
    }))
}

/// Records that the user trusts `file` with the content it was read with.
pub fn trust(config: &Config, file: &FoundFile) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    trusted::add(
        config,
        TrustedFile {
            path: file.path.clone(),
            sha256: file.sha256.clone(),
            trusted_at: now,
        },
    )
}

/// Stops trusting the file at `path` (which may be gone); whether it was trusted.
pub fn untrust(config: &Config, path: &Path) -> Result<bool> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?
            .join(path)
    };
    let canonical = match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or_else(|_| absolute.clone()),
        _ => absolute.clone(),
    };
    if trusted::remove(config, &canonical)? {
        return Ok(true);
    }
    trusted::remove(config, &absolute)
}

/// The files the user trusts.
pub fn trusted_files(config: &Config) -> Result<Vec<TrustedFile>> {
    trusted::list(config)
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

    /// The names the README lists as never taken from an env file, a trailing `*` for a prefix.
    fn documented_refused_names() -> Vec<&'static str> {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("**Variables never taken from an env file**")
            .expect("the README lists the refused variables");
        let end = start
            + readme[start..]
                .find("A file that sets")
                .expect("the list ends");
        readme[start..end]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                let name = w.strip_suffix('*').unwrap_or(w);
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .collect()
    }

    #[test]
    fn the_readme_lists_every_refused_variable() {
        let documented = documented_refused_names();
        let in_code = REFUSED_VARIABLES
            .iter()
            .map(|n| n.to_string())
            .chain(REFUSED_PREFIXES.iter().map(|p| format!("{p}*")));
        for name in in_code {
            assert!(documented.contains(&name.as_str()), "README lacks `{name}`");
        }
        assert!(documented.len() > 40, "{documented:?}");
    }

    #[test]
    fn variables_that_change_how_programs_load_are_refused_by_line() {
        // The README's list, not the constant's: a name dropped from the code fails here.
        for documented in documented_refused_names() {
            let name = match documented.strip_suffix('*') {
                Some(prefix) => format!("{prefix}X"),
                None => documented.to_string(),
            };
            assert!(is_refused_variable(&name), "{name}");
            let entries = parse(&format!("A=1\n{name}=x\n")).unwrap();
            let err = refuse_variables(Path::new("/p/.latchkey.env"), &entries).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::Refused);
            let text = err.to_string();
            assert!(text.contains("line 2") && text.contains(&name), "{text}");
        }
        for name in ["NPM_CONFIG_SCRIPT_SHELL", "Npm_Config_script_shell"] {
            assert!(
                is_refused_variable(name),
                "{name}: npm reads it in any case"
            );
        }
        for name in [
            "GH_TOKEN",
            "PATHS",
            "MYPATH",
            "ENVIRONMENT",
            "GITHUB_TOKEN",
            "ld_x",
        ] {
            assert!(!is_refused_variable(name), "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn found_files_are_opened_once_and_checked_on_the_handle() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("latchkey-envfile-open-")
            .tempdir()
            .unwrap();
        let file = dir.path().join(FILE_NAME);
        std::fs::write(&file, "A=latchkey:p/l\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let found = open_found(&file).unwrap();
        assert_eq!(found.sha256, trusted::sha256_hex(b"A=latchkey:p/l\n"));
        assert_eq!(found.path, std::fs::canonicalize(&file).unwrap());
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o620)).unwrap();
        let err = open_found(&file).unwrap_err();
        assert!(err.to_string().contains("mode 0620"), "{err}");
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let err = open_found(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}

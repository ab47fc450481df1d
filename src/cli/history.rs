//! `latchkey history`: who took which token, newest last.

use clap::Args;
use latchkey::model::untrusted::sanitize;
use latchkey::store::history::{self, Entry};
use latchkey::{Error, Latchkey, Result, store::paths};

use super::completions::account_names;
use super::format::{rfc3339, table};

#[derive(Args)]
pub struct HistoryArgs {
    /// Only this account (`PROFILE/LABEL`), or a profile's accounts (`PROFILE`).
    #[arg(long, add = account_names())]
    account: Option<String>,
    /// The most recent N hand-outs.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print JSON for scripts (the entries as recorded).
    #[arg(long)]
    json: bool,
}

pub fn run(engine: &Latchkey, args: HistoryArgs) -> Result<()> {
    let entries = history::read(&paths::state_dir()?)?;
    let matching: Vec<&Entry> = entries
        .iter()
        .filter(|e| args.account.as_deref().is_none_or(|a| names(e, a)))
        .collect();
    if let Some(name) = &args.account
        && matching.is_empty()
        && !known(engine, name)
    {
        return Err(Error::AccountNotFound(name.clone()));
    }
    let shown = &matching[matching.len().saturating_sub(args.limit)..];
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(shown).unwrap_or_default()
        );
        return Ok(());
    }
    if shown.is_empty() {
        match &args.account {
            Some(name) => println!("no tokens handed out to `{}` yet", sanitize(name)),
            None => println!("no tokens handed out yet"),
        }
        return Ok(());
    }
    print!("{}", render(shown));
    Ok(())
}

/// The table of `entries`: every field escaped as provider text is (a file name or an account
/// label may hold terminal escapes), the columns as wide as their widest cell.
fn render(entries: &[&Entry]) -> String {
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            [
                rfc3339(e.time),
                sanitize(&e.account),
                sanitize(&e.how),
                sanitize(&e.via),
                e.pid.map_or("-".into(), |p| p.to_string()),
                e.exe.as_deref().map_or("-".into(), sanitize),
                match (&e.decision, &e.rule) {
                    (Some(d), Some(r)) => format!("{} ({})", sanitize(d), sanitize(r)),
                    (Some(d), None) => sanitize(d),
                    _ => "-".into(),
                },
            ]
        })
        .collect();
    table(
        [
            "TIME", "ACCOUNT", "HOW", "VIA", "PID", "PROGRAM", "DECISION",
        ],
        &rows,
    )
}

/// Whether `name` is an account or a profile that exists now (one with no history yet).
fn known(engine: &Latchkey, name: &str) -> bool {
    engine.account(name).is_ok() || engine.profile(name).is_ok()
}

/// Whether `entry` is of the account `name`, or of an account of the profile `name`.
fn names(entry: &Entry, name: &str) -> bool {
    entry.account == name
        || (!name.contains('/')
            && entry
                .account
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(account: &str, exe: Option<&str>) -> Entry {
        Entry {
            time: 0,
            account: account.into(),
            how: "token".into(),
            via: "direct".into(),
            pid: Some(4242),
            exe: exe.map(str::to_string),
            client_pid: None,
            from: None,
            decision: Some("refused".into()),
            rule: Some("0badc0de".into()),
        }
    }

    #[test]
    fn the_table_lines_up_and_escapes_every_field() {
        let long = entry("github/someone@example.com", Some("/usr/bin/git"));
        let hostile = entry("a\x1b]52;c;x\x07/b", Some("/tmp/\u{202e}evil\nline"));
        let text = render(&[&long, &hostile]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for column in ["ACCOUNT", "HOW", "VIA", "PID", "PROGRAM", "DECISION"] {
            let at = lines[0].find(column).unwrap();
            for line in &lines[1..] {
                let cell = &line[at..];
                assert!(
                    line.as_bytes()[at - 1] == b' ' && !cell.starts_with(' '),
                    "{column} misaligned in {line:?}"
                );
            }
        }
        assert!(
            !text.chars().any(|c| c != '\n' && c.is_control()),
            "{text:?}"
        );
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert!(
            text.contains("\\u{1b}") && text.contains("\\u{202e}"),
            "{text}"
        );
    }
}

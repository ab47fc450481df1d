//! `latchkey history`: who took which token, newest last.

use std::path::Path;

use clap::Args;
use clap::builder::TypedValueParser;
use latchkey::model::untrusted::sanitize;
use latchkey::store::history::{self, Entry};
use latchkey::{Error, Latchkey, Result};

use super::completions::account_names;
use super::format::{rfc3339, table};
use super::io::{Io, out, outln};

#[derive(Args)]
pub struct HistoryArgs {
    /// Only this account (`PROFILE/LABEL`), or a profile's accounts (`PROFILE`).
    #[arg(long, add = account_names())]
    account: Option<String>,
    /// The most recent N hand-outs (at least 1).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..).map(|n| usize::try_from(n).unwrap_or(usize::MAX)))]
    limit: usize,
    /// Print JSON for scripts (the entries as recorded).
    #[arg(long)]
    json: bool,
}

/// `latchkey history`, from the history in the state directory `state`.
pub fn run(engine: &Latchkey, args: HistoryArgs, state: &Path, io: &mut Io) -> Result<()> {
    let entries = history::read(state)?;
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
        return outln!(
            io,
            "{}",
            serde_json::to_string_pretty(shown).unwrap_or_default()
        );
    }
    if shown.is_empty() {
        return match &args.account {
            Some(name) => outln!(io, "no tokens handed out to `{}` yet", sanitize(name)),
            None => outln!(io, "no tokens handed out yet"),
        };
    }
    out!(io, "{}", render(shown))
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
                // No program seen (a `serve` client, a remote one): where it came from.
                e.exe
                    .as_deref()
                    .or(e.from.as_deref())
                    .map_or("-".into(), sanitize),
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
    use crate::cli::testing::{Captured, add_account, engine, temp_dir, with_closed_output};

    /// A state directory whose history holds `lines`.
    fn state(lines: &[&str]) -> std::path::PathBuf {
        let dir = temp_dir("state");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(history::file(&dir), text).unwrap();
        dir
    }

    const ALICE: &str = r#"{"time":1767225600,"account":"work/alice","how":"token","via":"agent","pid":42,"exe":"/usr/bin/git","decision":"allowed","rule":"1a2b3c4d"}"#;
    const BOB: &str = r#"{"time":1767225660,"account":"work/bob","how":"exec","via":"direct"}"#;
    const HOME: &str =
        r#"{"time":1767225720,"account":"home/me","how":"refresh","via":"direct","pid":7}"#;

    fn history_of(
        engine: &Latchkey,
        dir: &Path,
        account: Option<&str>,
        limit: usize,
        json: bool,
    ) -> (Result<()>, Captured) {
        let mut c = Captured::default();
        let args = HistoryArgs {
            account: account.map(str::to_string),
            limit,
            json,
        };
        let result = run(engine, args, dir, &mut c.io());
        (result, c)
    }

    #[test]
    fn the_columns_line_up_and_the_limit_keeps_the_newest() {
        let dir = state(&[ALICE, BOB, HOME]);
        let (result, c) = history_of(&engine(), &dir, None, 20, false);
        result.unwrap();
        assert_eq!(
            c.out(),
            "\
TIME                  ACCOUNT     HOW      VIA     PID  PROGRAM       DECISION
2026-01-01T00:00:00Z  work/alice  token    agent   42   /usr/bin/git  allowed (1a2b3c4d)
2026-01-01T00:01:00Z  work/bob    exec     direct  -    -             -
2026-01-01T00:02:00Z  home/me     refresh  direct  7    -             -
"
        );
        let (result, c) = history_of(&engine(), &dir, None, 1, false);
        result.unwrap();
        assert_eq!(c.out().lines().count(), 2);
        assert!(c.out().contains("home/me"), "{}", c.out());
        // A `serve` client has no program here: the session's name stands in for it.
        let dir = state(&[
            r#"{"time":1767225600,"account":"work/alice","how":"serve","via":"serve","from":"serve:ci","decision":"allowed"}"#,
        ]);
        let (result, c) = history_of(&engine(), &dir, None, 20, false);
        result.unwrap();
        assert!(c.out().contains("  -    serve:ci  allowed"), "{}", c.out());
    }

    #[test]
    fn a_profile_names_its_accounts_and_json_keeps_the_entries_as_recorded() {
        let dir = state(&[ALICE, BOB, HOME]);
        let (result, c) = history_of(&engine(), &dir, Some("work"), 20, true);
        result.unwrap();
        let shown: Vec<Entry> = serde_json::from_str(&c.out()).unwrap();
        let accounts: Vec<&str> = shown.iter().map(|e| e.account.as_str()).collect();
        assert_eq!(accounts, ["work/alice", "work/bob"]);
        assert_eq!(shown[0].exe.as_deref(), Some("/usr/bin/git"));
        // `wor` is no profile: a prefix is not a name.
        let engine = engine();
        add_account(&engine, "wor/x", |_| {});
        let (result, c) = history_of(&engine, &dir, Some("wor"), 20, false);
        result.unwrap();
        assert_eq!(c.out(), "no tokens handed out to `wor` yet\n");
    }

    #[test]
    fn an_empty_history_says_so() {
        let dir = temp_dir("state");
        let (result, c) = history_of(&engine(), &dir, None, 20, false);
        result.unwrap();
        assert_eq!(c.out(), "no tokens handed out yet\n");
        let (result, c) = history_of(&engine(), &dir, None, 20, true);
        result.unwrap();
        assert_eq!(c.out(), "[]\n");
    }

    #[test]
    fn an_unknown_account_is_not_found_with_the_nearest_name() {
        let dir = state(&[ALICE]);
        let engine = engine();
        add_account(&engine, "work/alice", |_| {});
        let (result, c) = history_of(&engine, &dir, Some("work/alcie"), 20, false);
        let e = result.expect_err("no such account");
        assert_eq!(e.kind(), latchkey::ErrorKind::NotFound);
        assert_eq!(c.out(), "");
        assert_eq!(
            crate::cli::hint::render(&latchkey::api::with_suggestion(&engine, e)),
            "account `work/alcie` not found; did you mean `work/alice`? (`latchkey accounts` shows the accounts)"
        );
    }

    #[test]
    fn a_closed_stdout_ends_history_quietly() {
        let lines = vec![ALICE; 500];
        let dir = state(&lines);
        let engine = engine();
        for json in [false, true] {
            let args = HistoryArgs {
                account: None,
                limit: 5000,
                json,
            };
            let (result, err) = with_closed_output(|io| run(&engine, args, &dir, io));
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(err, "");
        }
    }

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

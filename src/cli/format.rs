//! Human-readable times, lists and tables for terminal output.

use latchkey::model::untrusted::sanitize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A profile's list (scopes, resources) on one line, escaped as all provider text is.
pub fn words(items: &[String]) -> String {
    sanitize(&items.join(" "))
}

/// `in 59m`, `3h ago`, …
pub fn relative(at: i64, now: i64) -> String {
    let delta = at - now;
    let span = delta.unsigned_abs();
    let text = match span {
        0..60 => format!("{span}s"),
        60..3600 => format!("{}m", span / 60),
        3600..86400 => format!("{}h{:02}m", span / 3600, span % 3600 / 60),
        _ => format!("{}d", span / 86400),
    };
    if delta >= 0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

pub fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// A table: each column as wide as its widest cell (header included, counted in characters),
/// two spaces between columns, no trailing spaces. One line per row, each ending in `\n`.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let header = header.map(String::from);
    let mut widths = [0usize; N];
    for row in std::iter::once(&header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up_with_their_header() {
        let rows = [
            [
                "2026-01-01T00:00:00Z".to_string(),
                "a/verylonglabel".into(),
                "x".into(),
            ],
            ["t".to_string(), "é/ü".into(), "".into()],
        ];
        let text = table(["TIME", "ACCOUNT", "HOW"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        let column = |line: &str, i: usize| line.char_indices().map(|(b, _)| b).nth(i);
        let at = lines[0].find("ACCOUNT").unwrap();
        assert_eq!(lines[1].find("a/verylonglabel"), Some(at));
        assert_eq!(lines[2].chars().position(|c| c == 'é'), Some(at));
        let how = lines[0].find("HOW").unwrap();
        assert_eq!(lines[1].find('x'), column(lines[1], how));
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "{text:?}");
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(130, 100), "in 30s");
        assert_eq!(relative(100 + 3599, 100), "in 59m");
        assert_eq!(relative(100 + 3600 * 2 + 60 * 5, 100), "in 2h05m");
        assert_eq!(relative(100 - 180, 100), "3m ago");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}

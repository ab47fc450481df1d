//! Human-readable times for terminal output.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(130, 100), "in 30s");
        assert_eq!(relative(100 + 3599, 100), "in 59m");
        assert_eq!(relative(100 + 3600 * 2 + 60 * 5, 100), "in 2h05m");
        assert_eq!(relative(100 - 180, 100), "3m ago");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}

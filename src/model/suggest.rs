//! "Did you mean": the known name closest to a mistyped one, when it is close enough to be the
//! one meant (a letter or two off, or two letters swapped).

/// The candidate nearest to `typed` (Damerau-Levenshtein, case-insensitive), if at most one edit
/// away (two for names over six letters); ties go to the first candidate.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed_lower = typed.to_lowercase();
    let most = match typed.chars().count() {
        0..=1 => 0,
        2..=6 => 1,
        _ => 2,
    };
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == typed {
            continue;
        }
        let d = strsim::damerau_levenshtein(&typed_lower, &candidate.to_lowercase());
        if d <= most && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested_and_far_ones_not() {
        let known = ["test", "github", "okta/alice@example.test"];
        assert_eq!(closest("tset", known), Some("test"));
        assert_eq!(closest("githib", known), Some("github"));
        assert_eq!(closest("GitHub", known), Some("github"));
        assert_eq!(
            closest("okta/alice@example.tst", known),
            Some("okta/alice@example.test")
        );
        assert_eq!(closest("gitlab", known), None);
        assert_eq!(closest("x", known), None);
        assert_eq!(
            closest("test", known),
            None,
            "the name itself is no suggestion"
        );
    }
}

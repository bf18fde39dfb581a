//! "Did you mean …?" for a variable name that is not in the file: the closest defined
//! name by edit distance, when it is close enough to be a typo.

/// The candidate closest to `name`, if it is plausibly what was meant: the same name in
/// another case, or within a few edits (one for short names, about one per four
/// characters for long ones). Ties go to the first candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = if name.len() < 3 {
        0
    } else {
        (name.len() / 4).max(1)
    };
    let wanted = name.to_ascii_uppercase();
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (distance(&wanted, &c.to_ascii_uppercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `" Did you mean NAME?"` for the closest candidate, or nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|c| format!(" Did you mean {c}?"))
        .unwrap_or_default()
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two
/// neighbouring characters (the optimal string alignment distance).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows are enough.
    let mut before = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("DATABSE_URL", "DATABASE_URL"), 1);
        assert_eq!(distance("DATABAES_URL", "DATABASE_URL"), 1);
        assert_eq!(distance("KITTEN", "SITTING"), 3);
        assert_eq!(distance("", "ABC"), 3);
        assert_eq!(distance("ABC", "ABC"), 0);
    }

    #[test]
    fn suggestions() {
        let keys = ["DATABASE_URL", "API_KEY", "AWS_REGION"];
        assert_eq!(closest("DATABSE_URL", keys), Some("DATABASE_URL"));
        assert_eq!(closest("database_url", keys), Some("DATABASE_URL"));
        assert_eq!(closest("API_KYE", keys), Some("API_KEY"));
        assert_eq!(closest("SENTRY_DSN", keys), None);
        assert_eq!(closest("AB", ["AC"]), None);
        assert_eq!(closest("ab", ["AB"]), Some("AB"));
        assert_eq!(did_you_mean("API_KEYS", keys), " Did you mean API_KEY?");
        assert_eq!(did_you_mean("X", keys), "");
    }
}

//! Times in the digest written once per day: the day most timestamps fall on is stated in a
//! header line, and every RFC 3339 timestamp on that day is shortened to its clock time
//! (`2025-11-25T03:04:53Z` → `03:04:53`). An incident's evidence nearly always spans one day,
//! and each full timestamp costs a model about five tokens more than its clock time.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// An RFC 3339 UTC timestamp: date, clock time, optional fraction, `Z` or `+00:00`.
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|\+00:00)")
        .expect("a valid regex")
});

/// The day most timestamps in `lines` fall on, if any line holds one.
pub(super) fn common_day(lines: &[String]) -> Option<String> {
    let mut days: HashMap<&str, usize> = HashMap::new();
    for line in lines {
        for c in TIMESTAMP.captures_iter(line) {
            if let Some(day) = c.get(1) {
                *days.entry(day.as_str()).or_default() += 1;
            }
        }
    }
    days.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(day, _)| day.to_string())
}

/// The header line that states the day.
pub(super) fn header(day: &str) -> String {
    format!("(times are UTC on {day} unless dated)")
}

/// `line` with every timestamp on `day` shortened to its clock time.
pub(super) fn shorten(line: &str, day: &str) -> String {
    TIMESTAMP
        .replace_all(line, |c: &Captures<'_>| {
            if &c[1] == day {
                c[2].to_string()
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_day_is_stated_once_and_others_keep_their_date() {
        let lines = vec![
            "- a → {first: 2025-11-25T03:04:53Z, last: 2025-11-25T03:05:10.123Z}".to_string(),
            "- b {since: 2025-11-25T02:40:21.928223+00:00} → {at: 2025-11-24T23:59:00Z}".into(),
            "- c → no data: nothing".into(),
        ];
        let day = common_day(&lines).expect("a day");
        assert_eq!(header(&day), "(times are UTC on 2025-11-25 unless dated)");
        assert_eq!(
            shorten(&lines[0], &day),
            "- a → {first: 03:04:53, last: 03:05:10}"
        );
        assert_eq!(
            shorten(&lines[1], &day),
            "- b {since: 02:40:21} → {at: 2025-11-24T23:59:00Z}"
        );
        assert_eq!(shorten(&lines[2], &day), lines[2]);
    }

    #[test]
    fn no_timestamp_no_day() {
        assert_eq!(common_day(&["- c → no data: nothing".to_string()]), None);
    }
}

//! Text matching and formatting: case-insensitive search, host and variable names in free text,
//! quoting, numbers, percentages, bytes and times as the RCA prints them. Plain string work, no
//! regex compiled per call.

use chrono::{DateTime, Utc};

use super::Series;
use crate::evidence::LogRecord;

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// `t` plus `m` minutes, saturating instead of panicking at the ends of the calendar.
pub(crate) fn plus_minutes(t: DateTime<Utc>, m: i64) -> DateTime<Utc> {
    t.checked_add_signed(chrono::Duration::minutes(m))
        .unwrap_or(t)
}

/// Case-insensitive substring test (`needle` must be lower-case).
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        hay.as_bytes()
            .windows(needle.len().max(1))
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
            && !needle.is_empty()
    } else {
        hay.to_lowercase().contains(needle)
    }
}

/// A log record's body plus the attributes that explain it (`reason`, `error`), for quoting.
pub(crate) fn log_text(rec: &LogRecord) -> String {
    let extra: Vec<&str> = ["reason", "error", "err"]
        .iter()
        .filter_map(|k| rec.attributes.get(*k))
        .map(String::as_str)
        .filter(|v| !v.is_empty() && !rec.body.contains(*v))
        .collect();
    if extra.is_empty() {
        rec.body.clone()
    } else {
        format!("{} ({})", rec.body, extra.join("; "))
    }
}

/// A host name in free text (`api.example.com`, `https://api.example.com:443/x`).
pub(crate) fn extract_host(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || "\"'`()[]{}<>,;|=".contains(c))
        .find_map(clean_host)
}

/// `https://api.example.com:443/x.` → `api.example.com`, when it looks like a host name.
pub(crate) fn clean_host(token: &str) -> Option<String> {
    let t = token
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let t = t.split('/').next()?.split(':').next()?;
    let t = t.trim_matches(|c: char| c == '.' || c == '-');
    if !t.contains('.') || t.len() > 253 {
        return None;
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return None;
    }
    let labels: Vec<&str> = t.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let tld = labels.last()?;
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(t.to_ascii_lowercase())
}

/// Cut `s` to at most `max` chars (on a char boundary), marking the cut.
pub(crate) fn quote(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

/// An `UPPER_CASE` identifier in a log line (an environment variable name), if any.
pub(crate) fn env_var_name(line: &str) -> Option<String> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| {
            w.len() >= 3
                && w.contains('_')
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
}

/// The word following `key` in `text` (e.g. the namespace after `ns:`), trimmed of quotes.
pub(crate) fn word_after(text: &str, key: &str) -> Option<String> {
    let i = text.find(key)?;
    let rest = text[i + key.len()..].trim_start_matches([' ', ':', '=', '"', '\'']);
    let w: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || "._-/".contains(*c))
        .collect();
    (!w.is_empty()).then_some(w)
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/// `2300` → `2,300`; `4.25` → `4.25`; `40.0` → `40`.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v.abs() >= 100.0 {
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 10.0 {
        trim_zeros(format!("{v:.1}"))
    } else {
        trim_zeros(format!("{v:.2}"))
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `0.6` → `60%`.
pub(crate) fn pct(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "n/a".into();
    }
    format!("{}%", num((ratio * 100.0 * 10.0).round() / 10.0))
}

/// Bytes as MiB/GiB.
pub(crate) fn bytes(v: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if !v.is_finite() {
        return "n/a".into();
    }
    if v >= 1024.0 * MIB {
        format!("{} GiB", num(v / (1024.0 * MIB)))
    } else {
        format!("{} MiB", num(v / MIB))
    }
}

/// `10:05 UTC`.
pub(crate) fn hm(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

/// `2026-11-26 10:00 UTC`.
pub(crate) fn day_hm(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `a → b unit` for a series' baseline and peak.
pub(crate) fn arrow(s: &Series, unit: &str) -> String {
    format!("{} → {}{unit}", num(s.baseline()), num(s.peak()))
}

/// `1 restart` / `3 restarts`.
pub(crate) fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A `mongosh` command evaluating `eval` against `$MONGODB_URI`.
pub(crate) fn mongosh(eval: &str) -> String {
    format!("mongosh \"$MONGODB_URI\" --quiet --eval '{eval}'")
}

/// `512Mi`, `1Gi`, `500M`, `536870912` → bytes.
pub(crate) fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (n, unit) = q.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "m" => 1e-3,
        _ => return None,
    };
    Some(n * mult)
}

/// "40% → 93%" for a ratio series (baseline → peak).
pub(crate) fn format_ratio_arrow(s: &Series) -> String {
    format!("{} → {}", pct(s.baseline()), pct(s.peak()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_extraction() {
        assert_eq!(
            extract_host("SSL certificate for api.example.com expires in 24 hours").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            clean_host("https://Api.Example.com:443/x").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(clean_host("v2.3.1"), None);
        assert_eq!(extract_host("e.g. nothing here"), None);
    }

    #[test]
    fn formatting() {
        assert_eq!(num(2300.0), "2,300");
        assert_eq!(num(1234567.0), "1,234,567");
        assert_eq!(num(40.0), "40");
        assert_eq!(num(4.25), "4.25");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(pct(0.6), "60%");
        assert_eq!(bytes(512.0 * 1024.0 * 1024.0), "512 MiB");
        assert_eq!(
            env_var_name("FATAL: env PAYMENT_API_URL is not set").as_deref(),
            Some("PAYMENT_API_URL")
        );
        assert_eq!(quote("abcdef", 3), "abc…");
        assert_eq!(
            word_after("ns: shop.orders planSummary", "ns").as_deref(),
            Some("shop.orders")
        );
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1Gi"), Some(1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("bogus"), None);
        assert_eq!(parse_quantity(""), None);
    }
}

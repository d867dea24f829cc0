//! Mapping an alert's service name to the `service.name` SigNoz knows.
//!
//! Alerts name a workload (`user-service`); the telemetry's `service.name` may be spelled
//! differently (`user_service`, `UserService`, `users`). [`match_service`] tries, in order: the
//! exact name, the same name in another case, the same letters and digits (`user-service` =
//! `user_service` = `userservice`), then the same stem (without a `service`/`svc`/`api`/`app`
//! suffix and a plural `s`: `user-service` ~ `users` ~ `user`). Two candidates at the same step
//! are ambiguous and nothing is guessed.

/// How an alert's service name relates to the names SigNoz knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceMatch {
    /// SigNoz knows the name as given.
    Exact,
    /// SigNoz knows it under another spelling.
    Mapped { to: String, how: &'static str },
    /// Several known names fit equally well.
    Ambiguous(Vec<String>),
    /// No known name fits.
    Unknown,
}

/// One matching step: its name for people, and whether a known name fits.
type Step<'a> = (&'static str, &'a dyn Fn(&str) -> bool);

const SUFFIXES: &[&str] = &["service", "server", "svc", "srv", "api", "app"];

fn letters(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn stem(name: &str) -> String {
    let mut s = letters(name);
    for suffix in SUFFIXES {
        if let Some(rest) = s.strip_suffix(suffix)
            && !rest.is_empty()
        {
            s = rest.to_owned();
            break;
        }
    }
    if s.len() > 3
        && let Some(rest) = s.strip_suffix('s')
    {
        s = rest.to_owned();
    }
    s
}

/// Pick the known name for `wanted` (see the module doc).
pub fn match_service(wanted: &str, known: &[String]) -> ServiceMatch {
    let wanted = wanted.trim();
    if wanted.is_empty() || known.is_empty() {
        return ServiceMatch::Unknown;
    }
    if known.iter().any(|k| k == wanted) {
        return ServiceMatch::Exact;
    }
    let steps: [Step<'_>; 3] = [
        ("same name, other case", &|k: &str| {
            k.eq_ignore_ascii_case(wanted)
        }),
        ("same name, other separators", &|k: &str| {
            let l = letters(k);
            !l.is_empty() && l == letters(wanted)
        }),
        ("near spelling", &|k: &str| {
            let s = stem(k);
            !s.is_empty() && s == stem(wanted)
        }),
    ];
    for (how, fits) in steps {
        let mut found: Vec<String> = known.iter().filter(|k| fits(k)).cloned().collect();
        found.sort();
        found.dedup();
        match found.len() {
            0 => continue,
            1 => {
                return ServiceMatch::Mapped {
                    to: found.remove(0),
                    how,
                };
            }
            _ => return ServiceMatch::Ambiguous(found),
        }
    }
    ServiceMatch::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn mapped(wanted: &str, names: &[&str]) -> Option<String> {
        match match_service(wanted, &known(names)) {
            ServiceMatch::Mapped { to, .. } => Some(to),
            _ => None,
        }
    }

    #[test]
    fn exact_wins() {
        assert_eq!(
            match_service("user-service", &known(&["users", "user-service"])),
            ServiceMatch::Exact
        );
    }

    #[test]
    fn near_spellings() {
        assert_eq!(
            mapped("user-service", &["users", "orders"]).as_deref(),
            Some("users")
        );
        assert_eq!(
            mapped("user-service", &["user_service"]).as_deref(),
            Some("user_service")
        );
        assert_eq!(
            mapped("user-service", &["userservice"]).as_deref(),
            Some("userservice")
        );
        assert_eq!(mapped("user-service", &["user"]).as_deref(), Some("user"));
        assert_eq!(
            mapped("User-Service", &["user-service"]).as_deref(),
            Some("user-service")
        );
        assert_eq!(mapped("users", &["user-svc"]).as_deref(), Some("user-svc"));
        assert_eq!(mapped("search-api", &["search"]).as_deref(), Some("search"));
    }

    #[test]
    fn a_closer_step_beats_a_looser_one() {
        // `user_service` has the same letters; `users` only the same stem.
        assert_eq!(
            mapped("user-service", &["users", "user_service"]).as_deref(),
            Some("user_service")
        );
    }

    #[test]
    fn ambiguous_and_unknown() {
        assert_eq!(
            match_service("user-service", &known(&["users", "user"])),
            ServiceMatch::Ambiguous(known(&["user", "users"]))
        );
        assert_eq!(
            match_service("billing", &known(&["users"])),
            ServiceMatch::Unknown
        );
        assert_eq!(match_service("billing", &[]), ServiceMatch::Unknown);
        // A bare suffix is not a stem: `api` does not match `app`.
        assert_eq!(
            match_service("api", &known(&["app"])),
            ServiceMatch::Unknown
        );
    }
}

//! Stable alert identity. (stub)

use super::Alert;

/// Same alert re-fired (or resolved) ⇒ same fingerprint.
pub fn fingerprint(alert: &Alert) -> String {
    alert.title.to_lowercase()
}

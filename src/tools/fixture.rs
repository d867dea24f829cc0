//! Fixture backends: every tool's data read from a scenario directory. (stub)

use std::path::Path;

use crate::tools::{BackendError, Backends};

/// Backends serving the files of a scenario directory (`None`: no data anywhere).
pub fn fixture_backends(dir: Option<&Path>) -> Result<Backends, BackendError> {
    let _ = dir;
    Err(BackendError::NotConfigured("fixtures"))
}

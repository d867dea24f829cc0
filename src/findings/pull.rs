//! Why an image cannot be pulled, read from the kubelet's or the container runtime's message as
//! containerd, CRI-O and Docker print it: a tag that does not exist, a repository that does not
//! exist or needs credentials, credentials refused, a registry rate limit, an unreachable
//! registry, an invalid reference.

use crate::findings::has_any;

/// Why an image cannot be pulled, from the kubelet's / runtime's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullProblem {
    /// `manifest unknown`, `…: not found`: the tag (or digest) does not exist.
    TagNotFound,
    /// `repository does not exist or may require 'docker login'`, `pull access denied`: a
    /// wrong repository name, or a private one without credentials — the registry does not say
    /// which.
    RepositoryOrAccess,
    /// `unauthorized`, `authentication required`, `no basic auth credentials`: credentials
    /// missing or wrong.
    Unauthorized,
    /// `toomanyrequests`: the registry's rate limit.
    RateLimited,
    /// The registry could not be reached (`dial tcp`, `i/o timeout`, `no such host`).
    RegistryUnreachable,
    /// `InvalidImageName`.
    InvalidName,
    Unknown,
}

impl PullProblem {
    pub fn fact(self) -> &'static str {
        match self {
            PullProblem::TagNotFound => "image_tag_not_found",
            PullProblem::RepositoryOrAccess => "image_repository_or_access",
            PullProblem::Unauthorized => "image_pull_unauthorized",
            PullProblem::RateLimited => "image_pull_rate_limited",
            PullProblem::RegistryUnreachable => "image_registry_unreachable",
            PullProblem::InvalidName => "image_name_invalid",
            PullProblem::Unknown => "image_pull_failed",
        }
    }
}

/// Classify an image-pull failure message.
pub fn pull_problem(reason: &str, message: &str) -> PullProblem {
    if reason.eq_ignore_ascii_case("InvalidImageName")
        || has_any(message, &["invalid reference format"])
    {
        return PullProblem::InvalidName;
    }
    if has_any(message, &["toomanyrequests", "rate limit"]) {
        return PullProblem::RateLimited;
    }
    if has_any(
        message,
        &[
            "manifest unknown",
            "manifest for",
            "not found: manifest",
            ": not found",
        ],
    ) {
        return PullProblem::TagNotFound;
    }
    if has_any(
        message,
        &[
            "repository does not exist",
            "pull access denied",
            "requested access to the resource is denied",
        ],
    ) {
        return PullProblem::RepositoryOrAccess;
    }
    if has_any(
        message,
        &[
            "unauthorized",
            "authentication required",
            "no basic auth credentials",
            "401",
            "403 forbidden",
        ],
    ) {
        return PullProblem::Unauthorized;
    }
    if has_any(
        message,
        &[
            "dial tcp",
            "i/o timeout",
            "no such host",
            "connection refused",
            "tls handshake timeout",
        ],
    ) {
        return PullProblem::RegistryUnreachable;
    }
    PullProblem::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pull_messages_as_runtimes_print_them() {
        // containerd, tag missing
        assert_eq!(
            pull_problem(
                "ErrImagePull",
                "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:1.99\": failed to resolve reference \"docker.io/library/nginx:1.99\": docker.io/library/nginx:1.99: not found"
            ),
            PullProblem::TagNotFound
        );
        // Docker Hub through dockershim / cri-dockerd
        assert_eq!(
            pull_problem(
                "ErrImagePull",
                "Error response from daemon: manifest for acme/api:v2 not found: manifest unknown: manifest unknown"
            ),
            PullProblem::TagNotFound
        );
        assert_eq!(
            pull_problem(
                "ErrImagePull",
                "Error response from daemon: pull access denied for acme/apii, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
            ),
            PullProblem::RepositoryOrAccess
        );
        assert_eq!(
            pull_problem(
                "ErrImagePull",
                "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized"
            ),
            PullProblem::Unauthorized
        );
        assert_eq!(
            pull_problem(
                "ErrImagePull",
                "toomanyrequests: You have reached your pull rate limit."
            ),
            PullProblem::RateLimited
        );
        assert_eq!(
            pull_problem(
                "ErrImagePull",
                "dial tcp: lookup registry.internal on 10.96.0.10:53: no such host"
            ),
            PullProblem::RegistryUnreachable
        );
        assert_eq!(
            pull_problem("InvalidImageName", "couldn't parse image reference"),
            PullProblem::InvalidName
        );
    }
}

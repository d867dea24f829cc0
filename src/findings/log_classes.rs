//! The error classes a log line can report ([`LogClass`]) and the markers of each, lower-case,
//! as the runtimes and drivers of Go, Java, Python and Node print them (each commented with who
//! prints it).

/// A class of error a log line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogClass {
    DnsFailure,
    ConnectionRefused,
    ConnectionReset,
    Timeout,
    PoolExhausted,
    TlsError,
    DiskFull,
    MissingConfig,
    AuthFailed,
    OutOfMemory,
    Crash,
    CommandNotFound,
    PermissionDenied,
    SlowOperation,
}

impl LogClass {
    pub fn fact(self) -> &'static str {
        match self {
            LogClass::DnsFailure => "log_dns_failure",
            LogClass::ConnectionRefused => "log_connection_refused",
            LogClass::ConnectionReset => "log_connection_reset",
            LogClass::Timeout => "log_timeout",
            LogClass::PoolExhausted => "log_pool_exhausted",
            LogClass::TlsError => "log_tls_error",
            LogClass::DiskFull => "log_disk_full",
            LogClass::MissingConfig => "log_missing_config",
            LogClass::AuthFailed => "log_auth_failed",
            LogClass::OutOfMemory => "log_out_of_memory",
            LogClass::Crash => "log_crash",
            LogClass::CommandNotFound => "log_command_not_found",
            LogClass::PermissionDenied => "log_permission_denied",
            LogClass::SlowOperation => "log_slow_operation",
        }
    }

    /// What the class means, for a sentence.
    pub fn words(self) -> &'static str {
        match self {
            LogClass::DnsFailure => "name resolution failures",
            LogClass::ConnectionRefused => "refused connections",
            LogClass::ConnectionReset => "connections reset by the peer",
            LogClass::Timeout => "timeouts",
            LogClass::PoolExhausted => "an exhausted connection pool",
            LogClass::TlsError => "TLS certificate errors",
            LogClass::DiskFull => "a full disk",
            LogClass::MissingConfig => "a missing setting",
            LogClass::AuthFailed => "authentication failures",
            LogClass::OutOfMemory => "the process running out of memory",
            LogClass::Crash => "crashes (panics, uncaught exceptions)",
            LogClass::CommandNotFound => "a command or executable not found",
            LogClass::PermissionDenied => "permission denied",
            LogClass::SlowOperation => "slow operations",
        }
    }
}

/// Markers per class, lower-case, as the runtimes print them. Order matters: the first class
/// whose marker a line holds wins (a pool timeout is a pool problem before it is a timeout).
pub(crate) const MARKERS: &[(LogClass, &[&str])] = &[
    (
        LogClass::DiskFull,
        &[
            "no space left on device",
            "enospc",
            "disk full",
            "could not extend file",
            "not enough space on the disk",
        ],
    ),
    (
        LogClass::PoolExhausted,
        &[
            "too many clients already",                       // PostgreSQL
            "remaining connection slots are reserved",        // PostgreSQL
            "connection is not available, request timed out", // HikariCP
            "too many connections",                           // MySQL 1040
            "max number of clients reached",                  // Redis
            "waitqueuetimeout",
            "wait queue timeout",                 // MongoDB drivers
            "timed out waiting for a connection", // MongoDB Node/Go drivers
            "queuepool limit",                    // SQLAlchemy
            "timeout acquiring a connection",     // knex
            "pool exhausted",
            "connection pool exhausted",
            "pool is exhausted",
            "unable to acquire jdbc connection",
            "cannot get a connection, pool error", // Hibernate, DBCP
            "all connections are in use",
        ],
    ),
    (
        LogClass::TlsError,
        &[
            "x509:",
            "certificate has expired",
            "certificate signed by unknown authority",
            "pkix path building failed",
            "sslhandshakeexception",
            "certificate_verify_failed",
            "certificate verify failed",
            "unable to get local issuer certificate",
            "unable_to_verify_leaf_signature",
            "cert_has_expired",
            "depth_zero_self_signed_cert",
            "self signed certificate",
            "tls: handshake failure",
            "tls handshake error",
            "ssl routines",
            "err_tls_cert_altname_invalid",
            "hostname mismatch",
            "certificateexpiredexception",
        ],
    ),
    (
        LogClass::DnsFailure,
        &[
            "no such host",
            "unknownhostexception",
            "name or service not known",
            "temporary failure in name resolution",
            "nodename nor servname provided",
            "getaddrinfo enotfound",
            "getaddrinfo eai_again",
            "socket.gaierror",
            "could not translate host name",
            "name resolution failed",
            "server misbehaving",
            "nxdomain",
            "failed to resolve",
        ],
    ),
    (
        LogClass::AuthFailed,
        &[
            "password authentication failed",
            "access denied for user",
            "authentication failed",
            "noauth authentication required",
            "wrongpass",
            "invalid username or password",
            "sasl authentication failed",
            "invalid credentials",
            "bad credentials",
            "login failed for user",
            "invalid_grant",
            "unauthorized: authentication required",
        ],
    ),
    (
        LogClass::MissingConfig,
        &[
            "environment variable",
            "env var",
            "is required but",
            "must be set",
            "is not set",
            "missing required",
            "could not resolve placeholder",
            "keyerror:",
            "no such file or directory",
            "config file not found",
            "configuration property",
            "missing config",
            "undefined variable",
        ],
    ),
    (
        LogClass::OutOfMemory,
        &[
            "java.lang.outofmemoryerror",
            "javascript heap out of memory",
            "memoryerror",
            "runtime: out of memory",
            "cannot allocate memory",
            "out of memory",
            "oom-kill",
        ],
    ),
    (
        LogClass::CommandNotFound,
        &[
            "executable file not found",
            "command not found",
            "exec format error",
            ": not found",
        ],
    ),
    (
        LogClass::ConnectionRefused,
        &[
            "connection refused",
            "econnrefused",
            "actively refused",
            "connectexception",
        ],
    ),
    (
        LogClass::ConnectionReset,
        &[
            "connection reset",
            "econnreset",
            "broken pipe",
            "epipe",
            "unexpected eof",
            "socket hang up",
            "server closed the connection unexpectedly",
        ],
    ),
    (
        LogClass::Timeout,
        &[
            "i/o timeout",
            "context deadline exceeded",
            "etimedout",
            "timed out",
            "timeout",
            "sockettimeoutexception",
            "deadline exceeded",
            "gateway timeout",
        ],
    ),
    (
        LogClass::PermissionDenied,
        &[
            "permission denied",
            "eacces",
            "read-only file system",
            "operation not permitted",
        ],
    ),
    (
        LogClass::Crash,
        &[
            "panic:",
            "segmentation fault",
            "sigsegv",
            "traceback (most recent call last)",
            "exception in thread",
            "unhandledpromiserejection",
            "uncaught exception",
            "fatal error:",
            "core dumped",
        ],
    ),
];

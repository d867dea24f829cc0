//! Error classes in log lines, as the runtimes and drivers of Go, Java, Python and Node print
//! them: name resolution failures, refused / reset / timed-out connections, exhausted
//! connection pools, TLS verification errors, a full disk, a missing setting, authentication
//! failures, memory exhaustion inside the process, crashes, and slow operations with their
//! durations.
//!
//! Every line of the window given is read (pod logs and SigNoz records alike); each class
//! becomes one finding with its count, its first occurrence and a quote of the first line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::evidence::{Evidence, LogRecord};
use crate::findings::log_classes::{LogClass, MARKERS};
use crate::findings::{Finding, FindingKind, Strength, clip};

/// Words that make a line about slowness: then a duration in it makes it a slow operation.
const SLOW_WORDS: &[&str] = &["slow", "took", "duration", "elapsed", "exceeded", "latency"];

/// The class of a line, if it reports an error (or a slow operation) we know.
pub fn classify_line(line: &str) -> Option<LogClass> {
    let l = line.to_ascii_lowercase();
    for (class, markers) in MARKERS {
        if markers.iter().any(|m| l.contains(m)) {
            // "timeout" alone is too common in configuration dumps: ask for an error-ish word.
            if *class == LogClass::Timeout && !is_errorish(&l) {
                continue;
            }
            if *class == LogClass::MissingConfig && !is_errorish(&l) {
                continue;
            }
            return Some(*class);
        }
    }
    if SLOW_WORDS.iter().any(|w| l.contains(w)) && duration_ms(&l).is_some_and(|ms| ms >= 1000.0) {
        return Some(LogClass::SlowOperation);
    }
    None
}

fn is_errorish(l: &str) -> bool {
    [
        "error",
        "err ",
        "err=",
        "fail",
        "fatal",
        "exception",
        "refused",
        "exceeded",
        "timed out",
        "cannot",
        "could not",
        "unable",
        "required",
        "missing",
        "not set",
        "panic",
        "warn",
    ]
    .iter()
    .any(|w| l.contains(w))
}

/// The largest duration a line states, in milliseconds (`1920ms`, `5.2s`, `took 3 seconds`,
/// `duration: 1234 ms`).
pub fn duration_ms(line: &str) -> Option<f64> {
    let bytes = line.as_bytes();
    let mut best: Option<f64> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let number: f64 = match line[start..i].parse() {
                Ok(n) => n,
                Err(_) => continue,
            };
            let rest = line[i..].trim_start();
            let unit_ms = if rest.starts_with("ms") || rest.starts_with("millisecond") {
                Some(1.0)
            } else if rest.starts_with("µs") || rest.starts_with("us") {
                Some(0.001)
            } else if rest.starts_with("seconds")
                || rest.starts_with("second")
                || rest.starts_with("secs")
                || rest.starts_with("sec")
                || (rest.starts_with('s')
                    && !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic()))
            {
                Some(1000.0)
            } else if rest.starts_with("min")
                || (rest.starts_with('m')
                    && !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic()))
            {
                Some(60_000.0)
            } else {
                None
            };
            if let Some(unit) = unit_ms {
                let ms = number * unit;
                best = Some(best.map_or(ms, |b: f64| b.max(ms)));
            }
        } else {
            i += 1;
        }
    }
    best
}

struct Group<'a> {
    count: u32,
    first: &'a LogRecord,
    first_at: Option<DateTime<Utc>>,
    subjects: Vec<String>,
    max_ms: Option<f64>,
}

/// One finding per error class over every log line of the evidence.
pub fn log_findings(evidence: &Evidence) -> Vec<Finding> {
    let mut groups: BTreeMap<LogClass, Group<'_>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for rec in evidence.logs() {
        // The same line may come from SigNoz and from the pod's log.
        if !seen.insert((rec.timestamp, rec.body.as_str())) {
            continue;
        }
        let Some(class) = classify_line(&rec.body) else {
            continue;
        };
        let subject = rec
            .pod
            .clone()
            .or_else(|| rec.service.clone())
            .unwrap_or_default();
        let g = groups.entry(class).or_insert(Group {
            count: 0,
            first: rec,
            first_at: rec.timestamp,
            subjects: Vec::new(),
            max_ms: None,
        });
        g.count += 1;
        if rec.timestamp.is_some() && (g.first_at.is_none() || rec.timestamp < g.first_at) {
            g.first = rec;
            g.first_at = rec.timestamp;
        }
        if !subject.is_empty() && !g.subjects.contains(&subject) {
            g.subjects.push(subject);
        }
        if class == LogClass::SlowOperation {
            g.max_ms = duration_ms(&rec.body.to_ascii_lowercase())
                .map(|ms| g.max_ms.map_or(ms, |m| m.max(ms)));
        }
    }
    groups
        .into_iter()
        .map(|(class, g)| {
            let strength = match (class, g.count) {
                (LogClass::SlowOperation | LogClass::Timeout, _) => Strength::Weak,
                (_, n) if n >= 3 => Strength::Strong,
                (
                    LogClass::DiskFull
                    | LogClass::PoolExhausted
                    | LogClass::OutOfMemory
                    | LogClass::MissingConfig
                    | LogClass::CommandNotFound,
                    _,
                ) => Strength::Strong,
                _ => Strength::Weak,
            };
            let slowest = g
                .max_ms
                .map(|ms| format!(", the slowest {ms:.0} ms"))
                .unwrap_or_default();
            let subject = g.subjects.first().cloned().unwrap_or_else(|| "logs".into());
            Finding::new(
                FindingKind::Log,
                class.fact(),
                subject,
                format!(
                    "{} log line{} report {}{slowest}: \"{}\"",
                    g.count,
                    if g.count == 1 { "" } else { "s" },
                    class.words(),
                    clip(&g.first.body, 160)
                ),
                strength,
            )
            .at(g.first_at)
            .count(g.count)
            .cite(clip(&g.first.body, 240))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_runtimes_print_them() {
        use LogClass::*;
        let cases = [
            // Go
            (
                "dial tcp: lookup ledger.prod.svc.cluster.local on 10.96.0.10:53: no such host",
                DnsFailure,
            ),
            (
                "Get \"http://inventory:8080/stock\": dial tcp 10.0.4.17:8080: connect: connection refused",
                ConnectionRefused,
            ),
            (
                "read tcp 10.0.1.5:43210->10.0.2.9:5432: read: connection reset by peer",
                ConnectionReset,
            ),
            (
                "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
                Timeout,
            ),
            (
                "x509: certificate has expired or is not yet valid: current time 2026-11-30T10:00:00Z is after 2026-11-29T23:59:59Z",
                TlsError,
            ),
            (
                "panic: runtime error: invalid memory address or nil pointer dereference",
                Crash,
            ),
            ("fatal error: runtime: out of memory", OutOfMemory),
            (
                "write /var/lib/app/cache/1.tmp: no space left on device",
                DiskFull,
            ),
            // Java
            (
                "java.net.UnknownHostException: payments-db: Name or service not known",
                DnsFailure,
            ),
            (
                "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
                PoolExhausted,
            ),
            (
                "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException",
                TlsError,
            ),
            ("java.lang.OutOfMemoryError: Java heap space", OutOfMemory),
            (
                "Caused by: java.lang.IllegalArgumentException: Could not resolve placeholder 'SMTP_HOST' in value \"${SMTP_HOST}\"",
                MissingConfig,
            ),
            // Python
            (
                "psycopg2.OperationalError: FATAL:  sorry, too many clients already",
                PoolExhausted,
            ),
            (
                "socket.gaierror: [Errno -2] Name or service not known",
                DnsFailure,
            ),
            (
                "psycopg2.OperationalError: FATAL:  password authentication failed for user \"billing\"",
                AuthFailed,
            ),
            ("KeyError: 'DATABASE_URL'", MissingConfig),
            (
                "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30",
                PoolExhausted,
            ),
            // Node
            (
                "Error: getaddrinfo ENOTFOUND api.partner.example",
                DnsFailure,
            ),
            (
                "Error: connect ECONNREFUSED 10.0.3.4:6379",
                ConnectionRefused,
            ),
            (
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                OutOfMemory,
            ),
            ("Error: unable to get local issuer certificate", TlsError),
            (
                "ReplyError: ERR max number of clients reached",
                PoolExhausted,
            ),
            // Databases and shells
            ("ERROR 1040 (08004): Too many connections", PoolExhausted),
            ("exec /app/server: exec format error", CommandNotFound),
            ("/bin/sh: 1: migrate: not found", CommandNotFound),
            (
                "slow query: find orders {status: \"open\"} took 1920ms",
                SlowOperation,
            ),
        ];
        for (line, class) in cases {
            assert_eq!(classify_line(line), Some(class), "{line}");
        }
        for harmless in [
            "GET /healthz 200 3ms",
            "connected to postgres at db:5432 (pool size 20)",
            "config: request_timeout=30s retries=3",
            "served 1200 requests in the last minute",
        ] {
            assert_eq!(classify_line(harmless), None, "{harmless}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("took 1920ms"), Some(1920.0));
        assert_eq!(duration_ms("duration: 5.5 s"), Some(5500.0));
        assert_eq!(duration_ms("elapsed 2 minutes"), Some(120_000.0));
        assert_eq!(duration_ms("took 3 seconds, then 800ms"), Some(3000.0));
        assert_eq!(duration_ms("version 2.4.1"), None);
    }
}

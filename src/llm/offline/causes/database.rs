//! Database servers: who holds the connection slots, and why the WAL is never removed.
//!
//! - A server at its connection limit (PostgreSQL `too many clients already` / `remaining
//!   connection slots are reserved`, MySQL `Too many connections`) refuses everyone; the client
//!   to look at is the one holding the largest share. PostgreSQL says who connects when
//!   `log_connections` is on (`connection authorized: user=… database=… application_name=…`);
//!   postgres_exporter's `pg_stat_activity_count` carries `application_name`/`usename` labels.
//! - PostgreSQL removes or recycles old WAL segments at each checkpoint (`checkpoint complete: …
//!   N WAL file(s) added, M removed, K recycled`). Checkpoints that keep adding segments and
//!   remove none mean something pins the WAL: most often a replication slot whose consumer is
//!   gone (an inactive slot keeps every segment from its `restart_lsn` on), else a failing
//!   `archive_command`. The data volume then fills up.

use std::collections::BTreeMap;

use super::{Facts, cite};
use crate::llm::offline::common::{Finding, hm, quote};

/// Log markers of a server refusing connections at its limit.
const SERVER_LIMIT: &[&str] = &[
    "too many clients already",
    "remaining connection slots are reserved",
    "too many connections",
];

/// The value of `key=` in a PostgreSQL log line (`application_name=orders-api`).
fn field(line: &str, key: &str) -> Option<String> {
    let i = line.find(key)?;
    let v: String = line[i + key.len()..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ',')
        .collect();
    (!v.is_empty() && v != "[unknown]").then_some(v)
}

/// Connections per client: postgres_exporter's `pg_stat_activity_count` by `application_name`
/// (else `usename`), else PostgreSQL's `connection authorized` log lines, with where it was read.
fn connections_by_client(facts: &Facts<'_>) -> Option<(BTreeMap<String, f64>, &'static str)> {
    let mut by: BTreeMap<String, f64> = BTreeMap::new();
    for s in facts.ctx.all_series("pg_stat_activity_count") {
        if let Some(client) = s
            .label(&["application_name", "usename"])
            .filter(|c| !c.is_empty())
        {
            *by.entry(client.to_string()).or_default() += s.last();
        }
    }
    if !by.is_empty() {
        return Some((by, "pg_stat_activity_count"));
    }
    for l in facts.ctx.logs.iter() {
        let body = &l.rec.body;
        if !body.contains("connection authorized:") {
            continue;
        }
        if let Some(client) = field(body, "application_name=").or_else(|| field(body, "user=")) {
            *by.entry(client).or_default() += 1.0;
        }
    }
    (!by.is_empty()).then_some((by, "PostgreSQL's connection authorized log lines"))
}

/// The server refuses connections at its limit, and the evidence shows who holds them.
pub(crate) fn connection_limit_holder(facts: &Facts<'_>) -> Vec<Finding> {
    let Some(refused) = facts.with(&["log_pool_exhausted"]).into_iter().find(|f| {
        f.cites.iter().any(|c| {
            let c = c.to_ascii_lowercase();
            SERVER_LIMIT.iter().any(|m| c.contains(m))
        })
    }) else {
        return Vec::new();
    };
    let Some((by, source)) = connections_by_client(facts) else {
        return Vec::new();
    };
    let total: f64 = by.values().sum();
    let Some((top, n)) = by
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(k, v)| (k.clone(), *v))
    else {
        return Vec::new();
    };
    // One client among several must hold most of them to be named.
    if by.len() < 2 || total <= 0.0 || n / total < 0.5 {
        return Vec::new();
    }
    let share = (n / total * 100.0).round();
    let others: Vec<String> = by
        .iter()
        .filter(|(k, _)| **k != top)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let mut c = Finding::new(
        "general-connection-holder",
        format!("{top} holds most of the database's connections"),
    );
    c.score = 0.86;
    cite(&mut c, refused);
    c.for_(format!(
        "connections by client ({source}): {top} {n} of {total} ({share}%); {}",
        others.join(", ")
    ));
    let first_at = refused
        .at
        .map(|t| format!(" since {}", hm(t)))
        .unwrap_or_default();
    c.root_cause = format!(
        "The database server is at its connection limit (max_connections){first_at} and refuses new connections (\"{}\"); {top} holds the largest share of the connections ({n} of {total} seen, {share}%, from {source}). The clients that fail are its victims: reduce {top}'s connections (pool size x parallel workers), give it its own limit (ALTER ROLE … CONNECTION LIMIT), or put a pooler (PgBouncer) in front; raising max_connections costs memory per connection.",
        quote(refused.cites.first().map(String::as_str).unwrap_or(""), 160)
    );
    c.summary = format!("{top} uses up the database's max_connections; other clients are refused.");
    c.cmd(
        "Who holds the connections now (PostgreSQL)",
        "psql -c \"SELECT application_name, usename, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 DESC\"",
    );
    c.cmd("The limit", "psql -c \"SHOW max_connections\"");
    c.prevent(format!(
        "Budget max_connections across clients (pool size x replicas x workers) and cap {top} with a per-role CONNECTION LIMIT or a pooler"
    ));
    vec![c]
}

/// `(added, removed, recycled)` of a PostgreSQL `checkpoint complete` line.
fn checkpoint_wal(line: &str) -> Option<(u64, u64, u64)> {
    let i = line.find("checkpoint complete:")?;
    let rest = &line[i..];
    let num_before = |marker: &str| -> Option<u64> {
        let j = rest.find(marker)?;
        rest[..j]
            .trim_end()
            .rsplit(|c: char| c.is_whitespace() || c == ';' || c == ',')
            .next()?
            .parse()
            .ok()
    };
    Some((
        num_before(" WAL file(s) added")?,
        num_before(" removed")?,
        num_before(" recycled")?,
    ))
}

/// The replication slot a log line names (`START_REPLICATION SLOT "x"`, `replication slot "x"`).
fn slot_in(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let i = lower
        .find("replication slot \"")
        .map(|i| i + "replication slot \"".len())?;
    let name: String = line[i..].chars().take_while(|c| *c != '"').collect();
    (!name.is_empty()).then_some(name)
}

/// Checkpoints that add WAL segments and remove none: the WAL is pinned.
pub(crate) fn wal_retained(facts: &Facts<'_>) -> Vec<Finding> {
    let checkpoints: Vec<_> = facts
        .ctx
        .logs
        .iter()
        .filter_map(|l| checkpoint_wal(&l.rec.body).map(|w| (l, w)))
        .collect();
    // The newest checkpoints decide: at least two, every one adding and none removing.
    let recent: Vec<_> = checkpoints.iter().rev().take(3).collect();
    if recent.len() < 2
        || !recent
            .iter()
            .all(|(_, (added, removed, recycled))| *added > 0 && *removed == 0 && *recycled == 0)
    {
        return Vec::new();
    }
    let added: u64 = recent.iter().map(|(_, (a, _, _))| a).sum();
    let archive_fails = facts.ctx.logs.iter().any(|l| {
        l.lower.contains("archive command failed")
            || l.lower.contains("archiving write-ahead log file")
    });
    // Slots: postgres_exporter's pg_replication_slots_active == 0, else slots the logs name.
    let inactive_metric: Vec<String> = facts
        .ctx
        .all_series("pg_replication_slots_active")
        .filter(|s| s.last() == 0.0)
        .filter_map(|s| s.label(&["slot_name"]).map(str::to_string))
        .collect();
    let mut slots = inactive_metric.clone();
    for l in facts.ctx.logs.iter() {
        if let Some(s) = slot_in(&l.rec.body)
            && !slots.contains(&s)
        {
            slots.push(s);
        }
    }
    let consumer_gone = facts.ctx.logs.iter().find(|l| {
        l.lower.contains("unexpected eof on standby connection") || l.lower.contains("active=false")
    });
    let mut c = Finding::new(
        "general-wal-retained",
        if archive_fails {
            "PostgreSQL keeps its WAL: archiving fails".to_string()
        } else {
            "PostgreSQL keeps its WAL: a replication slot pins it".to_string()
        },
    );
    c.score = if archive_fails {
        0.78
    } else if !inactive_metric.is_empty() || (consumer_gone.is_some() && !slots.is_empty()) {
        0.88
    } else {
        0.74
    };
    let (last, _) = recent[0];
    c.for_(format!(
        "the last {} checkpoints added {added} WAL segments and removed or recycled none: \"{}\"",
        recent.len(),
        quote(&last.rec.body, 200)
    ));
    c.at_opt(last.ts, "checkpoint removes no WAL segment");
    if let Some(g) = consumer_gone {
        c.cite_line(
            "the slot's consumer is gone",
            g,
            160,
            format!(
                "replication consumer disconnected: {}",
                quote(&g.rec.body, 90)
            ),
        );
    }
    let slot_text = match slots.as_slice() {
        [] => "a replication slot".to_string(),
        [one] => format!("the replication slot {one}"),
        many => format!("a replication slot ({})", many.join(", ")),
    };
    c.root_cause = if archive_fails {
        format!(
            "PostgreSQL's checkpoints add WAL segments ({added} in the last {}) and remove none: WAL archiving fails, so every segment is kept until archive_command succeeds, and the data volume fills up. Fix the archive destination; a replication slot can pin WAL the same way (check pg_replication_slots).",
            recent.len()
        )
    } else {
        format!(
            "PostgreSQL's checkpoints add WAL segments ({added} in the last {}) and remove none: {slot_text} pins the WAL{}. A replication slot keeps every WAL segment from its restart_lsn until its consumer confirms it, so while the consumer is away the WAL grows without bound and fills the data volume. Bring the consumer back, or drop the slot (pg_drop_replication_slot) if it is abandoned — the consumer then needs a new snapshot.",
            recent.len(),
            if consumer_gone.is_some() {
                " and its consumer is disconnected (the slot is inactive)"
            } else {
                ""
            }
        )
    };
    c.summary = format!(
        "The PostgreSQL volume fills with WAL that {}.",
        if archive_fails {
            "cannot be archived"
        } else {
            "a replication slot retains"
        }
    );
    c.cmd(
        "Slots, whether active, and the WAL each retains",
        "psql -c \"SELECT slot_name, slot_type, active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS retained FROM pg_replication_slots\"",
    );
    c.cmd(
        "Archiver status",
        "psql -c \"SELECT archived_count, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver\"",
    );
    c.prevent(
        "Set max_slot_wal_keep_size so an abandoned slot cannot fill the disk, and alert on inactive slots (pg_replication_slots_active == 0) and retained WAL",
    );
    vec![c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_postgres_checkpoint_lines() {
        let line = "2026-05-19 17:06:37.386 GMT [1187] LOG:  checkpoint complete: wrote 31000 buffers (23.0%); 64 WAL file(s) added, 0 removed, 0 recycled; write=88.002 s, sync=1.104 s, total=94.001 s";
        assert_eq!(checkpoint_wal(line), Some((64, 0, 0)));
        let line = "LOG:  checkpoint complete: wrote 1842 buffers (1.4%); 0 WAL file(s) added, 0 removed, 2 recycled; write=108.113 s";
        assert_eq!(checkpoint_wal(line), Some((0, 0, 2)));
        assert_eq!(checkpoint_wal("LOG:  checkpoint starting: wal"), None);
    }

    #[test]
    fn reads_slot_names_and_connection_fields() {
        assert_eq!(
            slot_in("STATEMENT:  START_REPLICATION SLOT \"dbz\" LOGICAL 3A/5C0012D8").as_deref(),
            Some("dbz")
        );
        assert_eq!(
            slot_in("ERROR:  replication slot \"standby_1\" is active for PID 42").as_deref(),
            Some("standby_1")
        );
        let line = "LOG:  connection authorized: user=export database=orders application_name=reporting SSL enabled";
        assert_eq!(
            field(line, "application_name=").as_deref(),
            Some("reporting")
        );
        assert_eq!(field(line, "user=").as_deref(), Some("export"));
    }
}

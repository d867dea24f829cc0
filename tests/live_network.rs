//! The live network backend against local fakes: real TLS handshakes with certificates made by
//! rcgen (`support::fake_tls`) and real DNS messages (`support::fake_dns`), all on 127.0.0.1.
//!
//! Each certificate case checks the fields and the machine-readable reason; the DNS cases check
//! answers, the CNAME chain and each failure; the guard refuses link-local addresses before
//! connecting. Finally every scenario with recorded network files is replayed live against the
//! fakes, through the real `Toolbox` (MCP), and must agree with the fixture backend on
//! everything the analyzer reads.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sre_agent::agent::Engine;
use sre_agent::alert::Intake;
use sre_agent::config::LoadedConfig;
use sre_agent::evidence::ToolOutcome;
use sre_agent::evidence::{CertInfo, CertProblem, DnsAnswer, DnsResult, Observation, ToolCall};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::pipeline::Pipeline;
use sre_agent::scenario::{self, Scenario};
use sre_agent::tools::TOOL_NAMES;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::live::network::{Clock, ConnectFrom, HostPort, LiveNetwork, NetworkSettings};
use sre_agent::tools::{BackendError, NetworkBackend, Toolbox};
use std::time::Instant;
use support::fake_dns::scenario_lookups;
use support::fake_dns::{FakeDns, Zone};
use support::fake_tls::{
    FakeTls, INTERMEDIATE_DN, NoTls, ROOT_DN, TestPki, scenario_certs, serve_recorded,
};

const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Settings that resolve through `dns`, trust the test root, and send `host:443` to `to`.
fn settings(
    pki: Option<&TestPki>,
    dns: &FakeDns,
    connect_to: &[(&str, SocketAddr)],
) -> NetworkSettings {
    NetworkSettings {
        nameservers: vec![dns.addr().to_string().parse().expect("nameserver")],
        extra_ca_file: pki.map(TestPki::ca_file),
        connect_to: connect_to
            .iter()
            .map(|(host, to)| {
                (
                    ConnectFrom::exact(host, 443).expect("host"),
                    to.to_string().parse().expect("target"),
                )
            })
            .collect(),
        ..NetworkSettings::default()
    }
}

fn live(settings: &NetworkSettings) -> LiveNetwork {
    LiveNetwork::new(settings).expect("live network backend")
}

async fn cert_of(net: &LiveNetwork, host: &str) -> CertInfo {
    net.tls_certificate(host, 443)
        .await
        .expect("probe")
        .expect("a certificate")
}

fn hours_until(t: DateTime<Utc>) -> f64 {
    (t - Utc::now()).num_seconds() as f64 / 3600.0
}

#[tokio::test]
async fn valid_chain_through_the_test_ca() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki
        .leaf("valid.test")
        .sans(&["valid.test", "www.valid.test"])
        .serve()
        .await;
    let net = live(&settings(
        Some(&pki),
        &dns,
        &[("valid.test", server.addr())],
    ));
    let cert = cert_of(&net, "valid.test").await;
    assert_eq!(cert.host, "valid.test");
    assert_eq!(cert.port, 443);
    assert_eq!(cert.subject, "CN=valid.test");
    assert_eq!(cert.issuer, INTERMEDIATE_DN);
    assert_eq!(cert.sans, vec!["valid.test", "www.valid.test"]);
    assert!(cert.chain_verified, "{:?}", cert.verify_error);
    assert_eq!(cert.verify_error, None);
    assert_eq!(cert.verify_reason, None);
    assert_eq!(cert.hostname_match, Some(true));
    assert_eq!(cert.chain_len, Some(2));
    assert!(cert.not_before < Utc::now() && Utc::now() < cert.not_after);
    assert!(cert.checked_at.is_some());
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn tls12_only_server_verifies_too() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki.leaf("old.test").tls12_only().serve().await;
    let net = live(&settings(Some(&pki), &dns, &[("old.test", server.addr())]));
    let cert = cert_of(&net, "old.test").await;
    assert!(cert.chain_verified, "{:?}", cert.verify_error);
    assert_eq!(cert.subject, "CN=old.test");
}

#[tokio::test]
async fn a_server_demanding_a_client_certificate_still_shows_its_own() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    for tls12 in [true, false] {
        let leaf = pki.leaf("mtls.test").require_client_cert();
        let server = if tls12 { leaf.tls12_only() } else { leaf }.serve().await;
        let net = live(&settings(Some(&pki), &dns, &[("mtls.test", server.addr())]));
        let cert = cert_of(&net, "mtls.test").await;
        assert!(
            cert.chain_verified,
            "tls12 {tls12}: {:?}",
            cert.verify_error
        );
        assert_eq!(cert.subject, "CN=mtls.test");
    }
}

#[tokio::test]
async fn without_the_extra_ca_the_chain_is_unknown() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki.leaf("internal.test").serve().await;
    let net = live(&settings(None, &dns, &[("internal.test", server.addr())]));
    let cert = cert_of(&net, "internal.test").await;
    assert!(!cert.chain_verified);
    assert_eq!(cert.verify_reason, Some(CertProblem::UnknownIssuer));
    let err = cert.verify_error.expect("verify error");
    assert!(err.contains(ROOT_DN), "{err}");
    assert_eq!(cert.hostname_match, Some(true));
}

#[tokio::test]
async fn expiring_in_20_hours() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki
        .leaf("soon.test")
        .expires_in(chrono::Duration::hours(20))
        .serve()
        .await;
    let net = live(&settings(Some(&pki), &dns, &[("soon.test", server.addr())]));
    let cert = cert_of(&net, "soon.test").await;
    assert!(cert.chain_verified, "{:?}", cert.verify_error);
    let left = hours_until(cert.not_after);
    assert!((19.0..=20.0).contains(&left), "{left} hours left");
}

#[tokio::test]
async fn expired() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki.leaf("old-cert.test").expired().serve().await;
    let net = live(&settings(
        Some(&pki),
        &dns,
        &[("old-cert.test", server.addr())],
    ));
    let cert = cert_of(&net, "old-cert.test").await;
    assert!(!cert.chain_verified);
    assert_eq!(cert.verify_reason, Some(CertProblem::Expired));
    let err = cert.verify_error.expect("verify error");
    let day = cert.not_after.format("%Y-%m-%d").to_string();
    assert!(
        err.starts_with(&format!("certificate expired on {day}")),
        "{err}"
    );
    assert_eq!(cert.hostname_match, Some(true));
    assert!(hours_until(cert.not_after) < 0.0);
}

#[tokio::test]
async fn the_clock_decides_validity() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki.leaf("then.test").expired().serve().await;
    let base = settings(Some(&pki), &dns, &[("then.test", server.addr())]);
    let during = Utc::now() - chrono::Duration::days(30);
    let cert = cert_of(&live(&base).with_clock(Clock::Fixed(during)), "then.test").await;
    assert!(cert.chain_verified, "{:?}", cert.verify_error);
    assert_eq!(cert.checked_at, Some(during));
    let before = Utc::now() - chrono::Duration::days(120);
    let cert = cert_of(&live(&base).with_clock(Clock::Fixed(before)), "then.test").await;
    assert_eq!(cert.verify_reason, Some(CertProblem::NotYetValid));
    assert!(!cert.chain_verified);
}

#[tokio::test]
async fn wrong_host() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki
        .leaf("a.example.com")
        .sans(&["a.example.com", "b.example.com"])
        .serve()
        .await;
    let net = live(&settings(
        Some(&pki),
        &dns,
        &[("c.example.com", server.addr())],
    ));
    let cert = cert_of(&net, "c.example.com").await;
    assert!(!cert.chain_verified);
    assert_eq!(cert.verify_reason, Some(CertProblem::WrongHost));
    assert_eq!(
        cert.verify_error.as_deref(),
        Some("certificate is for a.example.com, b.example.com, not c.example.com")
    );
    assert_eq!(cert.hostname_match, Some(false));
    assert_eq!(cert.subject, "CN=a.example.com");
}

#[tokio::test]
async fn missing_intermediate() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki.leaf("gap.test").without_intermediate().serve().await;
    let net = live(&settings(Some(&pki), &dns, &[("gap.test", server.addr())]));
    let cert = cert_of(&net, "gap.test").await;
    assert!(!cert.chain_verified);
    assert_eq!(cert.verify_reason, Some(CertProblem::UnknownIssuer));
    assert_eq!(cert.chain_len, Some(1));
    assert_eq!(cert.hostname_match, Some(true));
    let err = cert.verify_error.expect("verify error");
    assert_eq!(
        err,
        format!(
            "unknown issuer: the server sent no intermediate for {INTERMEDIATE_DN} (missing intermediate?)"
        )
    );
}

#[tokio::test]
async fn self_signed() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki.leaf("selfie.test").self_signed().serve().await;
    let net = live(&settings(
        Some(&pki),
        &dns,
        &[("selfie.test", server.addr())],
    ));
    let cert = cert_of(&net, "selfie.test").await;
    assert!(!cert.chain_verified);
    assert_eq!(cert.verify_reason, Some(CertProblem::SelfSigned));
    assert_eq!(cert.issuer, cert.subject);
    assert_eq!(cert.chain_len, Some(1));
    let err = cert.verify_error.expect("verify error");
    assert!(err.starts_with("self-signed certificate"), "{err}");
}

#[tokio::test]
async fn the_tls_probe_resolves_through_the_configured_resolver() {
    let pki = TestPki::new();
    let server = pki.leaf("api.test").serve().await;
    let dns = FakeDns::start(Zone::new().addresses("api.test", &["127.0.0.1"], 30).cname(
        "front.test",
        "api.test",
        60,
    ))
    .await;
    let net = live(&settings(Some(&pki), &dns, &[]));
    let cert = net
        .tls_certificate("api.test", server.port())
        .await
        .expect("probe")
        .expect("cert");
    assert!(cert.chain_verified, "{:?}", cert.verify_error);
    assert_eq!(cert.port, server.port());
    // connect_to may name a host too; the handshake still names the asked host.
    let mut s = settings(Some(&pki), &dns, &[]);
    s.connect_to.insert(
        ConnectFrom::exact("front.test", 443).expect("key"),
        HostPort::new("api.test", server.port()).expect("value"),
    );
    let cert = cert_of(&live(&s), "front.test").await;
    assert_eq!(cert.verify_reason, Some(CertProblem::WrongHost));
    assert_eq!(cert.hostname_match, Some(false));
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn connect_to_wildcards_and_the_most_specific_key() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let server = pki.leaf("exact.test").serve().await;
    let elsewhere = NoTls::start().await;
    let mut s = settings(Some(&pki), &dns, &[("exact.test", server.addr())]);
    s.connect_to.insert(
        "*:*".parse().expect("key"),
        elsewhere.addr().to_string().parse().expect("target"),
    );
    let net = live(&s);
    assert!(cert_of(&net, "EXACT.test").await.chain_verified);
    match net.tls_certificate("other.test", 8443).await {
        Err(BackendError::Request(msg)) => {
            assert!(msg.contains("TLS handshake with other.test"), "{msg}");
            assert!(msg.contains(&elsewhere.addr().to_string()), "{msg}");
        }
        other => panic!("expected a failed handshake, got {other:?}"),
    }
    assert_eq!(server.connections(), 1);
}

fn refused(result: Result<Option<CertInfo>, BackendError>) -> String {
    match result {
        Err(BackendError::Refused(msg)) => msg,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn link_local_and_metadata_addresses_are_refused_before_connecting() {
    let pki = TestPki::new();
    let server = pki.leaf("mixed.test").serve().await;
    let dns = FakeDns::start(
        Zone::new()
            .addresses("mixed.test", &["127.0.0.1", "169.254.169.254"], 30)
            .addresses("metadata.test", &["fd00:ec2::254"], 30),
    )
    .await;
    let metadata: SocketAddr = "169.254.169.254:443".parse().expect("addr");
    let net = live(&settings(Some(&pki), &dns, &[("meta.test", metadata)]));
    let msg = refused(net.tls_certificate("meta.test", 443).await);
    assert!(
        msg.contains("169.254.169.254") && msg.contains("allow_link_local"),
        "{msg}"
    );
    let msg = refused(net.tls_certificate("169.254.169.254", 443).await);
    assert!(msg.contains("link-local"), "{msg}");
    let msg = refused(net.tls_certificate("mixed.test", server.port()).await);
    assert!(
        msg.contains("mixed.test resolves to 169.254.169.254"),
        "{msg}"
    );
    let msg = refused(net.tls_certificate("metadata.test", 443).await);
    assert!(
        msg.contains("fd00:ec2::254") && msg.contains("metadata"),
        "{msg}"
    );
    assert_eq!(server.connections(), 0, "nothing was sent");
    // The same server is reachable when nothing link-local is in the way.
    let ok = live(&settings(
        Some(&pki),
        &dns,
        &[("mixed.test", server.addr())],
    ));
    assert!(cert_of(&ok, "mixed.test").await.chain_verified);
}

#[tokio::test]
async fn connection_failures_are_tool_failures() {
    let dns = FakeDns::start(Zone::new().nxdomain("gone.test")).await;
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    // A server that accepts and never speaks TLS.
    let mute = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mute_addr = mute.local_addr().expect("addr");
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = mute.accept().await {
            held.push(s);
        }
    });
    let mut s = settings(
        None,
        &dns,
        &[("closed.test", closed), ("mute.test", mute_addr)],
    );
    s.timeout_ms = std::num::NonZeroU64::new(300).expect("non-zero");
    let net = live(&s);
    for (host, needle) in [
        ("closed.test", "could not connect"),
        ("mute.test", "timed out"),
        ("gone.test", "NXDOMAIN"),
    ] {
        match net.tls_certificate(host, 443).await {
            Err(BackendError::Request(msg)) => assert!(msg.contains(needle), "{host}: {msg}"),
            other => panic!("{host}: expected a request error, got {other:?}"),
        }
    }
}

async fn lookup(net: &LiveNetwork, name: &str, rtype: &str) -> DnsResult {
    net.resolve(name, rtype)
        .await
        .expect("lookup")
        .expect("a result")
}

fn answers(pairs: &[(&str, u32)]) -> Vec<DnsAnswer> {
    pairs
        .iter()
        .map(|(data, ttl)| DnsAnswer {
            data: (*data).to_owned(),
            ttl: *ttl,
        })
        .collect()
}

#[tokio::test]
async fn dns_answers_cnames_and_failures() {
    let dns = FakeDns::start(
        Zone::new()
            .cname("www.shop.test", "shop.cdn.test", 300)
            .cname("shop.cdn.test", "edge.cdn.test", 60)
            .addresses("edge.cdn.test", &["10.0.0.7", "10.0.0.8", "fd00::7"], 20)
            .addresses("v4only.test", &["10.0.0.9"], 30)
            .nxdomain("ledger.prod.svc.cluster.local")
            .servfail("broken.test"),
    )
    .await;
    let net = live(&settings(None, &dns, &[]));

    let r = lookup(&net, "www.shop.test", "A").await;
    assert_eq!(r.name, "www.shop.test");
    assert_eq!(r.record_type, "A");
    assert_eq!(r.error, None);
    assert_eq!(r.answers, answers(&[("10.0.0.7", 20), ("10.0.0.8", 20)]));
    assert_eq!(r.cname_chain, vec!["shop.cdn.test", "edge.cdn.test"]);
    assert!(r.elapsed_ms.is_some_and(|ms| ms >= 0.0));

    let r = lookup(&net, "www.shop.test", "AAAA").await;
    assert_eq!(r.answers, answers(&[("fd00::7", 20)]));
    assert_eq!(r.cname_chain, vec!["shop.cdn.test", "edge.cdn.test"]);

    let r = lookup(&net, "www.shop.test", "CNAME").await;
    assert_eq!(r.answers, answers(&[("shop.cdn.test", 300)]));

    let r = lookup(&net, "v4only.test", "AAAA").await;
    assert_eq!(
        (r.answers.len(), r.error),
        (0, None),
        "no AAAA is not a failure"
    );

    let r = lookup(&net, "ledger.prod.svc.cluster.local", "A").await;
    assert_eq!(r.error.as_deref(), Some("NXDOMAIN"));
    assert!(r.answers.is_empty());

    let r = lookup(&net, "broken.test", "A").await;
    assert_eq!(r.error.as_deref(), Some("SERVFAIL"));
}

#[tokio::test]
async fn refused_is_a_tool_failure_not_a_lookup() {
    let dns = FakeDns::start(Zone::new().addresses("known.test", &["10.0.0.1"], 30)).await;
    let net = live(&settings(None, &dns, &[]));
    match net.resolve("unknown.test", "A").await {
        Err(BackendError::Request(msg)) => assert!(msg.contains("REFUSED"), "{msg}"),
        other => panic!("expected a tool failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    let dns = FakeDns::silent().await;
    let mut s = settings(None, &dns, &[]);
    s.timeout_ms = std::num::NonZeroU64::new(300).expect("non-zero");
    let net = live(&s);
    let r = lookup(&net, "slow.test", "A").await;
    assert_eq!(r.error.as_deref(), Some("TIMEOUT"));
    assert!(r.answers.is_empty());
}

#[tokio::test]
async fn probe_line_names_resolver_and_roots() {
    let pki = TestPki::new();
    let dns = FakeDns::start(Zone::new()).await;
    let net = live(&settings(Some(&pki), &dns, &[]));
    let line = net.probe().await;
    assert!(line.starts_with("network: resolver "), "{line}");
    assert!(line.contains(&dns.addr().to_string()), "{line}");
    assert!(line.contains("extra 1"), "{line}");
    assert_eq!(net.status().detail, line.trim_start_matches("network: "));
}

#[test]
fn a_bad_extra_ca_file_fails_construction() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("ca.pem");
    std::fs::write(&path, "not a certificate").expect("write");
    let s = NetworkSettings {
        nameservers: vec!["127.0.0.1:5353".parse().expect("ns")],
        extra_ca_file: Some(path),
        ..NetworkSettings::default()
    };
    match LiveNetwork::new(&s) {
        Err(BackendError::Request(msg)) => assert!(msg.contains("extra_ca_file"), "{msg}"),
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("a file without certificates must be refused"),
    }
}

// ---------------------------------------------------------------------------------------------
// Recorded scenarios, replayed live against the fakes.

fn scenarios_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios")
}

/// Scenario directories with recorded network files.
fn network_scenarios() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(scenarios_root())
        .expect("scenarios")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|d| d.join("network/tls").is_dir() || d.join("network/dns").is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// When the alert fired: the time the recorded verdicts refer to.
fn fired_at(dir: &Path) -> DateTime<Utc> {
    let scenario = Scenario::from_dir(dir).expect("scenario");
    match scenario.intake().expect("alert parses") {
        Intake::Alert(alert) => alert.fired_at.expect("alert has a time"),
        Intake::Ignored(i) => panic!("{} is not an alert: {i:?}", dir.display()),
    }
}

fn call(tool: &str, args: Value) -> ToolCall {
    ToolCall {
        tool: tool.to_owned(),
        args: args.as_object().expect("object").clone(),
    }
}

async fn tool_observation(toolbox: &Toolbox, tool: &str, args: Value) -> ToolOutcome {
    toolbox.call(call(tool, args), CALL_TIMEOUT).await.outcome
}

fn data(outcome: ToolOutcome, what: &str) -> Observation {
    match outcome {
        ToolOutcome::Data { observation } => observation,
        other => panic!("{what}: expected data, got {other:?}"),
    }
}

/// The certificate fields the analyzer reads.
fn cert_view(c: &CertInfo) -> Value {
    let err = c
        .verify_error
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    json!({
        "host": c.host, "port": c.port, "subject": c.subject, "issuer": c.issuer, "sans": c.sans,
        "not_before": c.not_before, "not_after": c.not_after, "chain_verified": c.chain_verified,
        "has_error": c.verify_error.is_some(), "says_expired": err.contains("expired"),
    })
}

/// The DNS fields the analyzer reads.
fn dns_view(d: &DnsResult) -> Value {
    json!({"name": d.name, "answers": d.answers, "error": d.error})
}

/// A scenario's fixture backends with the network backend swapped for the live one, probing
/// fakes that serve the scenario's recorded certificates and lookups (clock at the alert time).
/// Every other host:port goes to a local port without TLS, so nothing leaves 127.0.0.1 even
/// when a recorded DNS answer names a real address.
struct LiveScenario {
    toolbox: Toolbox,
    _dns: FakeDns,
    _servers: Vec<FakeTls>,
    _elsewhere: NoTls,
}

impl LiveScenario {
    async fn start(dir: &Path, pki: &TestPki) -> LiveScenario {
        let dns = FakeDns::from_scenario(dir).await;
        let mut servers = Vec::new();
        let mut routes = Vec::new();
        for cert in scenario_certs(dir) {
            let server = serve_recorded(pki, &cert).await;
            routes.push((cert.host.clone(), server.addr()));
            servers.push(server);
        }
        let routes: Vec<(&str, SocketAddr)> =
            routes.iter().map(|(h, a)| (h.as_str(), *a)).collect();
        let elsewhere = NoTls::start().await;
        let mut s = settings(Some(pki), &dns, &routes);
        s.connect_to.insert(
            "*:*".parse().expect("catch-all"),
            elsewhere.addr().to_string().parse().expect("target"),
        );
        let net = live(&s).with_clock(Clock::Fixed(fired_at(dir)));
        let mut backends =
            sre_agent::tools::fixture::fixture_backends(Some(dir)).expect("fixture backends");
        backends.network = Arc::new(net);
        let toolbox = Toolbox::start(backends).await.expect("live toolbox");
        LiveScenario {
            toolbox,
            _dns: dns,
            _servers: servers,
            _elsewhere: elsewhere,
        }
    }
}

#[tokio::test]
async fn every_recorded_scenario_replays_live_through_the_toolbox() {
    let dirs = network_scenarios();
    assert!(!dirs.is_empty(), "no scenario with network files");
    let pki = TestPki::new();
    let (mut certs_checked, mut lookups_checked) = (0, 0);
    for dir in &dirs {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let certs = scenario_certs(dir);
        let lookups = scenario_lookups(dir);
        let scenario = Scenario::from_dir(dir).expect("scenario");
        let recorded = scenario.toolbox().await.expect("fixture toolbox");
        let replayed = LiveScenario::start(dir, &pki).await;
        let replayed = &replayed.toolbox;

        for cert in &certs {
            let args = json!({"host": format!("https://{}/", cert.host)});
            let Observation::Certificate { cert: want } = data(
                tool_observation(&recorded, "check_tls_certificate", args.clone()).await,
                &name,
            ) else {
                panic!("{name}: fixture certificate expected");
            };
            let Observation::Certificate { cert: got } = data(
                tool_observation(replayed, "check_tls_certificate", args).await,
                &name,
            ) else {
                panic!("{name}: live certificate expected");
            };
            assert_eq!(cert_view(&got), cert_view(&want), "{name}: {}", cert.host);
            assert_eq!(cert_view(&want), cert_view(cert), "{name}: fixture tool");
            certs_checked += 1;
        }
        for lookup in &lookups {
            let args = json!({"name": lookup.name, "record_type": lookup.record_type});
            let Observation::Dns { result: want } = data(
                tool_observation(&recorded, "resolve_dns", args.clone()).await,
                &name,
            ) else {
                panic!("{name}: fixture lookup expected");
            };
            let Observation::Dns { result: got } =
                data(tool_observation(replayed, "resolve_dns", args).await, &name)
            else {
                panic!("{name}: live lookup expected");
            };
            assert_eq!(dns_view(&got), dns_view(&want), "{name}: {}", lookup.name);
            lookups_checked += 1;
        }
        // A name the scenario has no record of: no data from the fixtures, and no data-like
        // answer from the live probe either (the fake refuses it).
        let args = json!({"name": format!("unrecorded.{name}.test")});
        let fixture = tool_observation(&recorded, "resolve_dns", args.clone()).await;
        assert!(
            matches!(fixture, ToolOutcome::NoData { .. }),
            "{name}: {fixture:?}"
        );
        let live_outcome = tool_observation(replayed, "resolve_dns", args).await;
        assert!(
            !matches!(live_outcome, ToolOutcome::Data { .. }),
            "{name}: an unrecorded name must not look like a lookup: {live_outcome:?}"
        );
        recorded.shutdown().await;
    }
    let recorded_certs: usize = dirs.iter().map(|d| scenario_certs(d).len()).sum();
    let recorded_lookups: usize = dirs.iter().map(|d| scenario_lookups(d).len()).sum();
    assert_eq!(certs_checked, recorded_certs);
    assert_eq!(lookups_checked, recorded_lookups);
    assert!(certs_checked > 0 && lookups_checked > 0);
}

async fn offline_engine() -> Engine {
    let config = LoadedConfig::load(
        Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("agents.yaml")),
        TOOL_NAMES,
    )
    .expect("config");
    let toolbox = Toolbox::start(fixture_backends(None).expect("backends"))
        .await
        .expect("toolbox");
    Engine::new(
        Arc::new(config),
        Arc::new(toolbox),
        Arc::new(OfflineReasoner),
    )
    .expect("engine")
}

/// The whole pipeline (router, collect, offline analyzer) reaches the same verdict on a
/// scenario whether its network evidence is recorded or probed live from the fakes.
#[tokio::test]
async fn the_offline_analysis_is_the_same_with_live_network_evidence() {
    let engine = offline_engine().await;
    let pki = TestPki::new();
    let mut compared = 0;
    for dir in network_scenarios() {
        let scenario = Scenario::from_dir(&dir).expect("scenario");
        let Some(expect) = scenario.expect.clone() else {
            continue;
        };
        let recorded = scenario::replay(&engine, &scenario).await.expect("replay");
        let want = scenario::score(&scenario.name, &expect, &recorded);

        let replayed = LiveScenario::start(&dir, &pki).await;
        let live_engine = Arc::new(engine.with_toolbox(Arc::new(replayed.toolbox)));
        let pipeline = Pipeline::start(live_engine, &engine.config().config.pipeline);
        let out = scenario::replay_intake(
            &pipeline,
            scenario.intake().expect("intake"),
            Instant::now(),
        )
        .await;
        let got = scenario::score(&scenario.name, &expect, &out);
        assert_eq!(
            (
                got.agent.as_str(),
                got.routed_ok,
                got.root_cause_ok,
                got.contains_ok
            ),
            (
                want.agent.as_str(),
                want.routed_ok,
                want.root_cause_ok,
                want.contains_ok
            ),
            "{}: live {:?} vs recorded {:?}\n--- live ---\n{}\n--- recorded ---\n{}",
            scenario.name,
            got.missing_words,
            want.missing_words,
            out.text,
            recorded.text
        );
        // Same causes ranked the same way, with the same confidence (the wording may quote
        // the live probe's own verify_error).
        let verdict = |o: &scenario::ReplayOutput| {
            o.rca.as_ref().map(|r| {
                let causes: Vec<String> = r
                    .hypotheses
                    .iter()
                    .map(|h| format!("{} ({:?})", h.cause, h.likelihood))
                    .collect();
                (format!("{:?}", r.confidence), causes)
            })
        };
        assert_eq!(verdict(&out), verdict(&recorded), "{}", scenario.name);
        compared += 1;
    }
    assert!(compared > 0, "no network scenario with expect.yaml");
}

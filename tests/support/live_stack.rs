//! A scenario's recorded data served over the real protocols, all on 127.0.0.1: a fake SigNoz
//! (HTTP query API), a fake Kubernetes API server, a TLS server per recorded certificate (made
//! by rcgen, signed by a test CA the probe trusts) and a DNS server answering the recorded
//! lookups. Every other `host:port` a probe might reach goes to a local port with no TLS behind
//! it, so nothing leaves the machine even when a recorded DNS answer names a real address.
//!
//! [`LiveStack::backends`] are the live backends (`SignozHttp`, `KubeApi`, `LiveNetwork`) over
//! those fakes; the Slack tools read the scenario's recorded Slack files.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sre_agent::alert::Intake;
use sre_agent::config::Secret;
use sre_agent::scenario::Scenario;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::live::kubernetes::{KubeApi, KubernetesSettings};
use sre_agent::tools::live::network::{Clock, ConnectFrom, LiveNetwork, NetworkSettings};
use sre_agent::tools::live::signoz::{SignozHttp, SignozSettings};
use sre_agent::tools::{Backends, SourceMode, SourceStatus};

use super::fake_dns::FakeDns;
use super::fake_kube::FakeKube;
use super::fake_signoz::FakeSignoz;
use super::fake_tls::{FakeTls, NoTls, TestPki, scenario_certs, serve_recorded};

/// The API key the fake SigNoz accepts.
pub const SIGNOZ_KEY: &str = "signoz-test-key-7f3a";

/// When the alert fired: the time the recorded certificate verdicts refer to.
pub fn fired_at(dir: &Path) -> Option<DateTime<Utc>> {
    let scenario = Scenario::from_dir(dir).ok()?;
    match scenario.intake().ok()? {
        Intake::Alert(alert) => alert.fired_at,
        Intake::Ignored(_) => None,
    }
}

/// Every fake of one scenario, running.
pub struct LiveStack {
    pub dir: PathBuf,
    pub signoz: FakeSignoz,
    pub kube: FakeKube,
    pub dns: FakeDns,
    pub tls: Vec<FakeTls>,
    pub elsewhere: NoTls,
    /// Network settings pointing at the fakes (resolver, test CA, connect_to routes).
    pub network_settings: NetworkSettings,
}

impl LiveStack {
    pub async fn start(dir: &Path, pki: &TestPki) -> LiveStack {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let signoz = FakeSignoz::start(dir, Some(SIGNOZ_KEY)).await;
        let kube = FakeKube::with_scenario(dir).await;
        let dns = FakeDns::from_scenario(dir).await;
        let mut tls = Vec::new();
        let mut connect_to = std::collections::BTreeMap::new();
        for cert in scenario_certs(dir) {
            let server = serve_recorded(pki, &cert).await;
            connect_to.insert(
                ConnectFrom::exact(&cert.host, cert.port).expect("host"),
                server.addr().to_string().parse().expect("target"),
            );
            tls.push(server);
        }
        let elsewhere = NoTls::start().await;
        connect_to.insert(
            "*:*".parse().expect("catch-all"),
            elsewhere.addr().to_string().parse().expect("target"),
        );
        let network_settings = NetworkSettings {
            nameservers: vec![dns.addr().to_string().parse().expect("nameserver")],
            extra_ca_file: Some(pki.ca_file()),
            connect_to,
            ..NetworkSettings::default()
        };
        LiveStack {
            dir: dir.to_path_buf(),
            signoz,
            kube,
            dns,
            tls,
            elsewhere,
            network_settings,
        }
    }

    /// The live backends over the fakes (certificates verified at the alert's time).
    pub fn backends(&self) -> Backends {
        let http = reqwest::Client::new();
        let signoz = SignozHttp::new(
            http,
            &SignozSettings::default(),
            self.signoz.url(),
            Some(Secret::new(SIGNOZ_KEY)),
        )
        .expect("signoz backend");
        let kube = KubeApi::from_config(self.kube.config(), &KubernetesSettings::default())
            .expect("kube backend");
        let mut network = LiveNetwork::new(&self.network_settings).expect("network backend");
        if let Some(at) = fired_at(&self.dir) {
            network = network.with_clock(Clock::Fixed(at));
        }
        let recorded = fixture_backends(Some(&self.dir)).expect("fixture backends");
        let live = |source: &str| SourceStatus {
            source: source.to_string(),
            mode: SourceMode::Live,
            detail: "local fake".to_string(),
        };
        Backends {
            signoz: Arc::new(signoz),
            kube: Arc::new(kube),
            network: Arc::new(network),
            slack: recorded.slack,
            sources: vec![live("signoz"), live("kubernetes"), live("network")],
        }
    }

    /// The address of the fake Kubernetes API server (`http://127.0.0.1:PORT`).
    pub fn kube_url(&self) -> String {
        self.kube.url()
    }

    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.addr()
    }
}

//! Shared test support for sre-agent's integration tests.
//!
//! Each integration test crate that needs these helpers declares `mod support;`
//! and uses, e.g., `support::fake_slack::FakeSlack`. Not every test crate uses
//! every helper, so dead-code warnings are silenced inside the helper modules.

pub mod fake_dns;
pub mod fake_kube;
pub mod fake_llm;
pub mod fake_signoz;
pub mod fake_slack;
pub mod fake_tls;
pub mod kube_live;
pub mod live_stack;
pub mod properties;

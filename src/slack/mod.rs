//! Everything Slack: Block Kit rendering of an RCA, the Web API caller, and the Socket Mode bot
//! (ingest, thread replies, `/rca`, buttons, catch-up).

pub mod api;
pub mod blocks;
pub mod links;
pub mod metrics;

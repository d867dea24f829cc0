//! Everything Slack: Block Kit rendering of an RCA, the Web API caller, and the Socket Mode bot
//! (ingest, thread replies, `/rca`, buttons, resolved notes, catch-up).

pub mod api;
pub mod blocks;
pub mod bot;
pub mod ingest;
pub mod links;
pub mod metrics;
pub mod text;

pub use bot::{Bot, BotConfig, BotError, BotHandle, EnvError};

//! Everything Slack: Block Kit rendering of an RCA (and, later, the Socket Mode bot).

pub mod blocks;
pub mod text;

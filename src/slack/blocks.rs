//! `Rca` → Block Kit blocks and a plain-text fallback. Pure functions. (stub)

use crate::rca::Rca;

/// What the renderer needs besides the RCA.
#[derive(Debug, Clone)]
pub struct ReplyContext<'a> {
    pub alert_title: &'a str,
    pub service: Option<&'a str>,
    pub agent: &'a str,
    pub elapsed_ms: u64,
}

/// The thread reply as Slack Block Kit JSON (`blocks` array).
pub fn render_blocks(rca: &Rca, ctx: &ReplyContext<'_>) -> Vec<serde_json::Value> {
    let _ = (rca, ctx);
    Vec::new()
}

/// The same reply as plain text (message `text` fallback and terminal output).
pub fn render_text(rca: &Rca, ctx: &ReplyContext<'_>) -> String {
    format!("{}\n{}\nagent: {}", rca.summary, rca.root_cause, ctx.agent)
}

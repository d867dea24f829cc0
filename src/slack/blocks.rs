//! `Rca` → Slack Block Kit blocks for the thread reply. Pure functions, no I/O.
//!
//! The blocks are built from slack-morphism's typed Block Kit structs and serialised with
//! `serde_json::to_value`, so every block carries its `type`. The layout, in order:
//!
//! | # | block | content |
//! |---|---|---|
//! | 1 | header | `🔍 RCA: <alert title>` (plain text) |
//! | 2 | section | summary, then `*Service:* `svc`` when known |
//! | 3 | section | `*🎯 Root cause*` |
//! | 3b | section | `*⚠️ Not found in the evidence*`: claims of an LLM answer the grounding check did not find (omitted when empty) |
//! | 4 | section | `*🧪 Hypotheses*` (omitted when empty) |
//! | 5 | section | `*📅 Timeline*`, `• `HH:MM:SS UTC` event` (omitted when empty) |
//! | 6 | section | `*⚡ Immediate actions*`, numbered, each command in a ``` block (omitted when empty) |
//! | 7 | section | `*🛡️ Prevention*` bullets (omitted when empty) |
//! | 8 | section | `*📊 Key metrics*` with one `fields` entry per metric (omitted when empty) |
//! | 9 | section | `*🔎 Missing evidence*` bullets (omitted when empty) |
//! | 10 | divider | |
//! | 11 | context | `Agent: … · Reasoner: … · Confidence: … · Response time: … s` (an LLM's reasoner reads `llm:gpt-4o-mini · 2 tool calls · 5.1k tokens · 6.3 s · $0.0012`), then `Sources: live … · unavailable: …` when not replaying fixtures |
//! | 12 | actions | `rca_actions`: Re-run, 👍 Helpful, 👎 Not helpful |
//!
//! Whatever the input, the output stays inside Slack's limits: at most 50 blocks, header ≤ 150,
//! section text ≤ 3000, ≤ 10 fields of ≤ 2000, ≤ 10 context elements, button value ≤ 2000.
//! Lengths are counted in UTF-16 code units, which is never less than the character count, so
//! the limits hold however Slack counts. Long text is cut on a character boundary, never inside
//! an `&amp;`-style entity, with any open ``` fence closed before the trailing `…`; long lists
//! are cut between items and end with `…and N more`. A command is never shown cut short: an
//! action that does not fit whole is counted in `…and N more` instead.
//!
//! All text taken from the RCA or the alert is escaped (`&` `<` `>` → `&amp;` `&lt;` `&gt;`, as
//! Slack requires in every text object), so it can neither ping (`<!channel>`) nor forge links;
//! runs of backticks are broken with a zero-width space so only the renderer opens code fences.

use std::borrow::Cow;

use serde_json::{Value, json};
use slack_morphism::prelude::{
    SlackActionBlockElement, SlackActionId, SlackActionsBlock, SlackBlock, SlackBlockButtonElement,
    SlackBlockId, SlackBlockMarkDownText, SlackBlockPlainText, SlackBlockText, SlackContextBlock,
    SlackContextBlockElement, SlackDividerBlock, SlackHeaderBlock, SlackSectionBlock,
};

use crate::rca::{Action, Hypothesis, KeyMetric, Likelihood, LlmUsage, Rca, TimelineEntry};
use crate::tools::{SourceMode, SourceStatus};

pub use super::text::{render_terminal, render_text};

/// What the renderer needs besides the RCA.
#[derive(Debug, Clone)]
pub struct ReplyContext<'a> {
    pub alert_title: &'a str,
    pub service: Option<&'a str>,
    pub agent: &'a str,
    pub elapsed_ms: u64,
    /// The alert's fingerprint, carried in the buttons' `value` so a click can find the run.
    pub fingerprint: Option<&'a str>,
    /// Where the evidence came from; shown when any source is live or unavailable.
    pub sources: &'a [SourceStatus],
    /// The object the alert is about and how it was found (`deployment shop/checkout — label
    /// deployment=checkout`), shown under the service.
    pub target: Option<&'a str>,
}

/// `Sources: live signoz, kubernetes · unavailable: slack (SLACK_BOT_TOKEN not set)`, or `None`
/// when every source is a recorded fixture (replays, where the footer stays as it was).
pub fn sources_line(sources: &[SourceStatus]) -> Option<String> {
    let named = |mode: SourceMode, with_detail: bool| -> Vec<String> {
        sources
            .iter()
            .filter(|s| s.mode == mode)
            .map(|s| {
                if with_detail && !s.detail.is_empty() {
                    format!("{} ({})", s.source, s.detail)
                } else {
                    s.source.clone()
                }
            })
            .collect()
    };
    let live = named(SourceMode::Live, false);
    let unavailable = named(SourceMode::Unavailable, true);
    if live.is_empty() && unavailable.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !live.is_empty() {
        parts.push(format!("live {}", live.join(", ")));
    }
    if !unavailable.is_empty() {
        parts.push(format!("unavailable: {}", unavailable.join(", ")));
    }
    Some(format!("Sources: {}", parts.join(" · ")))
}

/// Slack's limits for a message's blocks (see `reference/slack.md`).
pub mod limits {
    /// Blocks per message.
    pub const MAX_BLOCKS: usize = 50;
    /// `header` text (plain_text).
    pub const HEADER_TEXT: usize = 150;
    /// `section.text`.
    pub const SECTION_TEXT: usize = 3000;
    /// Number of `section.fields`.
    pub const SECTION_FIELDS: usize = 10;
    /// Each `section.fields` text.
    pub const FIELD_TEXT: usize = 2000;
    /// Elements of a `context` block.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// A context element's text (same as a text object in a section).
    pub const CONTEXT_TEXT: usize = 3000;
    /// A button's `value`.
    pub const BUTTON_VALUE: usize = 2000;
    /// A message's top-level `text`.
    pub const MESSAGE_TEXT: usize = 4000;
}

/// `block_id` of the buttons.
pub const ACTIONS_BLOCK_ID: &str = "rca_actions";
/// `action_id` of the Re-run button.
pub const ACTION_RERUN: &str = "rca_rerun";
/// `action_id` of the 👍 button.
pub const ACTION_FEEDBACK_UP: &str = "rca_feedback_up";
/// `action_id` of the 👎 button.
pub const ACTION_FEEDBACK_DOWN: &str = "rca_feedback_down";

// Per-item caps, so one huge item cannot push every other item out of its section.
pub(crate) const TITLE_MAX: usize = 300;
pub(crate) const COMMAND_MAX: usize = 1500;
pub(crate) const ITEM_MAX: usize = 1000;
pub(crate) const LINE_MAX: usize = 500;
pub(crate) const REASONER_MAX: usize = 300;
const METRIC_NAME_MAX: usize = 200;

/// The thread reply as Slack Block Kit JSON (`blocks` array).
pub fn render_blocks(rca: &Rca, ctx: &ReplyContext<'_>) -> Vec<Value> {
    let mut blocks: Vec<SlackBlock> = Vec::with_capacity(12);

    blocks.push(header(&format!(
        "🔍 RCA: {}",
        one_line(&clip(
            or(ctx.alert_title, "(untitled alert)"),
            limits::HEADER_TEXT
        ))
    )));

    blocks.push(section(&summary_mrkdwn(
        &rca.summary,
        ctx.service,
        ctx.target,
    )));

    let root_cause = match rca.root_cause.trim() {
        "" => "_Not determined._".to_owned(),
        rc => esc(&clip(rc, limits::SECTION_TEXT)),
    };
    blocks.push(section(&truncate(
        &format!("*🎯 Root cause*\n{root_cause}"),
        limits::SECTION_TEXT,
    )));
    blocks.extend(list_section(
        UNSUPPORTED_HEADING_MRKDWN,
        &bullets(&rca.unsupported),
        true,
    ));

    let hypotheses: Vec<String> = rca.hypotheses.iter().map(hypothesis_mrkdwn).collect();
    let timeline: Vec<String> = rca.timeline.iter().map(timeline_mrkdwn).collect();
    // Commands are never cut short (`partial: false`).
    let actions = numbered(&rca.actions);
    let prevention = bullets(&rca.prevention);
    let missing = bullets(&rca.missing_evidence);
    blocks.extend(list_section("*🧪 Hypotheses*", &hypotheses, true));
    blocks.extend(list_section("*📅 Timeline*", &timeline, true));
    blocks.extend(list_section("*⚡ Immediate actions*", &actions, false));
    blocks.extend(list_section("*🛡️ Prevention*", &prevention, true));
    blocks.extend(metrics_section(&rca.metrics));
    blocks.extend(list_section("*🔎 Missing evidence*", &missing, true));

    blocks.push(SlackDividerBlock::new().into());
    blocks.push(footer(rca, ctx));
    blocks.push(buttons(ctx.fingerprint));

    blocks.truncate(limits::MAX_BLOCKS);
    blocks
        .into_iter()
        .filter_map(|b| match serde_json::to_value(&b) {
            Ok(v) => Some(v),
            Err(err) => {
                tracing::warn!(error = %err, "could not serialise a Block Kit block; skipped");
                None
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Blocks

fn header(text: &str) -> SlackBlock {
    let text = truncate(&esc(text), limits::HEADER_TEXT);
    SlackHeaderBlock::new(SlackBlockPlainText::new(text).with_emoji(true).into()).into()
}

fn section(mrkdwn: &str) -> SlackBlock {
    SlackSectionBlock::new().with_text(md(mrkdwn)).into()
}

/// A section of `heading` and `items`, or nothing when there are no items.
fn list_section(heading: &str, items: &[String], partial: bool) -> Option<SlackBlock> {
    (!items.is_empty()).then(|| {
        section(&fit_list(
            heading,
            items,
            "\n",
            limits::SECTION_TEXT,
            partial,
        ))
    })
}

/// The summary, then `*Service:* `svc`` and `*Target:* …` (always kept whole: the summary is
/// cut to make room).
fn summary_mrkdwn(summary: &str, service: Option<&str>, target: Option<&str>) -> String {
    let service = service.filter(|s| !s.trim().is_empty()).map(|svc| {
        format!(
            "*Service:* `{}`",
            truncate(&inline_code(&clip(svc, TITLE_MAX)), TITLE_MAX)
        )
    });
    let target = target.filter(|t| !t.trim().is_empty()).map(|t| {
        format!(
            "*Target:* {}",
            truncate(&esc(&one_line(&clip(t, 400))), 400)
        )
    });
    let service = match (service, target) {
        (Some(s), Some(t)) => Some(format!("{s}\n{t}")),
        (s, t) => s.or(t),
    };
    let room = limits::SECTION_TEXT - service.as_deref().map_or(0, |s| slen(s) + 1);
    let summary = match summary.trim() {
        "" => String::new(),
        s => truncate(&esc(&clip(s, limits::SECTION_TEXT)), room),
    };
    match (summary.is_empty(), service) {
        (true, None) => "_No summary._".to_owned(),
        (true, Some(svc)) => svc,
        (false, None) => summary,
        (false, Some(svc)) => format!("{summary}\n{svc}"),
    }
}

fn md(text: &str) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text.to_owned()))
}

fn metrics_section(metrics: &[KeyMetric]) -> Option<SlackBlock> {
    let fields: Vec<SlackBlockText> = metrics
        .iter()
        .filter(|m| !(m.name.trim().is_empty() && m.value.trim().is_empty()))
        .map(|m| md(&metric_field(m)))
        .collect();
    if fields.is_empty() {
        return None;
    }
    let mut text = "*📊 Key metrics*".to_owned();
    let shown = fields.len().min(limits::SECTION_FIELDS);
    if fields.len() > shown {
        text.push_str(&format!("\n{}", more_line(fields.len() - shown)));
    }
    let fields: Vec<SlackBlockText> = fields.into_iter().take(shown).collect();
    Some(
        SlackSectionBlock::new()
            .with_text(md(&text))
            .with_fields(fields)
            .into(),
    )
}

fn metric_field(m: &KeyMetric) -> String {
    let name = match m.name.trim() {
        "" => "metric".to_owned(),
        n => truncate(&esc(&one_line(&clip(n, METRIC_NAME_MAX))), METRIC_NAME_MAX),
    };
    let value = match m.value.trim() {
        "" => "–".to_owned(),
        v => esc(&clip(v, limits::FIELD_TEXT)),
    };
    truncate(&format!("*{name}*\n{value}"), limits::FIELD_TEXT)
}

fn footer(rca: &Rca, ctx: &ReplyContext<'_>) -> SlackBlock {
    let text = format!(
        "Agent: `{}` · Reasoner: {} · Confidence: {} ({:.2}) · Response time: {} s",
        truncate(
            &inline_code(&clip(or(ctx.agent, "unknown"), TITLE_MAX)),
            TITLE_MAX
        ),
        truncate(
            &esc(&one_line(&clip(&reasoner_label(rca), REASONER_MAX))),
            REASONER_MAX
        ),
        rca.confidence.label(),
        rca.confidence.value(),
        seconds(ctx.elapsed_ms),
    );
    let text = truncate(&text, limits::CONTEXT_TEXT);
    let mut elements = vec![SlackContextBlockElement::MarkDown(
        SlackBlockMarkDownText::new(text),
    )];
    if let Some(line) = sources_line(ctx.sources) {
        elements.push(SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(truncate(&esc(&one_line(&line)), limits::CONTEXT_TEXT)),
        ));
    }
    SlackContextBlock::new(elements).into()
}

/// Heading of the claims the grounding check could not find in the evidence.
pub const UNSUPPORTED_HEADING: &str = "⚠️ Not found in the evidence";
const UNSUPPORTED_HEADING_MRKDWN: &str = "*⚠️ Not found in the evidence*";

/// `5.1k`, `950`, `1.2M`.
fn tokens(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `$0.0012`, `$0.123`, `$1.23`.
fn dollars(c: f64) -> String {
    if c >= 1.0 {
        format!("${c:.2}")
    } else if c >= 0.01 {
        format!("${c:.3}")
    } else if c >= 0.0001 {
        format!("${c:.4}")
    } else {
        "<$0.0001".to_owned()
    }
}

/// What the LLM cost: `2 tool calls · 5.1k tokens · 6.3 s · $0.0012`.
pub fn cost_line(usage: &LlmUsage) -> String {
    let calls = match usage.tool_calls {
        1 => "1 tool call".to_owned(),
        n => format!("{n} tool calls"),
    };
    let mut s = format!(
        "{calls} · {} tokens · {:.1} s",
        tokens(usage.total_tokens()),
        usage.llm_ms as f64 / 1000.0
    );
    if let Some(c) = usage.cost_usd {
        s.push_str(&format!(" · {}", dollars(c)));
    }
    s
}

/// The footer's reasoner: `llm:gpt-4o-mini · 2 tool calls · 5.1k tokens · 6.3 s`, or
/// `offline (LLM timed out after 30 s) · …` with what the LLM spent before it failed.
pub fn reasoner_label(rca: &Rca) -> String {
    let name = or(&rca.reasoner, "unknown");
    match &rca.usage {
        // A model that was never reached cost nothing worth a line.
        Some(u) if u.total_tokens() > 0 || u.tool_calls > 0 || name.starts_with("llm:") => {
            format!("{name} · {}", cost_line(u))
        }
        _ => name.to_owned(),
    }
}

fn buttons(fingerprint: Option<&str>) -> SlackBlock {
    let button = |label: &str, action_id: &str, vote: Option<&str>| {
        SlackActionBlockElement::Button(
            SlackBlockButtonElement::new(
                SlackBlockPlainText::new(label.to_owned())
                    .with_emoji(true)
                    .into(),
            )
            .with_action_id(SlackActionId::new(action_id.to_owned()))
            .with_value(button_value(fingerprint, vote)),
        )
    };
    SlackActionsBlock::new(vec![
        button("Re-run", ACTION_RERUN, None),
        button("👍 Helpful", ACTION_FEEDBACK_UP, Some("up")),
        button("👎 Not helpful", ACTION_FEEDBACK_DOWN, Some("down")),
    ])
    .with_block_id(SlackBlockId::new(ACTIONS_BLOCK_ID.to_owned()))
    .into()
}

/// A button's `value`: JSON `{"fp":"<fingerprint>","vote":"up"}`; `fp` is left out when unknown
/// (or too long to fit 2000 characters), `vote` on the Re-run button.
pub fn button_value(fingerprint: Option<&str>, vote: Option<&str>) -> String {
    let mut obj = serde_json::Map::new();
    if let Some(fp) = fingerprint {
        obj.insert("fp".into(), Value::String(fp.to_owned()));
    }
    if let Some(vote) = vote {
        obj.insert("vote".into(), Value::String(vote.to_owned()));
    }
    let value = Value::Object(obj).to_string();
    if slen(&value) <= limits::BUTTON_VALUE {
        return value;
    }
    match vote {
        Some(vote) => json!({ "vote": vote }).to_string(),
        None => json!({}).to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Items (mrkdwn)

fn hypothesis_mrkdwn(h: &Hypothesis) -> String {
    let cause = match h.cause.trim() {
        "" => "(unnamed)".to_owned(),
        c => truncate(&esc(&one_line(&clip(c, TITLE_MAX))), TITLE_MAX),
    };
    let mut s = format!("• *{cause}* ({})", likelihood(h.likelihood));
    for (label, list) in [("for", &h.evidence_for), ("against", &h.evidence_against)] {
        let joined = join_clipped(list, "; ", ITEM_MAX);
        if !joined.is_empty() {
            s.push_str(&format!("\n   {label}: {}", esc(&joined)));
        }
    }
    truncate(&s, ITEM_MAX)
}

fn timeline_mrkdwn(t: &TimelineEntry) -> String {
    let event = truncate(&esc(&one_line(&clip(t.event.trim(), LINE_MAX))), LINE_MAX);
    format!("• `{}` {event}", t.at.format("%H:%M:%S UTC"))
}

fn action_mrkdwn(n: usize, a: &Action) -> String {
    let title = match a.title.trim() {
        "" if a.command.is_some() => "Run:".to_owned(),
        "" => "(no description)".to_owned(),
        t => truncate(&esc(&one_line(&clip(t, TITLE_MAX))), TITLE_MAX),
    };
    let mut s = format!("{n}. {title}");
    if let Some(cmd) = a
        .command
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let chars = cmd.chars().count();
        let mut cmd = esc(&clip(cmd, COMMAND_MAX));
        // A backtick next to the fence would merge with it.
        if cmd.starts_with('`') {
            cmd.insert(0, ' ');
        }
        if cmd.ends_with('`') {
            cmd.push(' ');
        }
        if slen(&cmd) <= COMMAND_MAX {
            s.push_str(&format!("\n```{cmd}```"));
        } else {
            s.push_str(&format!(
                "\n_(command too long to show here: {} characters)_",
                chars
            ));
        }
    }
    s
}

fn numbered(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter(|a| {
            !(a.title.trim().is_empty() && a.command.as_deref().is_none_or(|c| c.trim().is_empty()))
        })
        .enumerate()
        .map(|(i, a)| action_mrkdwn(i + 1, a))
        .collect()
}

fn bullets(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            truncate(
                &format!("• {}", esc(&one_line(&clip(s, LINE_MAX)))),
                LINE_MAX,
            )
        })
        .collect()
}

pub(crate) fn likelihood(l: Likelihood) -> &'static str {
    match l {
        Likelihood::Low => "low",
        Likelihood::Medium => "medium",
        Likelihood::High => "high",
    }
}

/// Milliseconds as seconds with two decimals.
pub(crate) fn seconds(ms: u64) -> String {
    format!("{:.2}", ms as f64 / 1000.0)
}

// ---------------------------------------------------------------------------------------------
// Text helpers, shared with `slack::text`

/// Length as Slack may count it: UTF-16 code units (≥ the number of characters).
pub fn slen(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Escapes text for Slack (`&` `<` `>`), and breaks runs of backticks with a zero-width space so
/// the text can never open or close a code fence.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace("``", "`\u{200B}`")
}

/// Escaped text for inside a single-backtick code span: one line, no backticks.
fn inline_code(s: &str) -> String {
    esc(&one_line(s.trim()).replace('`', "ˋ"))
}

/// `s` itself, or its first `max` characters and `…` when it is longer: a cheap pre-cut before
/// escaping, so huge inputs cost no more than the text that can be shown.
pub(crate) fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// `s` trimmed, or `default` when that is empty.
pub(crate) fn or<'a>(s: &'a str, default: &'a str) -> &'a str {
    match s.trim() {
        "" => default,
        t => t,
    }
}

/// The non-empty items, one line each, joined by `sep`, stopping once past `max` characters.
pub(crate) fn join_clipped(items: &[String], sep: &str, max: usize) -> String {
    let mut out = String::new();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if out.chars().count() > max {
            out.push_str(sep);
            out.push('…');
            break;
        }
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&one_line(&clip(item, max)));
    }
    out
}

/// Newlines and tabs folded into spaces.
pub(crate) fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r', '\t']) {
        s.split(['\n', '\r', '\t'])
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s.to_owned()
    }
}

/// `s` cut to at most `max` UTF-16 units, ending in `…` when cut: on a character boundary, never
/// inside an `&amp;`-style entity, and with an open ``` fence closed before the `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if slen(s) <= max {
        return s.to_owned();
    }
    if max < 4 {
        return "…".chars().take(max).collect();
    }
    // Room for the "…" and a closing "```".
    let budget = max.saturating_sub(4);
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let w = c.len_utf16();
        if used + w > budget {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    let mut kept = &s[..end];
    // An entity is at most 5 ASCII bytes (`&amp;`); drop one that the cut split.
    if let Some(amp) = kept.rfind('&')
        && kept.len() - amp < 5
        && !kept[amp..].contains(';')
    {
        kept = &kept[..amp];
    }
    let kept = kept.trim_end_matches(|c: char| c == '`' || c.is_whitespace());
    if kept.matches("```").count() % 2 == 1 {
        format!("{kept}```…")
    } else {
        format!("{kept}…")
    }
}

/// The closing line of a cut list.
pub(crate) fn more_line(n: usize) -> String {
    format!("…and {n} more")
}

/// `heading` then `items`, joined by `sep`, within `max` UTF-16 units. When the items do not all
/// fit, the list is cut between items and ends with `…and N more`. With `partial`, the first item
/// that does not fit is shown cut short (with `…`) when a useful part of it fits.
pub(crate) fn fit_list(
    heading: &str,
    items: &[String],
    sep: &str,
    max: usize,
    partial: bool,
) -> String {
    const MIN_PARTIAL: usize = 40;
    let sep_len = slen(sep);
    let mut out = heading.to_owned();
    let mut used = slen(&out);
    let n = items.len();
    for (i, item) in items.iter().enumerate() {
        let left_after = n - i - 1;
        let reserve = if left_after > 0 {
            sep_len + slen(&more_line(left_after))
        } else {
            0
        };
        let item_len = slen(item);
        if used + sep_len + item_len + reserve <= max {
            out.push_str(sep);
            out.push_str(item);
            used += sep_len + item_len;
            continue;
        }
        let room = max.saturating_sub(used + sep_len + reserve);
        if partial && room >= MIN_PARTIAL {
            out.push_str(sep);
            out.push_str(&truncate(item, room));
            if left_after > 0 {
                out.push_str(sep);
                out.push_str(&more_line(left_after));
            }
        } else {
            out.push_str(sep);
            out.push_str(&more_line(n - i));
        }
        break;
    }
    truncate(&out, max)
}

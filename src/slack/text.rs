//! `Rca` → plain text: the message's `text` fallback (notifications, clients without blocks) and
//! the terminal output of `replay`. Pure functions, no I/O.
//!
//! Both renderers carry the same sections as the blocks, in the same order: title, summary and
//! service, root cause, claims not found in the evidence, hypotheses, timeline, immediate
//! actions (with their commands), prevention, key metrics, missing evidence, and the footer
//! (agent, reasoner and what the LLM cost, confidence, response time).
//!
//! - [`render_text`] is for Slack: text from the RCA is escaped (`&` `<` `>`), and the whole is at
//!   most 4000 UTF-16 units. When it would be longer, every section gets an equal share of the
//!   room (a short section keeps all of it, the long ones are cut to the same length), so each
//!   heading survives and the footer is always kept whole. Commands are never shown cut short.
//! - [`render_terminal`] is the same text unescaped and uncut.

use std::borrow::Cow;

use super::blocks::{
    COMMAND_MAX, ITEM_MAX, LINE_MAX, REASONER_MAX, ReplyContext, TITLE_MAX, UNSUPPORTED_HEADING,
    clip, esc, fit_list, join_clipped, likelihood, limits, one_line, or, reasoner_label, seconds,
    slen, truncate,
};
use crate::rca::Rca;

/// The reply as plain text for Slack's message `text` (escaped, at most 4000 UTF-16 units).
pub fn render_text(rca: &Rca, ctx: &ReplyContext<'_>) -> String {
    render(rca, ctx, esc, Some(limits::MESSAGE_TEXT))
}

/// The reply as plain text for a terminal: nothing escaped, nothing cut.
pub fn render_terminal(rca: &Rca, ctx: &ReplyContext<'_>) -> String {
    render(rca, ctx, str::to_owned, None)
}

/// One titled block of lines; `partial` lets its first non-fitting item be shown cut short.
struct Section {
    heading: String,
    items: Vec<String>,
    partial: bool,
}

impl Section {
    fn render(&self, max: usize) -> String {
        fit_list(&self.heading, &self.items, "\n", max, self.partial)
    }
}

const SECTION_SEP: &str = "\n\n";

fn render(rca: &Rca, ctx: &ReplyContext<'_>, e: fn(&str) -> String, cap: Option<usize>) -> String {
    let capped = cap.is_some();
    // Per-item caps only apply when the whole is capped.
    let cut = |s: String, max: usize| if capped { truncate(&s, max) } else { s };
    let big = limits::MESSAGE_TEXT;

    let mut sections = Vec::with_capacity(9);

    let alert_title = one_line(&pre(
        capped,
        or(ctx.alert_title, "(untitled alert)"),
        limits::HEADER_TEXT,
    ));
    let title = cut(e(&format!("🔍 RCA: {alert_title}")), limits::HEADER_TEXT);
    // The service first: it is short, and a long summary must not push it out.
    let mut top = Vec::new();
    if let Some(svc) = ctx.service.map(str::trim).filter(|s| !s.is_empty()) {
        top.push(format!(
            "Service: {}",
            cut(e(&one_line(&pre(capped, svc, TITLE_MAX))), TITLE_MAX)
        ));
    }
    if let Some(t) = ctx.target.map(str::trim).filter(|t| !t.is_empty()) {
        top.push(format!(
            "Target: {}",
            cut(e(&one_line(&pre(capped, t, 400))), 400)
        ));
    }
    if !rca.summary.trim().is_empty() {
        top.push(e(&pre(capped, rca.summary.trim(), big)));
    }
    sections.push(Section {
        heading: title,
        items: top,
        partial: true,
    });

    let root_cause = match rca.root_cause.trim() {
        "" => "Not determined.".to_owned(),
        rc => e(&pre(capped, rc, big)),
    };
    sections.push(Section {
        heading: "🎯 Root cause".into(),
        items: vec![root_cause],
        partial: true,
    });
    let unsupported = rca
        .unsupported
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            cut(
                format!("• {}", e(&one_line(&pre(capped, s, LINE_MAX)))),
                LINE_MAX,
            )
        })
        .collect();
    push_list(&mut sections, UNSUPPORTED_HEADING, unsupported, true);

    let hypotheses = rca
        .hypotheses
        .iter()
        .map(|h| {
            let cause = match h.cause.trim() {
                "" => "(unnamed)".to_owned(),
                c => cut(e(&one_line(&pre(capped, c, TITLE_MAX))), TITLE_MAX),
            };
            let mut s = format!("• {cause} ({})", likelihood(h.likelihood));
            for (label, list) in [("for", &h.evidence_for), ("against", &h.evidence_against)] {
                let joined = join_clipped(list, "; ", if capped { ITEM_MAX } else { usize::MAX });
                if !joined.is_empty() {
                    s.push_str(&format!("\n   {label}: {}", e(&joined)));
                }
            }
            cut(s, ITEM_MAX)
        })
        .collect();
    push_list(&mut sections, "🧪 Hypotheses", hypotheses, true);

    let timeline = rca
        .timeline
        .iter()
        .map(|t| {
            let event = cut(
                e(&one_line(&pre(capped, t.event.trim(), LINE_MAX))),
                LINE_MAX,
            );
            format!("• {} {event}", t.at.format("%H:%M:%S UTC"))
        })
        .collect();
    push_list(&mut sections, "📅 Timeline", timeline, true);

    let actions = rca
        .actions
        .iter()
        .filter(|a| {
            !(a.title.trim().is_empty() && a.command.as_deref().is_none_or(|c| c.trim().is_empty()))
        })
        .enumerate()
        .map(|(i, a)| {
            let title = match a.title.trim() {
                "" if a.command.is_some() => "Run:".to_owned(),
                "" => "(no description)".to_owned(),
                t => cut(e(&one_line(&pre(capped, t, TITLE_MAX))), TITLE_MAX),
            };
            let mut s = format!("{}. {title}", i + 1);
            if let Some(cmd) = a
                .command
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
            {
                let chars = cmd.chars().count();
                let cmd = e(&pre(capped, cmd, COMMAND_MAX));
                if capped && slen(&cmd) > COMMAND_MAX {
                    s.push_str(&format!(
                        "\n   (command too long to show here: {chars} characters)"
                    ));
                } else {
                    s.push_str(&format!("\n   $ {}", cmd.replace('\n', "\n     ")));
                }
            }
            s
        })
        .collect();
    // Never cut a command short: an action that does not fit is counted in "…and N more".
    push_list(&mut sections, "⚡ Immediate actions", actions, false);

    let bullets = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                cut(
                    format!("• {}", e(&one_line(&pre(capped, s, LINE_MAX)))),
                    LINE_MAX,
                )
            })
            .collect()
    };
    push_list(
        &mut sections,
        "🛡️ Prevention",
        bullets(&rca.prevention),
        true,
    );

    let metrics = rca
        .metrics
        .iter()
        .filter(|m| !(m.name.trim().is_empty() && m.value.trim().is_empty()))
        .map(|m| {
            let name = match m.name.trim() {
                "" => "metric".to_owned(),
                n => cut(e(&one_line(&pre(capped, n, TITLE_MAX))), TITLE_MAX),
            };
            let value = e(&one_line(&pre(capped, m.value.trim(), LINE_MAX)));
            cut(format!("• {name}: {value}"), LINE_MAX)
        })
        .collect();
    push_list(&mut sections, "📊 Key metrics", metrics, true);
    push_list(
        &mut sections,
        "🔎 Missing evidence",
        bullets(&rca.missing_evidence),
        true,
    );

    let footer = format!(
        "Agent: {} · Reasoner: {} · Confidence: {} ({:.2}) · Response time: {} s",
        cut(
            e(&one_line(&pre(capped, or(ctx.agent, "unknown"), TITLE_MAX))),
            TITLE_MAX
        ),
        cut(
            e(&one_line(&pre(capped, &reasoner_label(rca), REASONER_MAX))),
            REASONER_MAX
        ),
        rca.confidence.label(),
        rca.confidence.value(),
        seconds(ctx.elapsed_ms),
    );
    let footer = match super::blocks::sources_line(ctx.sources) {
        Some(line) => format!("{footer}\n{}", e(&one_line(&line))),
        None => footer,
    };

    let Some(cap) = cap else {
        let mut parts: Vec<String> = sections.iter().map(|s| s.render(usize::MAX)).collect();
        parts.push(footer);
        return parts.join(SECTION_SEP);
    };

    let footer = truncate(&footer, cap / 4);
    let room = cap.saturating_sub(slen(&footer) + slen(SECTION_SEP));
    let body = fit_sections(&sections, room);
    truncate(&format!("{body}{SECTION_SEP}{footer}"), cap)
}

/// Pre-cut of raw input before escaping when the whole is capped, so huge inputs cost no more
/// than what can be shown.
fn pre(capped: bool, s: &str, max: usize) -> Cow<'_, str> {
    if capped {
        clip(s, max)
    } else {
        Cow::Borrowed(s)
    }
}

fn push_list(sections: &mut Vec<Section>, heading: &str, items: Vec<String>, partial: bool) {
    if !items.is_empty() {
        sections.push(Section {
            heading: heading.to_owned(),
            items,
            partial,
        });
    }
}

/// The sections joined, within `room` UTF-16 units: each section gets at most the same share
/// `t`, the largest `t` for which the whole fits (water-filling).
fn fit_sections(sections: &[Section], room: usize) -> String {
    let join = |t: usize| -> String {
        sections
            .iter()
            .map(|s| s.render(t))
            .collect::<Vec<_>>()
            .join(SECTION_SEP)
    };
    let full = join(usize::MAX);
    if slen(&full) <= room {
        return full;
    }
    let (mut lo, mut hi) = (0, room);
    let mut best = join(0);
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        let candidate = join(mid);
        if slen(&candidate) <= room {
            best = candidate;
            lo = mid + 1;
        } else if mid == 0 {
            break;
        } else {
            hi = mid - 1;
        }
    }
    best
}

//! A Slack message's content, decoded and bounded: `text`, each attachment's `pretext`,
//! `title`, `text`, `fields[]`, `fallback` (only when the attachment has nothing else; its links
//! always), `footer`, and `blocks` (section text and fields, header, context, rich text), with
//! Slack's mrkdwn escapes decoded (`&amp; &lt; &gt;`, `<url|label>` → `label (url)`) and every URL
//! collected as a link. The sender's identity is read here too.
//!
//! The content shares one byte budget ([`MAX_ALERT_BYTES`]) and the walk over attachments and
//! blocks is bounded, so hostile input stays cheap.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::MAX_ALERT_BYTES;
use super::identity::Sender;
use super::sources::{MessageParts, clip_bytes};

pub(super) type Object = Map<String, Value>;

/// Attachments, blocks and links looked at per message.
const MAX_ATTACHMENTS: usize = 100;
const MAX_BLOCKS: usize = 100;
const MAX_LINKS: usize = 64;
const MAX_LINK_BYTES: usize = 2048;
/// JSON nodes visited in blocks and rich text, and their depth.
const MAX_NODES: usize = 10_000;
const MAX_DEPTH: usize = 16;
/// Longest `<…>` control sequence recognised.
const MAX_CONTROL_BYTES: usize = 4096;

pub(super) fn str_of<'a>(o: &'a Object, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

pub(super) fn string_of(o: &Object, key: &str) -> Option<String> {
    str_of(o, key).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Slack's `"1760000000.000100"` (or a number) as a time.
pub(super) fn parse_ts(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, frac) = ts.trim().split_once('.').unwrap_or((ts.trim(), ""));
    let secs: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = if digits.is_empty() {
        0
    } else {
        let n: u32 = digits.parse().ok()?;
        let scale = 10u32.checked_pow(9u32.checked_sub(u32::try_from(digits.len()).ok()?)?)?;
        n.checked_mul(scale)?
    };
    DateTime::from_timestamp(secs, nanos)
}

fn ts_value(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => parse_ts(s),
        Value::Number(n) => n
            .as_i64()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .or_else(|| n.as_f64().and_then(|f| parse_ts(&format!("{f:.6}")))),
        _ => None,
    }
}

/// Everything a message carries, decoded and bounded.
#[derive(Debug, Default)]
pub(super) struct Content {
    pub parts: MessageParts,
    pub truncated: bool,
    pub attachment_ts: Option<DateTime<Utc>>,
}

impl Content {
    pub fn is_empty(&self) -> bool {
        self.parts.headline.is_none() && self.parts.body.trim().is_empty()
    }
}

/// Collect a message's content.
pub(super) fn collect(msg: &Object) -> Content {
    let mut c = Collector::new();
    let text = str_of(msg, "text").unwrap_or_default();
    c.line(text);
    let mut parts = MessageParts {
        sender: sender(msg),
        ..MessageParts::default()
    };
    let mut attachment_ts = None;
    let attachments = msg.get("attachments").and_then(Value::as_array);
    for att in attachments.into_iter().flatten().take(MAX_ATTACHMENTS) {
        if let Some(att) = att.as_object() {
            attachment(att, &mut c, &mut parts);
            attachment_ts = attachment_ts.or_else(|| att.get("ts").and_then(ts_value));
        }
    }
    c.blocks(msg.get("blocks"), !text.trim().is_empty());
    // Each piece was charged to the budget; the joins between them are bounded here too.
    let body = c.lines.join("\n");
    let (kept, cut) = clip_bytes(&body, MAX_ALERT_BYTES);
    c.truncated |= cut;
    parts.body = kept.to_string();
    parts.fields.append(&mut c.fields);
    parts.links = c.links;
    Content {
        parts,
        truncated: c.truncated,
        attachment_ts,
    }
}

/// Who posted the message: `bot_id`, `app_id` (or the bot profile's), `username`, bot name.
fn sender(msg: &Object) -> Sender {
    let profile = msg.get("bot_profile").and_then(Value::as_object);
    let of_profile = |k: &str| profile.and_then(|p| string_of(p, k));
    Sender {
        bot_id: string_of(msg, "bot_id").or_else(|| of_profile("id")),
        app_id: string_of(msg, "app_id").or_else(|| of_profile("app_id")),
        username: string_of(msg, "username"),
        bot_name: of_profile("name"),
    }
}

/// One attachment's pieces, in reading order; the first title becomes the headline.
fn attachment(att: &Object, c: &mut Collector, parts: &mut MessageParts) {
    let before = c.lines.len();
    c.line(str_of(att, "pretext").unwrap_or_default());
    let title = str_of(att, "title").unwrap_or_default();
    if let Some(link) = str_of(att, "title_link") {
        c.link(&unescape(link));
    }
    if parts.headline.is_none() && !title.trim().is_empty() {
        parts.headline = c.decode(title);
        parts.title_link = string_of(att, "title_link").map(|l| unescape(&l));
    } else {
        c.line(title);
    }
    // Alertmanager's fallback is `title | title_link`: its link survives where a client model
    // drops `title_link` (slack-morphism's typed attachments do).
    c.links_in(str_of(att, "fallback").unwrap_or_default());
    c.line(str_of(att, "text").unwrap_or_default());
    let fields = att.get("fields").and_then(Value::as_array);
    for field in fields.into_iter().flatten().take(MAX_BLOCKS) {
        if let Some(field) = field.as_object() {
            c.field(field, parts);
        }
    }
    c.blocks(att.get("blocks"), false);
    let had_content = c.lines.len() > before || !title.trim().is_empty();
    if !had_content {
        c.line(str_of(att, "fallback").unwrap_or_default());
    }
    let footer = str_of(att, "footer").unwrap_or_default();
    if parts.footer.is_none() && !footer.trim().is_empty() {
        parts.footer = Some(footer.trim().to_string());
    }
    c.line(footer);
}

/// Decoded lines, links and the byte budget they share.
struct Collector {
    lines: Vec<String>,
    seen: HashSet<String>,
    links: Vec<String>,
    /// Block Kit section fields read as (title, value).
    fields: Vec<(String, String)>,
    budget: usize,
    truncated: bool,
    nodes: usize,
}

impl Collector {
    fn new() -> Self {
        Collector {
            lines: Vec::new(),
            seen: HashSet::new(),
            links: Vec::new(),
            fields: Vec::new(),
            budget: MAX_ALERT_BYTES,
            truncated: false,
            nodes: 0,
        }
    }

    /// Decode one mrkdwn piece within the budget (and charge it).
    fn decode(&mut self, raw: &str) -> Option<String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        if self.budget == 0 {
            self.truncated = true;
            return None;
        }
        let (raw_kept, cut_raw) = clip_bytes(raw, self.budget.saturating_mul(2));
        let decoded = decode_mrkdwn(raw_kept, &mut |url| self.link(url));
        let (kept, cut) = clip_bytes(&decoded, self.budget);
        self.truncated |= cut_raw || cut;
        self.budget = self.budget.saturating_sub(kept.len() + 1);
        self.bare_links(kept);
        Some(kept.to_string())
    }

    /// Add a piece of content as a line (skipping exact repeats).
    fn line(&mut self, raw: &str) {
        if let Some(text) = self.decode(raw)
            && self.seen.insert(text.clone())
        {
            self.lines.push(text);
        }
    }

    /// An attachment field: a `title: value` line, and a (title, value) pair for labels.
    fn field(&mut self, field: &Object, parts: &mut MessageParts) {
        let title = self
            .decode(str_of(field, "title").unwrap_or_default())
            .unwrap_or_default();
        let value = self
            .decode(str_of(field, "value").unwrap_or_default())
            .unwrap_or_default();
        let line = match (title.is_empty(), value.is_empty()) {
            (_, true) => title.clone(),
            (true, false) => value.clone(),
            (false, false) => format!("{title}: {value}"),
        };
        if !title.is_empty() && !value.is_empty() {
            parts.fields.push((title, value));
        }
        if !line.is_empty() && self.seen.insert(line.clone()) {
            // Title and value were charged with one separator byte each: `: ` takes both, so
            // the line break is charged here.
            self.budget = self.budget.saturating_sub(1);
            self.lines.push(line);
        }
    }

    /// The links of a piece of text that is not content (an unused fallback), bounded.
    fn links_in(&mut self, raw: &str) {
        let (kept, _) = clip_bytes(raw, MAX_CONTROL_BYTES);
        let decoded = decode_mrkdwn(kept, &mut |url| self.link(url));
        self.bare_links(&decoded);
    }

    fn link(&mut self, url: &str) {
        let url = url.trim();
        let usable = !url.is_empty() && url.len() <= MAX_LINK_BYTES;
        if usable && self.links.len() < MAX_LINKS && !self.links.iter().any(|l| l == url) {
            self.links.push(url.to_string());
        }
    }

    /// Bare `http(s)://` URLs in decoded text.
    fn bare_links(&mut self, text: &str) {
        for word in text.split_whitespace() {
            if self.links.len() >= MAX_LINKS {
                return;
            }
            let Some(start) = word.find("http://").or_else(|| word.find("https://")) else {
                continue;
            };
            let url = word
                .get(start..)
                .unwrap_or_default()
                .trim_end_matches([')', ']', '>', ',', '.', ';', '"', '\'', '*', '_', '`']);
            self.link(url);
        }
    }

    /// Block Kit blocks: section text and fields, header, context elements, rich text (unless
    /// the message `text` already carries it).
    fn blocks(&mut self, blocks: Option<&Value>, skip_rich_text: bool) {
        let blocks = blocks.and_then(Value::as_array);
        for block in blocks.into_iter().flatten().take(MAX_BLOCKS) {
            self.nodes += 1;
            if self.nodes > MAX_NODES {
                return;
            }
            let Some(block) = block.as_object() else {
                continue;
            };
            match str_of(block, "type").unwrap_or_default() {
                "section" => {
                    self.text_object(block.get("text"));
                    self.section_fields(block.get("fields"));
                }
                "header" => self.text_object(block.get("text")),
                "context" => self.text_objects(block.get("elements")),
                "rich_text" if !skip_rich_text => {
                    let mut out = String::new();
                    self.rich_text(block, 0, &mut out);
                    self.plain_lines(&out);
                }
                _ => {}
            }
        }
    }

    /// A composition text object `{"type": "mrkdwn"|"plain_text", "text": …}`.
    fn text_object(&mut self, v: Option<&Value>) {
        let text = v.and_then(Value::as_object).and_then(|o| str_of(o, "text"));
        self.line(text.unwrap_or_default());
    }

    /// Section fields: each a line, and a (title, value) pair when written `*Title:* value` or
    /// `*Title*\nvalue`.
    fn section_fields(&mut self, v: Option<&Value>) {
        let items = v.and_then(Value::as_array);
        for item in items.into_iter().flatten().take(MAX_BLOCKS) {
            let raw = item.as_object().and_then(|o| str_of(o, "text"));
            let Some(text) = raw.and_then(|t| self.decode(t)) else {
                continue;
            };
            if let Some(pair) = field_pair(&text) {
                self.fields.push(pair);
            }
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if self.seen.insert(line.to_string()) {
                    self.lines.push(line.to_string());
                }
            }
        }
    }

    fn text_objects(&mut self, v: Option<&Value>) {
        let items = v.and_then(Value::as_array);
        for item in items.into_iter().flatten().take(MAX_BLOCKS) {
            self.text_object(Some(item));
        }
    }

    /// Rich text is structured, not escaped: add its lines without mrkdwn decoding.
    fn plain_lines(&mut self, text: &str) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if self.budget == 0 {
                self.truncated = true;
                return;
            }
            let (kept, cut) = clip_bytes(line, self.budget);
            self.truncated |= cut;
            self.budget = self.budget.saturating_sub(kept.len() + 1);
            if self.seen.insert(kept.to_string()) {
                self.lines.push(kept.to_string());
            }
        }
    }

    /// Flatten a rich_text element tree into `out`, bounded in depth, nodes and size.
    fn rich_text(&mut self, v: &Object, depth: usize, out: &mut String) {
        self.nodes += 1;
        if depth > MAX_DEPTH || self.nodes > MAX_NODES || out.len() > self.budget {
            return;
        }
        let field = |k: &str| str_of(v, k).unwrap_or_default();
        match field("type") {
            "text" => out.push_str(field("text")),
            "link" => {
                let (url, text) = (field("url"), field("text"));
                self.link(url);
                if text.is_empty() {
                    out.push_str(url);
                } else {
                    out.push_str(&format!("{text} ({url})"));
                }
            }
            "user" => out.push_str(&format!("@{}", field("user_id"))),
            "usergroup" => out.push_str(&format!("@{}", field("usergroup_id"))),
            "channel" => out.push_str(&format!("#{}", field("channel_id"))),
            "broadcast" => out.push_str(&format!("@{}", field("range"))),
            "emoji" => out.push_str(&format!(":{}:", field("name"))),
            kind => {
                let children = v.get("elements").and_then(Value::as_array);
                for child in children.into_iter().flatten() {
                    if let Some(child) = child.as_object() {
                        self.rich_text(child, depth + 1, out);
                    }
                }
                if kind != "rich_text_list" {
                    out.push('\n');
                }
            }
        }
    }
}

/// `*Status:*\nTriggered`, `*Status:* Triggered`, `*Status*\nTriggered` → (`Status`,
/// `Triggered`).
fn field_pair(text: &str) -> Option<(String, String)> {
    let rest = text.trim().strip_prefix('*')?;
    let (title, value) = rest.split_once(":*").or_else(|| rest.split_once('*'))?;
    let title = title.trim().trim_end_matches(':').trim();
    let value = value.trim();
    let usable = !title.is_empty() && !value.is_empty() && title.len() <= 64;
    usable.then(|| (title.to_string(), value.to_string()))
}

/// Decode Slack mrkdwn escapes: `&amp; &lt; &gt;`, `<url|label>` → `label (url)`, `<url>` →
/// `url`, `<@U1|bob>` → `@bob`, `<#C1|ops>` → `#ops`, `<!here>` → `@here`. URLs go to `link`.
pub(crate) fn decode_mrkdwn(raw: &str, link: &mut dyn FnMut(&str)) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(open) = rest.find('<') {
        unescape_into(rest.get(..open).unwrap_or_default(), &mut out);
        let after = rest.get(open + 1..).unwrap_or_default();
        match control_end(after) {
            Some(close) => {
                let inner = after.get(..close).unwrap_or_default();
                out.push_str(&control(inner, link));
                rest = after.get(close + 1..).unwrap_or_default();
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    unescape_into(rest, &mut out);
    out
}

/// Where a `<…>` control sequence starting at `after` ends, if it is one. The scan stops at the
/// next `<` or newline, so decoding stays linear on hostile input.
fn control_end(after: &str) -> Option<usize> {
    let window = after
        .get(..MAX_CONTROL_BYTES.min(after.len()))
        .unwrap_or(after);
    let close = window.find(['>', '<', '\n'])?;
    let inner = after.get(..close)?;
    let target = inner.split('|').next().unwrap_or_default();
    let is_control = after.get(close..)?.starts_with('>')
        && (target.starts_with(['@', '#', '!'])
            || target.contains("://")
            || target.starts_with("mailto:")
            || target.starts_with("tel:"));
    is_control.then_some(close)
}

/// Render one control sequence's inside.
fn control(inner: &str, link: &mut dyn FnMut(&str)) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (unescape(t), Some(unescape(l)).filter(|l| !l.is_empty())),
        None => (unescape(inner), None),
    };
    if let Some(id) = target
        .strip_prefix('@')
        .or_else(|| target.strip_prefix('#'))
    {
        let sigil = target.get(..1).unwrap_or_default();
        return format!("{sigil}{}", label.as_deref().unwrap_or(id));
    }
    if let Some(special) = target.strip_prefix('!') {
        return label.unwrap_or_else(|| {
            let word = special.split('^').next().unwrap_or_default();
            format!("@{word}")
        });
    }
    link(&target);
    match label {
        Some(label) if label != target => format!("{label} ({target})"),
        _ => target,
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    unescape_into(s, &mut out);
    out
}

/// `&amp;` → `&`, `&lt;` → `<`, `&gt;` → `>`, in one pass.
fn unescape_into(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        let (ch, skip) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
            .iter()
            .find(|(entity, _)| tail.starts_with(entity))
            .map_or(('&', 1), |(entity, ch)| (*ch, entity.len()));
        out.push(ch);
        rest = tail.get(skip..).unwrap_or_default();
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(s: &str) -> (String, Vec<String>) {
        let mut links = Vec::new();
        let out = decode_mrkdwn(s, &mut |u| links.push(u.to_string()));
        (out, links)
    }

    #[test]
    fn mrkdwn_decoding() {
        let (out, links) = decode(
            "a &amp;&lt;b&gt; <https://x.io/a?b=1&amp;c=2|docs> <@U1> <#C1|ops> <!here> <http://y>",
        );
        assert_eq!(
            out,
            "a &<b> docs (https://x.io/a?b=1&c=2) @U1 #ops @here http://y"
        );
        assert_eq!(links, vec!["https://x.io/a?b=1&c=2", "http://y"]);
        assert_eq!(decode("1 < 2 > 0").0, "1 < 2 > 0");
        assert_eq!(decode("<<<<").0, "<<<<");
        assert_eq!(decode("&amp;lt; &").0, "&lt; &");
        assert_eq!(decode("<!subteam^S1|@sre>").0, "@sre");
    }

    #[test]
    fn timestamps() {
        let t = parse_ts("1760000000.000100").unwrap();
        assert_eq!(t.timestamp(), 1_760_000_000);
        assert_eq!(t.timestamp_subsec_micros(), 100);
        assert_eq!(parse_ts("x"), None);
        assert_eq!(parse_ts("1.x"), None);
        assert!(ts_value(&json!(1760000100)).is_some());
        assert!(ts_value(&json!(1760000100.5)).is_some());
        assert_eq!(ts_value(&json!([])), None);
    }
}

//! The shipped Slack app manifest (`deploy/slack-app-manifest.yaml`) asks for what the bot uses:
//! Socket Mode, the events it reads, `/rca`, the "Run RCA" shortcut, interactivity, the scopes.

use serde_yaml::Value;

fn manifest() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/slack-app-manifest.yaml"
    ))
    .expect("manifest exists");
    serde_yaml::from_str(&text).expect("manifest is YAML")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bot_manifest_matches_what_the_bot_uses() {
    let m = manifest();
    assert_eq!(m["settings"]["socket_mode_enabled"].as_bool(), Some(true));
    assert_eq!(
        m["settings"]["interactivity"]["is_enabled"].as_bool(),
        Some(true)
    );
    let events = strings(&m["settings"]["event_subscriptions"]["bot_events"]);
    for e in ["message.channels", "message.groups", "app_mention"] {
        assert!(events.contains(&e.to_string()), "event {e}");
    }
    let scopes = strings(&m["oauth_config"]["scopes"]["bot"]);
    for s in [
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "chat:write",
        "commands",
        "channels:read",
        "groups:read",
    ] {
        assert!(scopes.contains(&s.to_string()), "scope {s}");
    }
    let commands = m["features"]["slash_commands"]
        .as_sequence()
        .expect("commands");
    assert!(
        commands
            .iter()
            .any(|c| c["command"].as_str() == Some("/rca"))
    );
    let shortcuts = m["features"]["shortcuts"].as_sequence().expect("shortcuts");
    assert!(shortcuts.iter().any(|s| s["callback_id"].as_str()
        == Some(sre_agent::slack::ingest::SHORTCUT_RUN_RCA)
        && s["type"].as_str() == Some("message")));
}

//! `sre-agent run` refuses to start without well-formed Slack tokens: a clear error naming the
//! variable, exit code 2, and never the token itself in the output.

use std::process::Command;

fn run(env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sre-agent"));
    cmd.arg("run")
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SLACK_API_URL")
        .env_remove("SRE_AGENT_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn bot_cli_missing_app_token_exits_2() {
    let (code, err) = run(&[("SLACK_BOT_TOKEN", "xoxb-1-2-abc")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SLACK_APP_TOKEN"), "{err}");
    assert!(err.contains("not set"), "{err}");
}

#[test]
fn bot_cli_missing_bot_token_exits_2() {
    let (code, err) = run(&[("SLACK_APP_TOKEN", "xapp-1-A1-1-abc")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SLACK_BOT_TOKEN"), "{err}");
}

#[test]
fn bot_cli_malformed_tokens_exit_2_without_echoing_them() {
    let (code, err) = run(&[
        ("SLACK_APP_TOKEN", "xoxb-secret-in-the-wrong-place"),
        ("SLACK_BOT_TOKEN", "xoxb-1-2-abc"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SLACK_APP_TOKEN"), "{err}");
    assert!(err.contains("xapp-"), "{err}");
    assert!(!err.contains("secret-in-the-wrong-place"), "{err}");

    let (code, err) = run(&[
        ("SLACK_APP_TOKEN", "xapp-1-A1-1-abc"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token-hidden"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SLACK_BOT_TOKEN"), "{err}");
    assert!(!err.contains("user-token-hidden"), "{err}");
}

#[test]
fn bot_cli_bad_api_url_exits_2() {
    let (code, err) = run(&[
        ("SLACK_APP_TOKEN", "xapp-1-A1-1-abc"),
        ("SLACK_BOT_TOKEN", "xoxb-1-2-abc"),
        ("SLACK_API_URL", "slack.com/api"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SLACK_API_URL"), "{err}");
}

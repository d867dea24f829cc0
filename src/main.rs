//! The `sre-agent` command line: `run` (the Slack bot), `replay`, `eval` and `config check`.
//!
//! Thin on purpose: it parses arguments, loads the configuration, builds the engine and prints.
//! Everything it runs lives in the library, so the tests drive the same code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use sre_agent::agent::Engine;
use sre_agent::config::{ConfigOrigin, LoadedConfig};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::pipeline::Pipeline;
use sre_agent::scenario::{self, Scenario};
use sre_agent::slack::{Bot, BotConfig};
use sre_agent::tools::{TOOL_NAMES, Toolbox, fixture::fixture_backends};

#[derive(Parser)]
#[command(
    name = "sre-agent",
    version,
    about = "Turns Slack alerts into root-cause analyses"
)]
struct Cli {
    /// Configuration file (default: ./agents.yaml, else the embedded one).
    #[arg(long, global = true, env = "SRE_AGENT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Slack bot (Socket Mode). Reads SLACK_APP_TOKEN (xapp-…), SLACK_BOT_TOKEN
    /// (xoxb-…) and SLACK_API_URL (default https://slack.com/api/) from the environment.
    Run {
        /// Socket Mode connections to keep open (1-10).
        #[arg(long, default_value_t = 2, env = "SRE_AGENT_SOCKET_CONNECTIONS")]
        connections: u32,
    },
    /// Run alerts through the whole pipeline offline and print the thread reply.
    Replay {
        /// Scenario directories, alert JSON files, or alert text. Several targets share one
        /// pipeline, so a repeated alert is reported as a duplicate.
        #[arg(required = true)]
        targets: Vec<String>,
        /// Print one JSON object per target instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Replay every scenario and score routing, root causes and latency.
    Eval {
        #[arg(default_value = "fixtures/scenarios")]
        dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate agents.yaml and the environment overrides; print every problem.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The bot logs its work at info; the one-shot commands keep stderr quiet.
    let level = match cli.command {
        Command::Run { .. } => "info",
        _ => "warn",
    };
    sre_agent::telemetry::init_logging(level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // The bot runs analyses on a runtime of their own, so CPU-heavy runs never delay the
    // Socket Mode acks and Slack calls on the main runtime.
    let analysis = match cli.command {
        Command::Run { .. } => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get().max(2) - 1);
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("analysis")
                .enable_all()
                .build()
            {
                Ok(rt) => Some(rt),
                Err(e) => {
                    eprintln!("error: cannot start the analysis runtime: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        _ => None,
    };
    let analysis_handle = analysis.as_ref().map(|rt| rt.handle().clone());
    let code = match runtime.block_on(run(cli, analysis_handle)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    };
    if let Some(rt) = analysis {
        rt.shutdown_background();
    }
    code
}

async fn run(cli: Cli, analysis: Option<tokio::runtime::Handle>) -> anyhow::Result<ExitCode> {
    let config = LoadedConfig::load(cli.config.as_deref(), TOOL_NAMES);
    match cli.command {
        Command::Run { connections } => run_bot(config, connections, analysis).await,
        Command::Config {
            command: ConfigCommand::Check,
        } => Ok(config_check(config)),
        Command::Replay { targets, json } => {
            let engine = engine(config?).await?;
            replay(&engine, &targets, json).await
        }
        Command::Eval { dir, json } => {
            let engine = engine(config?).await?;
            let report = scenario::eval(&engine, &dir)
                .await
                .with_context(|| format!("eval of {}", dir.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
            Ok(if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// `sre-agent run`: the Slack bot until SIGTERM / Ctrl-C.
async fn run_bot(
    config: Result<LoadedConfig, sre_agent::config::ConfigError>,
    connections: u32,
    analysis: Option<tokio::runtime::Handle>,
) -> anyhow::Result<ExitCode> {
    // Both ring and aws-lc-rs may be compiled in; pick one before any TLS connection.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Tokens first: the most common mistake, and nothing else is worth doing without them.
    let mut bot_cfg = match BotConfig::from_lookup(|k| std::env::var(k).ok(), Default::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let slack_cfg = config.config.slack.clone();
    bot_cfg.slack = slack_cfg.clone();
    bot_cfg.max_connections = connections.clamp(1, 10);
    let grace = std::time::Duration::from_secs(slack_cfg.shutdown_grace_secs);
    let engine = Arc::new(engine(config).await?);
    let pipeline = match analysis {
        Some(handle) => {
            Pipeline::start_on(engine.clone(), &engine.config().config.pipeline, handle)
        }
        None => Pipeline::start(engine.clone(), &engine.config().config.pipeline),
    };
    let bot = Bot::start(bot_cfg, pipeline)
        .await
        .context("cannot start the Slack bot")?;
    let bind = std::net::SocketAddr::from(([0, 0, 0, 0], slack_cfg.metrics_port));
    let ops = sre_agent::telemetry::serve_ops(bind, bot.ops())
        .await
        .with_context(|| format!("cannot listen on {bind} for /healthz, /readyz, /metrics"))?;
    tracing::info!(ops = %ops.addr(), "sre-agent bot running");
    wait_for_signal().await;
    tracing::info!(grace_secs = grace.as_secs(), "shutting down");
    let clean = bot.shutdown(grace).await;
    ops.stop().await;
    if !clean {
        tracing::warn!("some analyses did not finish within the shutdown grace period");
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM (Kubernetes) or Ctrl-C.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn config_check(config: Result<LoadedConfig, sre_agent::config::ConfigError>) -> ExitCode {
    match config {
        Ok(loaded) => {
            let from = match &loaded.origin {
                ConfigOrigin::File(p) => p.display().to_string(),
                ConfigOrigin::Embedded => "embedded default".to_string(),
            };
            println!(
                "configuration OK ({from}): {} agents ({}), default `{}`, {} workers, queue {}, dedup window {} s",
                loaded.config.agents.len(),
                loaded
                    .config
                    .agents
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                loaded.config.default_agent,
                loaded.config.pipeline.workers,
                loaded.config.pipeline.queue_capacity,
                loaded.config.pipeline.dedup_window_secs,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The engine over empty tools and the offline reasoner; replay swaps in each scenario's data.
async fn engine(config: LoadedConfig) -> anyhow::Result<Engine> {
    let toolbox = Toolbox::start(fixture_backends(None)?).await?;
    Ok(Engine::new(
        Arc::new(config),
        Arc::new(toolbox),
        Arc::new(OfflineReasoner),
    )?)
}

async fn replay(engine: &Engine, targets: &[String], json: bool) -> anyhow::Result<ExitCode> {
    // One pipeline for all targets so that repeats are seen as duplicates; each target's tools
    // serve its own fixture data.
    let mut shared: Option<Pipeline> = None;
    for target in targets {
        let scenario = Scenario::from_target(target)?;
        let intake = scenario
            .intake()
            .with_context(|| format!("cannot read {}", scenario.name))?;
        let catalogue = Arc::new(engine.config().config.metrics.clone());
        let toolbox = Arc::new(scenario.toolbox_with(catalogue).await?);
        let scenario_engine = Arc::new(engine.with_toolbox(toolbox));
        // Dedup state must carry over between targets: keep the first pipeline's dedup.
        let pipeline = match shared.take() {
            None => Pipeline::start(scenario_engine, &engine.config().config.pipeline),
            Some(prev) => prev.with_engine(scenario_engine),
        };
        // The clock starts when the alert "arrives": after the tools are up, as in the bot.
        let out = scenario::replay_intake(&pipeline, intake, std::time::Instant::now()).await;
        if json {
            println!("{}", serde_json::to_string(&out)?);
        } else {
            if targets.len() > 1 {
                println!("── {} ──", scenario.name);
            }
            println!("{}", out.terminal_text());
            if let Some(route) = &out.route {
                println!(
                    "\n(route: {} · score {} · {})",
                    route.agent,
                    route.score,
                    route.why.join("; ")
                );
            }
        }
        shared = Some(pipeline);
    }
    Ok(ExitCode::SUCCESS)
}

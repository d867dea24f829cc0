//! The `sre-agent` command line: `run` (the Slack bot), `replay`, `eval`, `mcp` and
//! `config check`.
//!
//! Thin on purpose: it parses arguments, loads the configuration, builds the engine and prints.
//! Everything it runs lives in the library, so the tests drive the same code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use sre_agent::agent::Engine;
use sre_agent::config::{ConfigOrigin, LoadedConfig};
use sre_agent::llm::Reasoner;
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::llm::openai::{LlmEnv, LlmReasoner};
use sre_agent::pipeline::Pipeline;
use sre_agent::scenario::{self, Scenario};
use sre_agent::slack::{Bot, BotConfig};
use sre_agent::tools::live::{self, LiveSources};
use sre_agent::tools::stdio::{self, Toolset};
use sre_agent::tools::{ExternalServers, TOOL_NAMES, Toolbox, fixture::fixture_backends};

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
        /// Read the live sources configured in `backends:` and the environment (SigNoz,
        /// Kubernetes, TLS/DNS probes, Slack, external MCP servers) instead of the recorded
        /// fixtures; the footer names which sources were live and which unavailable.
        #[arg(long)]
        live: bool,
        /// Who reasons: the LLM the environment configures (OPENAI_API_KEY or
        /// AZURE_OPENAI_API_KEY), else the offline analyzer (`auto`); or force one.
        #[arg(long, value_enum, default_value_t = ReasonerChoice::Auto)]
        reasoner: ReasonerChoice,
    },
    /// Serve one embedded toolset over stdio for any MCP client.
    Mcp {
        /// signoz, kubernetes, network or slack.
        toolset: Toolset,
        /// Serve a scenario directory's recorded data instead of the live source.
        #[arg(long)]
        fixtures: Option<PathBuf>,
    },
    /// Replay every scenario and score routing, root causes and latency.
    Eval {
        #[arg(default_value = "fixtures/scenarios")]
        dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Score the offline analyzer (default) or the LLM the environment configures.
        #[arg(long, value_enum, default_value_t = ReasonerChoice::Offline)]
        reasoner: ReasonerChoice,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// Which reasoner a command uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReasonerChoice {
    /// The LLM when the environment configures one, else offline.
    Auto,
    /// The LLM; an error when none is configured.
    Llm,
    /// The deterministic offline analyzer.
    Offline,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate agents.yaml and the environment overrides; print every problem.
    Check {
        /// Also connect to each configured source and print one line each.
        #[arg(long)]
        probe: bool,
    },
}

fn main() -> ExitCode {
    // Both ring and aws-lc-rs may be compiled in; pick one before any TLS client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
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
            command: ConfigCommand::Check { probe },
        } => Ok(config_check(config, probe).await),
        Command::Replay {
            targets,
            json,
            live,
            reasoner,
        } => {
            let config = config?;
            let http = live::http_client()?;
            let reasoner = choose_reasoner(&config, reasoner, &http)?;
            if live {
                let toolbox = live_toolbox(&config, None, &http).await?;
                let engine = Engine::new(Arc::new(config), Arc::new(toolbox), reasoner)?;
                replay_live(engine, &targets, json).await
            } else {
                let engine = engine(config, reasoner).await?;
                replay(&engine, &targets, json).await
            }
        }
        Command::Mcp { toolset, fixtures } => {
            let config = config?;
            let backends = match fixtures {
                Some(dir) => fixture_backends(Some(&dir))?,
                None => {
                    let http = live::http_client()?;
                    let lookup = |k: &str| std::env::var(k).ok();
                    LiveSources::connect(&config.config.backends, &lookup, &http, None)
                        .await
                        .backends()
                }
            };
            let catalogue = Arc::new(config.config.metrics.clone());
            stdio::serve_stdio(toolset, backends, catalogue).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            dir,
            json,
            reasoner,
        } => {
            let config = config?;
            let http = live::http_client()?;
            let reasoner = choose_reasoner(&config, reasoner, &http)?;
            let engine = engine(config, reasoner).await?;
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
    bot_cfg.sources = config.config.source_map();
    bot_cfg.max_connections = connections.clamp(1, 10);
    let grace = std::time::Duration::from_secs(slack_cfg.shutdown_grace_secs);
    let api = Bot::web_api(&bot_cfg).context("cannot build the Slack client")?;
    // One HTTP client for the process: live sources, external MCP servers, the LLM.
    let http = live::http_client()?;
    let reasoner = match choose_reasoner(&config, ReasonerChoice::Auto, &http) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    tracing::info!(reasoner = %reasoner.name(), "reasoner");
    let toolbox = live_toolbox(&config, Some(api.clone()), &http).await?;
    for source in toolbox.sources() {
        tracing::info!(source = %source.source, mode = ?source.mode, detail = %source.detail, "evidence source");
    }
    let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(toolbox), reasoner)?);
    let pipeline = match analysis {
        Some(handle) => {
            Pipeline::start_on(engine.clone(), &engine.config().config.pipeline, handle)
        }
        None => Pipeline::start(engine.clone(), &engine.config().config.pipeline),
    };
    let bot = Bot::start_with_api(bot_cfg, pipeline, api)
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

/// The toolbox over the live sources and the external MCP servers of `config`.
async fn live_toolbox(
    config: &LoadedConfig,
    slack: Option<Arc<sre_agent::slack::api::SlackApi>>,
    http: &reqwest::Client,
) -> anyhow::Result<Toolbox> {
    let lookup = |k: &str| std::env::var(k).ok();
    let sources = LiveSources::connect(&config.config.backends, &lookup, http, slack).await;
    let toolbox = Toolbox::start_with(
        sources.backends(),
        Some(Arc::new(config.config.metrics.clone())),
        Some(ExternalServers {
            specs: &config.config.mcp_servers,
            lookup: &lookup,
            http,
        }),
    )
    .await?;
    Ok(toolbox)
}

/// The reasoner `choice` asks for: the LLM of the environment, or the offline analyzer.
fn choose_reasoner(
    config: &LoadedConfig,
    choice: ReasonerChoice,
    http: &reqwest::Client,
) -> anyhow::Result<Arc<dyn Reasoner>> {
    if choice == ReasonerChoice::Offline {
        return Ok(Arc::new(OfflineReasoner));
    }
    let lookup = |k: &str| std::env::var(k).ok();
    match LlmReasoner::from_env(&lookup, config.config.llm.clone(), http.clone())
        .context("the LLM configuration in the environment is incomplete")?
    {
        Some(llm) => Ok(Arc::new(llm)),
        None if choice == ReasonerChoice::Llm => anyhow::bail!(
            "--reasoner llm: no LLM is configured; set OPENAI_API_KEY (and OPENAI_MODEL, \
             OPENAI_BASE_URL) or AZURE_OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT and \
             AZURE_OPENAI_DEPLOYMENT"
        ),
        None => Ok(Arc::new(OfflineReasoner)),
    }
}

/// `reasoner: …` of `config check`; `Err` when the LLM variables are incomplete.
fn reasoner_line() -> Result<(String, Option<LlmEnv>), String> {
    let lookup = |k: &str| std::env::var(k).ok();
    match LlmEnv::from_lookup(&lookup) {
        Ok(Some(env)) => Ok((format!("reasoner: llm ({})", env.describe()), Some(env))),
        Ok(None) => Ok((
            "reasoner: offline (no OPENAI_API_KEY or AZURE_OPENAI_API_KEY set)".to_string(),
            None,
        )),
        Err(e) => Err(format!("LLM configuration: {e}")),
    }
}

async fn config_check(
    config: Result<LoadedConfig, sre_agent::config::ConfigError>,
    probe: bool,
) -> ExitCode {
    let mut code = print_config(&config);
    let llm_env = match reasoner_line() {
        Ok((line, env)) => {
            println!("{line}");
            env
        }
        Err(e) => {
            eprintln!("error: {e}");
            code = ExitCode::from(2);
            None
        }
    };
    let (true, Ok(loaded)) = (probe, config) else {
        return code;
    };
    let http = match live::http_client() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let lookup = |k: &str| std::env::var(k).ok();
    let slack = BotConfig::from_lookup(lookup, Default::default())
        .ok()
        .and_then(|cfg| Bot::web_api(&cfg).ok());
    let sources = LiveSources::connect(&loaded.config.backends, &lookup, &http, slack).await;
    for line in sources.probe().await {
        println!("{line}");
    }
    if let Some(env) = llm_env {
        let describe = env.describe();
        let llm = LlmReasoner::new(env, loaded.config.llm.clone(), http.clone());
        match llm.probe(std::time::Duration::from_secs(20)).await {
            Ok(answer) => println!(
                "llm: OK, model {} answered in {:.2} s ({describe})",
                answer.model,
                answer.elapsed.as_secs_f64()
            ),
            Err(e) => println!("llm: FAILED: {e} ({describe})"),
        }
    }
    if !loaded.config.mcp_servers.is_empty() {
        match Toolbox::start_with(
            fixture_backends(None).unwrap_or_else(|_| sources.backends()),
            None,
            Some(ExternalServers {
                specs: &loaded.config.mcp_servers,
                lookup: &lookup,
                http: &http,
            }),
        )
        .await
        {
            Ok(toolbox) => {
                for s in toolbox
                    .sources()
                    .iter()
                    .filter(|s| s.source.starts_with("mcp:"))
                {
                    println!("{}: {:?} ({})", s.source, s.mode, s.detail);
                }
                toolbox.shutdown().await;
            }
            Err(e) => println!("mcp servers: FAILED: {e}"),
        }
    }
    code
}

fn print_config(config: &Result<LoadedConfig, sre_agent::config::ConfigError>) -> ExitCode {
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

/// The engine over empty tools; replay swaps in each scenario's data.
async fn engine(config: LoadedConfig, reasoner: Arc<dyn Reasoner>) -> anyhow::Result<Engine> {
    let toolbox = Toolbox::start(fixture_backends(None)?).await?;
    Ok(Engine::new(Arc::new(config), Arc::new(toolbox), reasoner)?)
}

/// `replay --live`: every target through one pipeline whose tools read the live sources.
async fn replay_live(engine: Engine, targets: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let engine = Arc::new(engine);
    let pipeline = Pipeline::start(engine.clone(), &engine.config().config.pipeline);
    for target in targets {
        let scenario = Scenario::from_target(target)?;
        let intake = scenario
            .intake_with(&engine.config().config.source_map())
            .with_context(|| format!("cannot read {}", scenario.name))?;
        let out = scenario::replay_intake(&pipeline, intake, std::time::Instant::now()).await;
        print_replay(&out, &scenario.name, targets.len() > 1, json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Print one replay; a closed stdout (`| head`) ends the output quietly instead of panicking.
fn print_replay(
    out: &scenario::ReplayOutput,
    name: &str,
    several: bool,
    json: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut text = String::new();
    if json {
        text.push_str(&serde_json::to_string(out)?);
    } else {
        if several {
            text.push_str(&format!("── {name} ──\n"));
        }
        text.push_str(&out.terminal_text());
        if let Some(route) = &out.route {
            text.push_str(&format!(
                "\n\n(route: {} · score {} · {})",
                route.agent,
                route.score,
                route.why.join("; ")
            ));
        }
    }
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

async fn replay(engine: &Engine, targets: &[String], json: bool) -> anyhow::Result<ExitCode> {
    // One pipeline for all targets so that repeats are seen as duplicates; each target's tools
    // serve its own fixture data.
    let mut shared: Option<Pipeline> = None;
    for target in targets {
        let scenario = Scenario::from_target(target)?;
        let intake = scenario
            .intake_with(&engine.config().config.source_map())
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
        print_replay(&out, &scenario.name, targets.len() > 1, json)?;
        shared = Some(pipeline);
    }
    Ok(ExitCode::SUCCESS)
}

//! mailbot: Feedback Desk's mail daemon and admin command line.
//!
//! Commands that need no mail server: `classify` (JSON lines in, assessments out), `evaluate` (accuracy on
//! the labelled corpus), `check-policy` (validate a council's policy file) and `check-config` (validate a
//! daemon config). The daemon: `run CONFIG [--once]` watches the configured mailboxes; `reconcile CONFIG`
//! re-ingests processed messages the store lacks. Over the stored records: `report`, `export`, `purge`,
//! `subject-access`, `erase` and `audit-log` (see `records`). Operations: `import CONFIG --mbox FILE |
//! --maildir DIR` backfills old mail, `backup CONFIG FILE` and `restore CONFIG FILE` export and load the
//! store.
//! The feedback team: `serve CONFIG` (the web console), `hash-password`, `cases`, `case`, `reclassify`
//! (see `admin_cli`).

mod admin_cli;
mod classify;
mod evaluate;
mod records;

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use feedback_core::Policy;
use mailbot::config::{Checks, Config, ProcessedAction};
use mailbot::daemon::{self, Mode};
use mailbot::import;
use mailbot::ingest::{IngestSettings, Ingestor};
use mailbot::metrics::{self, Metrics};
use mailbot::store::Store;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "mailbot",
    version,
    about = "Feedback Desk: the council's feedback mail daemon and admin tools"
)]
struct Cli {
    /// A council policy file (TOML); Kent's embedded policy when not given.
    #[arg(long, global = true, value_name = "FILE")]
    policy: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assess JSON lines from stdin: {"id", "text", "subject"?, "received"?, "aware_since"?, ...}; one JSON
    /// line out per line in. A malformed line gets an error line naming it; the rest go on.
    Classify {
        /// The date of the assessment (default: today); a line's `received` date takes its place for that line.
        #[arg(long, value_name = "YYYY-MM-DD")]
        today: Option<NaiveDate>,
    },
    /// Score the classifier on labelled corpus files (JSON lines with `expect`), per label.
    Evaluate {
        /// Corpus files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the messages it got wrong.
        #[arg(long)]
        show_errors: bool,
        /// Write the report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy file and say exactly what is wrong with it.
    CheckPolicy {
        /// The policy file.
        file: PathBuf,
    },
    /// Validate a daemon config file (and the secrets and CA files it names) and list every problem.
    CheckConfig {
        /// The config file (see examples/mailbot.toml).
        file: PathBuf,
    },
    /// Watch the configured mailboxes and turn every email into a case (until Ctrl-C or SIGTERM).
    Run {
        /// The config file.
        config: PathBuf,
        /// Ingest what is there now, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Re-ingest processed (flagged or moved) messages that the store lacks, then exit.
    Reconcile {
        /// The config file.
        config: PathBuf,
    },
    /// Serve the feedback team's web console (the config's `[admin]` section) until Ctrl-C or SIGTERM.
    Serve {
        /// The config file.
        config: PathBuf,
    },
    /// Read a password from standard input and print its argon2 hash for `[[admin.user]]`.
    HashPassword,
    /// List cases, newest first.
    Cases {
        /// The config file.
        config: PathBuf,
        /// open, all, received, acknowledged, responded, referred or closed.
        #[arg(long, default_value = "open")]
        state: String,
        /// Write JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one case: assessment, clocks with working days left, history.
    Case {
        /// The config file.
        config: PathBuf,
        /// The case reference, e.g. KCC-2026-000123.
        reference: String,
        /// Write JSON (the case, its messages and its clocks).
        #[arg(long)]
        json: bool,
    },
    /// Correct a case's classification as a reviewer (recorded with who and when).
    Reclassify {
        /// The config file.
        config: PathBuf,
        /// The case reference.
        reference: String,
        /// The member of staff making the correction.
        #[arg(long)]
        by: String,
        /// The kind, e.g. complaint, comment, compliment, fault_report.
        #[arg(long)]
        kind: Option<String>,
        /// The procedure, e.g. corporate, adult_social_care; `none` for none.
        #[arg(long)]
        procedure: Option<String>,
        /// The directorate; `none` for none.
        #[arg(long)]
        directorate: Option<String>,
        /// The exclusions that apply, comma separated; `none` for none.
        #[arg(long)]
        exclusions: Option<String>,
    },
    /// Backfill: turn a council's existing mail (an mbox file or a Maildir folder) into cases, with the
    /// same rules and deduplication as live mail. Resumable: run it again after an interruption.
    #[command(group(clap::ArgGroup::new("source").required(true).args(["mbox", "maildir"])))]
    Import {
        /// The config file (its store, reference prefix and size limits are used).
        config: PathBuf,
        /// An mbox file.
        #[arg(long, value_name = "FILE")]
        mbox: Option<PathBuf>,
        /// A Maildir folder (the messages in its `cur` and `new`).
        #[arg(long, value_name = "DIR")]
        maildir: Option<PathBuf>,
        /// The mailbox the cases record; a configured mailbox's name also gives its route hint.
        #[arg(long, value_name = "NAME", default_value = "import")]
        mailbox: String,
        /// Queue acknowledgements for the imported cases (by default they are suppressed as `imported`).
        #[arg(long)]
        acknowledge: bool,
    },
    /// Write every record of the store to FILE (JSON lines; `-` for standard output). Stop the daemon
    /// first: the store is locked while it runs.
    Backup {
        /// The config file (its `store`).
        config: PathBuf,
        /// The backup file to write.
        file: PathBuf,
    },
    /// Load a backup into the configured store, which must be empty unless `--force` (then it is
    /// emptied first).
    Restore {
        /// The config file (its `store`).
        config: PathBuf,
        /// The backup file.
        file: PathBuf,
        /// Replace whatever the store holds.
        #[arg(long)]
        force: bool,
    },
    #[command(flatten)]
    Records(records::RecordsCommand),
    /// Benchmark yardstick: a bare `UID FETCH 1:* (BODY.PEEK[])` of a configured mailbox's folder.
    #[command(hide = true)]
    BareFetch {
        /// The config file.
        config: PathBuf,
        /// The mailbox name (default: the first).
        #[arg(long)]
        mailbox: Option<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mailbot: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn load_policy(path: Option<&PathBuf>) -> anyhow::Result<Policy> {
    match path {
        None => Ok(Policy::kent()),
        Some(path) => {
            let source = std::fs::read_to_string(path)
                .with_context(|| format!("reading policy file {}", path.display()))?;
            Policy::load_with_default_cues(&source)
                .with_context(|| format!("loading policy file {}", path.display()))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Classify { today } => {
            let policy = load_policy(cli.policy.as_ref())?;
            let today = today.unwrap_or_else(|| chrono::Local::now().date_naive());
            let stdin = std::io::stdin().lock();
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let mut failed = false;
            for (index, line) in stdin.lines().enumerate() {
                let line = line.context("reading standard input")?;
                if line.trim().is_empty() {
                    continue;
                }
                let out = classify::classify_line(&line, index + 1, &policy, today);
                failed |= out.get("error").is_some();
                serde_json::to_writer(&mut stdout, &out).context("writing standard output")?;
                stdout.write_all(b"\n").context("writing standard output")?;
            }
            stdout.flush().context("writing standard output")?;
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Evaluate {
            files,
            show_errors,
            json,
        } => {
            let policy = load_policy(cli.policy.as_ref())?;
            let report = evaluate::evaluate_files(&files, &policy)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).context("encoding the report")?
                );
            } else {
                print!("{}", report.render(show_errors));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckPolicy { file } => {
            load_policy(Some(&file))?;
            println!("{}: valid", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { file } => {
            let policy = load_policy(cli.policy.as_ref())?;
            match Config::load(&file, Some(&service_areas(&policy)), Checks::Environment) {
                Ok(config) => {
                    println!(
                        "{}: valid, {} mailbox{}",
                        file.display(),
                        config.mailboxes.len(),
                        if config.mailboxes.len() == 1 {
                            ""
                        } else {
                            "es"
                        }
                    );
                    for mailbox in &config.mailboxes {
                        let processed = match mailbox.processed {
                            ProcessedAction::Flag => format!("flag {}", mailbox.keyword),
                            ProcessedAction::Move => {
                                format!("move to {}", mailbox.move_to.as_deref().unwrap_or("?"))
                            }
                        };
                        println!(
                            "  {}: {}:{} ({}), user {}, {}, folder {}, {}, route hint {}",
                            mailbox.name,
                            mailbox.host,
                            mailbox.port(),
                            mailbox.tls,
                            mailbox.user,
                            mailbot::imap::describe_auth(mailbox),
                            mailbox.folder,
                            processed,
                            mailbox.route_hint.as_deref().unwrap_or("none"),
                        );
                    }
                    match &config.smtp {
                        Some(smtp) => println!("  acknowledgements: {}", smtp.describe()),
                        None => println!("  acknowledgements: not sent (no [smtp] section)"),
                    }
                    if let Some(listen) = config.metrics.listen {
                        println!("  metrics: http://{listen}/metrics and /healthz");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    eprintln!("{problems}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Run { config, once } => daemon(
            cli.policy.as_ref(),
            &config,
            if once { Mode::Once } else { Mode::Run },
        ),
        Command::Reconcile { config } => daemon(cli.policy.as_ref(), &config, Mode::Reconcile),
        Command::Serve { config } => admin_cli::serve(&config, load_policy(cli.policy.as_ref())?),
        Command::HashPassword => admin_cli::hash_password(),
        Command::Cases {
            config,
            state,
            json,
        } => admin_cli::cases(&config, load_policy(cli.policy.as_ref())?, &state, json),
        Command::Case {
            config,
            reference,
            json,
        } => admin_cli::case(&config, load_policy(cli.policy.as_ref())?, &reference, json),
        Command::Reclassify {
            config,
            reference,
            by,
            kind,
            procedure,
            directorate,
            exclusions,
        } => admin_cli::reclassify(
            &config,
            load_policy(cli.policy.as_ref())?,
            &reference,
            &by,
            &admin_cli::ReclassifyArgs {
                kind,
                procedure,
                directorate,
                exclusions,
            },
        ),
        Command::Import {
            config,
            mbox,
            maildir,
            mailbox,
            acknowledge,
        } => {
            let source = match (mbox, maildir) {
                (Some(file), _) => import::Source::Mbox(file),
                (None, Some(dir)) => import::Source::Maildir(dir),
                (None, None) => anyhow::bail!("give --mbox FILE or --maildir DIR"),
            };
            import(cli.policy.as_ref(), &config, &source, mailbox, acknowledge)
        }
        Command::Backup { config, file } => {
            let config = Config::load(&config, None, Checks::SyntaxOnly)?;
            if !config.store.exists() {
                anyhow::bail!("there is no store at {}", config.store.display());
            }
            let store = Store::open(&config.store)
                .with_context(|| format!("opening the store {}", config.store.display()))?;
            let count = if file.as_os_str() == "-" {
                store.backup(std::io::stdout().lock())?
            } else {
                let out = std::fs::File::create(&file)
                    .with_context(|| format!("creating {}", file.display()))?;
                store.backup(out)?
            };
            eprintln!("backed up {count} records");
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            config,
            file,
            force,
        } => {
            let config = Config::load(&config, None, Checks::SyntaxOnly)?;
            let count = Store::restore(&config.store, &file, force)?;
            println!("restored {count} records into {}", config.store.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Records(command) => records::run(command, &load_policy(cli.policy.as_ref())?),
        Command::BareFetch { config, mailbox } => {
            let config = Config::load(&config, None, Checks::Environment)?;
            let chosen = match &mailbox {
                None => config.mailboxes.first(),
                Some(name) => config.mailboxes.iter().find(|m| &m.name == name),
            }
            .context("no such mailbox in the config")?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let (count, bytes, elapsed) = runtime.block_on(mailbot::imap::bare_fetch(
                chosen,
                Duration::from_secs(config.timeout_secs),
            ))?;
            println!(
                "{count} messages, {bytes} bytes in {:.3} s",
                elapsed.as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The route hints a mailbox may give: service area ids and the policy's mailbox hint names.
pub(crate) fn service_areas(policy: &Policy) -> BTreeSet<String> {
    policy
        .document
        .service_areas
        .keys()
        .chain(policy.document.mailbox_hints.keys())
        .cloned()
        .collect()
}

pub(crate) fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // async-imap traces every command and response, LOGIN's password and message bodies included: never
    // let those through, whatever RUST_LOG says.
    if let Ok(directive) = "async_imap=debug".parse() {
        filter = filter.add_directive(directive);
    }
    // A second init (tests calling twice) is harmless: ignore it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn import(
    policy: Option<&PathBuf>,
    config_path: &Path,
    source: &import::Source,
    mailbox: String,
    acknowledge: bool,
) -> anyhow::Result<ExitCode> {
    init_logging();
    let policy = load_policy(policy)?;
    // The mailboxes' secrets are not needed to import.
    let config = Config::load(
        config_path,
        Some(&service_areas(&policy)),
        Checks::SyntaxOnly,
    )?;
    let store = Store::open(&config.store)
        .with_context(|| format!("opening the store {}", config.store.display()))?;
    let settings = IngestSettings {
        suppress_acknowledgements: (!acknowledge).then(|| "imported".to_string()),
        ..ingest_settings(&config)
    };
    let options = import::ImportOptions {
        route_hint: config
            .mailboxes
            .iter()
            .find(|m| m.name == mailbox)
            .and_then(|m| m.route_hint.clone()),
        mailbox,
        batch_size: config.batch_size,
        progress: true,
    };
    let ingestor = Ingestor::new(store, policy, settings);
    let report = import::import(
        &ingestor,
        source,
        &options,
        chrono::Local::now().date_naive(),
    )?;
    let _ = writeln!(
        std::io::stdout(),
        "{} messages in the source, {} imported before; {}",
        report.total,
        report.skipped,
        report.tally
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn ingest_settings(config: &Config) -> IngestSettings {
    IngestSettings {
        reference_prefix: config.reference_prefix.clone(),
        max_message_bytes: config.max_message_bytes,
        max_attachment_bytes_kept: config.max_attachment_bytes_kept,
        suppress_acknowledgements: None,
    }
}

fn daemon(policy: Option<&PathBuf>, config_path: &Path, mode: Mode) -> anyhow::Result<ExitCode> {
    init_logging();
    let policy = load_policy(policy)?;
    let config = Config::load(config_path, Some(&service_areas(&policy)), Checks::Environment).map_err(|problems| anyhow::anyhow!("{problems}\nrefusing to start: fix the config (`mailbot check-config` lists the problems)"))?;
    let store = Store::open(&config.store)
        .with_context(|| format!("opening the store {}", config.store.display()))?;
    let metrics = Arc::new(Metrics::new(store.clone(), policy.clone()));
    let console_store = store.clone();
    let console_policy = policy.clone();
    let ingestor = Ingestor::new(store, policy, ingest_settings(&config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let tally = runtime.block_on(async {
        let cancel = CancellationToken::new();
        daemon::cancel_on_signals(cancel.clone())?;
        let server = match (mode, config.metrics.listen) {
            (Mode::Run, Some(listen)) => {
                Some(metrics::serve(listen, Arc::clone(&metrics), cancel.clone()).await?)
            }
            _ => None,
        };
        let console = if mode == Mode::Run {
            admin_cli::start_console(&config, console_store, console_policy, cancel.clone()).await?
        } else {
            None
        };
        let tally = daemon::run(config, ingestor, mode, cancel, metrics).await;
        if let Some(server) = server {
            // Graceful: in-flight scrapes finish; a client holding a connection open cannot stall the exit.
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        if let Some(console) = console {
            console.await.context("the admin console task")??;
        }
        tally
    })?;
    if mode != Mode::Run {
        // Not println!: a closed stdout must not turn a finished run into a panic.
        let _ = writeln!(std::io::stdout(), "{tally}");
    }
    Ok(ExitCode::SUCCESS)
}

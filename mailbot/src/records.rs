//! The commands over the stored records: `report`, `export`, `purge`, `subject-access`, `erase` and
//! `audit-log`. Each opens the store named by a daemon config (stop the daemon first: one process at a
//! time may open the store).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use clap::{Subcommand, ValueEnum};
use feedback_core::Policy;
use feedback_core::calendar::uk_local_time;
use mailbot::config::{Checks, Config};
use mailbot::store::Store;
use mailbot::{export, protection, report};

/// The report's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON (the figures as data).
    Json,
    /// CSV, one figure a row: section, group, item, value.
    Csv,
    /// A self-contained HTML page with charts, for a committee.
    Html,
}

/// The commands over stored records.
#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// The policy's monitoring report for the cases opened in a date range.
    Report {
        /// The daemon config (for the store's location).
        config: PathBuf,
        /// The first day (opened on or after).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// The last day (opened on or before).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The day the figures are taken (default: today in the UK); work due after it is pending.
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<NaiveDate>,
    },
    /// Every case with its messages as JSON lines; or, with --corrections, the reviewed cases as
    /// labelled corpus lines.
    Export {
        /// The daemon config.
        config: PathBuf,
        /// Include equalities monitoring data (left out by default).
        #[arg(long, conflicts_with = "corrections")]
        with_equalities: bool,
        /// Write the reviewers' corrections as labelled examples in the corpus format instead.
        #[arg(long)]
        corrections: bool,
        /// With --corrections: also the cases reviewers confirmed unchanged.
        #[arg(long, requires = "corrections")]
        all_reviewed: bool,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Remove closed cases past retention, with their messages, attachments, index entries, outbox
    /// entry and equalities data; recorded in the store's audit log.
    Purge {
        /// The daemon config.
        config: PathBuf,
        /// Purge cases closed before this day (default: today less `[retention] closed_cases_days`).
        #[arg(long, value_name = "YYYY-MM-DD")]
        closed_before: Option<NaiveDate>,
        /// Only list what would go.
        #[arg(long)]
        dry_run: bool,
        /// Who is running it, for the audit log (default: $USER).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Everything held about one email address, as JSON.
    SubjectAccess {
        /// The daemon config.
        config: PathBuf,
        /// The email address.
        email: String,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// The store's audit log of purges and erasures, oldest first, as JSON lines.
    AuditLog {
        /// The daemon config.
        config: PathBuf,
    },
    /// Erase what is held about one email address, recorded (with a hash of the address) in the audit log.
    Erase {
        /// The daemon config.
        config: PathBuf,
        /// The email address.
        email: String,
        /// Who is running it, for the audit log.
        #[arg(long, value_name = "NAME")]
        by: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn open(config_path: &Path) -> anyhow::Result<(Config, Store)> {
    let config = Config::load(config_path, None, Checks::SyntaxOnly)
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let store = Store::open(&config.store)
        .with_context(|| format!("opening the store {}", config.store.display()))?;
    Ok((config, store))
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

fn uk_today() -> NaiveDate {
    uk_local_time(Utc::now()).date()
}

/// Creates (or truncates) an output file readable by its owner only: exports hold personal data.
fn create_private(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// Writes `text` to the file, or to standard output.
fn emit(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => create_private(path)?
            .write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .context("writing standard output")
        }
    }
}

fn json(value: &impl serde::Serialize) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(value).context("encoding JSON")?;
    text.push('\n');
    Ok(text)
}

fn by_or_user(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Runs one command.
pub fn run(command: RecordsCommand, policy: &Policy) -> anyhow::Result<ExitCode> {
    match command {
        RecordsCommand::Report {
            config,
            from,
            to,
            format,
            output,
            as_of,
        } => {
            if to < from {
                anyhow::bail!("--to {to} is before --from {from}: give the range oldest day first");
            }
            let (_, store) = open(&config)?;
            let built = report::build(
                &store.cases()?,
                &store.outbox()?,
                policy,
                from,
                to,
                as_of.unwrap_or_else(uk_today),
            );
            let text = match format {
                Format::Json => json(&built)?,
                Format::Csv => report::to_csv(&built)?,
                Format::Html => report::render_html(&built)?,
            };
            emit(output.as_deref(), &text)?;
        }
        RecordsCommand::Export {
            config,
            with_equalities,
            corrections,
            all_reviewed,
            output,
        } => {
            let (_, store) = open(&config)?;
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(create_private(path)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let count = if corrections {
                export::export_corrections(&store, all_reviewed, &mut out)?
            } else {
                export::export_cases(&store, with_equalities, &mut out)?
            };
            out.flush().context("writing the export")?;
            eprintln!("{count} line{} exported", if count == 1 { "" } else { "s" });
        }
        RecordsCommand::Purge {
            config,
            closed_before,
            dry_run,
            by,
            json: as_json,
        } => {
            let (config, store) = open(&config)?;
            let before = match (closed_before, config.retention.closed_cases_days) {
                (Some(day), _) => day,
                (None, Some(days)) => uk_today() - Duration::days(i64::from(days)),
                (None, None) => anyhow::bail!(
                    "give --closed-before DATE, or set `[retention] closed_cases_days` in the config"
                ),
            };
            let done = protection::purge(&store, before, dry_run, now(), &by_or_user(by))?;
            if as_json {
                emit(None, &json(&done)?)?;
            } else {
                let mut text = format!(
                    "{} {} case{} closed before {}\n",
                    if dry_run { "would purge" } else { "purged" },
                    done.cases.len(),
                    if done.cases.len() == 1 { "" } else { "s" },
                    done.closed_before
                );
                for case in &done.cases {
                    text.push_str(&format!(
                        "  {}  closed {}  {} message{}\n",
                        case.reference,
                        case.closed_on,
                        case.messages,
                        if case.messages == 1 { "" } else { "s" }
                    ));
                }
                if let Some(removed) = &done.removed {
                    text.push_str(&format!(
                        "removed {} cases, {} messages, {} attachments, {} index entries, {} outbox entries, {} equalities records\n",
                        removed.cases,
                        removed.messages,
                        removed.blobs,
                        removed.index_entries,
                        removed.outbox_entries,
                        removed.equalities
                    ));
                }
                emit(None, &text)?;
            }
        }
        RecordsCommand::AuditLog { config } => {
            let (_, store) = open(&config)?;
            let mut text = String::new();
            for record in store.audit_log()? {
                text.push_str(&serde_json::to_string(&record).context("encoding JSON")?);
                text.push('\n');
            }
            emit(None, &text)?;
        }
        RecordsCommand::SubjectAccess {
            config,
            email,
            output,
        } => {
            let (_, store) = open(&config)?;
            let found = protection::subject_access(&store, &email, now())?;
            emit(output.as_deref(), &json(&found)?)?;
        }
        RecordsCommand::Erase {
            config,
            email,
            by,
            json: as_json,
        } => {
            if by.trim().is_empty() {
                anyhow::bail!("--by must name who is erasing, for the audit log");
            }
            let (_, store) = open(&config)?;
            let done = protection::erase(&store, &email, &by, now())?;
            if as_json {
                emit(None, &json(&done)?)?;
            } else {
                emit(
                    None,
                    &format!(
                        "erased: {} cases removed, {} messages redacted in other cases, {} quarantined messages removed; recorded as sha256 {}\n",
                        done.removed.cases,
                        done.removed.redacted_messages,
                        done.removed.quarantined,
                        done.subject_sha256
                    ),
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

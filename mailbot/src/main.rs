//! mailbot: Feedback Desk's mail daemon and admin command line.
//!
//! This first cut carries the commands that need no mail server: `classify` (JSON lines in, assessments
//! out), `evaluate` (accuracy on the labelled corpus) and `check-policy` (validate a council's policy
//! file).

mod classify;
mod evaluate;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use feedback_core::Policy;

#[derive(Parser)]
#[command(name = "mailbot", version, about = "Feedback Desk: the council's feedback mail daemon and admin tools")]
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
            let source = std::fs::read_to_string(path).with_context(|| format!("reading policy file {}", path.display()))?;
            Policy::load_with_default_cues(&source).with_context(|| format!("loading policy file {}", path.display()))
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
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Evaluate { files, show_errors, json } => {
            let policy = load_policy(cli.policy.as_ref())?;
            let report = evaluate::evaluate_files(&files, &policy)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("encoding the report")?);
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
    }
}

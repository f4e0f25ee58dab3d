//! The admin commands: `serve` (the web console alone), `hash-password`, and the casework commands `cases`, `case` and `reclassify`, over the same [`Casework`] as the console.
//!
//! Exit codes: 0 done; 1 the case is missing or the change was refused (the message says why); 2 any
//! other failure (config, store).

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Local;
use feedback_core::{Directorate, Exclusion, Kind, Policy, Procedure};
use mailbot::casework::{
    Casework, CaseworkError, Reclassification, StateFilter, label, parse_label,
};
use mailbot::config::{Checks, Config};
use mailbot::console::{self, Console};
use mailbot::ingest::Ingestor;
use mailbot::store::{CaseRecord, Store};
use tokio_util::sync::CancellationToken;

fn load(config_path: &Path, policy: &Policy) -> anyhow::Result<Config> {
    Config::load(
        config_path,
        Some(&crate::service_areas(policy)),
        Checks::SyntaxOnly,
    )
    .map_err(|problems| anyhow::anyhow!("{problems}"))
}

fn casework(config_path: &Path, policy: Policy) -> anyhow::Result<(Config, Casework)> {
    let config = load(config_path, &policy)?;
    let store = Store::open(&config.store).with_context(|| {
        format!(
            "opening the store {} (a running `mailbot run` holds it: use the web console while it runs)",
            config.store.display()
        )
    })?;
    let settings = crate::ingest_settings(&config);
    Ok((
        config,
        Casework::new(Ingestor::new(store, policy, settings)),
    ))
}

/// Starts the console on the runtime when the config has `[admin]` (for `mailbot run`).
pub async fn start_console(
    config: &Config,
    store: Store,
    policy: Policy,
    cancel: CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<anyhow::Result<()>>>> {
    let Some(admin) = config.admin.clone() else {
        return Ok(None);
    };
    let listener = console::bind(&admin).await?;
    let casework = Arc::new(Casework::new(Ingestor::new(
        store,
        policy,
        crate::ingest_settings(config),
    )));
    let console = Arc::new(Console::new(admin, casework)?);
    Ok(Some(tokio::spawn(console::serve(
        listener, console, cancel,
    ))))
}

/// `mailbot serve CONFIG`: the console alone, until Ctrl-C or SIGTERM.
pub fn serve(config_path: &Path, policy: Policy) -> anyhow::Result<ExitCode> {
    crate::init_logging();
    let admin = load(config_path, &policy)?.admin.with_context(|| {
        format!(
            "{} has no `[admin]` section: add one to serve the console",
            config_path.display()
        )
    })?;
    let (_, casework) = casework(config_path, policy)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        mailbot::daemon::cancel_on_signals(cancel.clone())?;
        let listener = console::bind(&admin).await?;
        let console = Arc::new(Console::new(admin, Arc::new(casework))?);
        console::serve(listener, console, cancel).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `mailbot hash-password`: reads a password from stdin, prints its argon2 hash.
pub fn hash_password() -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.len() < 8 {
        eprintln!("mailbot: the password must be at least 8 characters");
        return Ok(ExitCode::from(1));
    }
    println!("{}", console::auth::hash_password(password)?);
    Ok(ExitCode::SUCCESS)
}

/// The exit code and message for a casework error.
fn refused(err: anyhow::Error) -> anyhow::Result<ExitCode> {
    if err.downcast_ref::<CaseworkError>().is_some() {
        eprintln!("mailbot: {err:#}");
        Ok(ExitCode::from(1))
    } else {
        Err(err)
    }
}

fn line(case: &CaseRecord) -> String {
    format!(
        "{}  {}  {:<12} {:<20} {:<22} {:<12} {}  {}",
        case.reference,
        case.opened_on,
        label(&case.channel),
        label(&case.assessment.kind),
        label(&case.assessment.procedure),
        label(&case.state.status),
        if case.review.is_some() {
            "reviewed"
        } else {
            "to review"
        },
        case.subject.as_deref().unwrap_or("(no subject)")
    )
}

/// `mailbot cases CONFIG [--state S] [--json]`
pub fn cases(
    config_path: &Path,
    policy: Policy,
    state: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let filter = match state.parse::<StateFilter>() {
        Ok(filter) => filter,
        Err(why) => {
            eprintln!("mailbot: {why}");
            return Ok(ExitCode::from(1));
        }
    };
    let (_, casework) = casework(config_path, policy)?;
    let cases = casework.cases(filter)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer_pretty(&mut out, &cases).context("writing standard output")?;
        writeln!(out).context("writing standard output")?;
    } else {
        for case in &cases {
            writeln!(out, "{}", line(case)).context("writing standard output")?;
        }
    }
    out.flush().context("writing standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// `mailbot case CONFIG REF [--json]`
pub fn case(
    config_path: &Path,
    policy: Policy,
    reference: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (_, casework) = casework(config_path, policy)?;
    let case = match casework.case(reference) {
        Ok(case) => case,
        Err(err) => return refused(err),
    };
    let messages = casework.messages(reference)?;
    let today = Local::now().date_naive();
    let clocks = casework.clocks(&case, today);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        let value = serde_json::json!({"case": case, "messages": messages, "clocks": clocks});
        serde_json::to_writer_pretty(&mut out, &value).context("writing standard output")?;
        writeln!(out).context("writing standard output")?;
    } else {
        let policy = casework.policy();
        let text = format!(
            "{}\n  subject: {}\n  channel: {}, opened {}\n  kind: {} ({:.0}%{}), procedure: {}, directorate: {}\n  stage: {}, status: {}\n  reviewed: {}\n",
            case.reference,
            case.subject.as_deref().unwrap_or("(none)"),
            label(&case.channel),
            case.opened_on,
            label(&case.assessment.kind),
            case.assessment.confidence * 100.0,
            if case.assessment.needs_review {
                ", needs review"
            } else {
                ""
            },
            label(&case.assessment.procedure),
            label(&case.assessment.directorate),
            case.state.stage_id(policy),
            label(&case.state.status),
            case.review
                .as_ref()
                .map_or("no".to_string(), |r| format!("by {} at {}", r.by, r.at)),
        );
        write!(out, "{text}").context("writing standard output")?;
        for clock in &clocks {
            writeln!(
                out,
                "  due {}: {} ({} working days left{})",
                clock.due,
                clock.label,
                clock.working_days_left,
                if clock.met { ", met" } else { "" }
            )
            .context("writing standard output")?;
        }
        writeln!(out, "  messages: {}", messages.len()).context("writing standard output")?;
        for entry in &case.history {
            writeln!(
                out,
                "  {} {}: {}",
                entry
                    .at
                    .map_or_else(|| entry.on.to_string(), |at| at.to_rfc3339()),
                entry.by.as_deref().unwrap_or("mailbot"),
                entry.note
            )
            .context("writing standard output")?;
        }
    }
    out.flush().context("writing standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// What `mailbot reclassify` was asked to change.
pub struct ReclassifyArgs {
    /// `--kind`
    pub kind: Option<String>,
    /// `--procedure` (`none` for no procedure)
    pub procedure: Option<String>,
    /// `--directorate` (`none`)
    pub directorate: Option<String>,
    /// `--exclusions` (comma list, or `none`)
    pub exclusions: Option<String>,
}

fn optional<T: for<'de> serde::Deserialize<'de>>(text: &str) -> Result<Option<T>, String> {
    if text == "none" {
        Ok(None)
    } else {
        parse_label(text).map(Some)
    }
}

fn reclassification(args: &ReclassifyArgs) -> Result<Reclassification, String> {
    let hint = |what: &'static str, all: Vec<String>| {
        move |why: String| format!("{why} for {what}: use one of {}", all.join(", "))
    };
    Ok(Reclassification {
        kind: args
            .kind
            .as_deref()
            .map(parse_label::<Kind>)
            .transpose()
            .map_err(hint("--kind", mailbot::casework::labels(&Kind::ALL)))?,
        procedure: args
            .procedure
            .as_deref()
            .map(optional::<Procedure>)
            .transpose()
            .map_err(hint(
                "--procedure",
                mailbot::casework::labels(&Procedure::ALL),
            ))?,
        directorate: args
            .directorate
            .as_deref()
            .map(optional::<Directorate>)
            .transpose()
            .map_err(hint(
                "--directorate",
                mailbot::casework::labels(&Directorate::ALL),
            ))?,
        exclusions: args
            .exclusions
            .as_deref()
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty() && *x != "none")
                    .map(parse_label::<Exclusion>)
                    .collect()
            })
            .transpose()
            .map_err(hint(
                "--exclusions",
                mailbot::casework::labels(&Exclusion::ALL),
            ))?,
    })
}

/// `mailbot reclassify CONFIG REF --by NAME [--kind K] [--procedure P] [--directorate D] [--exclusions X,Y]`
pub fn reclassify(
    config_path: &Path,
    policy: Policy,
    reference: &str,
    by: &str,
    args: &ReclassifyArgs,
) -> anyhow::Result<ExitCode> {
    if by.trim().is_empty() {
        eprintln!("mailbot: --by must name the member of staff making the correction");
        return Ok(ExitCode::from(1));
    }
    let change = match reclassification(args) {
        Ok(change) => change,
        Err(why) => {
            eprintln!("mailbot: {why}");
            return Ok(ExitCode::from(1));
        }
    };
    if change.kind.is_none()
        && change.procedure.is_none()
        && change.directorate.is_none()
        && change.exclusions.is_none()
    {
        eprintln!(
            "mailbot: nothing to change: give --kind, --procedure, --directorate or --exclusions"
        );
        return Ok(ExitCode::from(1));
    }
    let (_, casework) = casework(config_path, policy)?;
    match casework.correct(reference, &change, by, Local::now().fixed_offset()) {
        Ok(case) => {
            println!("{}", line(&case));
            for correction in case.corrections.iter().filter(|c| c.by == by) {
                println!(
                    "  {}: {} -> {}",
                    label(&correction.field),
                    correction.from,
                    correction.to
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => refused(err),
    }
}

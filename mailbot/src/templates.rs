//! The acknowledgement's words: minijinja templates over what the assessment decided (never over what
//! the email said: a sender can be spoofed, so nothing personal from it is quoted).
//!
//! The defaults are embedded (`mailbot/templates/`); a council edits them by pointing `[smtp] templates`
//! at a directory: a file there replaces the default of the same name, the others stay. `subject.txt`
//! is the subject line; the body is `<kind>.txt` (`complaint.txt`, `comment.txt`, `compliment.txt`,
//! `fault_report.txt`, ...), falling back to `redirect.txt` for what the procedures do not take; files
//! starting with `_` are included by the others. The variables are the fields of [`AckContext`].

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use feedback_core::{Assessment, Contact, Kind, Policy};
use minijinja::Environment;
use serde::Serialize;

/// The embedded default templates, by file name.
const DEFAULTS: &[(&str, &str)] = &[
    ("subject.txt", include_str!("../templates/subject.txt")),
    ("complaint.txt", include_str!("../templates/complaint.txt")),
    ("comment.txt", include_str!("../templates/comment.txt")),
    (
        "compliment.txt",
        include_str!("../templates/compliment.txt"),
    ),
    ("redirect.txt", include_str!("../templates/redirect.txt")),
    ("_contacts.txt", include_str!("../templates/_contacts.txt")),
    ("_formats.txt", include_str!("../templates/_formats.txt")),
];

/// The template a body falls back to for kinds without their own.
const REDIRECT: &str = "redirect.txt";

/// What a template can say: the case reference and the assessment, in words and dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AckContext {
    /// The council's name.
    pub council: String,
    /// The case reference.
    pub reference: String,
    /// The kind's id (`complaint`, `fault_report`, ...).
    pub kind: String,
    /// The kind in words (`complaint`, `report of a fault`, ...).
    pub kind_label: String,
    /// The procedure's name, for what a procedure handles.
    pub procedure: Option<String>,
    /// The first stage's name.
    pub stage: Option<String>,
    /// The team that handles it, with its contact details.
    pub team: Contact,
    /// The day of receipt, with its weekday (`Wednesday 25 November 2026`).
    pub received: String,
    /// The full reply's due date, with its weekday.
    pub full_reply_by: Option<String>,
    /// The due date of a redirected matter's own clock (an FOI response), with its weekday.
    pub response_by: Option<String>,
    /// What to do if dissatisfied (the stage's `next`).
    pub next_stage: Option<String>,
    /// The corporate director to write to at the escalation stage.
    pub director: Option<Contact>,
    /// The outside body at the end of the procedure.
    pub outside_body: Option<Contact>,
    /// For what the procedures do not take: where it goes instead, in the policy's words.
    pub redirect_advice: Option<String>,
    /// The policy's advice on each exclusion found (`id`, `advice`).
    pub exclusions: Vec<ExclusionNote>,
}

/// An exclusion and what the policy says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExclusionNote {
    /// `over_twelve_months`, ...
    pub id: String,
    /// The policy's advice.
    pub advice: String,
}

/// A date as the acknowledgement writes it: `Wednesday 25 November 2026`.
pub fn long_date(date: NaiveDate) -> String {
    date.format("%A %-d %B %Y").to_string()
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Complaint => "complaint",
        Kind::Comment => "comment",
        Kind::Compliment => "compliment",
        Kind::FaultReport => "report of a fault or a request for a service",
        Kind::InformationRequest => "request for information",
        Kind::DamagesClaim => "claim for loss or damage",
        Kind::StaffGrievance => "staff grievance",
    }
}

fn id_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl AckContext {
    /// The context for a case's acknowledgement.
    pub fn new(
        reference: &str,
        assessment: &Assessment,
        received: NaiveDate,
        policy: &Policy,
    ) -> AckContext {
        let spec = assessment
            .procedure
            .filter(|_| assessment.kind.is_feedback())
            .and_then(|p| policy.procedure(p));
        let first_stage = spec.and_then(|s| s.stages.first());
        let due = |milestone: &str| {
            assessment
                .deadlines
                .iter()
                .find(|d| {
                    d.milestone == milestone && first_stage.is_none_or(|stage| stage.id == d.stage)
                })
                .and_then(|d| d.due)
                .map(long_date)
        };
        let redirect_advice = (!assessment.kind.is_feedback())
            .then(|| policy.document.redirects.get(&assessment.kind))
            .flatten()
            .map(|r| r.advice.clone());
        let exclusions = assessment
            .exclusions
            .iter()
            .map(|exclusion| {
                let id = id_of(exclusion);
                let about = format!("exclusion:{id}");
                let advice = assessment
                    .advice
                    .iter()
                    .find(|a| a.about == about)
                    .map(|a| a.text.clone())
                    .or_else(|| policy.document.exclusions.get(exclusion).cloned())
                    .unwrap_or_default();
                ExclusionNote { id, advice }
            })
            .filter(|note| !note.advice.is_empty())
            .collect();
        AckContext {
            council: policy.document.council.clone(),
            reference: reference.to_string(),
            kind: id_of(&assessment.kind),
            kind_label: kind_label(assessment.kind).to_string(),
            procedure: spec.map(|s| s.name.clone()),
            stage: first_stage.map(|s| s.name.clone()),
            team: assessment.route.team.clone(),
            received: long_date(received),
            full_reply_by: due("full_reply"),
            response_by: due("response"),
            next_stage: assessment.route.next_stage.clone(),
            director: assessment.route.director.clone(),
            outside_body: assessment.route.outside_body.clone(),
            redirect_advice,
            exclusions,
        }
    }
}

/// A rendered acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line (one line, trimmed).
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    dir: Option<PathBuf>,
}

impl Templates {
    /// The templates: each file of `dir` (if given) over the embedded defaults. Every template is
    /// compiled here, so a syntax error is found at start-up, naming the file.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        let mut names: Vec<String> = DEFAULTS.iter().map(|(n, _)| (*n).to_string()).collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .with_context(|| format!("reading the template directory {}", dir.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".txt") && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        for name in names {
            let source = match dir.map(|d| d.join(&name)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the template {}", path.display()))?,
                None => DEFAULTS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, s)| (*s).to_string())
                    .unwrap_or_default(),
            };
            env.add_template_owned(name.clone(), source)
                .with_context(|| format!("compiling the template `{name}`"))?;
        }
        Ok(Templates {
            env,
            dir: dir.map(Path::to_path_buf),
        })
    }

    /// Where the council's own templates are, if anywhere.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Renders the subject and body for `context`.
    pub fn render(&self, context: &AckContext) -> anyhow::Result<Rendered> {
        let value = minijinja::Value::from(minijinja::value::Serde(context));
        let subject = self
            .env
            .get_template("subject.txt")
            .and_then(|t| t.render(value.clone()))
            .context("rendering the template `subject.txt`")?;
        let own = format!("{}.txt", context.kind);
        let name = if self.env.get_template(&own).is_ok() {
            own
        } else {
            REDIRECT.to_string()
        };
        let body = self
            .env
            .get_template(&name)
            .and_then(|t| t.render(value.clone()))
            .with_context(|| format!("rendering the template `{name}`"))?;
        Ok(Rendered {
            // One line: a template's stray newline must not end the header.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            body: tidy(&body),
        })
    }
}

/// Collapses the blank lines that template conditionals leave into one, and ends with one newline.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out.push('\n');
    out
}

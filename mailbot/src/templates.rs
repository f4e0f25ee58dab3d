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
        let value = minijinja::Value::from_serialize(context);
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

#[cfg(test)]
mod tests {
    use feedback_core::{Exclusion, Kind, Submission, assess};

    use super::*;

    const PRIVATE: &str = "Zebediah Quartermaine of 14 Acacia Avenue";

    fn assessment(kind: Kind) -> (Assessment, Policy, NaiveDate) {
        let policy = Policy::kent();
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let mut assessment = assess(
            &Submission {
                text: format!(
                    "I want to complain: the pothole outside my house has been reported three times and nobody came. {PRIVATE}"
                ),
                subject: Some(format!("Complaint from {PRIVATE}")),
                ..Submission::default()
            },
            &policy,
            today,
        );
        assessment.kind = kind;
        if !kind.is_feedback() {
            assessment.procedure = None;
            assessment.deadlines.retain(|d| d.milestone == "response");
        }
        (assessment, policy, today)
    }

    fn render(assessment: &Assessment, policy: &Policy, today: NaiveDate) -> Rendered {
        let context = AckContext::new("KCC-2026-000123", assessment, today, policy);
        Templates::load(None).unwrap().render(&context).unwrap()
    }

    #[test]
    fn every_kind_renders_with_reference_formats_and_nothing_personal() {
        for kind in Kind::ALL {
            let (assessment, policy, today) = assessment(kind);
            let out = render(&assessment, &policy, today);
            let all = format!("{}\n{}", out.subject, out.body);
            assert!(
                out.subject.contains("KCC-2026-000123"),
                "{kind:?}: {}",
                out.subject
            );
            assert!(!out.subject.contains('\n'));
            for needle in [
                "KCC-2026-000123",
                "Kent County Council",
                "other languages",
                "Braille",
                "large print",
                "audio",
                assessment.route.team.name.as_str(),
            ] {
                assert!(all.contains(needle), "{kind:?}: no {needle:?} in\n{all}");
            }
            for private in ["Zebediah", "Acacia", "pothole"] {
                assert!(!all.contains(private), "{kind:?} quotes the email:\n{all}");
            }
            assert!(
                !all.contains("\n\n\n"),
                "{kind:?}: loose blank lines\n{all}"
            );
            if let Some(redirect) = policy.document.redirects.get(&kind) {
                assert!(!kind.is_feedback());
                assert!(
                    all.contains(&redirect.advice),
                    "{kind:?}: no advice in\n{all}"
                );
            }
        }
    }

    #[test]
    fn a_complaint_gives_the_full_reply_date_with_its_weekday_and_how_to_escalate() {
        let (assessment, policy, today) = assessment(Kind::Complaint);
        let due = assessment
            .deadlines
            .iter()
            .find(|d| d.milestone == "full_reply" && d.stage == "stage_1")
            .and_then(|d| d.due)
            .unwrap();
        let out = render(&assessment, &policy, today);
        assert!(
            out.subject.starts_with("We have received your complaint"),
            "{}",
            out.subject
        );
        // 20 working days after Wednesday 25 November 2026.
        assert_eq!(long_date(due), "Wednesday 23 December 2026");
        assert!(
            out.body
                .contains("full reply by Wednesday 23 December 2026"),
            "{}",
            out.body
        );
        assert!(out.body.contains("escalated to stage 2"), "{}", out.body);
        assert!(
            out.body
                .contains("Local Government and Social Care Ombudsman"),
            "{}",
            out.body
        );
        assert!(out.body.contains("03000 41 41 41"), "{}", out.body);
    }

    #[test]
    fn a_compliment_gets_thanks_and_no_deadline() {
        let (assessment, policy, today) = assessment(Kind::Compliment);
        let out = render(&assessment, &policy, today);
        assert!(out.subject.starts_with("Thank you"), "{}", out.subject);
        assert!(out.body.contains("kind words"), "{}", out.body);
        assert!(!out.body.contains("full reply"), "{}", out.body);
    }

    #[test]
    fn every_exclusion_carries_the_policys_advice() {
        for exclusion in Exclusion::ALL {
            let (mut assessment, policy, today) = assessment(Kind::Complaint);
            assessment.exclusions = [exclusion].into();
            assessment.advice.clear();
            let advice = policy.document.exclusions.get(&exclusion).unwrap();
            let out = render(&assessment, &policy, today);
            assert!(
                out.body.contains(&format!("Please note: {advice}")),
                "{exclusion:?}:\n{}",
                out.body
            );
        }
    }

    #[test]
    fn a_council_directory_replaces_a_template_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("subject.txt"),
            "Case {{ reference }}\n: {{ kind }}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("fault_report.txt"),
            "Report it at {{ team.name }}.",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let (assessment, policy, today) = assessment(Kind::FaultReport);
        let context = AckContext::new("KCC-2026-000123", &assessment, today, &policy);
        let out = templates.render(&context).unwrap();
        assert_eq!(out.subject, "Case KCC-2026-000123 : fault_report");
        assert_eq!(
            out.body,
            format!("Report it at {}.\n", assessment.route.team.name)
        );
        let (assessment, ..) = self::assessment(Kind::Complaint);
        let context = AckContext::new("KCC-2026-000124", &assessment, today, &policy);
        assert!(templates.render(&context).unwrap().body.contains("Braille"));
    }

    #[test]
    fn a_broken_template_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("complaint.txt"),
            "{% if reference %}unclosed",
        )
        .unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err();
        assert!(format!("{err:#}").contains("complaint.txt"), "{err:#}");
    }
}

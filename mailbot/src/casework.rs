//! Casework: what the feedback team does with cases, shared by the web console and the CLI. Review
//! (confirm, correct), lifecycle actions, notes, cases recorded from other channels, quarantine retry,
//! and what is due. Every rule comes from `feedback-core`; every write goes through [`Store`].

use std::collections::BTreeSet;

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate};
use feedback_core::review::{Decisions, reclassify};
use feedback_core::{
    CaseState, Channel, ClockStart, ClockStarts, Deadline, Directorate, Event, Exclusion,
    FormAnswers, Kind, Policy, Procedure, Status, Submission, TransitionError, assess,
    stage_deadlines,
};
use serde::{Deserialize, Serialize};

use crate::ingest::{self, Ingestor, Outcome, RawMessage};
use crate::parse::{Mailbox, ParsedMessage};
use crate::store::{
    CaseRecord, Correction, HistoryEntry, MessageRecord, NewCase, NewMessage, Note, OutboxStatus,
    Review, ReviewField, Store,
};

/// The longest text a recorded case or a web form may carry (a letter typed in, a long form).
pub const MAX_RECORDED_TEXT: usize = 100_000;

/// A failure the caller should tell the user as it is (a wrong reference, a refused change), as opposed
/// to a store failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseworkError {
    /// No such case.
    #[error("there is no case `{0}`")]
    NoCase(String),
    /// No such quarantined message.
    #[error("there is no quarantined message `{0}`")]
    NoQuarantine(String),
    /// The request makes no sense for this case.
    #[error("{0}")]
    Refused(String),
}

/// The decisions a reviewer changes; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reclassification {
    /// The kind.
    pub kind: Option<Kind>,
    /// The procedure (`Some(None)`: redirected, no procedure).
    pub procedure: Option<Option<Procedure>>,
    /// The directorate (`Some(None)`: none).
    pub directorate: Option<Option<Directorate>>,
    /// The exclusions that apply.
    pub exclusions: Option<BTreeSet<Exclusion>>,
}

/// Feedback received another way than by email, as staff or a web form give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// How it came.
    pub channel: Channel,
    /// What the person said or wrote.
    pub text: String,
    /// A title or subject, if any.
    pub subject: Option<String>,
    /// The person's name, if given.
    pub name: Option<String>,
    /// The person's email address, if given (a web form's acknowledgement goes there).
    pub email: Option<String>,
    /// What the form or member of staff already asked (service area, aware since, on behalf, legal
    /// action); the mailbox answer is ignored.
    pub answers: FormAnswers,
    /// When it was received.
    pub received: DateTime<FixedOffset>,
}

/// One clock of a case as it stands: due date and working days left (negative when overdue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    /// The stage id.
    pub stage: String,
    /// The milestone, e.g. `full_reply`.
    pub milestone: String,
    /// In words.
    pub label: String,
    /// The due date.
    pub due: NaiveDate,
    /// The latest date with the extension for complex cases.
    pub due_extended: Option<NaiveDate>,
    /// Working days from today to the due date (0 today, negative when overdue).
    pub working_days_left: i64,
    /// Met already (the case has moved past it).
    pub met: bool,
    /// A repeating clock (progress updates).
    pub repeats: bool,
}

/// A case with the clock that concerns a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueCase {
    /// The case.
    pub reference: String,
    /// Its subject.
    pub subject: Option<String>,
    /// Its kind.
    pub kind: Kind,
    /// The clock.
    pub clock: Clock,
}

/// What is due, as of a day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DueView {
    /// Clocks past their due date.
    pub overdue: Vec<DueCase>,
    /// Clocks due today.
    pub due_today: Vec<DueCase>,
    /// Clocks due after today and by Sunday.
    pub due_this_week: Vec<DueCase>,
    /// Acknowledgements not yet sent whose deadline is within a working day (or past).
    pub acknowledgements_at_risk: Vec<DueCase>,
    /// Complex cases running past the first four weeks: a progress update is owed every four weeks.
    pub updates_owed: Vec<DueCase>,
}

/// What a quarantine retry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Retry {
    /// It is a case now (new, or joined to its case as a reply).
    Ingested {
        /// The case reference.
        reference: String,
    },
    /// It still cannot be read; it stays in quarantine.
    StillQuarantined {
        /// Why.
        reason: String,
    },
}

/// Which cases a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    /// Every case.
    #[default]
    All,
    /// Cases not closed.
    Open,
    /// Cases with this status.
    Status(Status),
}

impl std::str::FromStr for StateFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(StateFilter::All),
            "open" => Ok(StateFilter::Open),
            other => parse_label::<Status>(other).map(StateFilter::Status).map_err(|_| {
                format!("`{other}` is not a state: use all, open, received, acknowledged, responded, referred or closed")
            }),
        }
    }
}

/// A value's snake_case label, as in JSON (`partly_upheld`, `adult_social_care`).
pub fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => "none".into(),
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// Parses a snake_case label (`complaint`, `adult_social_care`).
pub fn parse_label<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_string()))
        .map_err(|_| format!("`{text}` is not a known value"))
}

/// The labels of every value of a type, for error messages and forms.
pub fn labels<T: Serialize>(values: &[T]) -> Vec<String> {
    values.iter().map(label).collect()
}

fn exclusions_label(set: &BTreeSet<Exclusion>) -> String {
    if set.is_empty() {
        "none".into()
    } else {
        set.iter().map(label).collect::<Vec<_>>().join(",")
    }
}

/// The feedback team's operations over the store.
#[derive(Debug)]
pub struct Casework {
    ingestor: Ingestor,
}

impl Casework {
    /// Casework over the ingestor's store and policy (the ingestor is what a quarantine retry uses).
    pub fn new(ingestor: Ingestor) -> Self {
        Casework { ingestor }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.ingestor.store()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        self.ingestor.policy()
    }

    /// A case, or [`CaseworkError::NoCase`].
    pub fn case(&self, reference: &str) -> anyhow::Result<CaseRecord> {
        self.store()
            .case(reference)?
            .ok_or_else(|| CaseworkError::NoCase(reference.to_string()).into())
    }

    /// A case's messages, oldest first.
    pub fn messages(&self, reference: &str) -> anyhow::Result<Vec<MessageRecord>> {
        self.store().case_messages(reference)
    }

    /// The cases a filter selects, newest first.
    pub fn cases(&self, filter: StateFilter) -> anyhow::Result<Vec<CaseRecord>> {
        let mut cases: Vec<CaseRecord> = self
            .store()
            .cases()?
            .into_iter()
            .filter(|case| match filter {
                StateFilter::All => true,
                StateFilter::Open => case.state.is_open(),
                StateFilter::Status(status) => case.state.status == status,
            })
            .collect();
        cases.sort_by(|a, b| (b.opened_on, &b.reference).cmp(&(a.opened_on, &a.reference)));
        Ok(cases)
    }

    /// Cases not yet reviewed: those the classifier marked `needs_review` first, then oldest first.
    pub fn review_queue(&self) -> anyhow::Result<Vec<CaseRecord>> {
        let mut cases: Vec<CaseRecord> = self
            .store()
            .cases()?
            .into_iter()
            .filter(|case| case.review.is_none())
            .collect();
        cases.sort_by(|a, b| {
            (!a.assessment.needs_review, a.opened_on, &a.reference).cmp(&(
                !b.assessment.needs_review,
                b.opened_on,
                &b.reference,
            ))
        });
        Ok(cases)
    }

    /// Confirms the classification as it stands.
    pub fn confirm(
        &self,
        reference: &str,
        by: &str,
        at: DateTime<FixedOffset>,
    ) -> anyhow::Result<CaseRecord> {
        self.case(reference)?;
        let case = self.store().update_case(reference, |case| {
            case.review = Some(Review {
                at,
                by: by.to_string(),
            });
            case.history
                .push(staff_entry(at, by, "classification confirmed in review"));
            Ok(())
        })?;
        self.store().flush()?;
        Ok(case)
    }

    /// Corrects decisions: each change is recorded as a [`Correction`], the assessment re-derived by the
    /// core (route, clocks, advice), the lifecycle moved to a changed procedure, and the case marked
    /// reviewed. A correction that changes nothing is refused (confirm instead).
    pub fn correct(
        &self,
        reference: &str,
        change: &Reclassification,
        by: &str,
        at: DateTime<FixedOffset>,
    ) -> anyhow::Result<CaseRecord> {
        self.case(reference)?;
        let policy = self.policy();
        let case = self.store().update_case(reference, |case| {
            let before = Decisions::of(&case.assessment);
            let after = Decisions {
                kind: change.kind.unwrap_or(before.kind),
                procedure: change.procedure.unwrap_or(before.procedure),
                directorate: change.directorate.unwrap_or(before.directorate),
                exclusions: change
                    .exclusions
                    .clone()
                    .unwrap_or_else(|| before.exclusions.clone()),
            };
            let mut corrections = Vec::new();
            let mut record = |field, from: String, to: String| {
                if from != to {
                    corrections.push(Correction {
                        at,
                        by: by.to_string(),
                        field,
                        from,
                        to,
                    });
                }
            };
            record(ReviewField::Kind, label(&before.kind), label(&after.kind));
            record(
                ReviewField::Procedure,
                label(&before.procedure),
                label(&after.procedure),
            );
            record(
                ReviewField::Directorate,
                label(&before.directorate),
                label(&after.directorate),
            );
            record(
                ReviewField::Exclusions,
                exclusions_label(&before.exclusions),
                exclusions_label(&after.exclusions),
            );
            if corrections.is_empty() {
                return Err(CaseworkError::Refused(
                    "the correction changes nothing: confirm the classification instead".into(),
                )
                .into());
            }
            let words = corrections
                .iter()
                .map(|c| format!("{} {} -> {}", label(&c.field), c.from, c.to))
                .collect::<Vec<_>>()
                .join("; ");
            case.assessment = reclassify(&case.assessment, &after, policy, by);
            let state = case.state.reclassified(after.kind, after.procedure);
            if state != case.state {
                case.state = state;
            }
            case.corrections.extend(corrections);
            case.review = Some(Review {
                at,
                by: by.to_string(),
            });
            case.history.push(staff_entry(
                at,
                by,
                &format!("corrected in review: {words}"),
            ));
            Ok(())
        })?;
        self.store().flush()?;
        Ok(case)
    }

    /// Applies a lifecycle action (respond with an outcome, escalate, refer, close) as a staff member.
    /// The inner error is the lifecycle's refusal, which changes nothing.
    pub fn act(
        &self,
        reference: &str,
        event: Event,
        by: &str,
        at: DateTime<FixedOffset>,
    ) -> anyhow::Result<Result<CaseState, TransitionError>> {
        self.case(reference)?;
        let result = self
            .store()
            .apply_staff_event(reference, event, self.policy(), at, by)?;
        self.store().flush()?;
        Ok(result)
    }

    /// Adds a staff note.
    pub fn add_note(
        &self,
        reference: &str,
        text: &str,
        by: &str,
        at: DateTime<FixedOffset>,
    ) -> anyhow::Result<CaseRecord> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CaseworkError::Refused("the note is empty".into()).into());
        }
        if text.len() > MAX_RECORDED_TEXT {
            return Err(CaseworkError::Refused(format!(
                "the note is over {MAX_RECORDED_TEXT} bytes"
            ))
            .into());
        }
        self.case(reference)?;
        let case = self.store().update_case(reference, |case| {
            case.notes.push(Note {
                at,
                by: by.to_string(),
                text: text.to_string(),
            });
            case.history.push(staff_entry(at, by, "note added"));
            Ok(())
        })?;
        self.store().flush()?;
        Ok(case)
    }

    /// Records feedback from another channel as a case, assessed by the same core. A web form with an
    /// email address gets an acknowledgement in the outbox; anything else is acknowledged by the member
    /// of staff at first contact (the outbox entry is suppressed with that reason). `by` is the staff
    /// user, `None` for a web form.
    pub fn record(&self, recorded: &Recorded, by: Option<&str>) -> anyhow::Result<String> {
        let text = recorded.text.trim();
        if text.is_empty() {
            return Err(CaseworkError::Refused("the feedback text is empty".into()).into());
        }
        if recorded.text.len() > MAX_RECORDED_TEXT {
            return Err(CaseworkError::Refused(format!(
                "the feedback text is over {MAX_RECORDED_TEXT} bytes"
            ))
            .into());
        }
        if recorded.channel == Channel::Email {
            return Err(CaseworkError::Refused(
                "email reaches cases through the mailboxes: choose phone, letter, face to face, social media or web form".into(),
            )
            .into());
        }
        if let Some(area) = &recorded.answers.service_area
            && !self.policy().document.service_areas.contains_key(area)
        {
            return Err(CaseworkError::Refused(format!("`{area}` is not a service area")).into());
        }
        let today = recorded.received.date_naive();
        let submission = Submission {
            text: text.to_string(),
            subject: recorded.subject.clone(),
            channel: Some(recorded.channel),
            received: Some(recorded.received),
            form: FormAnswers {
                mailbox: None,
                ..recorded.answers.clone()
            },
        };
        let assessment = assess(&submission, self.policy(), today);
        let from = (recorded.name.is_some() || recorded.email.is_some()).then(|| Mailbox {
            name: recorded.name.clone(),
            address: recorded.email.clone(),
        });
        let channel = label(&recorded.channel);
        let message = ParsedMessage {
            message_id: None,
            in_reply_to: Vec::new(),
            references: Vec::new(),
            subject: recorded.subject.clone(),
            from,
            reply_to: None,
            to: Vec::new(),
            cc: Vec::new(),
            date: Some(recorded.received),
            headers: Vec::new(),
            text: text.to_string(),
            html_only: false,
            attachments: Vec::new(),
            automatic: None,
            content_hash: String::new(),
        };
        let (recipient, outbox_status) = match (recorded.channel, &recorded.email) {
            (Channel::WebForm, Some(email)) => (Some(email.clone()), OutboxStatus::Pending),
            (Channel::WebForm, None) => (
                None,
                OutboxStatus::Suppressed {
                    reason: "the web form gave no email address to acknowledge".into(),
                },
            ),
            _ => (
                recorded.email.clone(),
                OutboxStatus::Suppressed {
                    reason: format!(
                        "received by {} and recorded by staff, who acknowledge it",
                        channel.replace('_', " ")
                    ),
                },
            ),
        };
        let new = NewCase {
            prefix: self.ingestor.settings().reference_prefix.clone(),
            year: today.year(),
            opened_on: today,
            received: Some(recorded.received),
            mailbox: channel.clone(),
            state: CaseState::new(assessment.kind, assessment.procedure),
            assessment,
            channel: recorded.channel,
            message: NewMessage {
                record: MessageRecord {
                    key: String::new(),
                    case: String::new(),
                    source: None,
                    received: Some(recorded.received),
                    message,
                    size: text.len(),
                    escalation_requested: false,
                },
                kept: Vec::new(),
            },
            recipient,
            outbox_status,
        };
        let reference = self.store().create_recorded_case(&new)?;
        if let Some(by) = by {
            self.store().update_case(&reference, |case| {
                case.history.push(staff_entry(
                    recorded.received,
                    by,
                    &format!("recorded from {}", channel.replace('_', " ")),
                ));
                Ok(())
            })?;
        }
        self.store().flush()?;
        Ok(reference)
    }

    /// Runs a quarantined message through ingestion again (after a fix to the parser or the limits). If
    /// it still cannot be read, nothing changes. If it can, its IMAP identity is released, it is ingested
    /// (a case, or a reply joined to its case), and the quarantine record removed. A crash between those
    /// steps leaves the record in quarantine with its identity unknown: the next retry, or a reconcile
    /// pass that fetches the message again, finishes the job.
    pub fn retry_quarantine(&self, id: &str, today: NaiveDate) -> anyhow::Result<Retry> {
        let Some((record, raw)) = self.store().quarantine(id)? else {
            return Err(CaseworkError::NoQuarantine(id.to_string()).into());
        };
        if let Err(reason) =
            ingest::assess_raw(&raw, self.policy(), today, self.ingestor.settings())
        {
            return Ok(Retry::StillQuarantined { reason });
        }
        let Some(source) = record.source.clone() else {
            return Err(CaseworkError::Refused(format!(
                "`{id}` has no IMAP identity to ingest it under"
            ))
            .into());
        };
        self.store().release_quarantine_identity(id)?;
        let outcome = self
            .ingestor
            .ingest_batch(
                vec![RawMessage {
                    mailbox: source.mailbox,
                    uidvalidity: source.uidvalidity,
                    uid: source.uid,
                    bytes: raw,
                    internal_date: record.received,
                    route_hint: None,
                }],
                today,
            )?
            .pop()
            .context("ingestion returned no outcome")?;
        self.store().remove_quarantine(id)?;
        self.store().flush()?;
        Ok(match outcome {
            Outcome::Quarantined(_) => Retry::StillQuarantined {
                reason: self
                    .store()
                    .quarantine(outcome.id())?
                    .map(|(r, _)| r.reason)
                    .unwrap_or_default(),
            },
            other => Retry::Ingested {
                reference: other.id().to_string(),
            },
        })
    }

    /// The clocks of a case's current stage as of `today`: the stage's own clocks (a later stage's run
    /// from the day it was escalated to), with working days left and whether the case has met them.
    pub fn clocks(&self, case: &CaseRecord, today: NaiveDate) -> Vec<Clock> {
        let policy = self.policy();
        let stage = case.state.stage_id(policy);
        let deadlines: Vec<Deadline> = match case.state.procedure {
            Some(procedure) if case.state.stage > 0 => {
                let stage_start = case
                    .history
                    .iter()
                    .rev()
                    .find(|h| matches!(h.event, Some(Event::Escalate)))
                    .map(|h| h.on);
                let receipt = case
                    .assessment
                    .deadlines
                    .iter()
                    .find(|d| d.from == ClockStart::Receipt)
                    .and_then(|d| d.starts);
                stage_deadlines(
                    policy,
                    procedure,
                    stage,
                    &ClockStarts {
                        receipt,
                        stage_start,
                        ..ClockStarts::default()
                    },
                )
            }
            _ => case
                .assessment
                .deadlines
                .iter()
                .filter(|d| d.stage == stage || d.stage == "redirect")
                .cloned()
                .collect(),
        };
        deadlines
            .into_iter()
            .filter_map(|d| {
                let due = d.due?;
                let met = met(&d, &case.state);
                Some(Clock {
                    stage: d.stage,
                    milestone: d.milestone,
                    label: d.label,
                    due,
                    due_extended: d.due_extended,
                    working_days_left: policy.calendar.working_days_between(today, due),
                    met,
                    repeats: d.repeats,
                })
            })
            .collect()
    }

    /// What is due as of `today`, over open cases and the outbox.
    pub fn due(&self, today: NaiveDate) -> anyhow::Result<DueView> {
        let mut view = DueView::default();
        let sunday = today + Duration::days(i64::from(6 - today.weekday().num_days_from_monday()));
        // The sender's own rule decides which acknowledgements are at risk (one rule, one list).
        let at_risk: std::collections::BTreeSet<String> =
            crate::outbox::at_risk(self.store(), self.policy(), today)?
                .into_iter()
                .map(|risk| risk.reference)
                .collect();
        for case in self.store().cases()? {
            if !case.state.is_open() {
                continue;
            }
            for clock in self.clocks(&case, today) {
                let entry = |clock: Clock| DueCase {
                    reference: case.reference.clone(),
                    subject: case.subject.clone(),
                    kind: case.assessment.kind,
                    clock,
                };
                let acknowledgement = matches!(clock.milestone.as_str(), "acknowledge" | "contact");
                if acknowledgement && !clock.met && at_risk.contains(&case.reference) {
                    view.acknowledgements_at_risk.push(entry(clock.clone()));
                }
                if clock.repeats {
                    if let Some(next) = owed_update(&clock, &case, today, self.policy()) {
                        view.updates_owed.push(entry(next));
                    }
                    continue;
                }
                if clock.met {
                    continue;
                }
                if clock.due < today {
                    view.overdue.push(entry(clock));
                } else if clock.due == today {
                    view.due_today.push(entry(clock));
                } else if clock.due <= sunday {
                    view.due_this_week.push(entry(clock));
                }
            }
        }
        for list in [
            &mut view.overdue,
            &mut view.due_today,
            &mut view.due_this_week,
            &mut view.acknowledgements_at_risk,
            &mut view.updates_owed,
        ] {
            list.sort_by(|a, b| (a.clock.due, &a.reference).cmp(&(b.clock.due, &b.reference)));
        }
        Ok(view)
    }
}

/// Whether the case has moved past a clock's milestone.
fn met(deadline: &Deadline, state: &CaseState) -> bool {
    match deadline.milestone.as_str() {
        "acknowledge" | "contact" => state.status != Status::Received,
        _ => matches!(
            state.status,
            Status::Responded | Status::Referred | Status::Closed
        ),
    }
}

/// A four-weekly progress update, while a case awaiting its response has run past its first period:
/// the clock moved to the next update date on or after today.
fn owed_update(
    clock: &Clock,
    case: &CaseRecord,
    today: NaiveDate,
    policy: &Policy,
) -> Option<Clock> {
    if clock.due > today || !matches!(case.state.status, Status::Received | Status::Acknowledged) {
        return None;
    }
    let start = case.opened_on;
    let period = (clock.due - start).num_days().max(1);
    let periods_run = (today - start).num_days() / period;
    let next = start + Duration::days(period * (periods_run + 1));
    let last = start + Duration::days(period * periods_run);
    let due = if last == today { last } else { next };
    Some(Clock {
        due,
        working_days_left: policy.calendar.working_days_between(today, due),
        ..clock.clone()
    })
}

fn staff_entry(at: DateTime<FixedOffset>, by: &str, note: &str) -> HistoryEntry {
    HistoryEntry {
        on: at.date_naive(),
        event: None,
        message: None,
        note: note.to_string(),
        at: Some(at),
        by: Some(by.to_string()),
    }
}

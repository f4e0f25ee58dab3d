//! The daily digest per team mailbox: what is due this week, what is overdue, and which
//! acknowledgements are at risk, emailed by the acknowledgement sender to the address in `[smtp]
//! digest_to` for that mailbox, once a day from `digest_hour` (UK local time of the server).
//!
//! It goes to a team's own address, not to the watched mailbox (that would make it a case). It names
//! cases by reference, kind and date only: no sender, subject or text.

use chrono::{Duration, NaiveDate};
use feedback_core::{Policy, Status};

use crate::outbox::{AtRisk, at_risk};
use crate::store::Store;
use crate::templates::long_date;

/// One case's deadline in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    /// The case.
    pub reference: String,
    /// The kind, as its id.
    pub kind: String,
    /// What is due, in the policy's words (`Full reply`).
    pub label: String,
    /// When.
    pub due: NaiveDate,
}

/// One mailbox's digest for a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// The mailbox name.
    pub mailbox: String,
    /// The day.
    pub today: NaiveDate,
    /// Open deadlines of the current stage due from today to seven days on, soonest first.
    pub due_this_week: Vec<DueItem>,
    /// Open deadlines of the current stage already past, oldest first.
    pub overdue: Vec<DueItem>,
    /// Acknowledgements not sent with their deadline a working day away or past.
    pub at_risk: Vec<AtRisk>,
}

impl Digest {
    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.due_this_week.is_empty() && self.overdue.is_empty() && self.at_risk.is_empty()
    }

    /// The subject and plain-text body.
    pub fn render(&self, council: &str) -> (String, String) {
        let subject = format!(
            "Feedback digest for {}, {}: {} due this week, {} overdue, {} acknowledgements at risk",
            self.mailbox,
            long_date(self.today),
            self.due_this_week.len(),
            self.overdue.len(),
            self.at_risk.len()
        );
        let mut body = format!(
            "{council}: feedback cases of the {} mailbox on {}.\n",
            self.mailbox,
            long_date(self.today)
        );
        let section = |body: &mut String, title: &str, items: &[DueItem]| {
            body.push_str(&format!("\n{title} ({})\n", items.len()));
            if items.is_empty() {
                body.push_str("  none\n");
            }
            for item in items {
                body.push_str(&format!(
                    "  {}  {} ({}): {}\n",
                    item.reference,
                    item.label,
                    item.kind,
                    long_date(item.due)
                ));
            }
        };
        section(&mut body, "Overdue", &self.overdue);
        section(&mut body, "Due in the next seven days", &self.due_this_week);
        body.push_str(&format!(
            "\nAcknowledgements at risk ({})\n",
            self.at_risk.len()
        ));
        if self.at_risk.is_empty() {
            body.push_str("  none\n");
        }
        for item in &self.at_risk {
            body.push_str(&format!(
                "  {}  acknowledge by {} ({} working days left), not sent: {}\n",
                item.reference,
                long_date(item.due),
                item.working_days_left,
                status_words(&item.status)
            ));
        }
        (subject, body)
    }
}

fn status_words(status: &crate::store::OutboxStatus) -> String {
    use crate::store::OutboxStatus::*;
    match status {
        Pending => "waiting to be sent".into(),
        Sending { .. } => "being sent".into(),
        Failed {
            permanent: true,
            reason,
            ..
        } => format!("refused for good ({reason})"),
        Failed { reason, .. } => format!("failed, will retry ({reason})"),
        Suppressed { .. } | Sent { .. } => "-".into(),
    }
}

/// The digest of `mailbox`'s cases on `today`.
pub fn digest(
    store: &Store,
    policy: &Policy,
    mailbox: &str,
    today: NaiveDate,
) -> anyhow::Result<Digest> {
    let week_end = today + Duration::days(7);
    let mut due_this_week = Vec::new();
    let mut overdue = Vec::new();
    let mut references = std::collections::BTreeSet::new();
    for case in store.cases()? {
        if case.mailbox != mailbox {
            continue;
        }
        references.insert(case.reference.clone());
        if !matches!(case.state.status, Status::Received | Status::Acknowledged) {
            continue;
        }
        let stage = case.state.stage_id(policy).to_string();
        for deadline in &case.assessment.deadlines {
            let Some(due) = deadline.due else { continue };
            if deadline.repeats || deadline.milestone == "acknowledge" || deadline.stage != stage {
                continue;
            }
            let item = DueItem {
                reference: case.reference.clone(),
                kind: serde_json::to_value(case.assessment.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                label: deadline.label.clone(),
                due,
            };
            if due < today {
                overdue.push(item);
            } else if due <= week_end {
                due_this_week.push(item);
            }
        }
    }
    due_this_week.sort_by(|a, b| (a.due, &a.reference).cmp(&(b.due, &b.reference)));
    overdue.sort_by(|a, b| (a.due, &a.reference).cmp(&(b.due, &b.reference)));
    let at_risk = at_risk(store, policy, today)?
        .into_iter()
        .filter(|item| references.contains(&item.reference))
        .collect();
    Ok(Digest {
        mailbox: mailbox.to_string(),
        today,
        due_this_week,
        overdue,
        at_risk,
    })
}

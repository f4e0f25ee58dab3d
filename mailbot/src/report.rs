//! The monitoring report the policy asks for ("Compliments, Comments and Complaints Monitoring"): for a
//! date range, the feedback received by directorate and by channel, the share of complaints acknowledged
//! and answered within the standard, outcomes, referrals to the outside bodies, compensation paid and how
//! often reviewers corrected the classifier.
//!
//! Pure functions over the store's records ([`build`]), so the console and the CLI give the same figures;
//! then three renderings: JSON (the [`Report`] itself), CSV ([`to_csv`]) and a self-contained HTML page
//! with inline SVG charts ([`render_html`]).
//!
//! Definitions (also in `docs/reporting.md`):
//! - a case is in the report when its `opened_on` day is within the range, both ends included;
//! - the standards are measured on complaints only (the policy's "KCC Complaints' Standard"), against the
//!   due dates of the first stage's clocks in the case's assessment (acknowledge or contact; full reply or
//!   response), which count England and Wales working days from the day of receipt; an escalated
//!   complaint is also measured against the next stage's reply clock from the day of the escalation;
//! - acknowledged: the earlier of the outbox entry's `Sent` time and an `acknowledge` event in the
//!   history; answered: the first `respond` event. Times are compared as UK local days;
//! - a complaint is `met` when done on or before its due day, `missed` when done later or not done by a
//!   due day before the report's `as_of` day, and `pending` otherwise; the share is met / (met + missed);
//! - the classifier was wrong on a field of a reviewed case when the reviewers' last value differs from
//!   the classifier's (the first correction's `from`): a correction that was later undone does not count.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use feedback_core::calendar::uk_local_time;
use feedback_core::{Assessment, Event, Kind, Policy, add_period};
use serde::{Deserialize, Serialize};

use crate::store::{CaseRecord, OutboxEntry, OutboxStatus, ReviewField};

mod html;

pub use html::render_html;

/// The label a value has in JSON (`complaint`, `growth_environment_transport`), for keys and CSV.
pub fn label<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// How a set of cases did against one standard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standard {
    /// Done on or before the due day.
    pub met: usize,
    /// Done after the due day, or not done and the due day has passed.
    pub missed: usize,
    /// Not done yet, and not yet due.
    pub pending: usize,
}

impl Standard {
    /// The share met, in percent, of the cases decided (met or missed); `None` when none are.
    pub fn percent(&self) -> Option<f64> {
        let decided = self.met + self.missed;
        (decided > 0).then(|| self.met as f64 * 100.0 / decided as f64)
    }

    fn count(&mut self, due: NaiveDate, done: Option<NaiveDate>, as_of: NaiveDate) {
        match done {
            Some(day) if day <= due => self.met += 1,
            Some(_) => self.missed += 1,
            None if as_of > due => self.missed += 1,
            None => self.pending += 1,
        }
    }
}

/// One month of the range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    /// Cases opened, by kind.
    pub by_kind: BTreeMap<String, usize>,
    /// Complaints opened this month against the acknowledgement standard.
    pub acknowledged: Standard,
    /// Complaints opened this month against the reply standard.
    pub answered: Standard,
}

/// Compensation paid on the cases of the range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compensation {
    /// Cases with a payment.
    pub cases: usize,
    /// The total, in pence.
    pub total_pence: u64,
}

/// How often the classifier's label was corrected in review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelCounts {
    /// Reviewed cases the classifier gave this label.
    pub predicted: usize,
    /// Of those, the ones the reviewers changed.
    pub wrong: usize,
}

/// One kind of change reviewers made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The field (`kind`, `procedure`, `directorate`, `exclusions`).
    pub field: String,
    /// What the classifier said.
    pub from: String,
    /// What the reviewers set.
    pub to: String,
    /// How many cases.
    pub count: usize,
}

/// The corrections made in review.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewSummary {
    /// Cases signed off by a reviewer (the denominator).
    pub reviewed: usize,
    /// Reviewed cases with at least one field the classifier got wrong.
    pub corrected: usize,
    /// Per field: reviewed cases where the classifier got it wrong.
    pub wrong_by_field: BTreeMap<String, usize>,
    /// Per `field:label` the classifier gave (`kind:complaint`): how often it was given and how often
    /// wrong.
    pub by_label: BTreeMap<String, LabelCounts>,
    /// Each change from the classifier's label to the reviewers', most frequent first.
    pub changes: Vec<Change>,
}

/// The monitoring report for a date range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The council (the policy's name for it).
    pub council: String,
    /// The first day of the range.
    pub from: NaiveDate,
    /// The last day of the range (included).
    pub to: NaiveDate,
    /// The day the figures were taken (work not yet due by then is `pending`).
    pub as_of: NaiveDate,
    /// Cases opened in the range.
    pub cases: usize,
    /// Cases by kind.
    pub by_kind: BTreeMap<String, usize>,
    /// Cases by directorate (`none` where no service was identified), then kind.
    pub by_directorate: BTreeMap<String, BTreeMap<String, usize>>,
    /// Cases by channel, then kind.
    pub by_channel: BTreeMap<String, BTreeMap<String, usize>>,
    /// Complaints against the acknowledgement standard (first stage).
    pub acknowledged: Standard,
    /// Complaints against the reply standard (first stage).
    pub answered: Standard,
    /// Escalated complaints against each later stage's reply standard (`stage_2`, ...), from the day of
    /// the escalation.
    pub answered_later: BTreeMap<String, Standard>,
    /// Responses to complaints by stage (`stage_1`, `stage_2`, ...), then outcome.
    pub outcomes: BTreeMap<String, BTreeMap<String, usize>>,
    /// Cases referred to an outside body, by the body's id (`lgsco`, `ico`).
    pub referrals: BTreeMap<String, usize>,
    /// Compensation paid.
    pub compensation: Compensation,
    /// Corrections made in review.
    pub review: ReviewSummary,
    /// Every month of the range, in order.
    pub months: Vec<Month>,
    /// Display names of the ids used above (directorates, outside bodies), from the policy.
    pub names: BTreeMap<String, String>,
}

/// Builds the report for the cases opened from `from` to `to` (both included), as of the day `as_of`.
/// `outbox` holds the acknowledgements (any order; entries of other cases are ignored).
pub fn build(
    cases: &[CaseRecord],
    outbox: &[OutboxEntry],
    policy: &Policy,
    from: NaiveDate,
    to: NaiveDate,
    as_of: NaiveDate,
) -> Report {
    let sent: BTreeMap<&str, NaiveDate> = outbox
        .iter()
        .filter_map(|entry| match &entry.status {
            OutboxStatus::Sent { at, .. } => Some((entry.reference.as_str(), uk_day(at))),
            _ => None,
        })
        .collect();
    let mut months: BTreeMap<String, Month> = month_range(from, to)
        .into_iter()
        .map(|month| {
            (
                month.clone(),
                Month {
                    month,
                    ..Month::default()
                },
            )
        })
        .collect();
    let mut report = Report {
        council: policy.document.council.clone(),
        from,
        to,
        as_of,
        cases: 0,
        by_kind: BTreeMap::new(),
        by_directorate: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        acknowledged: Standard::default(),
        answered: Standard::default(),
        answered_later: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        referrals: BTreeMap::new(),
        compensation: Compensation::default(),
        review: ReviewSummary::default(),
        months: Vec::new(),
        names: names(policy),
    };
    let mut changes: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for case in cases
        .iter()
        .filter(|c| c.opened_on >= from && c.opened_on <= to)
    {
        let kind = label(&case.assessment.kind);
        let directorate = case
            .assessment
            .directorate
            .as_ref()
            .map_or_else(|| "none".to_string(), label);
        report.cases += 1;
        *report.by_kind.entry(kind.clone()).or_default() += 1;
        *report
            .by_directorate
            .entry(directorate)
            .or_default()
            .entry(kind.clone())
            .or_default() += 1;
        *report
            .by_channel
            .entry(label(&case.channel))
            .or_default()
            .entry(kind.clone())
            .or_default() += 1;
        let month = months
            .entry(month_of(case.opened_on))
            .or_insert_with(|| Month {
                month: month_of(case.opened_on),
                ..Month::default()
            });
        *month.by_kind.entry(kind).or_default() += 1;
        if case.assessment.kind == Kind::Complaint {
            if let Some(due) = first_stage_due(&case.assessment, &["acknowledge", "contact"]) {
                let done = earliest(
                    sent.get(case.reference.as_str()).copied(),
                    event_day(case, |e| matches!(e, Event::Acknowledge)),
                );
                report.acknowledged.count(due, done, as_of);
                month.acknowledged.count(due, done, as_of);
            }
            if let Some(due) = first_stage_due(&case.assessment, &["full_reply", "response"]) {
                let done = event_day(case, |e| matches!(e, Event::Respond { .. }));
                report.answered.count(due, done, as_of);
                month.answered.count(due, done, as_of);
            }
            count_outcomes(case, &mut report.outcomes);
            count_later_stages(case, policy, as_of, &mut report.answered_later);
        }
        if case
            .history
            .iter()
            .any(|h| matches!(h.event, Some(Event::Refer)))
        {
            let body = case
                .state
                .procedure
                .and_then(|p| policy.procedure(p))
                .and_then(|spec| spec.outside_body.clone())
                .unwrap_or_else(|| "unknown".into());
            *report.referrals.entry(body).or_default() += 1;
        }
        if let Some(pence) = case.compensation_paid_pence {
            report.compensation.cases += 1;
            report.compensation.total_pence = report.compensation.total_pence.saturating_add(pence);
        }
        if case.review.is_some() {
            count_review(case, &mut report.review, &mut changes);
        }
    }
    let mut changes: Vec<Change> = changes
        .into_iter()
        .map(|((field, from, to), count)| Change {
            field,
            from,
            to,
            count,
        })
        .collect();
    changes.sort_by_key(|c| std::cmp::Reverse(c.count));
    report.review.changes = changes;
    report.months = months.into_values().collect();
    report
}

/// The display names of directorates and outside bodies.
fn names(policy: &Policy) -> BTreeMap<String, String> {
    let directorates = policy
        .document
        .directorates
        .iter()
        .map(|(id, spec)| (label(id), spec.name.clone()));
    let bodies = policy
        .document
        .outside_bodies
        .iter()
        .map(|(id, contact)| (id.clone(), contact.name.clone()));
    directorates.chain(bodies).collect()
}

fn uk_day(at: &DateTime<FixedOffset>) -> NaiveDate {
    uk_local_time(at.with_timezone(&Utc)).date()
}

fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// Every month from `from`'s to `to`'s, as `YYYY-MM` (at most 1,200: a century is enough for a report).
fn month_range(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = from.with_day(1).unwrap_or(from);
    while day <= to && out.len() < 1200 {
        out.push(month_of(day));
        match day.checked_add_months(chrono::Months::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

fn earliest(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The due day of the first clock of the assessment's first stage with one of these milestones.
fn first_stage_due(assessment: &Assessment, milestones: &[&str]) -> Option<NaiveDate> {
    let first_stage = assessment.deadlines.first().map(|d| d.stage.as_str())?;
    assessment
        .deadlines
        .iter()
        .filter(|d| d.stage == first_stage && milestones.contains(&d.milestone.as_str()))
        .find_map(|d| d.due)
}

/// The UK day of the first history entry with a matching event.
fn event_day(case: &CaseRecord, matches: impl Fn(&Event) -> bool) -> Option<NaiveDate> {
    case.history
        .iter()
        .find(|h| h.event.as_ref().is_some_and(&matches))
        .map(|h| h.at.as_ref().map_or(h.on, uk_day))
}

/// Counts each response's outcome under the stage it answered (stage 1 until an escalation).
fn count_outcomes(case: &CaseRecord, outcomes: &mut BTreeMap<String, BTreeMap<String, usize>>) {
    let mut stage = 1;
    for entry in &case.history {
        match entry.event {
            Some(Event::Escalate) => stage += 1,
            Some(Event::Respond { outcome }) => {
                *outcomes
                    .entry(format!("stage_{stage}"))
                    .or_default()
                    .entry(label(&outcome))
                    .or_default() += 1;
            }
            _ => {}
        }
    }
}

/// Counts each escalation against the reply clock of the stage it started: due from the day of the
/// escalation, answered by the next `respond` event.
fn count_later_stages(
    case: &CaseRecord,
    policy: &Policy,
    as_of: NaiveDate,
    later: &mut BTreeMap<String, Standard>,
) {
    let Some(spec) = case.state.procedure.and_then(|p| policy.procedure(p)) else {
        return;
    };
    let mut stage = 0;
    for (index, entry) in case.history.iter().enumerate() {
        if !matches!(entry.event, Some(Event::Escalate)) {
            continue;
        }
        stage += 1;
        let Some(stage_spec) = spec.stages.get(stage) else {
            continue;
        };
        let Some(clock) = stage_spec
            .clocks
            .iter()
            .find(|c| matches!(c.milestone.as_str(), "full_reply" | "response"))
        else {
            continue;
        };
        let started = entry.at.as_ref().map_or(entry.on, uk_day);
        let due = add_period(policy, started, clock.period);
        let done = case
            .history
            .iter()
            .skip(index + 1)
            .take_while(|h| !matches!(h.event, Some(Event::Escalate)))
            .find(|h| matches!(h.event, Some(Event::Respond { .. })))
            .map(|h| h.at.as_ref().map_or(h.on, uk_day));
        later
            .entry(stage_spec.id.clone())
            .or_default()
            .count(due, done, as_of);
    }
}

/// The classifier's label of a field: the first correction's `from`, else the (uncorrected) assessment.
fn original(case: &CaseRecord, field: ReviewField) -> String {
    case.corrections
        .iter()
        .find(|c| c.field == field)
        .map_or_else(|| current(&case.assessment, field), |c| c.from.clone())
}

/// A field's label as the assessment holds it now, in the form corrections use: `none` for no procedure
/// or directorate, exclusions as a sorted comma list (empty for none).
fn current(assessment: &Assessment, field: ReviewField) -> String {
    let or_none = |value: Option<String>| value.unwrap_or_else(|| "none".into());
    match field {
        ReviewField::Kind => label(&assessment.kind),
        ReviewField::Procedure => or_none(assessment.procedure.as_ref().map(label)),
        ReviewField::Directorate => or_none(assessment.directorate.as_ref().map(label)),
        ReviewField::Exclusions => assessment
            .exclusions
            .iter()
            .map(label)
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn count_review(
    case: &CaseRecord,
    review: &mut ReviewSummary,
    changes: &mut BTreeMap<(String, String, String), usize>,
) {
    const FIELDS: [ReviewField; 4] = [
        ReviewField::Kind,
        ReviewField::Procedure,
        ReviewField::Directorate,
        ReviewField::Exclusions,
    ];
    review.reviewed += 1;
    let mut wrong_fields = BTreeSet::new();
    for field in FIELDS {
        let field_name = label(&field);
        let said = original(case, field);
        let last = case
            .corrections
            .iter()
            .rev()
            .find(|c| c.field == field)
            .map(|c| c.to.clone());
        let counts = review
            .by_label
            .entry(format!("{field_name}:{said}"))
            .or_default();
        counts.predicted += 1;
        if let Some(last) = last.filter(|last| *last != said) {
            counts.wrong += 1;
            wrong_fields.insert(field_name.clone());
            *changes.entry((field_name, said, last)).or_default() += 1;
        }
    }
    if !wrong_fields.is_empty() {
        review.corrected += 1;
    }
    for field in wrong_fields {
        *review.wrong_by_field.entry(field).or_default() += 1;
    }
}

/// The report as CSV: one row per figure, `section,group,item,value`, so a spreadsheet can pivot it.
pub fn to_csv(report: &Report) -> anyhow::Result<String> {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut row = |section: &str, group: &str, item: &str, value: String| {
        rows.push([section.into(), group.into(), item.into(), value]);
    };
    row("period", "", "from", report.from.to_string());
    row("period", "", "to", report.to.to_string());
    row("period", "", "as_of", report.as_of.to_string());
    row("cases", "", "total", report.cases.to_string());
    for (kind, n) in &report.by_kind {
        row("kind", "", kind, n.to_string());
    }
    for (directorate, kinds) in &report.by_directorate {
        for (kind, n) in kinds {
            row("directorate", directorate, kind, n.to_string());
        }
    }
    for (channel, kinds) in &report.by_channel {
        for (kind, n) in kinds {
            row("channel", channel, kind, n.to_string());
        }
    }
    for (section, standard) in [
        ("acknowledged", &report.acknowledged),
        ("answered", &report.answered),
    ] {
        standard_rows(&mut row, section, "", standard);
    }
    for (stage, standard) in &report.answered_later {
        standard_rows(&mut row, "answered_stage", stage, standard);
    }
    for (stage, outcomes) in &report.outcomes {
        for (outcome, n) in outcomes {
            row("outcome", stage, outcome, n.to_string());
        }
    }
    for (body, n) in &report.referrals {
        row("referral", "", body, n.to_string());
    }
    row(
        "compensation",
        "",
        "cases",
        report.compensation.cases.to_string(),
    );
    row(
        "compensation",
        "",
        "total_pence",
        report.compensation.total_pence.to_string(),
    );
    row("review", "", "reviewed", report.review.reviewed.to_string());
    row(
        "review",
        "",
        "corrected",
        report.review.corrected.to_string(),
    );
    for (field, n) in &report.review.wrong_by_field {
        row("review_wrong", "", field, n.to_string());
    }
    for (name, counts) in &report.review.by_label {
        row(
            "review_label",
            name,
            "predicted",
            counts.predicted.to_string(),
        );
        row("review_label", name, "wrong", counts.wrong.to_string());
    }
    for change in &report.review.changes {
        row(
            "review_change",
            &change.field,
            &format!("{} -> {}", change.from, change.to),
            change.count.to_string(),
        );
    }
    for month in &report.months {
        for (kind, n) in &month.by_kind {
            row("month", &month.month, kind, n.to_string());
        }
        standard_rows(
            &mut row,
            "month_acknowledged",
            &month.month,
            &month.acknowledged,
        );
        standard_rows(&mut row, "month_answered", &month.month, &month.answered);
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["section", "group", "item", "value"])
        .context("writing the CSV header")?;
    for record in &rows {
        writer.write_record(record).context("writing a CSV row")?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|err| anyhow::anyhow!("finishing the CSV: {err}"))?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

fn standard_rows(
    row: &mut impl FnMut(&str, &str, &str, String),
    section: &str,
    group: &str,
    standard: &Standard,
) {
    row(section, group, "met", standard.met.to_string());
    row(section, group, "missed", standard.missed.to_string());
    row(section, group, "pending", standard.pending.to_string());
    row(
        section,
        group,
        "percent",
        standard
            .percent()
            .map(|p| format!("{p:.1}"))
            .unwrap_or_default(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn months_run_across_the_year_end_and_include_partial_ones() {
        assert_eq!(
            month_range(day("2026-11-15"), day("2027-02-01")),
            ["2026-11", "2026-12", "2027-01", "2027-02"]
        );
        assert_eq!(
            month_range(day("2026-03-31"), day("2026-03-31")),
            ["2026-03"]
        );
        assert!(month_range(day("2026-04-01"), day("2026-03-31")).is_empty());
    }

    #[test]
    fn the_due_day_itself_is_within_the_standard() {
        let due = day("2026-10-06");
        let mut s = Standard::default();
        s.count(due, Some(due), day("2026-12-01"));
        s.count(due, Some(day("2026-10-07")), day("2026-12-01"));
        s.count(due, None, due);
        s.count(due, None, day("2026-10-07"));
        assert_eq!(
            s,
            Standard {
                met: 1,
                missed: 2,
                pending: 1
            }
        );
        assert_eq!(s.percent(), Some(100.0 / 3.0));
    }

    #[test]
    fn a_bst_evening_send_counts_on_its_uk_day() {
        // 23:30 UTC on 10 September is 00:30 on the 11th in London.
        let at = DateTime::parse_from_rfc3339("2026-09-10T23:30:00Z").unwrap_or_default();
        assert_eq!(uk_day(&at), day("2026-09-11"));
    }
}

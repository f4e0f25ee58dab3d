//! The clocks of a procedure as dates.

use chrono::{Duration, Months, NaiveDate};

use crate::model::{ClockStart, Deadline, Kind, Period, Procedure};
use crate::policy::{ClockSpec, Policy};

/// The dates a clock's start is known for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockStarts {
    /// The working day the matter counts as received.
    pub receipt: Option<NaiveDate>,
    /// When the current stage started.
    pub stage_start: Option<NaiveDate>,
    /// When a review request was accepted.
    pub acceptance: Option<NaiveDate>,
    /// The appeal hearing.
    pub hearing: Option<NaiveDate>,
    /// When the person became aware.
    pub awareness: Option<NaiveDate>,
}

impl ClockStarts {
    fn get(&self, from: ClockStart) -> Option<NaiveDate> {
        match from {
            ClockStart::Receipt => self.receipt,
            ClockStart::StageStart => self.stage_start,
            ClockStart::Acceptance => self.acceptance,
            ClockStart::Hearing => self.hearing,
            ClockStart::Awareness => self.awareness,
        }
    }
}

/// Adds a period to a date on the policy's calendar.
pub fn add_period(policy: &Policy, start: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::WorkingDays(n) => policy.calendar.add_working_days(start, n),
        Period::CalendarDays(n) => start + Duration::days(i64::from(n)),
        Period::CalendarMonths(n) => start.checked_add_months(Months::new(n)).unwrap_or(start),
    }
}

fn deadline(policy: &Policy, stage: &str, clock: &ClockSpec, starts: &ClockStarts) -> Deadline {
    let start = starts.get(clock.from);
    Deadline {
        stage: stage.to_string(),
        milestone: clock.milestone.clone(),
        label: clock.label.clone(),
        period: clock.period,
        extended_period: clock.extended,
        from: clock.from,
        starts: start,
        due: start.map(|s| add_period(policy, s, clock.period)),
        due_extended: start
            .zip(clock.extended)
            .map(|(s, p)| add_period(policy, s, p)),
        repeats: clock.repeats,
    }
}

/// Every clock that applies to a matter of this kind and procedure. Comments and compliments keep only
/// the acknowledgement; kinds redirected elsewhere get their redirect's clocks.
pub fn deadlines(
    policy: &Policy,
    kind: Kind,
    procedure: Option<Procedure>,
    starts: &ClockStarts,
) -> Vec<Deadline> {
    let mut out = Vec::new();
    match procedure.and_then(|p| policy.procedure(p)) {
        Some(spec) if kind.is_feedback() => {
            for stage in &spec.stages {
                for clock in &stage.clocks {
                    let acknowledgement =
                        matches!(clock.milestone.as_str(), "acknowledge" | "contact");
                    if kind == Kind::Complaint || acknowledgement {
                        out.push(deadline(policy, &stage.id, clock, starts));
                    }
                }
            }
            if kind == Kind::Complaint {
                out.extend(
                    spec.windows
                        .iter()
                        .map(|clock| deadline(policy, "window", clock, starts)),
                );
            }
        }
        _ => {
            if let Some(redirect) = policy.document.redirects.get(&kind) {
                out.extend(
                    redirect
                        .clocks
                        .iter()
                        .map(|clock| deadline(policy, "redirect", clock, starts)),
                );
            }
        }
    }
    out
}

/// The clocks of one stage, once it has started (mailbot calls this on escalation).
pub fn stage_deadlines(
    policy: &Policy,
    procedure: Procedure,
    stage_id: &str,
    starts: &ClockStarts,
) -> Vec<Deadline> {
    policy
        .procedure(procedure)
        .and_then(|spec| spec.stages.iter().find(|s| s.id == stage_id))
        .map(|stage| {
            stage
                .clocks
                .iter()
                .map(|clock| deadline(policy, &stage.id, clock, starts))
                .collect()
        })
        .unwrap_or_default()
}

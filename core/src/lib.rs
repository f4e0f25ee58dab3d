//! feedback-core: a council's customer-feedback policy as a pure engine.
//!
//! [`assess`] takes what a resident wrote (a form or an email), the council's [`Policy`] and today's date,
//! and says what kind of feedback it is, which procedure applies, who handles it, what the policy will
//! not accept as a complaint and where that goes instead, and the date of every clock, each decision with
//! its evidence. The same code runs natively in `mailbot` and as WebAssembly in the browser: there is no
//! I/O, no clock and no global state here; "today" and "received at" are arguments.
//!
//! Kent County Council's policy is embedded ([`Policy::kent`]); another council loads its own TOML
//! ([`Policy::load`]), which is validated with every problem reported.
//!
//! Feature flags: none.
#![warn(missing_docs)]

pub mod calendar;
pub mod classify;
mod compact;
pub mod deadlines;
pub mod lexicon;
pub mod lifecycle;
pub mod linear;
pub mod model;
pub mod policy;
pub mod review;
pub mod text;

use chrono::NaiveDate;

pub use calendar::WorkingCalendar;
pub use deadlines::{ClockStarts, add_period, stage_deadlines};
pub use lifecycle::{CaseState, Event, Outcome, Status, TransitionError};
pub use model::*;
pub use policy::{Policy, PolicyError, PolicyProblem};

/// Assesses one submission under a policy. `today` is the date the assessment is made; a submission
/// without a received time counts as received today.
pub fn assess(submission: &Submission, policy: &Policy, today: NaiveDate) -> Assessment {
    let classified = classify::classify(submission, policy, today);
    let receipt = match submission.received {
        Some(received) => policy
            .calendar
            .effective_receipt(received, policy.document.calendar.office_cutoff),
        None => policy.calendar.working_day_on_or_after(today),
    };
    let starts = ClockStarts {
        receipt: Some(receipt),
        awareness: submission.form.aware_since,
        ..ClockStarts::default()
    };
    let deadlines = deadlines::deadlines(policy, classified.kind, classified.procedure, &starts);
    let route = route(
        policy,
        classified.kind,
        classified.procedure,
        classified.directorate,
        classified.service_area.as_deref(),
    );
    let advice = advice(
        policy,
        classified.kind,
        &classified.exclusions,
        &classified.cautions,
    );
    Assessment {
        kind: classified.kind,
        confidence: classified.confidence,
        needs_review: classified.needs_review,
        procedure: classified.procedure,
        directorate: classified.directorate,
        service_area: classified.service_area,
        route,
        exclusions: classified.exclusions,
        cautions: classified.cautions,
        advice,
        deadlines,
        evidence: classified.evidence,
    }
}

/// The policy's plain-English advice on a kind that is redirected, and on each exclusion and caution.
pub fn advice(
    policy: &Policy,
    kind: Kind,
    exclusions: &std::collections::BTreeSet<Exclusion>,
    cautions: &std::collections::BTreeSet<Caution>,
) -> Vec<Advice> {
    let mut advice = Vec::new();
    if let Some(redirect) = policy.document.redirects.get(&kind) {
        advice.push(Advice {
            about: format!("kind:{}", policy::snake(&kind)),
            text: redirect.advice.clone(),
        });
    }
    for exclusion in exclusions {
        if let Some(text) = policy.document.exclusions.get(exclusion) {
            advice.push(Advice {
                about: format!("exclusion:{}", policy::snake(exclusion)),
                text: text.clone(),
            });
        }
    }
    for caution in cautions {
        if let Some(text) = policy.document.cautions.get(caution) {
            advice.push(Advice {
                about: format!("caution:{}", policy::snake(caution)),
                text: text.clone(),
            });
        }
    }
    advice
}

/// Who handles a matter and where it goes next.
pub fn route(
    policy: &Policy,
    kind: Kind,
    procedure: Option<Procedure>,
    directorate: Option<Directorate>,
    area: Option<&str>,
) -> Route {
    let doc = &policy.document;
    let contact = |id: &str| {
        doc.teams.get(id).cloned().unwrap_or_else(|| Contact {
            name: id.to_string(),
            ..Contact::default()
        })
    };
    let body = |id: &String| doc.outside_bodies.get(id).cloned();
    match procedure.and_then(|p| doc.procedures.get(&p)) {
        Some(spec) if kind.is_feedback() => {
            let team = area
                .and_then(|a| spec.team_by_service_area.get(a))
                .or_else(|| directorate.and_then(|d| spec.team_by_directorate.get(&d)))
                .unwrap_or(&spec.team);
            let director = directorate
                .filter(|_| spec.escalate_to_director)
                .and_then(|d| doc.directorates.get(&d))
                .map(|d| d.director.clone());
            Route {
                team: contact(team),
                director,
                next_stage: spec.stages.first().and_then(|s| s.next.clone()),
                outside_body: spec.outside_body.as_ref().and_then(body),
                also: spec.also.iter().filter_map(body).collect(),
            }
        }
        _ => {
            let redirect = doc.redirects.get(&kind);
            let team = redirect
                .map(|r| {
                    area.and_then(|a| r.team_by_service_area.get(a))
                        .unwrap_or(&r.team)
                        .as_str()
                })
                .unwrap_or("customer_feedback");
            let outside_body = match team {
                "foi" | "data_protection" => doc.outside_bodies.get("ico").cloned(),
                _ => None,
            };
            Route {
                team: contact(team),
                director: None,
                next_stage: redirect.map(|r| r.advice.clone()),
                outside_body,
                also: Vec::new(),
            }
        }
    }
}

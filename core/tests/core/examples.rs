//! The examples the classifier is required to get right, through `assess` with Kent's policy on
//! 1 June 2026. Every assessment must give its evidence for the kind.

use chrono::NaiveDate;
use feedback_core::{
    Assessment, Caution, Directorate, Exclusion, Kind, Policy, Procedure, Submission, assess,
};

fn assessed(text: &str) -> Assessment {
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let submission = Submission {
        text: text.to_string(),
        ..Submission::default()
    };
    let assessment = assess(&submission, &Policy::kent(), today);
    assert_kind_evidence(text, &assessment);
    assessment
}

/// The evidence behind the kind: present, naming a rule and the words that triggered it.
fn assert_kind_evidence(text: &str, a: &Assessment) {
    let kind: Vec<_> = a.evidence.iter().filter(|e| e.decision == "kind").collect();
    assert!(
        !kind.is_empty(),
        "no evidence for the kind of {text:?}: {:#?}",
        a.evidence
    );
    assert!(
        kind.iter().all(|e| !e.rule.is_empty()),
        "{text:?}: {kind:#?}"
    );
    assert!(
        kind.iter().any(|e| !e.found.is_empty()),
        "the kind of {text:?} ({:?}) has evidence with no phrases: {kind:#?}",
        a.kind
    );
}

fn summary(a: &Assessment) -> String {
    format!(
        "kind={:?} confidence={:.2} procedure={:?} directorate={:?} area={:?} exclusions={:?} cautions={:?} evidence={:?}",
        a.kind,
        a.confidence,
        a.procedure,
        a.directorate,
        a.service_area,
        a.exclusions,
        a.cautions,
        a.evidence
    )
}

#[test]
fn a_first_pothole_report_is_a_fault_report() {
    let a = assessed("There's a pothole on Station Road");
    assert_eq!(a.kind, Kind::FaultReport, "{}", summary(&a));
    assert_eq!(a.procedure, None, "{}", summary(&a));
    assert!(
        a.advice
            .iter()
            .any(|advice| advice.about == "kind:fault_report"),
        "{:?}",
        a.advice
    );
}

#[test]
fn a_pothole_reported_before_and_still_not_fixed_is_a_corporate_complaint() {
    let a = assessed("I reported the pothole on Station Road in March and it is still not fixed");
    assert_eq!(a.kind, Kind::Complaint, "{}", summary(&a));
    assert_eq!(a.procedure, Some(Procedure::Corporate), "{}", summary(&a));
    assert_eq!(
        a.directorate,
        Some(Directorate::GrowthEnvironmentTransport),
        "{}",
        summary(&a)
    );
    assert!(a.exclusions.is_empty(), "{}", summary(&a));
}

#[test]
fn thanks_that_disclaim_a_complaint_are_a_compliment() {
    let a = assessed("I'm not complaining, I just want to thank the library staff");
    assert_eq!(a.kind, Kind::Compliment, "{}", summary(&a));
}

#[test]
fn an_unanswered_foi_request_is_a_complaint_for_internal_review() {
    let a = assessed("You haven't answered my FOI request properly, I want a review");
    assert_eq!(a.kind, Kind::Complaint, "{}", summary(&a));
    assert_eq!(a.procedure, Some(Procedure::FoiReview), "{}", summary(&a));
}

#[test]
fn a_request_for_figures_is_an_information_request() {
    let a = assessed("Please send me the number of potholes repaired in 2025");
    assert_eq!(a.kind, Kind::InformationRequest, "{}", summary(&a));
    assert_eq!(a.procedure, None, "{}", summary(&a));
}

#[test]
fn proceedings_issued_exclude_the_complaint() {
    let a = assessed(
        "I want to complain about the council's handling of the flooding outside my house. My solicitor has issued \
         proceedings against the council over the damage.",
    );
    assert_eq!(a.kind, Kind::Complaint, "{}", summary(&a));
    assert!(
        a.exclusions.contains(&Exclusion::LegalProceedingsStarted),
        "{}",
        summary(&a)
    );
    assert!(
        a.advice
            .iter()
            .any(|advice| advice.about == "exclusion:legal_proceedings_started"),
        "{:?}",
        a.advice
    );
}

#[test]
fn a_threat_of_legal_advice_does_not_exclude_the_complaint() {
    let a = assessed(
        "I want to complain about the council's handling of the flooding outside my house. Nobody has replied to my \
         emails and if this is not sorted I will take legal advice.",
    );
    assert_eq!(a.kind, Kind::Complaint, "{}", summary(&a));
    assert!(
        !a.exclusions.contains(&Exclusion::LegalProceedingsStarted),
        "{}",
        summary(&a)
    );
    assert!(a.exclusions.is_empty(), "{}", summary(&a));
}

#[test]
fn a_complaint_about_a_head_teacher_goes_to_the_school() {
    let a = assessed(
        "I want to make a complaint about the head teacher at my son's primary school, who has refused to meet me \
         about the bullying he has suffered.",
    );
    assert_eq!(a.kind, Kind::Complaint, "{}", summary(&a));
    assert_eq!(a.procedure, Some(Procedure::School), "{}", summary(&a));
    let note = a.route.team.note.clone().unwrap_or_default();
    assert!(
        note.contains("Chair of Governors"),
        "team note: {note:?} ({:?})",
        a.route.team
    );
}

#[test]
fn a_delayed_care_assessment_for_a_mother_is_adult_social_care_on_her_behalf() {
    let a = assessed("My mother's care assessment has been delayed");
    assert_eq!(a.kind, Kind::Complaint, "{}", summary(&a));
    assert_eq!(
        a.procedure,
        Some(Procedure::AdultSocialCare),
        "{}",
        summary(&a)
    );
    assert!(
        a.cautions.contains(&Caution::OnBehalfOfSomeone),
        "{}",
        summary(&a)
    );
    assert!(
        a.advice
            .iter()
            .any(|advice| advice.about == "caution:on_behalf_of_someone"),
        "{:?}",
        a.advice
    );
}

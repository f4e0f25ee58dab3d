//! Every clock of Kent's procedures as dates: through `assess` with a received time (corporate, adult
//! social care and children's statutory stage 1, the complaint windows, comments and compliments), and
//! through `stage_deadlines` for the stages that start later (stage 2, the review panel, the transport
//! appeal decision).

use chrono::{DateTime, NaiveDate};
use feedback_core::{
    Assessment, ClockStart, ClockStarts, Deadline, Exclusion, FormAnswers, Kind, Period, Policy,
    Procedure, Submission, assess, stage_deadlines,
};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("bad date {y}-{m}-{day}"))
}

fn submission(text: &str, area: Option<&str>, received: &str) -> Submission {
    Submission {
        text: text.to_string(),
        received: Some(
            DateTime::parse_from_rfc3339(received)
                .unwrap_or_else(|err| panic!("{received}: {err}")),
        ),
        form: FormAnswers {
            service_area: area.map(str::to_string),
            ..FormAnswers::default()
        },
        ..Submission::default()
    }
}

fn assessed(submission: &Submission) -> Assessment {
    let today = submission
        .received
        .map_or(d(2026, 6, 1), |r| r.date_naive());
    assess(submission, &Policy::kent(), today)
}

fn clock<'a>(deadlines: &'a [Deadline], stage: &str, milestone: &str) -> &'a Deadline {
    deadlines
        .iter()
        .find(|dl| dl.stage == stage && dl.milestone == milestone)
        .unwrap_or_else(|| panic!("no `{stage}`/`{milestone}` clock in {deadlines:#?}"))
}

fn milestones(deadlines: &[Deadline]) -> Vec<(String, String)> {
    deadlines
        .iter()
        .map(|dl| (dl.stage.clone(), dl.milestone.clone()))
        .collect()
}

const CORPORATE: &str = "I want to make a formal complaint. The pothole outside my house on Station Road has been \
    reported three times and it is still not repaired.";

// --- Corporate procedure ------------------------------------------------------------------------------

#[test]
fn corporate_complaint_acknowledge_in_3_and_reply_in_20_working_days() {
    // Received Tuesday 25 August 2026; Monday 31 August is the summer bank holiday.
    let a = assessed(&submission(
        CORPORATE,
        Some("roads_and_pavements"),
        "2026-08-25T10:00:00+01:00",
    ));
    assert_eq!(a.kind, Kind::Complaint);
    assert_eq!(a.procedure, Some(Procedure::Corporate));

    let ack = clock(&a.deadlines, "stage_1", "acknowledge");
    assert_eq!(ack.period, Period::WorkingDays(3));
    assert_eq!(ack.from, ClockStart::Receipt);
    assert_eq!(ack.starts, Some(d(2026, 8, 25)));
    assert_eq!(ack.due, Some(d(2026, 8, 28)));
    assert_eq!(ack.due_extended, None);

    let reply = clock(&a.deadlines, "stage_1", "full_reply");
    assert_eq!(reply.period, Period::WorkingDays(20));
    assert_eq!(
        reply.due,
        Some(d(2026, 9, 23)),
        "20 working days, skipping the bank holiday"
    );
    assert_eq!(reply.due_extended, None);

    let update = clock(&a.deadlines, "stage_1", "progress_update");
    assert_eq!(update.period, Period::CalendarDays(28));
    assert!(update.repeats);
    assert_eq!(update.due, Some(d(2026, 9, 22)));

    // Stage 2 has not started: its clocks are listed without dates.
    let stage_2 = clock(&a.deadlines, "stage_2", "full_reply");
    assert_eq!(stage_2.from, ClockStart::StageStart);
    assert_eq!(
        (stage_2.starts, stage_2.due, stage_2.due_extended),
        (None, None, None)
    );
    assert_eq!(stage_2.extended_period, Some(Period::WorkingDays(65)));

    // No awareness date given: the window is listed without a date.
    let window = clock(&a.deadlines, "window", "complaint_window");
    assert_eq!(window.from, ClockStart::Awareness);
    assert_eq!(window.due, None);
}

#[test]
fn corporate_complaint_received_after_the_cutoff_before_a_bank_holiday() {
    // Friday 28 August 2026 at 17:30 BST: Monday is the summer bank holiday, so Tuesday 1 September.
    let a = assessed(&submission(
        CORPORATE,
        Some("roads_and_pavements"),
        "2026-08-28T16:30:00Z",
    ));
    assert_eq!(
        clock(&a.deadlines, "stage_1", "acknowledge").starts,
        Some(d(2026, 9, 1))
    );
    assert_eq!(
        clock(&a.deadlines, "stage_1", "acknowledge").due,
        Some(d(2026, 9, 4))
    );
    assert_eq!(
        clock(&a.deadlines, "stage_1", "full_reply").due,
        Some(d(2026, 9, 29))
    );
}

#[test]
fn without_a_received_time_the_clocks_start_on_the_first_working_day_from_today() {
    let mut s = submission(
        CORPORATE,
        Some("roads_and_pavements"),
        "2026-06-06T10:00:00+01:00",
    );
    s.received = None;
    // Today is Saturday 6 June 2026.
    let a = assess(&s, &Policy::kent(), d(2026, 6, 6));
    assert_eq!(
        clock(&a.deadlines, "stage_1", "acknowledge").starts,
        Some(d(2026, 6, 8))
    );
    assert_eq!(
        clock(&a.deadlines, "stage_1", "acknowledge").due,
        Some(d(2026, 6, 11))
    );
    assert_eq!(
        clock(&a.deadlines, "stage_1", "full_reply").due,
        Some(d(2026, 7, 6))
    );
}

#[test]
fn corporate_stage_2_is_20_working_days_extendable_to_65() {
    let policy = Policy::kent();
    let starts = ClockStarts {
        stage_start: Some(d(2026, 11, 30)),
        ..ClockStarts::default()
    };
    let stage = stage_deadlines(&policy, Procedure::Corporate, "stage_2", &starts);
    let reply = clock(&stage, "stage_2", "full_reply");
    assert_eq!(reply.period, Period::WorkingDays(20));
    assert_eq!(reply.extended_period, Some(Period::WorkingDays(65)));
    assert_eq!(reply.starts, Some(d(2026, 11, 30)));
    assert_eq!(reply.due, Some(d(2026, 12, 30)), "across Christmas 2026");
    assert_eq!(reply.due_extended, Some(d(2027, 3, 4)));
    let update = clock(&stage, "stage_2", "progress_update");
    assert_eq!(update.due, Some(d(2026, 12, 28)));
    assert!(update.repeats);
}

// --- Adult social care --------------------------------------------------------------------------------

#[test]
fn adult_social_care_contact_in_3_and_response_in_20_working_days() {
    // Received Wednesday 1 April 2026; Good Friday 3 April and Easter Monday 6 April.
    let text = "I want to complain that my father's care package has been cut without any assessment, and nobody \
        from adult social care has replied to my emails.";
    let a = assessed(&submission(
        text,
        Some("adult_social_care"),
        "2026-04-01T10:00:00+01:00",
    ));
    assert_eq!(a.kind, Kind::Complaint);
    assert_eq!(a.procedure, Some(Procedure::AdultSocialCare));
    let contact = clock(&a.deadlines, "stage_1", "contact");
    assert_eq!(contact.period, Period::WorkingDays(3));
    assert_eq!(contact.due, Some(d(2026, 4, 8)));
    let reply = clock(&a.deadlines, "stage_1", "full_reply");
    assert_eq!(reply.period, Period::WorkingDays(20));
    assert_eq!(reply.due, Some(d(2026, 5, 1)));
    assert!(
        !a.deadlines
            .iter()
            .any(|dl| dl.stage == "stage_1" && dl.milestone == "acknowledge"),
        "{:#?}",
        a.deadlines
    );
    assert_eq!(clock(&a.deadlines, "stage_2", "full_reply").due, None);
}

// --- Children's statutory procedure -------------------------------------------------------------------

#[test]
fn childrens_statutory_stage_1_is_10_working_days_extendable_to_20() {
    // Received Monday 18 May 2026; Monday 25 May is the spring bank holiday.
    let text = "I want to make a formal complaint about the social worker for my foster child, who has not visited \
        for months and has ignored our calls.";
    let a = assessed(&submission(
        text,
        Some("childrens_social_care"),
        "2026-05-18T10:00:00+01:00",
    ));
    assert_eq!(a.kind, Kind::Complaint);
    assert_eq!(a.procedure, Some(Procedure::ChildrensStatutory));
    assert_eq!(
        clock(&a.deadlines, "stage_1", "acknowledge").due,
        Some(d(2026, 5, 21))
    );
    let reply = clock(&a.deadlines, "stage_1", "full_reply");
    assert_eq!(reply.period, Period::WorkingDays(10));
    assert_eq!(reply.extended_period, Some(Period::WorkingDays(20)));
    assert_eq!(reply.due, Some(d(2026, 6, 2)));
    assert_eq!(reply.due_extended, Some(d(2026, 6, 16)));
    // The later stages are listed without dates until they start.
    let later = milestones(&a.deadlines);
    assert!(
        later.contains(&("stage_2".into(), "full_reply".into())),
        "{later:?}"
    );
    assert!(
        later.contains(&("review_panel".into(), "panel".into())),
        "{later:?}"
    );
    assert_eq!(clock(&a.deadlines, "review_panel", "panel").due, None);
}

#[test]
fn childrens_services_outside_the_statutory_criteria_use_the_corporate_procedure() {
    let text = "I want to complain about how long it took the council to reply to my letter about a parenting course.";
    let a = assessed(&submission(
        text,
        Some("childrens_social_care"),
        "2026-05-18T10:00:00+01:00",
    ));
    assert_eq!(a.kind, Kind::Complaint);
    assert_eq!(a.procedure, Some(Procedure::Corporate));
    assert_eq!(a.route.team.name, "Children's Complaints Team");
    assert_eq!(
        clock(&a.deadlines, "stage_1", "full_reply").due,
        Some(d(2026, 6, 16)),
        "20 working days, not 10"
    );
}

#[test]
fn childrens_statutory_stage_2_is_25_working_days_extendable_to_65() {
    let policy = Policy::kent();
    let starts = ClockStarts {
        stage_start: Some(d(2026, 12, 1)),
        ..ClockStarts::default()
    };
    let stage = stage_deadlines(&policy, Procedure::ChildrensStatutory, "stage_2", &starts);
    let reply = clock(&stage, "stage_2", "full_reply");
    assert_eq!(reply.period, Period::WorkingDays(25));
    assert_eq!(reply.extended_period, Some(Period::WorkingDays(65)));
    assert_eq!(reply.due, Some(d(2027, 1, 8)));
    assert_eq!(reply.due_extended, Some(d(2027, 3, 5)));
}

#[test]
fn review_panel_is_held_within_30_working_days_of_acceptance() {
    let policy = Policy::kent();
    // Accepted Monday 1 March 2027; Good Friday 26 March and Easter Monday 29 March 2027.
    let starts = ClockStarts {
        acceptance: Some(d(2027, 3, 1)),
        ..ClockStarts::default()
    };
    let stage = stage_deadlines(
        &policy,
        Procedure::ChildrensStatutory,
        "review_panel",
        &starts,
    );
    assert_eq!(stage.len(), 1, "{stage:#?}");
    let panel = clock(&stage, "review_panel", "panel");
    assert_eq!(panel.from, ClockStart::Acceptance);
    assert_eq!(panel.period, Period::WorkingDays(30));
    assert_eq!(panel.due, Some(d(2027, 4, 14)));
    // The stage start is not the acceptance.
    let only_stage_start = ClockStarts {
        stage_start: Some(d(2027, 3, 1)),
        ..ClockStarts::default()
    };
    let stage = stage_deadlines(
        &policy,
        Procedure::ChildrensStatutory,
        "review_panel",
        &only_stage_start,
    );
    assert_eq!(clock(&stage, "review_panel", "panel").due, None);
}

// --- Appeals ------------------------------------------------------------------------------------------

#[test]
fn transport_appeal_decision_within_5_working_days_of_the_hearing() {
    let policy = Policy::kent();
    // A hearing on Christmas Eve 2026.
    let starts = ClockStarts {
        hearing: Some(d(2026, 12, 24)),
        ..ClockStarts::default()
    };
    let stage = stage_deadlines(&policy, Procedure::TransportAppeal, "appeal", &starts);
    let decision = clock(&stage, "appeal", "decision");
    assert_eq!(decision.from, ClockStart::Hearing);
    assert_eq!(decision.period, Period::WorkingDays(5));
    assert_eq!(decision.due, Some(d(2027, 1, 5)));
}

#[test]
fn stage_deadlines_for_an_unknown_stage_or_a_stage_without_clocks_is_empty() {
    let policy = Policy::kent();
    let starts = ClockStarts {
        stage_start: Some(d(2026, 6, 1)),
        ..ClockStarts::default()
    };
    assert!(stage_deadlines(&policy, Procedure::Corporate, "stage_9", &starts).is_empty());
    assert!(stage_deadlines(&policy, Procedure::Corporate, "ombudsman", &starts).is_empty());
}

// --- Complaint windows --------------------------------------------------------------------------------

fn with_awareness(text: &str, area: Option<&str>, aware: NaiveDate) -> Assessment {
    let mut s = submission(text, area, "2026-06-01T10:00:00+01:00");
    s.form.aware_since = Some(aware);
    assessed(&s)
}

#[test]
fn the_twelve_month_window_runs_from_awareness() {
    let a = with_awareness(CORPORATE, Some("roads_and_pavements"), d(2025, 7, 1));
    let window = clock(&a.deadlines, "window", "complaint_window");
    assert_eq!(window.period, Period::CalendarMonths(12));
    assert_eq!(window.starts, Some(d(2025, 7, 1)));
    assert_eq!(window.due, Some(d(2026, 7, 1)));
    assert!(
        !a.exclusions.contains(&Exclusion::OverTwelveMonths),
        "{:?}",
        a.exclusions
    );
}

#[test]
fn more_than_twelve_months_since_awareness_is_excluded_with_discretion() {
    let late = with_awareness(CORPORATE, Some("roads_and_pavements"), d(2025, 3, 10));
    assert_eq!(
        clock(&late.deadlines, "window", "complaint_window").due,
        Some(d(2026, 3, 10))
    );
    assert!(
        late.exclusions.contains(&Exclusion::OverTwelveMonths),
        "{:?}",
        late.exclusions
    );
    assert!(
        late.evidence
            .iter()
            .any(|e| e.decision == "exclusion:over_twelve_months"
                && e.found.iter().any(|f| f.contains("2025-03-10")))
    );
    assert!(
        late.advice
            .iter()
            .any(|a| a.about == "exclusion:over_twelve_months" && a.text.contains("discretion"))
    );
    // Exactly twelve months is not more than twelve months; a day more is.
    let on_the_day = with_awareness(CORPORATE, Some("roads_and_pavements"), d(2025, 6, 1));
    assert!(
        !on_the_day.exclusions.contains(&Exclusion::OverTwelveMonths),
        "{:?}",
        on_the_day.exclusions
    );
    let day_over = with_awareness(CORPORATE, Some("roads_and_pavements"), d(2025, 5, 31));
    assert!(
        day_over.exclusions.contains(&Exclusion::OverTwelveMonths),
        "{:?}",
        day_over.exclusions
    );
}

#[test]
fn the_adult_and_childrens_procedures_have_the_twelve_month_window_too() {
    let asc = with_awareness(
        "I want to complain that my care package was cut without warning.",
        Some("adult_social_care"),
        d(2025, 9, 15),
    );
    assert_eq!(asc.procedure, Some(Procedure::AdultSocialCare));
    assert_eq!(
        clock(&asc.deadlines, "window", "complaint_window").due,
        Some(d(2026, 9, 15))
    );
}

#[test]
fn a_governors_complaint_window_is_six_calendar_months() {
    let text = "As a school governor I want to complain about the way council officers treated me at a meeting.";
    let a = with_awareness(text, None, d(2026, 2, 15));
    assert_eq!(a.kind, Kind::Complaint);
    assert_eq!(a.procedure, Some(Procedure::Governor));
    let window = clock(&a.deadlines, "window", "complaint_window");
    assert_eq!(window.period, Period::CalendarMonths(6));
    assert_eq!(window.due, Some(d(2026, 8, 15)));
    // A governor's complaint reaches the council once the Ombudsman has refused it: the council's only
    // stage, the independent review, is acknowledged from receipt.
    assert!(
        clock(&a.deadlines, "independent_review", "acknowledge")
            .due
            .is_some()
    );
}

// --- Comments, compliments and redirected matters ------------------------------------------------------

#[test]
fn a_compliment_gets_only_the_acknowledgement() {
    let text = "I just want to say thank you to the staff at Maidstone library, who were wonderful and so helpful.";
    let mut s = submission(text, None, "2026-06-01T10:00:00+01:00");
    s.form.aware_since = Some(d(2024, 1, 1));
    let a = assessed(&s);
    assert_eq!(a.kind, Kind::Compliment);
    assert_eq!(
        milestones(&a.deadlines),
        vec![("stage_1".to_string(), "acknowledge".to_string())],
        "{:#?}",
        a.deadlines
    );
    assert_eq!(a.deadlines[0].due, Some(d(2026, 6, 4)));
    assert!(
        a.exclusions.is_empty(),
        "a compliment is never too late: {:?}",
        a.exclusions
    );
}

#[test]
fn a_comment_gets_only_the_acknowledgement() {
    let text = "I think the council's decision to introduce parking charges at its country parks is a bad idea.";
    let a = assessed(&submission(text, None, "2026-06-01T10:00:00+01:00"));
    assert_eq!(a.kind, Kind::Comment);
    assert_eq!(
        milestones(&a.deadlines),
        vec![("stage_1".to_string(), "acknowledge".to_string())],
        "{:#?}",
        a.deadlines
    );
    assert_eq!(a.deadlines[0].due, Some(d(2026, 6, 4)));
}

#[test]
fn an_adult_social_care_compliment_gets_only_the_contact_clock() {
    let text =
        "I want to thank the carers who looked after my dad, they were wonderful and so kind.";
    let a = assessed(&submission(
        text,
        Some("adult_social_care"),
        "2026-06-01T10:00:00+01:00",
    ));
    assert_eq!(a.kind, Kind::Compliment);
    assert_eq!(a.procedure, Some(Procedure::AdultSocialCare));
    assert_eq!(
        milestones(&a.deadlines),
        vec![("stage_1".to_string(), "contact".to_string())],
        "{:#?}",
        a.deadlines
    );
}

#[test]
fn redirected_kinds_get_their_redirects_clocks() {
    let fault = assessed(&submission(
        "There's a pothole on Station Road.",
        None,
        "2026-06-01T10:00:00+01:00",
    ));
    assert_eq!(fault.kind, Kind::FaultReport);
    assert!(fault.deadlines.is_empty(), "{:#?}", fault.deadlines);

    let text = "This is a Freedom of Information request. Please send me the number of potholes repaired in 2025.";
    let foi = assessed(&submission(text, None, "2026-06-01T10:00:00+01:00"));
    assert_eq!(foi.kind, Kind::InformationRequest);
    let response = clock(&foi.deadlines, "redirect", "response");
    assert_eq!(response.period, Period::WorkingDays(20));
    assert_eq!(response.due, Some(d(2026, 6, 29)));
}

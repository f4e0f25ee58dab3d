//! The case state machine: the legal path through the corporate procedure (two internal stages) and the
//! children's statutory procedure (three internal stages before the Ombudsman), and the moves it refuses,
//! each with a message that says what to do instead.

use feedback_core::{CaseState, Event, Kind, Outcome, Policy, Procedure, Status, TransitionError};

fn apply(state: &CaseState, event: Event, policy: &Policy) -> CaseState {
    state
        .apply(event, policy)
        .unwrap_or_else(|err| panic!("{event:?} from {state:?} refused: {err}"))
}

fn refused(state: &CaseState, event: Event, policy: &Policy) -> TransitionError {
    match state.apply(event, policy) {
        Ok(next) => panic!("{event:?} from {state:?} was allowed and gave {next:?}"),
        Err(err) => err,
    }
}

const RESPOND: Event = Event::Respond {
    outcome: Outcome::NotUpheld,
};

#[test]
fn a_new_case_starts_received_at_the_first_stage() {
    let policy = Policy::kent();
    let case = CaseState::new(Kind::Complaint, Some(Procedure::Corporate));
    assert_eq!(
        case,
        CaseState {
            procedure: Some(Procedure::Corporate),
            stage: 0,
            status: Status::Received,
            outcome: None
        }
    );
    assert_eq!(case.stage_id(&policy), "stage_1");
    assert!(case.is_open());
    // Comments and compliments keep their procedure; redirected kinds have none.
    assert_eq!(
        CaseState::new(Kind::Compliment, Some(Procedure::Corporate)).procedure,
        Some(Procedure::Corporate)
    );
    assert_eq!(
        CaseState::new(Kind::FaultReport, Some(Procedure::Corporate)).procedure,
        None
    );
    assert_eq!(
        CaseState::new(Kind::InformationRequest, None).stage_id(&policy),
        "redirected"
    );
}

#[test]
fn corporate_legal_path() {
    let policy = Policy::kent();
    let case = CaseState::new(Kind::Complaint, Some(Procedure::Corporate));
    let case = apply(&case, Event::Acknowledge, &policy);
    assert_eq!(
        (case.stage_id(&policy), case.status),
        ("stage_1", Status::Acknowledged)
    );
    let case = apply(
        &case,
        Event::Respond {
            outcome: Outcome::PartlyUpheld,
        },
        &policy,
    );
    assert_eq!(
        (case.stage_id(&policy), case.status, case.outcome),
        ("stage_1", Status::Responded, Some(Outcome::PartlyUpheld))
    );
    let case = apply(&case, Event::Escalate, &policy);
    assert_eq!(
        (case.stage_id(&policy), case.status, case.outcome),
        ("stage_2", Status::Acknowledged, None)
    );
    let case = apply(&case, RESPOND, &policy);
    assert_eq!(
        (case.stage_id(&policy), case.status, case.outcome),
        ("stage_2", Status::Responded, Some(Outcome::NotUpheld))
    );
    let case = apply(&case, Event::Refer, &policy);
    assert_eq!(
        (case.stage_id(&policy), case.status),
        ("ombudsman", Status::Referred)
    );
    assert!(case.is_open());
    let case = apply(&case, Event::Close, &policy);
    assert_eq!(case.status, Status::Closed);
    assert!(!case.is_open());
}

#[test]
fn childrens_statutory_legal_path_has_three_internal_stages() {
    let policy = Policy::kent();
    let mut case = CaseState::new(Kind::Complaint, Some(Procedure::ChildrensStatutory));
    case = apply(&case, Event::Acknowledge, &policy);
    case = apply(&case, RESPOND, &policy);
    assert_eq!(case.stage_id(&policy), "stage_1");
    case = apply(&case, Event::Escalate, &policy);
    assert_eq!(
        (case.stage_id(&policy), case.status),
        ("stage_2", Status::Acknowledged)
    );
    case = apply(
        &case,
        Event::Respond {
            outcome: Outcome::Upheld,
        },
        &policy,
    );
    case = apply(&case, Event::Escalate, &policy);
    assert_eq!(
        (case.stage_id(&policy), case.status),
        ("review_panel", Status::Acknowledged)
    );
    case = apply(&case, RESPOND, &policy);
    assert_eq!(case.status, Status::Responded);
    // The review panel is the last internal stage.
    let err = refused(&case, Event::Escalate, &policy);
    assert_eq!(
        err,
        TransitionError::NoNextStage {
            stage: "review_panel".into()
        }
    );
    case = apply(&case, Event::Refer, &policy);
    assert_eq!(
        (case.stage_id(&policy), case.status),
        ("ombudsman", Status::Referred)
    );
    case = apply(&case, Event::Close, &policy);
    assert!(!case.is_open());
}

#[test]
fn a_case_can_be_referred_after_stage_1_without_escalating() {
    // Adult social care: most complaints go straight to the Ombudsman after the stage 1 response.
    let policy = Policy::kent();
    let case = CaseState::new(Kind::Complaint, Some(Procedure::AdultSocialCare));
    let case = apply(
        &apply(&apply(&case, Event::Acknowledge, &policy), RESPOND, &policy),
        Event::Refer,
        &policy,
    );
    assert_eq!(
        (case.stage_id(&policy), case.status),
        ("ombudsman", Status::Referred)
    );
}

#[test]
fn a_case_can_be_closed_at_any_open_status() {
    let policy = Policy::kent();
    let received = CaseState::new(Kind::Compliment, Some(Procedure::Corporate));
    assert_eq!(
        apply(&received, Event::Close, &policy).status,
        Status::Closed
    );
    let acknowledged = apply(&received, Event::Acknowledge, &policy);
    assert_eq!(
        apply(&acknowledged, Event::Close, &policy).status,
        Status::Closed
    );
    let answered = apply(
        &acknowledged,
        Event::Respond {
            outcome: Outcome::NoFinding,
        },
        &policy,
    );
    assert_eq!(
        apply(&answered, Event::Close, &policy).status,
        Status::Closed
    );
}

// --- Illegal moves ----------------------------------------------------------------------------------

#[test]
fn escalating_before_a_response_is_refused() {
    let policy = Policy::kent();
    let case = apply(
        &CaseState::new(Kind::Complaint, Some(Procedure::Corporate)),
        Event::Acknowledge,
        &policy,
    );
    let err = refused(&case, Event::Escalate, &policy);
    assert!(matches!(err, TransitionError::NotAllowed { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("escalate") && message.contains("acknowledged"),
        "{message}"
    );
    assert!(
        message.contains("once its response has been sent"),
        "says what to do: {message}"
    );
    // Nor straight from received.
    assert!(
        refused(
            &CaseState::new(Kind::Complaint, Some(Procedure::Corporate)),
            Event::Escalate,
            &policy
        )
        .to_string()
        .contains("response")
    );
}

#[test]
fn acknowledging_twice_is_refused() {
    let policy = Policy::kent();
    let case = apply(
        &CaseState::new(Kind::Complaint, Some(Procedure::Corporate)),
        Event::Acknowledge,
        &policy,
    );
    let message = refused(&case, Event::Acknowledge, &policy).to_string();
    assert!(
        message.contains("acknowledge") && message.contains("already been acknowledged"),
        "{message}"
    );
    // An escalated stage counts as acknowledged too.
    let escalated = apply(&apply(&case, RESPOND, &policy), Event::Escalate, &policy);
    assert!(
        refused(&escalated, Event::Acknowledge, &policy)
            .to_string()
            .contains("already")
    );
}

#[test]
fn escalating_from_the_last_internal_stage_is_refused_with_referral_advice() {
    let policy = Policy::kent();
    let mut case = CaseState::new(Kind::Complaint, Some(Procedure::Corporate));
    for event in [Event::Acknowledge, RESPOND, Event::Escalate, RESPOND] {
        case = apply(&case, event, &policy);
    }
    let err = refused(&case, Event::Escalate, &policy);
    assert_eq!(
        err,
        TransitionError::NoNextStage {
            stage: "stage_2".into()
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("stage_2") && message.contains("refer"),
        "{message}"
    );
    // A procedure with one internal stage cannot be escalated at all.
    let foi = apply(
        &CaseState::new(Kind::Complaint, Some(Procedure::FoiReview)),
        RESPOND,
        &policy,
    );
    assert_eq!(
        refused(&foi, Event::Escalate, &policy),
        TransitionError::NoNextStage {
            stage: "internal_review".into()
        }
    );
}

#[test]
fn responding_after_close_is_refused() {
    let policy = Policy::kent();
    let case = apply(
        &CaseState::new(Kind::Complaint, Some(Procedure::Corporate)),
        Event::Close,
        &policy,
    );
    let message = refused(&case, RESPOND, &policy).to_string();
    assert!(
        message.contains("respond") && message.contains("closed"),
        "{message}"
    );
    assert!(
        message.contains("only an open stage"),
        "says what can be answered: {message}"
    );
    // Closing twice, and responding twice, are refused too.
    assert!(
        refused(&case, Event::Close, &policy)
            .to_string()
            .contains("already closed")
    );
    let answered = apply(
        &CaseState::new(Kind::Complaint, Some(Procedure::Corporate)),
        RESPOND,
        &policy,
    );
    assert!(matches!(
        refused(&answered, RESPOND, &policy),
        TransitionError::NotAllowed { .. }
    ));
}

#[test]
fn referring_before_the_councils_response_is_refused() {
    let policy = Policy::kent();
    let case = apply(
        &CaseState::new(Kind::Complaint, Some(Procedure::Corporate)),
        Event::Acknowledge,
        &policy,
    );
    let message = refused(&case, Event::Refer, &policy).to_string();
    assert!(
        message.contains("refer") && message.contains("after the council's response"),
        "{message}"
    );
}

#[test]
fn escalating_a_redirected_matter_is_refused() {
    let policy = Policy::kent();
    let case = CaseState::new(Kind::FaultReport, None);
    let answered = apply(
        &case,
        Event::Respond {
            outcome: Outcome::NoFinding,
        },
        &policy,
    );
    let message = refused(&answered, Event::Escalate, &policy).to_string();
    assert!(message.contains("redirected"), "{message}");
}

#[test]
fn referring_a_redirected_matter_is_refused_and_says_why() {
    let policy = Policy::kent();
    let case = CaseState::new(Kind::FaultReport, None);
    assert_eq!(case.procedure, None);
    // Before and after the service's reply: a redirected matter has no outside body to refer to.
    let answered = apply(
        &case,
        Event::Respond {
            outcome: Outcome::NoFinding,
        },
        &policy,
    );
    for state in [&case, &answered] {
        let err = refused(state, Event::Refer, &policy);
        assert!(matches!(err, TransitionError::NotAllowed { .. }), "{err:?}");
        let message = err.to_string();
        // The message must not tell the user to do what cannot work (respond, then refer): it should say the
        // matter is redirected, as the escalate refusal does.
        assert!(
            message.contains("redirected"),
            "refusing `refer` for a redirected matter in `{:?}`: {message}",
            state.status
        );
    }
}

#[test]
fn events_round_trip_through_json() {
    let event: Event =
        serde_json::from_str(r#"{"event":"respond","outcome":"partly_upheld"}"#).unwrap();
    assert_eq!(
        event,
        Event::Respond {
            outcome: Outcome::PartlyUpheld
        }
    );
    assert_eq!(
        serde_json::to_string(&Event::Escalate).unwrap(),
        r#"{"event":"escalate"}"#
    );
    assert_eq!(event.name(), "respond");
}

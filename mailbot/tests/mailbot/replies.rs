//! Replies join their case (a reference in the subject, In-Reply-To, References); a reply asking to
//! escalate moves the case to its next stage through the lifecycle, and a refused move is a note.

use feedback_core::{Event, Outcome as Finding, Policy, Status};
use mailbot::ingest::Outcome;

use crate::util::{Desk, email, new_case, raw, today};

const COMPLAINT: &str = "I want to make a complaint: the pavement on Station Road has been broken for months and \
                         nobody has repaired it despite my reports.";

fn open_case(desk: &Desk) -> String {
    new_case(&desk.ingest_one(raw(
        "INBOX",
        1,
        email(
            "Ann <ann@example.org>",
            "Broken pavement",
            "orig@example.org",
            &[],
            COMPLAINT,
        ),
    )))
}

/// Moves a case to "responded" at stage 1, as the team's reply would.
fn respond(desk: &Desk, reference: &str) {
    let policy = Policy::kent();
    desk.store()
        .apply_event(
            reference,
            Event::Acknowledge,
            &policy,
            today(),
            "acknowledged",
        )
        .unwrap()
        .unwrap();
    desk.store()
        .apply_event(
            reference,
            Event::Respond {
                outcome: Finding::NotUpheld,
            },
            &policy,
            today(),
            "responded",
        )
        .unwrap()
        .unwrap();
}

#[test]
fn a_reference_in_the_subject_joins_the_case() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    let reply = email(
        "Ann <ann@example.org>",
        &format!("Re: Your complaint {reference}"),
        "reply1@example.org",
        &[],
        "Here are the photos you asked for.",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::AddedToCase(reference.clone())
    );
    let case = desk.store().case(&reference).unwrap().unwrap();
    assert_eq!(case.messages.len(), 2);
    assert_eq!(desk.store().case_count(), 1);
    assert_eq!(
        desk.store().outbox().unwrap().len(),
        1,
        "a reply gets no second acknowledgement"
    );
    assert_eq!(
        desk.store().case_messages(&reference).unwrap()[1]
            .message
            .text
            .trim(),
        "Here are the photos you asked for."
    );
}

#[test]
fn in_reply_to_a_stored_message_joins_the_case() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    let reply = email(
        "ann@example.org",
        "Re: Broken pavement",
        "reply2@example.org",
        &["In-Reply-To: <orig@example.org>"],
        "Any news?",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::AddedToCase(reference)
    );
}

#[test]
fn references_deep_in_a_thread_join_the_case() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    let reply = email(
        "ann@example.org",
        "Re: Re: Broken pavement",
        "reply3@example.org",
        &[
            "In-Reply-To: <unknown@elsewhere>",
            "References: <orig@example.org> <unknown@elsewhere>",
        ],
        "Still broken.",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::AddedToCase(reference)
    );
}

#[test]
fn a_reply_to_an_acknowledgement_id_carrying_the_reference_joins_the_case() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    let header = format!("In-Reply-To: <{reference}.ack@feedback.kent.example>");
    let reply = email(
        "ann@example.org",
        "Re: We have received your feedback",
        "reply4@example.org",
        &[&header],
        "Thanks.",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::AddedToCase(reference)
    );
}

#[test]
fn an_unknown_reference_makes_a_new_case() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    let other = email(
        "bob@example.org",
        "Re: KCC-2019-000001",
        "new@example.org",
        &[],
        "The streetlight on Elm Road is out.",
    );
    let second = new_case(&desk.ingest_one(raw("INBOX", 2, other)));
    assert_ne!(reference, second);
}

#[test]
fn asking_to_escalate_a_responded_case_moves_it_to_stage_2() {
    let desk = Desk::new();
    let policy = Policy::kent();
    let reference = open_case(&desk);
    respond(&desk, &reference);
    let body = "I am not satisfied with your response and want this escalated to stage 2.";
    let reply = email(
        "ann@example.org",
        &format!("Re: {reference}"),
        "esc@example.org",
        &[],
        body,
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::Escalated(reference.clone())
    );
    let case = desk.store().case(&reference).unwrap().unwrap();
    assert_eq!(case.state.stage, 1);
    assert_eq!(case.state.stage_id(&policy), "stage_2");
    assert_eq!(case.state.status, Status::Acknowledged);
    assert!(
        case.history
            .iter()
            .any(|h| h.event == Some(Event::Escalate))
    );
    assert!(desk.store().case_messages(&reference).unwrap()[1].escalation_requested);
}

#[test]
fn each_escalation_phrase_is_recognised() {
    for (uid, phrase) in (10..).zip([
        "Please escalate this.",
        "I would like to go to stage 2",
        "I am not satisfied with your response.",
    ]) {
        let desk = Desk::new();
        let reference = open_case(&desk);
        respond(&desk, &reference);
        let reply = email(
            "ann@example.org",
            &format!("Re: {reference}"),
            &format!("p{uid}@example.org"),
            &[],
            phrase,
        );
        assert_eq!(
            desk.ingest_one(raw("INBOX", uid, reply)),
            Outcome::Escalated(reference),
            "{phrase}"
        );
    }
}

#[test]
fn an_escalation_the_lifecycle_refuses_is_recorded_as_a_note_not_an_error() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    // Not yet responded: the lifecycle says a stage is escalated once its response has been sent.
    let reply = email(
        "ann@example.org",
        &format!("Re: {reference}"),
        "early@example.org",
        &[],
        "Escalate this now please.",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::AddedToCase(reference.clone())
    );
    let case = desk.store().case(&reference).unwrap().unwrap();
    assert_eq!(case.state.stage, 0);
    assert_eq!(case.messages.len(), 2);
    let note = case.history.last().unwrap();
    assert!(
        note.note.contains("escalate") && note.note.contains("not applied"),
        "{note:?}"
    );
}

#[test]
fn quoted_history_asking_to_escalate_does_not_escalate() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    respond(&desk, &reference);
    let body = "Thank you, that resolves it.\n\n> If you remain dissatisfied, ask for your complaint to be escalated to stage 2.\n";
    let reply = email(
        "ann@example.org",
        &format!("Re: {reference}"),
        "thanks@example.org",
        &[],
        body,
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::AddedToCase(reference)
    );
}

#[test]
fn a_duplicate_reply_is_not_added_twice() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    let reply = email(
        "ann@example.org",
        &format!("Re: {reference}"),
        "dup-reply@example.org",
        &[],
        "More details.",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply.clone())),
        Outcome::AddedToCase(reference.clone())
    );
    assert_eq!(
        desk.ingest_one(raw("Archive", 7, reply)),
        Outcome::Duplicate(reference.clone())
    );
    assert_eq!(
        desk.store()
            .case(&reference)
            .unwrap()
            .unwrap()
            .messages
            .len(),
        2
    );
}

#[test]
fn the_councils_own_subject_in_a_reply_does_not_escalate() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    respond(&desk, &reference);
    let reply = email(
        "ann@example.org",
        &format!("Re: Stage 2 escalation options for {reference}"),
        "ty@example.org",
        &[],
        "Thank you, all sorted.",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, reply)),
        Outcome::AddedToCase(reference.clone())
    );
    // A subject the person wrote themselves counts.
    let own = email(
        "ann@example.org",
        &format!("Escalate {reference}"),
        "own@example.org",
        &[],
        "",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 3, own)),
        Outcome::Escalated(reference)
    );
}

#[test]
fn an_out_of_office_reply_never_escalates() {
    let desk = Desk::new();
    let reference = open_case(&desk);
    respond(&desk, &reference);
    let ooo = email(
        "ann@example.org",
        &format!("Automatic reply: {reference}"),
        "ooo@example.org",
        &["Auto-Submitted: auto-replied"],
        "I am away until Monday. For escalations please contact my manager.",
    );
    assert_eq!(
        desk.ingest_one(raw("INBOX", 2, ooo)),
        Outcome::AddedToCase(reference.clone())
    );
    assert_eq!(
        desk.store().case(&reference).unwrap().unwrap().state.stage,
        0
    );
}

#[test]
fn an_original_and_its_reply_in_the_same_batch_make_one_case() {
    let desk = Desk::new();
    let original = email(
        "ann@example.org",
        "Broken pavement",
        "first@example.org",
        &[],
        COMPLAINT,
    );
    let reply = email(
        "ann@example.org",
        "Re: Broken pavement",
        "second@example.org",
        &["In-Reply-To: <first@example.org>"],
        "I forgot the photo.",
    );
    let outcomes = desk.ingest(vec![raw("INBOX", 1, original), raw("INBOX", 2, reply)]);
    let reference = new_case(&outcomes[0]);
    assert_eq!(outcomes[1], Outcome::AddedToCase(reference));
    assert_eq!(desk.store().case_count(), 1);
}

#[test]
fn a_thread_of_three_in_one_batch_makes_one_case_and_can_escalate_an_existing_one() {
    let desk = Desk::new();
    let earlier = open_case(&desk);
    respond(&desk, &earlier);
    let a = email(
        "bob@example.org",
        "Streetlight",
        "ta@example.org",
        &[],
        "The streetlight on Elm Road is out and has been for weeks.",
    );
    let b = email(
        "bob@example.org",
        "Re: Streetlight",
        "tb@example.org",
        &["In-Reply-To: <ta@example.org>"],
        "Still out.",
    );
    let c = email(
        "bob@example.org",
        "Re: Re: Streetlight",
        "tc@example.org",
        &[
            "In-Reply-To: <tb@example.org>",
            "References: <ta@example.org> <tb@example.org>",
        ],
        "Hello?",
    );
    let escalation = email(
        "ann@example.org",
        &format!("Re: {earlier}"),
        "te@example.org",
        &[],
        "Please escalate this to stage 2.",
    );
    let outcomes = desk.ingest(vec![
        raw("INBOX", 2, a),
        raw("INBOX", 3, b),
        raw("INBOX", 4, c),
        raw("INBOX", 5, escalation),
    ]);
    let reference = new_case(&outcomes[0]);
    assert_eq!(
        outcomes[1..],
        [
            Outcome::AddedToCase(reference.clone()),
            Outcome::AddedToCase(reference.clone()),
            Outcome::Escalated(earlier)
        ]
    );
    assert_eq!(
        desk.store()
            .case(&reference)
            .unwrap()
            .unwrap()
            .messages
            .len(),
        3
    );
}

#[test]
fn a_reply_joins_a_case_made_in_an_earlier_store_transaction_of_its_batch() {
    // The store commits a batch in slices of ITEMS_PER_TRANSACTION items: a reply after the first slice
    // still joins the case the batch's first message made, and a reply to a reply in the same slice too.
    let desk = Desk::new();
    let count = mailbot::store::ITEMS_PER_TRANSACTION as u32 + 5;
    let mut batch: Vec<_> = (1..=count)
        .map(|uid| {
            let subject = format!("Broken pavement {uid}");
            let id = format!("case-{uid}@example.org");
            raw(
                "INBOX",
                uid,
                email("ann@example.org", &subject, &id, &[], COMPLAINT),
            )
        })
        .collect();
    batch.push(raw(
        "INBOX",
        count + 1,
        email(
            "ann@example.org",
            "Re: Broken pavement 1",
            "late-reply@example.org",
            &["In-Reply-To: <case-1@example.org>"],
            "I forgot the photo.",
        ),
    ));
    batch.push(raw(
        "INBOX",
        count + 2,
        email(
            "ann@example.org",
            "Re: Broken pavement 1",
            "later-reply@example.org",
            &["In-Reply-To: <late-reply@example.org>"],
            "And another one.",
        ),
    ));
    let outcomes = desk.ingest(batch);
    let first = new_case(&outcomes[0]);
    let n = count as usize;
    assert_eq!(outcomes[n], Outcome::AddedToCase(first.clone()));
    assert_eq!(outcomes[n + 1], Outcome::AddedToCase(first.clone()));
    assert_eq!(desk.store().case_count(), n);
    assert_eq!(desk.store().case_messages(&first).unwrap().len(), 3);
}

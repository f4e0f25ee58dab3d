//! No message makes two cases: the same IMAP identity, the same Message-ID and content in another
//! mailbox, a repeat within one batch, a repeat after reopening. Two different messages sharing a
//! Message-ID are both kept.

use mailbot::ingest::Outcome;

use crate::util::{Desk, email, new_case, raw};

fn complaint(message_id: &str, body: &str) -> Vec<u8> {
    email(
        "Ann <ann@example.org>",
        "Missed bin collection",
        message_id,
        &[],
        body,
    )
}

#[test]
fn the_same_mailbox_uidvalidity_and_uid_twice_is_a_duplicate() {
    let desk = Desk::new();
    let reference = new_case(&desk.ingest_one(raw(
        "INBOX",
        5,
        complaint("one@example.org", "My bin was missed again."),
    )));
    // Same identity, even with different bytes (a server that rewrote it): still the same message.
    assert_eq!(
        desk.ingest_one(raw("INBOX", 5, complaint("other@example.org", "Different"))),
        Outcome::Duplicate(reference.clone())
    );
    assert_eq!(desk.store().case_count(), 1);
    // A new UIDVALIDITY makes it a different identity; the Message-ID still finds it.
    let mut renumbered = raw(
        "INBOX",
        1,
        complaint("one@example.org", "My bin was missed again."),
    );
    renumbered.uidvalidity = 2;
    assert_eq!(desk.ingest_one(renumbered), Outcome::Duplicate(reference));
    assert!(desk.ingestor.knows("INBOX", 2, 1).unwrap());
    assert_eq!(desk.store().case_count(), 1);
}

#[test]
fn a_copy_in_another_mailbox_is_a_duplicate_and_becomes_known_there() {
    let desk = Desk::new();
    let bytes = complaint("cc@example.org", "Copied to two mailboxes.");
    let reference = new_case(&desk.ingest_one(raw("county.hall", 10, bytes.clone())));
    // The other mailbox's copy carries its own trace headers: the content hash ignores them.
    let mut copy = b"Received: from mx2 by imap2; Tue, 24 Nov 2026 09:00:02 +0000\r\nDelivered-To: adults@kent.example\r\n".to_vec();
    copy.extend_from_slice(&bytes);
    assert!(!desk.ingestor.knows("adults", 1, 3).unwrap());
    assert_eq!(
        desk.ingest_one(raw("adults", 3, copy)),
        Outcome::Duplicate(reference)
    );
    assert!(desk.ingestor.knows("adults", 1, 3).unwrap());
    assert_eq!(desk.store().case_count(), 1);
    assert_eq!(desk.store().outbox().unwrap().len(), 1);
}

#[test]
fn two_different_messages_sharing_a_message_id_are_both_kept() {
    let desk = Desk::new();
    let first = new_case(&desk.ingest_one(raw(
        "INBOX",
        1,
        complaint("shared@example.org", "The library closed early."),
    )));
    let second = new_case(&desk.ingest_one(raw(
        "INBOX",
        2,
        complaint("shared@example.org", "The streetlight is out on Elm Road."),
    )));
    assert_ne!(first, second);
    assert_eq!(
        desk.store()
            .find_message_id("shared@example.org")
            .unwrap()
            .len(),
        2
    );
    // And each is still deduplicated against itself.
    assert_eq!(
        desk.ingest_one(raw(
            "other",
            9,
            complaint("shared@example.org", "The streetlight is out on Elm Road.")
        )),
        Outcome::Duplicate(second)
    );
}

#[test]
fn a_repeat_within_one_batch_is_a_duplicate() {
    let desk = Desk::new();
    let bytes = complaint("twice@example.org", "Sent twice in one fetch.");
    let outcomes = desk.ingest(vec![
        raw("INBOX", 1, bytes.clone()),
        raw("INBOX", 1, bytes.clone()),
        raw("INBOX", 2, bytes),
    ]);
    let reference = new_case(&outcomes[0]);
    assert_eq!(
        outcomes[1..],
        [
            Outcome::Duplicate(reference.clone()),
            Outcome::Duplicate(reference)
        ]
    );
    assert_eq!(desk.store().case_count(), 1);
}

#[test]
fn re_ingesting_after_reopening_the_store_makes_no_second_case() {
    let desk = Desk::new();
    let batch: Vec<_> = (1..=20)
        .map(|uid| {
            raw(
                "INBOX",
                uid,
                complaint(
                    &format!("m{uid}@example.org"),
                    &format!("Complaint number {uid}."),
                ),
            )
        })
        .collect();
    let first = desk.ingest(batch.clone());
    assert!(first.iter().all(|o| matches!(o, Outcome::NewCase(_))));
    let desk = desk.reopen();
    let second = desk.ingest(batch);
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(Outcome::Duplicate(a.id().to_string()), *b);
    }
    assert_eq!(desk.store().case_count(), 20);
}

#[test]
fn a_quarantined_message_fetched_again_is_a_duplicate_of_its_record() {
    let desk = Desk::new();
    let Outcome::Quarantined(id) = desk.ingest_one(raw("INBOX", 4, Vec::new())) else {
        panic!("not quarantined")
    };
    assert_eq!(
        desk.ingest_one(raw("INBOX", 4, Vec::new())),
        Outcome::Duplicate(id)
    );
    assert_eq!(desk.store().quarantined().unwrap().len(), 1);
}

#[test]
fn a_message_without_message_id_is_deduplicated_by_uid_only() {
    let desk = Desk::new();
    let bytes = complaint("", "No Message-ID here.");
    let a = new_case(&desk.ingest_one(raw("INBOX", 1, bytes.clone())));
    assert_eq!(
        desk.ingest_one(raw("INBOX", 1, bytes.clone())),
        Outcome::Duplicate(a.clone())
    );
    let b = new_case(&desk.ingest_one(raw("other", 1, bytes)));
    assert_ne!(a, b);
}

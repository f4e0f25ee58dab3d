//! The store's own promises: schema versions, a private directory, references, cursors, quarantine and
//! the outbox.

use mailbot::ingest::Outcome;
use mailbot::store::{Cursor, OutboxStatus, Store, StoreError};

use crate::util::{Desk, email, new_case, raw, store_path};

#[test]
fn a_store_written_by_a_newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(dir.path());
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            Some(mailbot::store::SCHEMA_VERSION)
        );
    }
    // Write a future version with sled directly, as a newer mailbot would.
    {
        let db = sled::open(&path).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    let typed = err.downcast_ref::<StoreError>().unwrap();
    assert!(
        matches!(
            typed,
            StoreError::NewerSchema {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{typed:?}"
    );
    let message = format!("{err:#}");
    assert!(
        message.contains("schema version 99") && message.contains("newer"),
        "{message}"
    );
}

#[cfg(unix)]
#[test]
fn the_store_directory_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/nested/store");
    drop(Store::open(&path).unwrap());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // An existing directory with wider permissions is made private.
    let loose = dir.path().join("loose");
    std::fs::create_dir(&loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(Store::open(&loose).unwrap());
    assert_eq!(
        std::fs::metadata(&loose).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn references_count_up_per_year_with_the_prefix() {
    let desk = Desk::new();
    let mut refs = Vec::new();
    for uid in 1..=3 {
        let body = format!("Complaint {uid} about the bins.");
        refs.push(new_case(&desk.ingest_one(raw(
            "INBOX",
            uid,
            email("a@example.org", "Bins", &format!("r{uid}@x"), &[], &body),
        ))));
    }
    assert_eq!(
        refs,
        ["KCC-2026-000001", "KCC-2026-000002", "KCC-2026-000003"]
    );
    let mut next_year = raw(
        "INBOX",
        9,
        email("a@example.org", "Bins", "r9@x", &[], "New year complaint."),
    );
    next_year.internal_date =
        Some(chrono::DateTime::parse_from_rfc3339("2027-01-04T09:00:00+00:00").unwrap());
    let outcome = desk
        .ingestor
        .ingest_batch(
            vec![next_year],
            chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(),
        )
        .unwrap();
    assert_eq!(outcome, [Outcome::NewCase("KCC-2027-000001".into())]);
    let desk = desk.reopen();
    let after = new_case(&desk.ingest_one(raw(
        "INBOX",
        4,
        email("a@example.org", "Bins", "r4@x", &[], "Another one."),
    )));
    assert_eq!(after, "KCC-2026-000004");
    let listed: Vec<String> = desk
        .store()
        .cases()
        .unwrap()
        .into_iter()
        .map(|c| c.reference)
        .collect();
    assert_eq!(
        listed,
        [
            "KCC-2026-000001",
            "KCC-2026-000002",
            "KCC-2026-000003",
            "KCC-2026-000004",
            "KCC-2027-000001"
        ]
    );
}

#[test]
fn cursors_are_kept_per_mailbox_across_reopening() {
    let desk = Desk::new();
    assert_eq!(desk.store().cursor("INBOX").unwrap(), None);
    desk.store()
        .set_cursor(
            "INBOX",
            Cursor {
                uidvalidity: 7,
                last_uid: 4_000_000_000,
            },
        )
        .unwrap();
    desk.store()
        .set_cursor(
            "adults",
            Cursor {
                uidvalidity: 1,
                last_uid: 3,
            },
        )
        .unwrap();
    desk.store().flush().unwrap();
    let desk = desk.reopen();
    assert_eq!(
        desk.store().cursor("INBOX").unwrap(),
        Some(Cursor {
            uidvalidity: 7,
            last_uid: 4_000_000_000
        })
    );
    assert_eq!(
        desk.store().cursor("adults").unwrap(),
        Some(Cursor {
            uidvalidity: 1,
            last_uid: 3
        })
    );
}

#[test]
fn a_new_case_has_a_pending_acknowledgement_threaded_to_the_message() {
    let desk = Desk::new();
    let bytes = email(
        "Ann <ann@example.org>",
        "Library",
        "lib@example.org",
        &["Reply-To: ann.work@example.org"],
        "The library is always closed.",
    );
    let reference = new_case(&desk.ingest_one(raw("INBOX", 1, bytes)));
    let entry = desk.store().outbox_entry(&reference).unwrap().unwrap();
    assert_eq!(entry.recipient.as_deref(), Some("ann.work@example.org"));
    assert_eq!(entry.in_reply_to.as_deref(), Some("lib@example.org"));
    assert_eq!(entry.status, OutboxStatus::Pending);
    let sent = OutboxStatus::Sent {
        at: crate::util::received(),
        message_id: Some("ack@desk".into()),
    };
    desk.store()
        .set_outbox_status(&reference, sent.clone())
        .unwrap();
    assert_eq!(
        desk.store()
            .outbox_entry(&reference)
            .unwrap()
            .unwrap()
            .status,
        sent
    );
}

#[test]
fn a_case_stores_the_assessment_state_and_message() {
    let desk = Desk::new();
    let body = "I wish to make a formal complaint. I have written three times about the closure of my local library and nobody has replied.";
    let reference = new_case(&desk.ingest_one(raw(
        "INBOX",
        1,
        email(
            "Ann <ann@example.org>",
            "Formal complaint",
            "f@example.org",
            &[],
            body,
        ),
    )));
    let case = desk.store().case(&reference).unwrap().unwrap();
    assert_eq!(case.mailbox, "INBOX");
    assert_eq!(
        case.from.as_ref().and_then(|f| f.address.as_deref()),
        Some("ann@example.org")
    );
    assert_eq!(
        case.assessment.kind,
        feedback_core::Kind::Complaint,
        "{:?}",
        case.assessment.evidence
    );
    assert!(!case.assessment.deadlines.is_empty());
    assert_eq!(case.state.procedure, case.assessment.procedure);
    assert_eq!(case.state.status, feedback_core::Status::Received);
    let message = desk.store().message(&case.messages[0]).unwrap().unwrap();
    assert_eq!(message.case, reference);
    assert!(
        message
            .message
            .headers
            .iter()
            .any(|h| h.name == "Message-ID" && h.value == "<f@example.org>")
    );
    assert_eq!(message.source.unwrap().uid, 1);
    assert_eq!(
        desk.store().find_message_id("f@example.org").unwrap(),
        [case.messages[0].clone()]
    );
}

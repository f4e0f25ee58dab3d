//! Data protection: retention purge (dry run, then for real, touching nothing else), subject access,
//! erasure, equalities data kept apart and out of exports, private store files.

use chrono::{DateTime, FixedOffset, NaiveDate};
use feedback_core::{Event, Policy};
use mailbot::ingest::Outcome;
use mailbot::protection;
use mailbot::store::{AuditAction, QuarantineRecord, Store};
use serde_json::json;

use crate::util::{Desk, email, new_case, raw};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

/// A message from `from` with a small kept attachment.
fn with_attachment(from: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: county.hall@kent.example\r\nSubject: Broken fence\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--b1\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"fence.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQ==\r\n--b1--\r\n"
    )
    .into_bytes()
}

fn close(desk: &Desk, reference: &str, on: &str) {
    desk.store()
        .apply_event(reference, Event::Close, &Policy::kent(), day(on), "closed")
        .unwrap()
        .unwrap();
}

#[test]
fn a_purge_dry_run_lists_what_would_go_and_the_purge_removes_only_that() {
    let desk = Desk::new();
    let old_mail = with_attachment(
        "ann@example.org",
        "old@x",
        "The fence by the school path has been broken for weeks and nobody has come.",
    );
    let old = new_case(&desk.ingest_one(raw("INBOX", 1, old_mail.clone())));
    let kept = new_case(&desk.ingest_one(raw(
        "INBOX",
        2,
        email(
            "bea@example.org",
            "Library",
            "kept@x",
            &[],
            "I am unhappy that the library closed early again without notice.",
        ),
    )));
    let open = new_case(&desk.ingest_one(raw(
        "INBOX",
        3,
        email(
            "cy@example.org",
            "Bins",
            "open@x",
            &[],
            "The recycling centre staff were rude to me and I want to complain.",
        ),
    )));
    let store = desk.store();
    store
        .put_equalities(&old, &json!({"carer": "yes"}))
        .unwrap();
    store
        .put_equalities(&kept, &json!({"carer": "no"}))
        .unwrap();
    close(&desk, &old, "2020-01-10");
    close(&desk, &kept, "2021-06-01");
    let old_key = store.case(&old).unwrap().unwrap().messages[0].clone();
    assert!(store.attachment(&old_key, 0).unwrap().is_some());

    let dry = protection::purge(store, day("2021-01-01"), true, now(), "records officer").unwrap();
    assert!(dry.dry_run && dry.removed.is_none());
    let listed: Vec<(&str, NaiveDate, usize)> = dry
        .cases
        .iter()
        .map(|c| (c.reference.as_str(), c.closed_on, c.messages))
        .collect();
    assert_eq!(listed, [(old.as_str(), day("2020-01-10"), 1)]);
    assert_eq!(store.case_count(), 3, "a dry run removes nothing");
    assert!(store.audit_log().unwrap().is_empty());

    let done =
        protection::purge(store, day("2021-01-01"), false, now(), "records officer").unwrap();
    let removed = done.removed.unwrap();
    assert_eq!(
        (
            removed.cases,
            removed.messages,
            removed.blobs,
            removed.outbox_entries,
            removed.equalities
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(
        removed.index_entries, 2,
        "its Message-ID and UID index entries"
    );
    assert!(store.case(&old).unwrap().is_none());
    assert!(store.message(&old_key).unwrap().is_none());
    assert!(store.attachment(&old_key, 0).unwrap().is_none());
    assert!(store.outbox_entry(&old).unwrap().is_none());
    assert!(store.equalities(&old).unwrap().is_none());
    assert!(store.locate("INBOX", 1, 1).unwrap().is_none());
    assert!(store.find_message_id("old@x").unwrap().is_empty());
    // Nothing else touched.
    assert_eq!(store.case_count(), 2);
    for (reference, uid) in [(&kept, 2), (&open, 3)] {
        assert_eq!(store.case_messages(reference).unwrap().len(), 1);
        assert!(store.outbox_entry(reference).unwrap().is_some());
        assert!(store.locate("INBOX", 1, uid).unwrap().is_some());
    }
    assert_eq!(
        store.equalities(&kept).unwrap(),
        Some(json!({"carer": "no"}))
    );
    // Recorded: when, by whom, how many.
    let log = store.audit_log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].by, "records officer");
    assert_eq!(log[0].at, now());
    assert_eq!(log[0].removed.cases, 1);
    assert_eq!(
        log[0].action,
        AuditAction::Purge {
            closed_before: day("2021-01-01"),
            references: vec![old.clone()]
        }
    );
    // The purged message, fetched again, is new to the store: a new case with the next reference.
    let again = desk.ingest_one(raw("INBOX", 1, old_mail));
    assert!(
        matches!(&again, Outcome::NewCase(r) if *r != old),
        "{again:?}"
    );
    // A second purge with the same cut-off finds nothing and records nothing.
    let none = protection::purge(store, day("2021-01-01"), false, now(), "x").unwrap();
    assert!(none.cases.is_empty() && none.removed.is_none());
    assert_eq!(store.audit_log().unwrap().len(), 1);
}

/// Alice has two cases, was copied into Bob's and replied in it; a quarantined message names her.
fn alice_and_bob() -> (Desk, [String; 3]) {
    let desk = Desk::new();
    let a1 = new_case(&desk.ingest_one(raw(
        "INBOX",
        1,
        email(
            "Alice Smith <alice@example.org>",
            "Potholes",
            "a1@x",
            &[],
            "Alice's first complaint: the potholes on Mill Lane were reported twice and are still there.",
        ),
    )));
    let a2 = new_case(&desk.ingest_one(raw(
        "INBOX",
        2,
        email(
            "ALICE@example.org",
            "Thanks",
            "a2@x",
            &[],
            "Alice says thank you to the library staff at Tonbridge, they were wonderful.",
        ),
    )));
    let b1 = new_case(&desk.ingest_one(raw(
        "INBOX",
        3,
        email(
            "bob@example.org",
            "Care home",
            "b1@x",
            &["Cc: Alice <alice@example.org>"],
            "Bob's private complaint about his father's care home fees being wrong.",
        ),
    )));
    let reply = desk.ingest_one(raw(
        "INBOX",
        4,
        email(
            "alice@example.org",
            &format!("Re: {b1}"),
            "a3@x",
            &[],
            "Alice, Bob's neighbour, adds a note to Bob's case.",
        ),
    ));
    assert_eq!(reply, Outcome::AddedToCase(b1.clone()));
    let store = desk.store();
    store
        .put_equalities(&a1, &json!({"ethnicity": "A-ETHNICITY", "carer": true}))
        .unwrap();
    store
        .put_equalities(&b1, &json!({"ethnicity": "B-ETHNICITY"}))
        .unwrap();
    store
        .put_quarantine(
            &QuarantineRecord {
                id: String::new(),
                source: None,
                received: None,
                quarantined_on: day("2026-11-24"),
                reason: "cannot be parsed".into(),
                size: 40,
            },
            b"From: Alice@Example.org\r\n\r\nbroken \xff mime",
        )
        .unwrap();
    store
        .put_quarantine(
            &QuarantineRecord {
                id: String::new(),
                source: None,
                received: None,
                quarantined_on: day("2026-11-24"),
                reason: "cannot be parsed".into(),
                size: 30,
            },
            b"From: bob@example.org\r\n\r\nbroken",
        )
        .unwrap();
    store.flush().unwrap();
    (desk, [a1, a2, b1])
}

#[test]
fn subject_access_finds_everything_held_about_one_address_and_nothing_of_others() {
    let (desk, [a1, a2, b1]) = alice_and_bob();
    let found = protection::subject_access(desk.store(), " Alice@Example.ORG ", now()).unwrap();
    assert_eq!(found.subject, "alice@example.org");
    let cases: Vec<&str> = found
        .cases
        .iter()
        .map(|c| c.case.reference.as_str())
        .collect();
    assert_eq!(cases, [a1.as_str(), a2.as_str()]);
    assert!(found.cases.iter().all(|c| c.messages.len() == 1));
    assert!(found.cases.iter().all(|c| c.outbox.is_some()));
    assert_eq!(
        found.cases[0].equalities,
        Some(json!({"ethnicity": "A-ETHNICITY", "carer": true}))
    );
    assert_eq!(found.cases[1].equalities, None);
    assert_eq!(found.messages_in_other_cases.len(), 1);
    assert_eq!(found.messages_in_other_cases[0].case, b1);
    // Bob's message copied to her: listed for review, its content not disclosed.
    assert_eq!(found.copied_to_them, [format!("{b1}/000000")]);
    assert_eq!(found.quarantined.len(), 1);
    assert!(found.quarantined[0].raw.contains("broken"));
    let text = serde_json::to_string(&found).unwrap();
    for other in ["bob@example.org", "B-ETHNICITY", "care home fees"] {
        assert!(!text.contains(other), "{other} leaked into Alice's export");
    }
    // Bob's export: his case, Alice's message in it withheld for review, not disclosed.
    let bob = protection::subject_access(desk.store(), "bob@example.org", now()).unwrap();
    assert_eq!(bob.cases.len(), 1);
    assert_eq!(bob.cases[0].messages.len(), 1);
    assert_eq!(bob.cases[0].withheld_messages.len(), 1);
    assert!(
        !serde_json::to_string(&bob)
            .unwrap()
            .contains("Bob's neighbour")
    );
    // Someone with nothing held gets an empty answer; a malformed address an error.
    let nobody = protection::subject_access(desk.store(), "nobody@example.org", now()).unwrap();
    assert!(nobody.cases.is_empty() && nobody.messages_in_other_cases.is_empty());
    assert!(nobody.quarantined.is_empty());
    let err = protection::subject_access(desk.store(), "not an address", now()).unwrap_err();
    assert!(format!("{err:#}").contains("is not an email address"));
}

#[test]
fn erasure_removes_and_redacts_what_is_held_and_records_it_without_the_address() {
    let (desk, [a1, a2, b1]) = alice_and_bob();
    let store = desk.store();
    let done = protection::erase(store, "alice@example.org", "dpo", now()).unwrap();
    assert_eq!(done.cases, [a1.clone(), a2.clone()]);
    assert_eq!(done.removed.cases, 2);
    assert_eq!(done.removed.messages, 2);
    assert_eq!(done.removed.equalities, 1);
    assert_eq!(
        done.removed.redacted_messages, 2,
        "her reply; Bob's message to her"
    );
    assert_eq!(done.removed.quarantined, 1);
    assert!(store.case(&a1).unwrap().is_none() && store.case(&a2).unwrap().is_none());
    // Bob's case stays; Alice's message in it is redacted, Bob's own untouched.
    let messages = store.case_messages(&b1).unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages[0].message.text.contains("care home fees"));
    assert!(
        messages[0].message.cc.is_empty(),
        "her address is taken out"
    );
    assert!(
        messages[0]
            .message
            .headers
            .iter()
            .all(|h| !h.value.contains("alice@"))
    );
    assert_eq!(
        messages[0]
            .message
            .from
            .as_ref()
            .unwrap()
            .address
            .as_deref(),
        Some("bob@example.org")
    );
    assert_eq!(messages[1].message.from, None);
    assert!(!messages[1].message.text.contains("neighbour"));
    assert_eq!(
        store.equalities(&b1).unwrap(),
        Some(json!({"ethnicity": "B-ETHNICITY"}))
    );
    assert_eq!(
        store.quarantined().unwrap().len(),
        1,
        "Bob's quarantined mail stays"
    );
    // Nothing is left to find.
    let after = protection::subject_access(store, "alice@example.org", now()).unwrap();
    assert!(after.cases.is_empty() && after.messages_in_other_cases.is_empty());
    assert!(after.quarantined.is_empty());
    // Recorded with a hash of the address, not the address.
    let log = store.audit_log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].by, "dpo");
    assert_eq!(log[0].removed, done.removed);
    assert_eq!(
        log[0].action,
        AuditAction::Erase {
            subject_sha256: protection::address_hash("alice@example.org")
        }
    );
    assert_eq!(
        protection::address_hash("alice@example.org"),
        "7a64adf28737ea90719cbdf0b1a87a5effff3753b79c91d717f4f4153ead0498"
    );
    let logged = serde_json::to_string(&log).unwrap();
    assert!(!logged.to_lowercase().contains("alice"));
}

#[test]
fn equalities_data_is_left_out_of_exports_unless_asked_for() {
    let (desk, [a1, _, _]) = alice_and_bob();
    let store = desk.store();
    // Not part of the case record.
    let case = serde_json::to_string(&store.case(&a1).unwrap().unwrap()).unwrap();
    assert!(!case.contains("A-ETHNICITY"));
    let mut plain = Vec::new();
    assert_eq!(
        mailbot::export::export_cases(store, false, &mut plain).unwrap(),
        3
    );
    let plain = String::from_utf8(plain).unwrap();
    assert!(!plain.contains("ETHNICITY") && !plain.contains("\"equalities\""));
    let first: serde_json::Value = serde_json::from_str(plain.lines().next().unwrap()).unwrap();
    assert_eq!(first["case"]["reference"], a1.as_str());
    assert_eq!(first["messages"].as_array().unwrap().len(), 1);
    assert!(first["outbox"].is_object());
    let mut asked = Vec::new();
    mailbot::export::export_cases(store, true, &mut asked).unwrap();
    let asked = String::from_utf8(asked).unwrap();
    assert!(asked.contains("A-ETHNICITY") && asked.contains("B-ETHNICITY"));
    // Equalities data needs a case to belong to.
    assert!(store.put_equalities("KCC-2026-999999", &json!({})).is_err());
}

#[cfg(unix)]
#[test]
fn the_store_files_are_readable_by_the_service_user_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let check = |path: &std::path::Path| {
        let mut pending = vec![path.to_path_buf()];
        let mut files = 0;
        while let Some(dir) = pending.pop() {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", dir.display());
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap().path();
                if entry.is_dir() {
                    pending.push(entry);
                } else {
                    files += 1;
                    let mode = std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600, "{}", entry.display());
                }
            }
        }
        assert!(files >= 2, "sled's files were checked");
    };
    {
        let store = Store::open(&path).unwrap();
        check(&path);
        store
            .put_quarantine(
                &QuarantineRecord {
                    id: String::new(),
                    source: None,
                    received: None,
                    quarantined_on: day("2026-11-24"),
                    reason: "test".into(),
                    size: 1,
                },
                b"x",
            )
            .unwrap();
        store.flush().unwrap();
    }
    // Files made before this build restricted them are made private on the next open.
    let db_file = path.join("db");
    std::fs::set_permissions(&db_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(Store::open(&path).unwrap());
    check(&path);
}

#[test]
fn the_purge_and_erase_commands_explain_missing_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mailbot.toml");
    std::fs::write(
        &config,
        format!(
            "store = {:?}\n[[mailbox]]\nname = \"inbox\"\nhost = \"127.0.0.1\"\ntls = \"plain-loopback\"\nuser = \"u\"\nsecret_env = \"UNUSED\"\n",
            dir.path().join("store")
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mailbot"))
            .args(args)
            .output()
            .unwrap()
    };
    let config = config.to_str().unwrap();
    let purge = run(&["purge", config, "--dry-run"]);
    assert_eq!(purge.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&purge.stderr).contains("closed_cases_days"));
    let dry = run(&[
        "purge",
        config,
        "--closed-before",
        "2020-01-01",
        "--dry-run",
    ]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(String::from_utf8_lossy(&dry.stdout).contains("would purge 0 cases"));
    let erase = run(&["erase", config, "a@example.org"]);
    assert_eq!(erase.status.code(), Some(2), "clap: --by is required");
    let erased = run(&["erase", config, "a@example.org", "--by", "dpo", "--json"]);
    assert!(
        erased.status.success(),
        "{}",
        String::from_utf8_lossy(&erased.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&erased.stdout).unwrap();
    assert_eq!(value["removed"]["cases"], 0);
    let log = run(&["audit-log", config]);
    let log = String::from_utf8(log.stdout).unwrap();
    assert_eq!(log.lines().count(), 1, "the erasure is recorded: {log}");
    assert!(log.contains("\"action\":\"erase\"") && log.contains("\"by\":\"dpo\""));
    assert!(!log.contains("a@example.org"));
    let access = run(&["subject-access", config, "a@example.org"]);
    assert!(access.status.success());
    // Files written with personal data are private to their owner.
    let file = dir.path().join("export.jsonl");
    let export = run(&["export", config, "--output", file.to_str().unwrap()]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert!(String::from_utf8_lossy(&export.stderr).contains("0 lines exported"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

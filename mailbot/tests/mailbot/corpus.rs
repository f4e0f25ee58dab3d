//! The hostile and odd message corpus: every fixture, with LF and with CRLF line endings, becomes a case
//! or a quarantine record as its `.expect` file says, and nothing panics.
//!
//! `.expect` lines are `key: value`: `outcome` (`case`, `quarantine`, or `either` for input whose reading
//! is the parser's business, such as a text with no header), `contains` / `not_contains` (the stored
//! text), `subject`, `attachments` (count), `attachment_name`, `automatic` (`true`/`false`), `outbox`
//! (`pending`/`suppressed`), `html_only`, `reason` (part of the quarantine reason).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mailbot::ingest::{IngestSettings, Outcome};
use mailbot::store::OutboxStatus;

use crate::util::{Desk, raw, settings, to_crlf, to_lf};

/// A fixture's expectations: every value of each key.
pub type Expect = BTreeMap<String, Vec<String>>;

/// Every fixture: its path, bytes and expectations.
pub fn fixtures() -> Vec<(PathBuf, Vec<u8>, Expect)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eml");
    let mut found = Vec::new();
    let mut categories: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    categories.sort();
    for category in categories {
        let mut files: Vec<_> = std::fs::read_dir(&category)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let expect_text = std::fs::read_to_string(file.with_extension("expect"))
                .unwrap_or_else(|_| panic!("{} has no .expect file", file.display()));
            let mut expect = Expect::new();
            for line in expect_text.lines().filter(|l| !l.trim().is_empty()) {
                let (key, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{}: bad expect line `{line}`", file.display()));
                expect
                    .entry(key.trim().to_string())
                    .or_default()
                    .push(value.trim().to_string());
            }
            found.push((file, bytes, expect));
        }
    }
    found
}

#[test]
fn every_fixture_becomes_a_case_or_a_quarantine_record_with_lf_and_crlf() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 50,
        "the corpus has only {} fixtures",
        fixtures.len()
    );
    let mut ran = 0;
    let mut failures = Vec::new();
    for (ending, convert) in [("lf", to_lf as fn(&[u8]) -> Vec<u8>), ("crlf", to_crlf)] {
        // One store per line ending: the two variants of a message are the same message to dedup.
        let desk = Desk::new();
        for (uid, (path, bytes, expect)) in (1..).zip(&fixtures) {
            let name = format!(
                "{} ({ending})",
                path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(path)
                    .display()
            );
            let outcome = desk.ingest_one(raw("INBOX", uid, convert(bytes)));
            ran += 1;
            if std::env::var_os("MAILBOT_SHOW_OUTCOMES").is_some() {
                eprintln!("{name}: {outcome:?}");
            }
            if let Err(why) = check(&desk, &outcome, expect) {
                failures.push(format!("{name}: {why} (outcome {outcome:?})"));
            }
            assert!(
                desk.ingestor.knows("INBOX", 1, uid).unwrap(),
                "{name}: not known after ingestion"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ran >= 100, "ran only {ran} fixture cases");
    eprintln!(
        "corpus: {ran} fixture runs ({} fixtures x LF and CRLF)",
        fixtures.len()
    );
}

fn check(desk: &Desk, outcome: &Outcome, expect: &Expect) -> Result<(), String> {
    let one = |key: &str| expect.get(key).and_then(|v| v.first()).map(String::as_str);
    let store = desk.store();
    match (one("outcome").unwrap_or("case"), outcome) {
        ("case" | "either", Outcome::NewCase(reference)) => {
            let case = store
                .case(reference)
                .unwrap()
                .ok_or("the case is not stored")?;
            let messages = store.case_messages(reference).unwrap();
            let message = messages.first().ok_or("the case has no message")?;
            if case.messages.len() != 1 {
                return Err(format!("the case lists {} messages", case.messages.len()));
            }
            for needle in expect.get("contains").into_iter().flatten() {
                if !message.message.text.contains(needle.as_str()) {
                    return Err(format!(
                        "the text does not contain `{needle}`: {:?}",
                        message.message.text.chars().take(300).collect::<String>()
                    ));
                }
            }
            for needle in expect.get("not_contains").into_iter().flatten() {
                if message.message.text.contains(needle.as_str()) {
                    return Err(format!("the text contains `{needle}`"));
                }
            }
            if let Some(subject) = one("subject")
                && message.message.subject.as_deref() != Some(subject)
            {
                return Err(format!(
                    "subject {:?}, expected {subject:?}",
                    message.message.subject
                ));
            }
            if let Some(count) = one("attachments")
                && message.message.attachments.len().to_string() != count
            {
                return Err(format!(
                    "{} attachments, expected {count}: {:?}",
                    message.message.attachments.len(),
                    message.message.attachments
                ));
            }
            if let Some(name) = one("attachment_name")
                && !message
                    .message
                    .attachments
                    .iter()
                    .any(|a| a.info.name.as_deref() == Some(name))
            {
                return Err(format!(
                    "no attachment named {name:?}: {:?}",
                    message.message.attachments
                ));
            }
            if let Some(automatic) = one("automatic")
                && message.message.automatic.is_some().to_string() != automatic
            {
                return Err(format!(
                    "automatic = {:?}, expected {automatic}",
                    message.message.automatic
                ));
            }
            if let Some(html_only) = one("html_only")
                && message.message.html_only.to_string() != html_only
            {
                return Err(format!(
                    "html_only = {}, expected {html_only}",
                    message.message.html_only
                ));
            }
            let entry = store
                .outbox_entry(reference)
                .unwrap()
                .ok_or("no outbox entry")?;
            // Unless said, an acknowledgement is pending exactly when there is someone human to send it to.
            let addressable = message.message.automatic.is_none()
                && message
                    .message
                    .reply_to
                    .as_ref()
                    .or(message.message.from.as_ref())
                    .and_then(|m| m.address.as_ref())
                    .is_some();
            let expected =
                one("outbox").unwrap_or(if addressable { "pending" } else { "suppressed" });
            match (expected, &entry.status) {
                ("pending", OutboxStatus::Pending)
                | ("suppressed", OutboxStatus::Suppressed { .. }) => {}
                (expected, status) => {
                    return Err(format!("outbox {status:?}, expected {expected}"));
                }
            }
            Ok(())
        }
        ("quarantine" | "either", Outcome::Quarantined(id)) => {
            let (record, raw) = store
                .quarantine(id)
                .unwrap()
                .ok_or("the quarantine record is not stored")?;
            if raw.len() != record.size {
                return Err(format!(
                    "raw bytes {} != recorded size {}",
                    raw.len(),
                    record.size
                ));
            }
            if let Some(reason) = one("reason")
                && !record.reason.contains(reason)
            {
                return Err(format!(
                    "reason `{}` does not mention `{reason}`",
                    record.reason
                ));
            }
            Ok(())
        }
        (expected, outcome) => Err(format!("expected {expected}, got {outcome:?}")),
    }
}

/// A message with a 30 MB attachment (generated here, not committed).
fn thirty_megabytes() -> Vec<u8> {
    let mut content = Vec::with_capacity(30 * 1024 * 1024);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    while content.len() < 30 * 1024 * 1024 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        content.extend_from_slice(&state.to_le_bytes());
    }
    let mut out = crate::util::email(
        "Ann <ann@example.org>",
        "Video of the flooding",
        "big@example.org",
        &[
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed; boundary=\"big\"",
        ],
        "--big\nContent-Type: text/plain\n\nThe drain outside number 4 floods every time it rains; video attached.\n--big\nContent-Type: video/mp4; name=\"flood.mp4\"\nContent-Transfer-Encoding: base64\n\n",
    );
    let encoded = base64(&content);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--big--\r\n");
    out
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(TABLE[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_30_mb_attachment_is_recorded_by_size_and_not_kept_over_the_budget() {
    let desk = Desk::new();
    let outcome = desk.ingest_one(raw("INBOX", 1, thirty_megabytes()));
    let Outcome::NewCase(reference) = outcome else {
        panic!("expected a case, got {outcome:?}")
    };
    let message = desk.store().case_messages(&reference).unwrap().remove(0);
    assert!(message.message.text.contains("drain outside number 4"));
    assert_eq!(message.message.attachments.len(), 1);
    let attachment = &message.message.attachments[0];
    assert_eq!(attachment.info.name.as_deref(), Some("flood.mp4"));
    assert_eq!(attachment.info.content_type, "video/mp4");
    assert_eq!(attachment.info.size, 30 * 1024 * 1024);
    assert!(!attachment.info.kept);
    assert_eq!(desk.store().attachment(&message.key, 0).unwrap(), None);
}

#[test]
fn a_message_over_the_size_limit_is_quarantined_with_its_raw_bytes() {
    let desk = Desk::with_settings(IngestSettings {
        max_message_bytes: 10 * 1024 * 1024,
        ..settings()
    });
    let bytes = thirty_megabytes();
    let outcome = desk.ingest_one(raw("INBOX", 7, bytes.clone()));
    let Outcome::Quarantined(id) = outcome else {
        panic!("expected quarantine, got {outcome:?}")
    };
    let (record, raw_bytes) = desk.store().quarantine(&id).unwrap().unwrap();
    assert!(
        record.reason.contains("over the limit"),
        "{}",
        record.reason
    );
    assert_eq!(raw_bytes, bytes);
    assert_eq!(record.source.unwrap().uid, 7);
    assert_eq!(desk.store().quarantined().unwrap().len(), 1);
}

#[test]
fn attachments_within_the_budget_are_kept_whole() {
    let desk = Desk::with_settings(IngestSettings {
        max_attachment_bytes_kept: 10,
        ..settings()
    });
    let bytes = crate::util::email(
        "ann@example.org",
        "Photos",
        "photos@example.org",
        &[
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed; boundary=\"p\"",
        ],
        "--p\nContent-Type: text/plain\n\nPhotos of the pothole.\n--p\nContent-Type: image/png; name=a.png\n\n12345678\n--p\nContent-Type: image/png; name=b.png\n\n123456789012345\n--p--\n",
    );
    let reference = crate::util::new_case(&desk.ingest_one(raw("INBOX", 1, bytes)));
    let message = desk.store().case_messages(&reference).unwrap().remove(0);
    let kept: Vec<bool> = message
        .message
        .attachments
        .iter()
        .map(|a| a.info.kept)
        .collect();
    assert_eq!(kept, vec![true, false]);
    assert_eq!(
        desk.store().attachment(&message.key, 0).unwrap().as_deref(),
        Some(&b"12345678"[..])
    );
    assert_eq!(desk.store().attachment(&message.key, 1).unwrap(), None);
}

#[test]
fn a_team_mailbox_route_hint_steers_the_service_area() {
    let desk = Desk::new();
    let body =
        "I am unhappy with how my mother's care package was handled, nobody returned my calls.";
    let mut message = raw(
        "adults",
        1,
        crate::util::email(
            "ann@example.org",
            "Care package",
            "care@example.org",
            &[],
            body,
        ),
    );
    message.route_hint = Some("adult_social_care".into());
    let reference = crate::util::new_case(&desk.ingest_one(message));
    let case = desk.store().case(&reference).unwrap().unwrap();
    assert_eq!(
        case.assessment.service_area.as_deref(),
        Some("adult_social_care"),
        "{:?}",
        case.assessment.evidence
    );
    assert_eq!(case.received, Some(crate::util::received()));
    assert_eq!(
        case.opened_on,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    );
}

/// Regression: mail-parser 0.11.9 panics ("Invalid part ID, could not find multipart") on a
/// message/rfc822 part whose body is itself only a message/rfc822 header; found by the fuzzer. The panic
/// is caught, the message quarantined, and the rest of the batch goes on.
#[test]
fn regression_mail_parser_panics_on_a_message_inside_a_message_and_the_batch_goes_on() {
    crate::util::quiet_parser_panics();
    let desk = Desk::new();
    let bad = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eml/mime/013.eml"),
    )
    .unwrap();
    let good = crate::util::email(
        "ann@example.org",
        "Bins",
        "after-panic@example.org",
        &[],
        "My bin was not collected.",
    );
    let outcomes = desk.ingest(vec![raw("INBOX", 1, bad.clone()), raw("INBOX", 2, good)]);
    let Outcome::Quarantined(id) = &outcomes[0] else {
        panic!("expected quarantine, got {outcomes:?}")
    };
    assert!(matches!(outcomes[1], Outcome::NewCase(_)), "{outcomes:?}");
    let (record, raw_bytes) = desk.store().quarantine(id).unwrap().unwrap();
    assert!(
        record.reason.contains("panicked") && record.reason.contains("Invalid part ID"),
        "{}",
        record.reason
    );
    assert_eq!(raw_bytes, bad);
}

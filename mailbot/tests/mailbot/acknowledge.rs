//! The acknowledgement sender without a mail server: the never-loop, never-spam matrix (one test per
//! case; each message still becomes a case), header injection, crash recovery and the at-risk list. The
//! SMTP server is a closed port, so an acknowledgement that is NOT suppressed shows as a failed attempt.
//! Sending for real, through Postfix into a resident's INBOX, is in `imap/acknowledge.rs`.

use chrono::{DateTime, NaiveDate};
use feedback_core::Policy;
use mailbot::config::{Checks, Config};
use mailbot::outbox::{Sender, at_risk};
use mailbot::store::OutboxStatus;

use super::util::*;

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn config(store: &std::path::Path, smtp_extra: &str) -> Config {
    let text = format!(
        r#"
store = "{}"
[[mailbox]]
name = "county-hall"
host = "127.0.0.1"
tls = "plain-loopback"
user = "county.hall@kent.example"
secret_env = "PATH"
[smtp]
host = "127.0.0.1"
port = {}
tls = "plain-loopback"
auth = "none"
own_domains = ["council.example"]
max_per_sender_per_day = 3
retry_initial_secs = 1
timeout_secs = 5
{smtp_extra}
"#,
        store.display(),
        closed_port()
    );
    Config::parse(&text, None, Checks::SyntaxOnly).unwrap()
}

fn sender(desk: &Desk) -> Sender {
    let config = config(&desk.dir.path().join("store"), "");
    Sender::new(&config, desk.store().clone(), Policy::kent())
        .unwrap()
        .unwrap()
}

fn drain(sender: &Sender) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(sender.drain())
        .unwrap();
}

const BODY: &str = "I want to complain: the bin collection has been missed three weeks running.";

/// Ingests `message` (a new case, whatever it is), runs the sender, and returns the entry's status.
fn status_of(desk: &Desk, uid: u32, message: Vec<u8>) -> OutboxStatus {
    let reference = new_case(&desk.ingest_one(raw("county-hall", uid, message)));
    assert!(desk.store().case(&reference).unwrap().is_some());
    drain(&sender(desk));
    desk.store()
        .outbox_entry(&reference)
        .unwrap()
        .unwrap()
        .status
}

fn assert_suppressed(status: &OutboxStatus, because: &str) {
    match status {
        OutboxStatus::Suppressed { reason } => {
            assert!(
                reason.contains(because),
                "suppressed, but for {reason:?}, not {because:?}"
            )
        }
        other => panic!("expected suppressed ({because}), got {other:?}"),
    }
}

/// Not suppressed: the sender tried (and the closed port refused).
fn assert_attempted(status: &OutboxStatus) {
    assert!(
        matches!(
            status,
            OutboxStatus::Failed {
                permanent: false,
                attempts: 1,
                ..
            }
        ),
        "expected one failed attempt, got {status:?}"
    );
}

fn resident(headers: &[&str]) -> Vec<u8> {
    email(
        "Alice Resident <alice@residents.example>",
        "Bins",
        "m1@residents.example",
        headers,
        BODY,
    )
}

#[test]
fn an_ordinary_email_is_acknowledged() {
    let desk = Desk::new();
    assert_attempted(&status_of(&desk, 1, resident(&[])));
}

#[test]
fn auto_submitted_auto_replied_is_not_acknowledged() {
    let desk = Desk::new();
    let status = status_of(&desk, 1, resident(&["Auto-Submitted: auto-replied"]));
    assert_suppressed(&status, "Auto-Submitted: auto-replied");
}

#[test]
fn auto_submitted_auto_generated_is_not_acknowledged() {
    let desk = Desk::new();
    let status = status_of(&desk, 1, resident(&["Auto-Submitted: auto-generated"]));
    assert_suppressed(&status, "Auto-Submitted");
}

#[test]
fn auto_submitted_no_is_acknowledged() {
    let desk = Desk::new();
    assert_attempted(&status_of(&desk, 1, resident(&["Auto-Submitted: no"])));
}

#[test]
fn precedence_bulk_is_not_acknowledged() {
    let desk = Desk::new();
    assert_suppressed(
        &status_of(&desk, 1, resident(&["Precedence: bulk"])),
        "Precedence: bulk",
    );
}

#[test]
fn precedence_list_is_not_acknowledged() {
    let desk = Desk::new();
    assert_suppressed(
        &status_of(&desk, 1, resident(&["Precedence: list"])),
        "Precedence: list",
    );
}

#[test]
fn precedence_junk_is_not_acknowledged() {
    let desk = Desk::new();
    assert_suppressed(
        &status_of(&desk, 1, resident(&["Precedence: junk"])),
        "Precedence: junk",
    );
}

#[test]
fn list_id_is_not_acknowledged() {
    let desk = Desk::new();
    let status = status_of(
        &desk,
        1,
        resident(&["List-Id: Residents <residents.lists.example>"]),
    );
    assert_suppressed(&status, "List-Id");
}

#[test]
fn list_unsubscribe_is_not_acknowledged() {
    let desk = Desk::new();
    let status = status_of(
        &desk,
        1,
        resident(&["List-Unsubscribe: <mailto:leave@lists.example>"]),
    );
    assert_suppressed(&status, "List-Unsubscribe");
}

#[test]
fn an_empty_return_path_is_not_acknowledged() {
    let desk = Desk::new();
    assert_suppressed(
        &status_of(&desk, 1, resident(&["Return-Path: <>"])),
        "Return-Path",
    );
}

#[test]
fn mailer_daemon_is_not_acknowledged() {
    let desk = Desk::new();
    let message = email(
        "Mail Delivery System <MAILER-DAEMON@mx.residents.example>",
        "Undelivered Mail",
        "b1@mx.residents.example",
        &[],
        BODY,
    );
    assert_suppressed(&status_of(&desk, 1, message), "mailerdaemon");
}

#[test]
fn a_delivery_report_is_not_acknowledged() {
    let desk = Desk::new();
    let message = email(
        "Postmaster <postmaster@mx.residents.example>",
        "Delivery Status Notification",
        "r1@mx.residents.example",
        &[
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"",
        ],
        "--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.residents.example\n\nFinal-Recipient: rfc822; x@kent.example\nAction: failed\nStatus: 5.1.1\n--b--\n",
    );
    assert_suppressed(&status_of(&desk, 1, message), "multipart/report");
}

#[test]
fn a_noreply_sender_is_not_acknowledged() {
    let desk = Desk::new();
    let message = email(
        "Parcel Service <no-reply@parcels.example>",
        "Your delivery",
        "n1@parcels.example",
        &[],
        BODY,
    );
    assert_suppressed(&status_of(&desk, 1, message), "no-reply");
}

#[test]
fn a_noreply_prefixed_sender_is_not_acknowledged() {
    let desk = Desk::new();
    let message = email(
        "Alerts <noreply-alerts@bank.example>",
        "Alert",
        "n2@bank.example",
        &[],
        BODY,
    );
    assert_suppressed(&status_of(&desk, 1, message), "no-reply");
}

#[test]
fn the_councils_own_mailbox_is_not_acknowledged() {
    let desk = Desk::new();
    let message = email(
        "County Hall <County.Hall@kent.example>",
        "Fwd: bins",
        "c1@kent.example",
        &[],
        BODY,
    );
    assert_suppressed(&status_of(&desk, 1, message), "council's own address");
    // Shown on the case too.
    let case = &desk.store().cases().unwrap()[0];
    let note = &case.history.last().unwrap().note;
    assert_eq!(note, "acknowledgement not sent: the council's own address");
}

#[test]
fn the_councils_own_domain_is_not_acknowledged() {
    let desk = Desk::new();
    let message = email(
        "Officer <officer@highways.council.example>",
        "Bins",
        "c2@council.example",
        &[],
        BODY,
    );
    assert_suppressed(&status_of(&desk, 1, message), "council's own domain");
}

#[test]
fn a_sender_past_the_daily_rate_is_not_acknowledged() {
    let desk = Desk::new();
    for uid in 1..=3 {
        let message = email(
            "Alice <alice@residents.example>",
            "Bins",
            &format!("r{uid}@residents.example"),
            &[],
            &format!("{BODY} ({uid})"),
        );
        assert_attempted(&status_of(&desk, uid, message));
    }
    let message = email(
        "Alice <ALICE@residents.example>",
        "Bins",
        "r4@residents.example",
        &[],
        &format!("{BODY} (4)"),
    );
    assert_suppressed(
        &status_of(&desk, 4, message),
        "rate limit: 3 acknowledgements",
    );
    // Someone else is not affected.
    let message = email(
        "Bob <bob@residents.example>",
        "Bins",
        "b5@residents.example",
        &[],
        BODY,
    );
    assert_attempted(&status_of(&desk, 5, message));
}

#[test]
fn header_values_from_the_email_cannot_inject_headers() {
    let desk = Desk::new();
    let sender = sender(&desk);
    // An encoded subject that decodes to CR LF, and a Message-ID folded over two lines.
    let message = b"From: Alice <alice@residents.example>\r\nTo: county.hall@kent.example\r\n\
Subject: =?utf-8?q?Hello=0D=0ABcc:_evil@attacker.example?=\r\n\
Message-ID: <x1@residents.example>\r\n Bcc: evil@attacker.example\r\n\
Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\nI want to complain about the bins.\r\n"
        .to_vec();
    let reference = new_case(&desk.ingest_one(raw("county-hall", 1, message)));
    let case = desk.store().case(&reference).unwrap().unwrap();
    let entry = desk.store().outbox_entry(&reference).unwrap().unwrap();
    let id = format!("{reference}.ack.0123456789abcdef@kent.example");
    let sent = String::from_utf8(sender.compose(&case, &entry, &id).unwrap().formatted()).unwrap();
    let (head, _) = sent.split_once("\r\n\r\n").unwrap();
    let names: Vec<&str> = head
        .split("\r\n")
        .filter(|line| !line.starts_with([' ', '\t']))
        .map(|line| line.split_once(':').unwrap().0)
        .collect();
    for name in &names {
        assert!(
            [
                "From",
                "To",
                "Subject",
                "Message-ID",
                "Date",
                "Auto-Submitted",
                "Content-Type",
                "Content-Transfer-Encoding",
                "MIME-Version",
                "In-Reply-To",
                "References",
            ]
            .contains(name),
            "unexpected header {name:?} in\n{head}"
        );
    }
    assert!(!sent.to_ascii_lowercase().contains("attacker"), "{sent}");
    assert!(head.contains(&format!("Message-ID: <{id}>")), "{head}");
    assert!(head.contains("Auto-Submitted: auto-replied"), "{head}");
    // mail-parser keeps the first id of the folded Message-ID; the rest is gone.
    assert!(
        head.contains("In-Reply-To: <x1@residents.example>\r\n"),
        "{head}"
    );
}

#[test]
fn the_acknowledgement_threads_to_the_residents_message() {
    let desk = Desk::new();
    let sender = sender(&desk);
    let message = email(
        "Alice <alice@residents.example>",
        "Private matter of Zebediah",
        "m7@residents.example",
        &[
            "References: <older@residents.example>",
            "In-Reply-To: <older@residents.example>",
        ],
        BODY,
    );
    let reference = new_case(&desk.ingest_one(raw("county-hall", 1, message)));
    let case = desk.store().case(&reference).unwrap().unwrap();
    let entry = desk.store().outbox_entry(&reference).unwrap().unwrap();
    let id = format!("{reference}.ack.1@kent.example");
    let sent = String::from_utf8(sender.compose(&case, &entry, &id).unwrap().formatted()).unwrap();
    assert!(
        sent.contains("In-Reply-To: <m7@residents.example>"),
        "{sent}"
    );
    assert!(
        sent.contains("References: <older@residents.example> <m7@residents.example>"),
        "{sent}"
    );
    assert!(
        sent.contains("From: \"Kent County Council\" <county.hall@kent.example>")
            || sent.contains("From: Kent County Council <county.hall@kent.example>"),
        "{sent}"
    );
    assert!(
        sent.contains(&format!(
            "Subject: We have received your complaint (ref {reference})"
        )),
        "{sent}"
    );
    assert!(!sent.contains("Zebediah"), "{sent}");
}

#[test]
fn a_send_interrupted_by_a_crash_is_sent_once_more_then_never() {
    let desk = Desk::new();
    let reference = new_case(&desk.ingest_one(raw("county-hall", 1, resident(&[]))));
    let since = DateTime::parse_from_rfc3339("2026-11-24T10:00:05+00:00").unwrap();
    let interrupted = |after_crash| OutboxStatus::Sending {
        since,
        message_id: format!("{reference}.ack.1@kent.example"),
        attempts: 0,
        after_crash,
    };
    // Left `sending` by a crash: sent once more (the closed port makes that attempt fail).
    desk.store()
        .begin_sending(
            &reference,
            "alice@residents.example",
            &interrupted(false),
            since,
        )
        .unwrap();
    drain(&sender(&desk));
    let status = desk
        .store()
        .outbox_entry(&reference)
        .unwrap()
        .unwrap()
        .status;
    assert_attempted(&status);
    // Left `sending` by a crash during that one re-send: never sent again.
    desk.store()
        .set_outbox_status(&reference, interrupted(true))
        .unwrap();
    drain(&sender(&desk));
    match desk
        .store()
        .outbox_entry(&reference)
        .unwrap()
        .unwrap()
        .status
    {
        OutboxStatus::Failed {
            permanent: true,
            reason,
            ..
        } => {
            assert!(reason.contains("interrupted twice"), "{reason}")
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    let case = desk.store().case(&reference).unwrap().unwrap();
    let note = &case.history.last().unwrap().note;
    assert!(note.contains("interrupted twice"), "{note}");
}

#[test]
fn an_unsent_acknowledgement_near_its_deadline_is_at_risk() {
    let desk = Desk::new();
    let policy = Policy::kent();
    let reference = new_case(&desk.ingest_one(raw("county-hall", 1, resident(&[]))));
    // Received Tuesday 24 November 2026: acknowledge by Friday 27 November.
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    assert!(at_risk(desk.store(), &policy, day(24)).unwrap().is_empty());
    assert!(at_risk(desk.store(), &policy, day(25)).unwrap().is_empty());
    let list = at_risk(desk.store(), &policy, day(26)).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            list[0].reference.as_str(),
            list[0].due,
            list[0].working_days_left
        ),
        (reference.as_str(), day(27), 1)
    );
    assert_eq!(
        at_risk(desk.store(), &policy, day(30)).unwrap()[0].working_days_left,
        -1
    );
    // Sent or suppressed: not at risk.
    desk.store()
        .set_outbox_status(
            &reference,
            OutboxStatus::Suppressed {
                reason: "test".into(),
            },
        )
        .unwrap();
    assert!(at_risk(desk.store(), &policy, day(30)).unwrap().is_empty());
}

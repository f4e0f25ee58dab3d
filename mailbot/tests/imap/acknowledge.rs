//! Acknowledgements for real: a resident sends through Postfix to county.hall, `mailbot run` ingests
//! it and sends the acknowledgement through Postfix's submission port (STARTTLS, LOGIN/PLAIN as
//! county.hall), and the test logs in over IMAP as the resident and finds it in the INBOX, threaded,
//! with the reference and the dates. Also: SMTP down for a while (the acknowledgement goes out when it
//! comes back), a recipient Postfix refuses for good (recorded on the entry), and the latency benchmark
//! (`scripts/bench-ack`, ignored by default).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use mail_parser::MessageParser;
use mailbot::store::OutboxStatus;
use mailbot::templates::long_date;

use super::harness::*;

const ALICE: &str = "alice@residents.example";

/// The `[smtp]` section: Postfix's submission port (or `port`), STARTTLS with the test CA, as county.hall.
fn smtp_section(server: &MailServer, work: &Workspace, port: u16, extra: &str) -> String {
    format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"starttls\"\ntls_server_name = \"localhost\"\nca_file = \"{}\"\n\
         user = \"county.hall@kent.example\"\nsecret_file = \"{}\"\nretry_initial_secs = 1\nretry_max_secs = 2\ntimeout_secs = 10\n{extra}\n",
        server.ca_cert().display(),
        work.secret_path().display()
    )
}

/// Every message in `address`'s INBOX, over IMAP.
fn inbox(server: &MailServer, address: &str) -> Vec<Vec<u8>> {
    with_imap(server, address, async |session| {
        let mailbox = session.select("INBOX").await.unwrap();
        if mailbox.exists == 0 {
            return Vec::new();
        }
        let fetches: Vec<_> = session
            .uid_fetch("1:*", "BODY.PEEK[]")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        fetches
            .iter()
            .filter_map(|f| f.body().map(<[u8]>::to_vec))
            .collect()
    })
}

fn complaint_email(tag: &str, index: usize, from: &str) -> Vec<u8> {
    let text = String::from_utf8(email(
        tag,
        index,
        "Bins",
        "I want to complain: my bin collection has been missed three weeks running and nobody answers the phone.",
    ))
    .unwrap();
    text.replace("Alice Resident <alice@residents.example>", from)
        .into_bytes()
}

/// A config watching county.hall with `smtp_section(port, extra)`.
fn county_hall_config(
    server: &MailServer,
    work: &Workspace,
    port: u16,
    extra: &str,
) -> std::path::PathBuf {
    work.config(
        &smtp_section(server, work, port, extra),
        &[plain_mailbox(server, "county-hall", "county.hall", "")],
    )
}

/// A complaint from `from` (envelope alice) through Postfix's SMTP port to county.hall.
fn send_to_county_hall(server: &MailServer, tag: &str, from: &str) {
    smtp_send(
        server,
        ALICE,
        "county.hall@kent.example",
        &complaint_email(tag, 0, from),
    );
}

fn start(work: &Workspace, config: &std::path::Path) -> Daemon {
    spawn_mailbot(
        &["run", config.to_str().unwrap()],
        &work.dir.path().join("mailbot.log"),
    )
}

fn log(work: &Workspace) -> String {
    std::fs::read_to_string(work.dir.path().join("mailbot.log")).unwrap_or_default()
}

#[test]
fn a_resident_gets_a_threaded_acknowledgement_in_their_inbox_and_a_reply_joins_the_case() {
    let server = MailServer::start();
    let work = Workspace::new();
    let config = county_hall_config(&server, &work, server.port("SUBMISSION"), "");
    let mut daemon = start(&work, &config);
    send_to_county_hall(&server, "e2e", "Alice Resident <alice@residents.example>");
    let mut found = Vec::new();
    assert!(
        wait_until(Duration::from_secs(60), || {
            found = inbox(&server, ALICE);
            !found.is_empty()
        }),
        "no acknowledgement in alice's INBOX; log:\n{}",
        log(&work)
    );
    let ack = MessageParser::default().parse(&found[0]).unwrap();
    let ack_id = ack.message_id().unwrap().to_string();
    // The resident replies to the acknowledgement without the reference in the subject.
    let reply = format!(
        "From: Alice Resident <alice@residents.example>\r\nTo: county.hall@kent.example\r\nSubject: thanks\r\n\
         Message-ID: <e2e-reply@residents.example>\r\nIn-Reply-To: <{ack_id}>\r\nReferences: <e2e-0@residents.example> <{ack_id}>\r\n\
         Date: Mon, 16 Nov 2026 11:00:00 +0000\r\n\r\nThank you, I will wait for your reply.\r\n"
    );
    smtp_send(&server, ALICE, "county.hall@kent.example", reply.as_bytes());
    assert!(wait_until(Duration::from_secs(30), || count(
        &server,
        "county.hall",
        "INBOX",
        "$FeedbackDesk"
    ) == (2, 2)));
    terminate(&mut daemon);

    let store = work.open_store();
    let cases = store.cases().unwrap();
    assert_eq!(cases.len(), 1, "the reply joined the case");
    let case = &cases[0];
    assert_eq!(case.messages.len(), 2);
    let reference = &case.reference;
    let Some(OutboxStatus::Sent {
        message_id: Some(sent_id),
        ..
    }) = store.outbox_entry(reference).unwrap().map(|e| e.status)
    else {
        panic!("not recorded as sent: {:?}", store.outbox_entry(reference));
    };
    assert_eq!(sent_id, ack_id);
    assert!(
        ack_id.starts_with(&format!("{reference}.ack.")) && ack_id.ends_with("@kent.example"),
        "{ack_id}"
    );
    assert_eq!(case.state.status, feedback_core::Status::Acknowledged);

    // Threaded, from the mailbox it came to, marked automatic, with the reference and the reply date.
    assert_eq!(ack.in_reply_to().as_text(), Some("e2e-0@residents.example"));
    assert_eq!(
        ack.from().unwrap().first().unwrap().address(),
        Some("county.hall@kent.example")
    );
    assert!(
        ack.subject().unwrap().contains(reference.as_str()),
        "{:?}",
        ack.subject()
    );
    let raw = String::from_utf8_lossy(&found[0]);
    assert!(raw.contains("Auto-Submitted: auto-replied"), "{raw}");
    let due = case
        .assessment
        .deadlines
        .iter()
        .find(|d| d.milestone == "full_reply" && d.stage == "stage_1")
        .and_then(|d| d.due)
        .unwrap();
    let body = ack.body_text(0).unwrap();
    assert!(
        body.contains(&long_date(due)),
        "no {} in\n{body}",
        long_date(due)
    );
    assert!(
        body.contains(reference.as_str()) && body.contains("Braille"),
        "{body}"
    );
    // Only one acknowledgement: the reply got none.
    assert_eq!(inbox(&server, ALICE).len(), 1);
}

/// Forwards connections on `listen` to `to` from now on (a mail server "coming back").
fn forward(listen: TcpListener, to: u16) {
    std::thread::spawn(move || {
        for client in listen.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            for (mut from, mut into) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut into);
                    let _ = into.flush();
                    let _ = into.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
}

#[test]
fn with_smtp_down_the_acknowledgement_goes_out_when_it_comes_back() {
    let server = MailServer::start();
    let work = Workspace::new();
    // A port with nothing behind it yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = county_hall_config(&server, &work, port, "");
    let mut daemon = start(&work, &config);
    send_to_county_hall(&server, "down", "Alice Resident <alice@residents.example>");
    assert!(
        wait_until(Duration::from_secs(30), || log(&work)
            .contains("acknowledgement not sent yet")),
        "no failed attempt logged:\n{}",
        log(&work)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(inbox(&server, ALICE).is_empty());
    // SMTP comes back.
    forward(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        server.port("SUBMISSION"),
    );
    assert!(
        wait_until(Duration::from_secs(30), || !inbox(&server, ALICE)
            .is_empty()),
        "no acknowledgement after SMTP came back; log:\n{}",
        log(&work)
    );
    terminate(&mut daemon);
    let store = work.open_store();
    let entry = &store.outbox().unwrap()[0];
    assert!(
        matches!(entry.status, OutboxStatus::Sent { .. }),
        "{entry:?}"
    );
    assert_eq!(inbox(&server, ALICE).len(), 1);
}

#[test]
fn a_recipient_refused_for_good_is_recorded_on_the_entry() {
    let server = MailServer::start();
    let work = Workspace::new();
    let config = county_hall_config(&server, &work, server.port("SUBMISSION"), "");
    let mut daemon = start(&work, &config);
    // Postfix has no such user: it refuses the acknowledgement's recipient with 550.
    send_to_county_hall(&server, "perm", "Nobody <nobody@residents.example>");
    assert!(
        wait_until(Duration::from_secs(30), || log(&work)
            .contains("refused for good")),
        "no permanent failure logged:\n{}",
        log(&work)
    );
    terminate(&mut daemon);
    let store = work.open_store();
    let entry = &store.outbox().unwrap()[0];
    match &entry.status {
        OutboxStatus::Failed {
            permanent: true,
            reason,
            next_attempt: None,
            ..
        } => {
            assert!(
                reason.contains("550") || reason.contains("5.1.1"),
                "{reason}"
            )
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    let cases = store.cases().unwrap();
    assert_eq!(cases.len(), 1, "it is still a case");
    let note = &cases[0].history.last().unwrap().note;
    assert!(
        note.starts_with("acknowledgement refused for good"),
        "{note}"
    );
}

/// The latency benchmark (`scripts/bench-ack`): `BENCH_ACK_EMAILS` emails (default 200), one at a time,
/// each timed from Postfix accepting it for county.hall to its acknowledgement landing in alice's
/// INBOX (the Maildir file Dovecot writes on delivery).
#[test]
#[ignore = "benchmark: scripts/bench-ack"]
fn bench_acknowledgement_latency() {
    let emails: usize = std::env::var("BENCH_ACK_EMAILS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let server = MailServer::start();
    let work = Workspace::new();
    let config = county_hall_config(
        &server,
        &work,
        server.port("SUBMISSION"),
        "max_per_sender_per_day = 100000",
    );
    let mailbot = std::env::var("BENCH_ACK_MAILBOT").ok();
    let mut daemon = match &mailbot {
        Some(binary) => Daemon(
            std::process::Command::new(binary)
                .args(["run", config.to_str().unwrap()])
                .env("RUST_LOG", "warn")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(work.dir.path().join("mailbot.log")).unwrap())
                .spawn()
                .unwrap(),
        ),
        None => start(&work, &config),
    };
    let maildir = server.maildir(ALICE);
    let delivered = || {
        ["new", "cur"]
            .iter()
            .map(|sub| std::fs::read_dir(maildir.join(sub)).map_or(0, |d| d.count()))
            .sum::<usize>()
    };
    // Warm up: the first connection, TLS set-up and store pages.
    send_to_county_hall(&server, "warm", "Alice Resident <alice@residents.example>");
    assert!(
        wait_until(Duration::from_secs(60), || delivered() == 1),
        "{}",
        log(&work)
    );
    let mut latencies = Vec::with_capacity(emails);
    for index in 0..emails {
        let message = complaint_email("bench", index, "Alice Resident <alice@residents.example>");
        smtp_send(&server, ALICE, "county.hall@kent.example", &message);
        let accepted = Instant::now();
        assert!(
            wait_until(Duration::from_secs(30), || delivered() == index + 2),
            "email {index}: no acknowledgement; log:\n{}",
            log(&work)
        );
        latencies.push(accepted.elapsed());
    }
    terminate(&mut daemon);
    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "bench-ack: {} emails, delivery to acknowledgement in the INBOX: median {:.0} ms, p95 {:.0} ms, min {:.0} ms, max {:.0} ms",
        latencies.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(latencies[0]),
        ms(latencies[latencies.len() - 1])
    );
}

#[test]
fn the_daily_digest_goes_to_the_team_once_a_day() {
    let server = MailServer::start();
    let work = Workspace::new();
    let desk = crate::util::Desk::new();
    // Received 24 November 2026 (full reply due 22 December) and 2 November (due 30 November).
    let recent = crate::util::new_case(&desk.ingest_one(crate::util::raw(
        "county-hall",
        1,
        complaint_email("digest", 1, "Alice Resident <alice@residents.example>"),
    )));
    let mut old = crate::util::raw(
        "county-hall",
        2,
        complaint_email("digest", 2, "Bob <bob@residents.example>"),
    );
    old.internal_date =
        Some(chrono::DateTime::parse_from_rfc3339("2026-11-02T10:00:00+00:00").unwrap());
    let old = crate::util::new_case(&desk.ingest_one(old));
    let path = county_hall_config(
        &server,
        &work,
        server.port("SUBMISSION"),
        "digest_hour = 0\ndigest_to = { county-hall = \"feedback@kent.example\" }",
    );
    let config =
        mailbot::config::Config::load(&path, None, mailbot::config::Checks::Environment).unwrap();
    let sender =
        mailbot::outbox::Sender::new(&config, desk.store().clone(), feedback_core::Policy::kent())
            .unwrap()
            .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 21).unwrap();
    assert_eq!(
        runtime.block_on(sender.send_digests(day)).unwrap(),
        vec!["county-hall".to_string()]
    );
    assert!(
        runtime
            .block_on(sender.send_digests(day))
            .unwrap()
            .is_empty(),
        "sent twice in a day"
    );
    // Postfix delivers after accepting: wait for it.
    let mut found = Vec::new();
    assert!(wait_until(Duration::from_secs(20), || {
        found = inbox(&server, "feedback@kent.example");
        !found.is_empty()
    }));
    assert_eq!(found.len(), 1);
    let digest = MessageParser::default().parse(&found[0]).unwrap();
    let subject = digest.subject().unwrap();
    assert!(
        subject.contains("1 due this week, 1 overdue, 2 acknowledgements at risk"),
        "{subject}"
    );
    let body = digest.body_text(0).unwrap();
    let overdue = body.split("Due in the next seven days").next().unwrap();
    assert!(
        overdue.contains(&format!("{old}  Full reply"))
            && overdue.contains("Monday 30 November 2026"),
        "{body}"
    );
    assert!(
        body.contains(&format!("{recent}  Full reply"))
            && body.contains("Tuesday 22 December 2026"),
        "{body}"
    );
    assert!(
        !body.contains("bin collection") && !body.contains("alice"),
        "the digest quotes the email:\n{body}"
    );
    assert!(String::from_utf8_lossy(&found[0]).contains("Auto-Submitted: auto-generated"));
}

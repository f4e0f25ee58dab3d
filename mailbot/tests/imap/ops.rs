//! `/healthz` and `/metrics` over real HTTP from a running `mailbot run` watching a real Dovecot: the
//! mailbox shows as connected, ingested mail is counted, and a mailbox that cannot log in counts
//! reconnects and shows as down.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::harness::*;

/// A port free on loopback now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` with HTTP/1.1: (status code, body); `None` while nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_running_daemon_serves_health_and_metrics() {
    let server = MailServer::start();
    let work = Workspace::new();
    let port = free_port();
    let config = work.config(
        &format!(
            "backoff_initial_ms = 100\nbackoff_max_secs = 1\ntimeout_secs = 10\n\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
        &[
            plain_mailbox(&server, "county-hall", "county.hall", ""),
            plain_mailbox(&server, "broken", "nobody", ""),
        ],
    );
    append(
        &server,
        "county.hall",
        "INBOX",
        &(0..5).map(|i| complaint("metrics", i)).collect::<Vec<_>>(),
    );
    let log = work.dir.path().join("mailbot.log");
    let mut daemon = spawn_mailbot(&["run", config.to_str().unwrap()], &log);
    let mut last = None;
    let ready = wait_until(Duration::from_secs(30), || {
        last = get(port, "/metrics");
        last.as_ref().is_some_and(|(_, body)| {
            metric(body, "mailbot_messages_ingested_total") == Some(5.0)
                && metric(body, "mailbot_imap_reconnects_total{mailbox=\"broken\"}")
                    .is_some_and(|n| n >= 1.0)
        })
    });
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(ready, "metrics never showed the ingest: {last:?}\n{logged}");
    let (status, body) = last.unwrap();
    assert_eq!(status, 200);
    for line in [
        "mailbot_mailbox_up{mailbox=\"county-hall\"} 1",
        "mailbot_mailbox_up{mailbox=\"broken\"} 0",
        "mailbot_outbox_entries{status=\"pending\"} 5",
        "# EOF",
    ] {
        assert!(body.lines().any(|l| l == line), "no `{line}` in\n{body}");
    }
    let cases: f64 = body
        .lines()
        .filter(|l| l.starts_with("mailbot_cases{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(cases, 5.0, "{body}");

    let (status, health) = get(port, "/healthz").unwrap();
    assert_eq!(status, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "ok");
    assert_eq!(health["mailboxes"]["county-hall"], "connected");
    assert_eq!(health["mailboxes"]["broken"], "retrying");
    assert_eq!(get(port, "/nothing-here").unwrap().0, 404);

    terminate(&mut daemon);
    assert!(
        daemon.0.try_wait().unwrap().unwrap().success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        get(port, "/healthz").is_none(),
        "still serving after shutdown"
    );
}

//! IMAP ingestion against a real Dovecot and Postfix: each test starts its own instance
//! (`scripts/mailserver`, its own directory and ports) and stops it when it ends, also on failure.
//!
//! - mail APPENDed and mail delivered through Postfix become cases, over implicit TLS, STARTTLS and plain
//!   loopback; processed mail is flagged or moved, and a second run ingests nothing again; a reply and an
//!   escalation join their cases;
//! - a changed UIDVALIDITY starts the folder over without making duplicates;
//! - Dovecot stopped and restarted under a running daemon, mid-backlog and again during IDLE: it
//!   reconnects and loses nothing, and IDLE picks up new mail;
//! - kill -9 of the daemon at random moments of a 1,000-message backlog, 20 times: one case per message;
//! - XOAUTH2 with a token from a command (Dovecot checks the token as the password);
//! - a message over the size limit is fetched only up to the limit and quarantined;
//! - `reconcile` re-ingests flagged mail a lost store no longer has;
//! - polling (no IDLE) picks up new mail, and a mailbox that cannot log in does not stop the others;
//! - `check-config` lists every problem and `run` refuses a bad config.

mod harness;
// Acknowledgements sent through Postfix into the resident's INBOX (and the latency benchmark).
mod acknowledge;
// `/healthz` and `/metrics` of a running `mailbot run`.
mod ops;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use harness::*;
use mailbot::config::{Checks, Config};
use rand::{Rng, SeedableRng};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "mailbot failed: {}\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

fn message_id_count(store: &mailbot::store::Store, id: &str) -> usize {
    let bare = store.find_message_id(id).unwrap().len();
    if bare > 0 {
        bare
    } else {
        store.find_message_id(&format!("<{id}>")).unwrap().len()
    }
}

#[test]
fn appended_and_delivered_mail_becomes_cases_once_over_every_tls_mode() {
    let server = MailServer::start();
    let work = Workspace::new();
    let appended: Vec<Vec<u8>> = (0..3).map(|i| complaint("app", i)).collect();
    append(&server, "county.hall", "INBOX", &appended);
    for i in 0..2 {
        smtp_send(
            &server,
            "bob@residents.example",
            "county.hall@kent.example",
            &complaint("smtp", i),
        );
    }
    smtp_send(
        &server,
        "carol@residents.example",
        "adults@kent.example",
        &email(
            "adults",
            0,
            "My mother's care package",
            "The carers did not turn up for my mother three days running. I want to complain.",
        ),
    );
    assert!(
        wait_until(Duration::from_secs(20), || count(
            &server,
            "county.hall",
            "INBOX",
            "$FeedbackDesk"
        )
        .0 == 5
            && count(&server, "adults", "INBOX", "$FeedbackDesk").0 == 1),
        "Postfix did not deliver"
    );
    let ca = server.ca_cert();
    let config = work.config(
        "",
        &[
            format!(
                "name = \"county-hall\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"implicit\"\nca_file = \"{}\"\ntls_server_name = \"localhost\"\nuser = \"county.hall@kent.example\"",
                server.port("IMAPS"),
                ca.display()
            ),
            format!(
                "name = \"adults\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nca_file = \"{}\"\ntls_server_name = \"localhost\"\nuser = \"adults@kent.example\"\nprocessed = \"move\"\nmove_to = \"Processed\"",
                server.port("IMAP"),
                ca.display()
            ),
            plain_mailbox(&server, "feedback", "feedback", ""),
        ],
    );
    let config = config.to_str().unwrap();

    let first = run_mailbot(&["run", "--once", config]);
    assert_ok(&first);
    assert!(
        stdout(&first).contains("6 messages: 6 new cases"),
        "{}",
        stdout(&first)
    );
    {
        let store = work.open_store();
        assert_eq!(store.case_count(), 6);
        let cases = store.cases().unwrap();
        assert_eq!(
            cases.iter().filter(|case| case.mailbox == "adults").count(),
            1
        );
        assert_eq!(
            cases
                .iter()
                .filter(|case| case.mailbox == "county-hall")
                .count(),
            5
        );
    }
    assert_eq!(
        count(&server, "county.hall", "INBOX", "$FeedbackDesk"),
        (5, 5),
        "every processed message is flagged"
    );
    assert_eq!(
        count(&server, "adults", "INBOX", "$FeedbackDesk").0,
        0,
        "processed mail moved out"
    );
    assert_eq!(
        count(&server, "adults", "Processed", "$FeedbackDesk").0,
        1,
        "processed mail moved to Processed"
    );

    // A second run finds nothing new. (Its reconcile pass re-reads the one message moved to Processed, a
    // duplicate, once: the store then knows it under its Processed UID too.)
    let second = run_mailbot(&["run", "--once", config]);
    assert_ok(&second);
    assert!(
        stdout(&second).contains("0 new cases"),
        "{}",
        stdout(&second)
    );
    let quiet = run_mailbot(&["run", "--once", config]);
    assert_ok(&quiet);
    assert!(stdout(&quiet).contains("0 messages"), "{}", stdout(&quiet));
    assert_eq!(work.open_store().case_count(), 6);

    // A reply joins its case; an escalation moves its case on.
    let escalated_reference = {
        let store = work.open_store();
        let cases = store.cases().unwrap();
        cases
            .iter()
            .find(|case| case.subject.as_deref() == Some("Complaint 1"))
            .unwrap()
            .reference
            .clone()
    };
    append(
        &server,
        "county.hall",
        "INBOX",
        &[
            email_with(
                "reply",
                0,
                "Re: Complaint 0",
                "Here are the photos you asked for.",
                "In-Reply-To: <app-0@residents.example>\r\n",
            ),
            email(
                "reply",
                1,
                &format!("Re: {escalated_reference}"),
                "I am not satisfied with your response and I want this escalated to stage 2.",
            ),
        ],
    );
    let third = run_mailbot(&["run", "--once", config]);
    assert_ok(&third);
    // Whether the escalation moves the stage depends on where the case is in its lifecycle (the
    // ingestion tests cover that); here both must join their cases, through IMAP.
    let text = stdout(&third);
    assert!(
        text.contains("2 messages: 0 new cases, 2 replies, 0 escalations")
            || text.contains("2 messages: 0 new cases, 1 replies, 1 escalations"),
        "{text}"
    );
    let store = work.open_store();
    assert_eq!(store.case_count(), 6);
    let cases = store.cases().unwrap();
    let replied = cases
        .iter()
        .find(|case| case.subject.as_deref() == Some("Complaint 0"))
        .unwrap();
    assert_eq!(
        replied.messages.len(),
        2,
        "the reply joined its case by In-Reply-To"
    );
    let escalated = cases
        .iter()
        .find(|case| case.reference == escalated_reference)
        .unwrap();
    assert_eq!(
        escalated.messages.len(),
        2,
        "the escalation joined its case by the reference in its subject"
    );
}

#[test]
fn a_changed_uidvalidity_starts_the_folder_over_without_duplicates() {
    let server = MailServer::start();
    let work = Workspace::new();
    let messages: Vec<Vec<u8>> = (0..5).map(|i| complaint("uv", i)).collect();
    append(&server, "county.hall", "Feedback", &messages);
    let config = work.config(
        "",
        &[plain_mailbox(
            &server,
            "county-hall",
            "county.hall",
            "folder = \"Feedback\"",
        )],
    );
    let config = config.to_str().unwrap();
    assert_ok(&run_mailbot(&["run", "--once", config]));
    assert_eq!(work.open_store().case_count(), 5);

    // The folder is recreated (a restore from backup, a server migration): new UIDVALIDITY, no flags.
    with_imap(&server, "county.hall", async |session| {
        session.delete("Feedback").await.unwrap();
    });
    let mut again = messages.clone();
    again.push(complaint("uv", 5));
    append(&server, "county.hall", "Feedback", &again);

    let output = run_mailbot(&["run", "--once", config]);
    assert_ok(&output);
    assert!(
        stderr(&output).contains("UIDVALIDITY changed"),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("6 messages: 1 new cases"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("5 duplicates"),
        "{}",
        stdout(&output)
    );
    assert_eq!(work.open_store().case_count(), 6);
    assert_eq!(
        count(&server, "county.hall", "Feedback", "$FeedbackDesk"),
        (6, 6)
    );
}

#[test]
fn dovecot_restarted_mid_run_loses_nothing_and_idle_sees_new_mail() {
    let server = MailServer::start();
    let work = Workspace::new();
    seed_maildir(
        &server,
        "county.hall",
        (0..2000).map(|i| complaint("restart", i)),
    );
    let config = work.config(
        // IDLE renewed every 2 s: the renewal path runs during the test.
        "backoff_initial_ms = 100\nbackoff_max_secs = 1\ntimeout_secs = 10\nbatch_size = 100\nidle_timeout_secs = 2",
        &[plain_mailbox(&server, "county-hall", "county.hall", "")],
    );
    let log = work.dir.path().join("mailbot.log");
    let mut daemon = spawn_mailbot(&["run", config.to_str().unwrap()], &log);
    std::thread::sleep(Duration::from_millis(300));
    server.stop();
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    append(
        &server,
        "county.hall",
        "INBOX",
        &(2000..2010)
            .map(|i| complaint("restart", i))
            .collect::<Vec<_>>(),
    );
    let all_flagged = wait_until(Duration::from_secs(60), || {
        count(&server, "county.hall", "INBOX", "$FeedbackDesk") == (2010, 2010)
    });
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        all_flagged,
        "not everything was processed after the restart: {:?}\n{logged}",
        count(&server, "county.hall", "INBOX", "$FeedbackDesk")
    );

    // The daemon is idle now (and renews its IDLE): new mail is picked up by IDLE.
    std::thread::sleep(Duration::from_millis(2500));
    let started = Instant::now();
    append(
        &server,
        "county.hall",
        "INBOX",
        &[complaint("restart", 2010)],
    );
    assert!(wait_until(Duration::from_secs(10), || count(
        &server,
        "county.hall",
        "INBOX",
        "$FeedbackDesk"
    ) == (2011, 2011)));
    let latency = started.elapsed();
    eprintln!(
        "APPEND to flagged (IDLE push, ingest, flag, seen by a polling checker): {latency:?}"
    );

    // Dovecot goes away while the daemon is in IDLE, and comes back.
    server.stop();
    std::thread::sleep(Duration::from_millis(500));
    server.restart();
    append(
        &server,
        "county.hall",
        "INBOX",
        &[complaint("restart", 2011)],
    );
    let after_idle_restart = wait_until(Duration::from_secs(20), || {
        count(&server, "county.hall", "INBOX", "$FeedbackDesk") == (2012, 2012)
    });
    terminate(&mut daemon);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("session ended"),
        "the daemon never lost its session:\n{logged}"
    );
    assert!(latency < Duration::from_secs(5), "IDLE took {latency:?}");
    assert!(
        after_idle_restart,
        "not reconnected after a restart during IDLE:\n{logged}"
    );
    let store = work.open_store();
    assert_eq!(store.case_count(), 2012, "{logged}");
    for i in 0..2012 {
        assert_eq!(
            message_id_count(&store, &format!("restart-{i}@residents.example")),
            1,
            "message {i}"
        );
    }
}

#[test]
fn kill_9_at_random_moments_of_a_1000_message_backlog_makes_each_message_one_case() {
    let server = MailServer::start();
    let work = Workspace::new();
    const COUNT: usize = 1000;
    seed_maildir(
        &server,
        "county.hall",
        (0..COUNT).map(|i| complaint("kill", i)),
    );
    let config = work.config(
        "batch_size = 50\nbackoff_initial_ms = 50\nbackoff_max_secs = 1",
        &[plain_mailbox(&server, "county-hall", "county.hall", "")],
    );
    let config = config.to_str().unwrap();
    let seed: u64 = std::env::var("KILL_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("kill -9 test seed: {seed} (KILL_TEST_SEED={seed} to repeat)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let log = work.dir.path().join("mailbot.log");
    let started = Instant::now();
    let mut mid_ingest = 0;
    for round in 0..20 {
        let mut daemon = spawn_mailbot(&["run", config], &log);
        // Kill at a random moment after it has logged in: during reconcile, fetch, ingest or flagging.
        let connected = wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("connected")
                .count()
                > round
        });
        assert!(connected, "round {round}: the daemon did not connect");
        // Even rounds: a fixed window after login (reconcile, the first fetch). Odd rounds: once a random
        // share of the backlog is flagged, so that kills land mid-backlog however fast the machine is.
        let moment = if round % 2 == 0 {
            let delay = Duration::from_millis(rng.random_range(0..120));
            std::thread::sleep(delay);
            format!("{delay:?} after login")
        } else {
            let target = rng.random_range(1..COUNT);
            wait_until(Duration::from_secs(20), || {
                count(&server, "county.hall", "INBOX", "$FeedbackDesk").1 >= target
            });
            let delay = Duration::from_millis(rng.random_range(0..20));
            std::thread::sleep(delay);
            format!("{delay:?} after {target} were flagged")
        };
        daemon.0.kill().unwrap(); // SIGKILL
        daemon.0.wait().unwrap();
        let (_, flagged) = count(&server, "county.hall", "INBOX", "$FeedbackDesk");
        eprintln!("round {round}: killed {moment}, {flagged} of {COUNT} flagged");
        if flagged > 0 && flagged < COUNT {
            mid_ingest += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the kill rounds took too long"
        );
    }
    eprintln!("{mid_ingest} of 20 kills landed with the backlog part done");
    assert!(
        mid_ingest >= 3,
        "too few kills landed mid-backlog ({mid_ingest}) to mean anything"
    );
    let finish = run_mailbot(&["run", "--once", config]);
    assert_ok(&finish);
    let store = work.open_store();
    let cases = store.cases().unwrap();
    assert_eq!(cases.len(), COUNT, "one case per message");
    let subjects: BTreeSet<_> = cases
        .iter()
        .map(|case| case.subject.clone().unwrap_or_default())
        .collect();
    assert_eq!(subjects.len(), COUNT, "no message made two cases");
    for i in 0..COUNT {
        assert_eq!(
            message_id_count(&store, &format!("kill-{i}@residents.example")),
            1,
            "message {i}"
        );
    }
    drop(store);
    assert_eq!(
        count(&server, "county.hall", "INBOX", "$FeedbackDesk"),
        (COUNT, COUNT)
    );
}

#[test]
fn a_message_over_the_size_limit_is_quarantined_and_flagged_not_fetched_whole() {
    let server = MailServer::start();
    let work = Workspace::new();
    let big = email("big", 0, "Photos", &"x".repeat(200_000));
    append(&server, "county.hall", "INBOX", &[big, complaint("big", 1)]);
    let config = work.config(
        "max_message_bytes = 50000",
        &[plain_mailbox(&server, "county-hall", "county.hall", "")],
    );
    let output = run_mailbot(&["run", "--once", config.to_str().unwrap()]);
    assert_ok(&output);
    assert!(
        stdout(&output).contains(
            "2 messages: 1 new cases, 0 replies, 0 escalations, 0 duplicates, 1 quarantined"
        ),
        "{}",
        stdout(&output)
    );
    let store = work.open_store();
    let quarantined = store.quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(
        quarantined[0].reason.contains("over the limit"),
        "{:?}",
        quarantined[0]
    );
    // Only the first limit + 1 bytes were fetched and kept.
    let (_, raw) = store.quarantine(&quarantined[0].id).unwrap().unwrap();
    assert_eq!(raw.len(), 50_001);
    drop(store);
    assert_eq!(
        count(&server, "county.hall", "INBOX", "$FeedbackDesk"),
        (2, 2)
    );
}

#[test]
fn xoauth2_logs_in_with_a_token_from_a_command() {
    let server = MailServer::start();
    server.enable_xoauth2();
    let work = Workspace::new();
    append(&server, "county.hall", "INBOX", &[complaint("oauth", 0)]);
    let token_file = work.dir.path().join("token");
    std::fs::write(&token_file, format!("{PASSWORD}\n")).unwrap();
    let mailbox = |token_file: &std::path::Path| {
        format!(
            "[[mailbox]]\nname = \"county-hall\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain-loopback\"\nuser = \"county.hall@kent.example\"\n\
             auth = \"xoauth2\"\ntoken_command = [\"cat\", \"{}\"]\n",
            server.port("IMAP"),
            token_file.display()
        )
    };
    let config = work.dir.path().join("oauth.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"{}\"\nbackoff_initial_ms = 10\n{}",
            work.store_path().display(),
            mailbox(&token_file)
        ),
    )
    .unwrap();
    let output = run_mailbot(&["run", "--once", config.to_str().unwrap()]);
    assert_ok(&output);
    assert!(
        stdout(&output).contains("1 messages: 1 new cases"),
        "{}",
        stdout(&output)
    );

    std::fs::write(&token_file, "expired-token-4711\n").unwrap();
    let refused = run_mailbot(&["run", "--once", config.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("AUTHENTICATIONFAILED"),
        "{}",
        stderr(&refused)
    );
    assert!(
        !stderr(&refused).contains("expired-token-4711"),
        "the token was logged"
    );
}

#[test]
fn reconcile_re_ingests_processed_mail_the_store_lost() {
    let server = MailServer::start();
    let work = Workspace::new();
    append(
        &server,
        "county.hall",
        "INBOX",
        &(0..4).map(|i| complaint("lost", i)).collect::<Vec<_>>(),
    );
    let config = work.config(
        "",
        &[plain_mailbox(&server, "county-hall", "county.hall", "")],
    );
    let config = config.to_str().unwrap();
    assert_ok(&run_mailbot(&["run", "--once", config]));
    assert_eq!(
        count(&server, "county.hall", "INBOX", "$FeedbackDesk"),
        (4, 4)
    );

    // A power cut ate the store's last writes (sled's flush does not force the drive's cache): here, all
    // of them. The messages are flagged, so a plain run would skip them; reconcile brings them back.
    std::fs::remove_dir_all(work.store_path()).unwrap();
    let output = run_mailbot(&["reconcile", config]);
    assert_ok(&output);
    assert!(
        stdout(&output).contains("4 messages: 4 new cases"),
        "{}",
        stdout(&output)
    );
    let store = work.open_store();
    assert_eq!(store.case_count(), 4);
    drop(store);
    let again = run_mailbot(&["reconcile", config]);
    assert_ok(&again);
    assert!(stdout(&again).contains("0 messages"), "{}", stdout(&again));
}

#[test]
fn polling_works_and_a_broken_mailbox_does_not_stop_the_others() {
    let server = MailServer::start();
    let work = Workspace::new();
    let config = work.config(
        "use_idle = false\npoll_interval_secs = 1\nbackoff_initial_ms = 100\nbackoff_max_secs = 1",
        &[
            plain_mailbox(&server, "county-hall", "county.hall", ""),
            // No such user: every login fails, and this mailbox keeps retrying on its own.
            plain_mailbox(&server, "broken", "nobody", ""),
        ],
    );
    let log = work.dir.path().join("mailbot.log");
    let mut daemon = spawn_mailbot(&["run", config.to_str().unwrap()], &log);
    append(
        &server,
        "county.hall",
        "INBOX",
        &(0..3).map(|i| complaint("poll", i)).collect::<Vec<_>>(),
    );
    let first = wait_until(Duration::from_secs(15), || {
        count(&server, "county.hall", "INBOX", "$FeedbackDesk") == (3, 3)
    });
    append(&server, "county.hall", "INBOX", &[complaint("poll", 3)]);
    let second = wait_until(Duration::from_secs(5), || {
        count(&server, "county.hall", "INBOX", "$FeedbackDesk") == (4, 4)
    });
    terminate(&mut daemon);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        first && second,
        "the good mailbox did not keep up:\n{logged}"
    );
    assert!(logged.contains("polling every 1 s"), "{logged}");
    assert!(
        logged.contains("SIGTERM: shutting down") && logged.contains("stopped;"),
        "no graceful shutdown:\n{logged}"
    );
    let broken_failures = logged
        .lines()
        .filter(|line| line.contains("session ended") && line.contains("mailbox=broken"))
        .count();
    assert!(
        broken_failures >= 2,
        "the broken mailbox should keep retrying:\n{logged}"
    );
    assert!(!logged.contains(PASSWORD), "the log shows the password");
    assert_eq!(work.open_store().case_count(), 4);
}

#[test]
fn check_config_lists_every_problem_and_run_refuses_a_bad_config() {
    let work = Workspace::new();
    let bad = work.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "store = \"/tmp/x\"\nidle_timeout_secs = 1800\n[[mailbox]]\nname = \"a\"\nhost = \"imap.example.org\"\ntls = \"plain-loopback\"\nuser = \"u\"\nroute_hint = \"nowhere\"\n",
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let checked = run_mailbot(&["check-config", bad]);
    assert_eq!(checked.status.code(), Some(1));
    let text = stderr(&checked);
    for needle in [
        "idle_timeout_secs",
        "only allowed to a loopback host",
        "secret_env",
        "route_hint: `nowhere`",
        "4 problems",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
    let refused = run_mailbot(&["run", bad]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("refusing to start"),
        "{}",
        stderr(&refused)
    );

    let good = work.config("", &["name = \"adults\"\nhost = \"127.0.0.1\"\ntls = \"plain-loopback\"\nuser = \"adults@kent.example\"".to_string()]);
    let checked = run_mailbot(&["check-config", good.to_str().unwrap()]);
    assert_ok(&checked);
    assert!(
        stdout(&checked).contains("valid, 1 mailbox"),
        "{}",
        stdout(&checked)
    );
    assert!(
        !stdout(&checked).contains(PASSWORD),
        "check-config printed the secret"
    );
}

#[test]
fn the_example_config_is_valid_apart_from_its_secrets() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mailbot.toml");
    let policy = feedback_core::Policy::kent();
    let hints: BTreeSet<String> = policy
        .document
        .service_areas
        .keys()
        .chain(policy.document.mailbox_hints.keys())
        .cloned()
        .collect();
    let config = Config::load(&example, Some(&hints), Checks::SyntaxOnly).unwrap();
    assert_eq!(config.mailboxes.len(), 3);
}

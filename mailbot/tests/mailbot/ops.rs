//! Operations without a mail server: `mailbot import` of the mbox and Maildir fixtures
//! (`fixtures/mbox`, `fixtures/maildir`) and of a large generated mbox killed with SIGKILL and resumed;
//! backup and restore round-tripping every tree byte for byte; the metrics text; the deployment config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use feedback_core::Policy;
use mailbot::import::{ImportOptions, Source, import};
use mailbot::ingest::{IngestSettings, Ingestor};
use mailbot::metrics::Metrics;
use mailbot::store::{OutboxStatus, Store};
use rand::{Rng, SeedableRng};

use crate::util::{settings, today};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn mailbot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailbot"));
    command.stdin(Stdio::null()).env("RUST_LOG", "warn");
    command
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "mailbot failed: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A config with a store in `dir` (no secret is read by import, backup or restore).
fn config(dir: &Path, store: &str, top: &str) -> PathBuf {
    let path = dir.join(format!("{store}.toml"));
    std::fs::write(
        &path,
        format!(
            "store = \"{}\"\n{top}\n[[mailbox]]\nname = \"adults\"\nhost = \"imap.kent.example\"\ntls = \"implicit\"\nuser = \"adults@kent.example\"\nsecret_env = \"MAILBOT_TEST_UNUSED\"\nroute_hint = \"adult_social_care\"\n",
            dir.join(store).display()
        ),
    )
    .unwrap();
    path
}

fn options(mailbox: &str) -> ImportOptions {
    ImportOptions {
        mailbox: mailbox.into(),
        route_hint: None,
        batch_size: 2,
        progress: false,
    }
}

fn desk(dir: &Path, settings: IngestSettings) -> Ingestor {
    Ingestor::new(
        Store::open(dir.join("store")).unwrap(),
        Policy::kent(),
        settings,
    )
}

fn imported() -> IngestSettings {
    IngestSettings {
        suppress_acknowledgements: Some("imported".into()),
        ..settings()
    }
}

#[test]
fn an_mbox_becomes_cases_with_replies_duplicates_and_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let ingestor = desk(dir.path(), imported());
    let source = Source::Mbox(fixture("mbox/council.mbox"));
    let report = import(&ingestor, &source, &options("import"), today()).unwrap();
    assert_eq!(report.total, 6);
    assert_eq!(report.skipped, 0);
    let tally = report.tally;
    assert_eq!(
        (
            tally.messages,
            tally.new_cases,
            tally.added,
            tally.duplicates,
            tally.quarantined
        ),
        (6, 3, 1, 1, 1),
        "{tally}"
    );
    let store = ingestor.store();
    let cases = store.cases().unwrap();
    assert_eq!(cases.len(), 3);
    // The reply joined Ann's case; the `>From ` line was unquoted.
    let ann = cases
        .iter()
        .find(|c| c.subject.as_deref() == Some("Bins not collected for three weeks"))
        .unwrap();
    assert_eq!(ann.messages.len(), 2);
    let first = store.message(&ann.messages[0]).unwrap().unwrap();
    assert!(
        first.message.text.contains("\nFrom the start of the month"),
        "{}",
        first.message.text
    );
    // The mbox `From ` line's date is the time of receipt the deadlines run from.
    assert_eq!(ann.opened_on.to_string(), "2026-11-16");
    let quarantined = store.quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].source.as_ref().unwrap().uid, 3);
    // Old mail is not acknowledged unless asked.
    for entry in store.outbox().unwrap() {
        assert_eq!(
            entry.status,
            OutboxStatus::Suppressed {
                reason: "imported".into()
            }
        );
    }
    // Importing again adds nothing, and skips every message on the recorded progress.
    let again = import(&ingestor, &source, &options("import"), today()).unwrap();
    assert_eq!((again.skipped, again.tally.messages), (6, 0));
    assert_eq!(store.cases().unwrap().len(), 3);
}

#[test]
fn a_maildir_becomes_cases_and_its_malformed_message_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let ingestor = desk(dir.path(), imported());
    let source = Source::Maildir(fixture("maildir"));
    let report = import(&ingestor, &source, &options("adults"), today()).unwrap();
    let tally = report.tally;
    assert_eq!(
        (tally.messages, tally.new_cases, tally.quarantined),
        (3, 2, 1),
        "{tally}"
    );
    let cases = ingestor.store().cases().unwrap();
    assert!(cases.iter().all(|c| c.mailbox == "adults"));
    let quarantined = ingestor.store().quarantined().unwrap();
    // Sorted by unique name: cur/1763300000, new/1763400000, cur/1763500000.
    assert_eq!(quarantined[0].source.as_ref().unwrap().uid, 3);
    // The same mail read again, even under another mailbox name, is deduplicated by Message-ID.
    let other = import(&ingestor, &source, &options("other"), today()).unwrap();
    assert_eq!(other.tally.new_cases, 0, "{}", other.tally);
    assert_eq!(ingestor.store().cases().unwrap().len(), 2);
}

#[test]
fn import_acknowledges_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), "store", "");
    let mbox = fixture("mbox/council.mbox");
    let output = mailbot()
        .arg("import")
        .arg(&path)
        .arg("--mbox")
        .arg(&mbox)
        .arg("--acknowledge")
        .output()
        .unwrap();
    assert_ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("6 messages in the source, 0 imported before; 6 messages: 3 new cases"),
        "{stdout}"
    );
    let store = Store::open(dir.path().join("store")).unwrap();
    let pending = store
        .outbox()
        .unwrap()
        .iter()
        .filter(|e| e.status == OutboxStatus::Pending)
        .count();
    assert_eq!(pending, 3);
}

#[test]
fn import_without_a_source_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), "store", "");
    let output = mailbot().arg("import").arg(&path).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--mbox"), "{stderr}");
}

/// A generated message: every one a new complaint; every fifth without a Message-ID (so only the position
/// identifies it).
fn generated(index: usize) -> String {
    let id = if index.is_multiple_of(5) {
        String::new()
    } else {
        format!("Message-ID: <bulk-{index}@example.org>\n")
    };
    format!(
        "From resident{index}@example.org Mon Nov 16 09:00:00 2026\nFrom: Resident {index} <resident{index}@example.org>\nTo: complaints@kent.example\nSubject: Complaint number {index} about street lighting\nDate: Mon, 16 Nov 2026 09:00:00 +0000\n{id}\nI want to complain: the street light outside number {index} has been out for weeks.\n\n"
    )
}

#[test]
fn an_import_killed_at_random_moments_resumes_with_every_message_one_case() {
    const COUNT: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("big.mbox");
    let text: String = (0..COUNT).map(generated).collect();
    std::fs::write(&mbox, text).unwrap();
    let path = config(dir.path(), "store", "batch_size = 50");
    let run = || {
        let mut command = mailbot();
        command
            .arg("import")
            .arg(&path)
            .arg("--mbox")
            .arg(&mbox)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut killed_midway = 0;
    for _ in 0..4 {
        let mut child = run().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(150..900)));
        if child.try_wait().unwrap().is_none() {
            killed_midway += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(
        killed_midway > 0,
        "the import finished before any kill: make it larger"
    );
    let output = run().output().unwrap();
    assert_ok(&output);
    let store = Store::open(dir.path().join("store")).unwrap();
    let cases = store.cases().unwrap();
    assert_eq!(cases.len(), COUNT);
    let mut subjects: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        assert_eq!(case.messages.len(), 1, "{}", case.reference);
        *subjects.entry(case.subject.clone().unwrap()).or_default() += 1;
    }
    assert_eq!(subjects.len(), COUNT, "a message is missing or doubled");
    assert!(subjects.values().all(|&n| n == 1));
    drop(store);
    // A rerun skips everything on the recorded progress.
    let output = run().output().unwrap();
    assert_ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "{COUNT} messages in the source, {COUNT} imported before"
        )),
        "{stdout}"
    );
}

/// Every tree of a sled store: name -> key -> value.
fn dump(path: &Path) -> BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>> {
    let db = sled::open(path).unwrap();
    let mut out = BTreeMap::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        let entries = tree
            .iter()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect();
        out.insert(name.to_vec(), entries);
    }
    out
}

#[test]
fn backup_and_restore_round_trip_every_tree_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let original = config(dir.path(), "store", "");
    for source in [
        ["--mbox", fixture("mbox/council.mbox").to_str().unwrap()],
        ["--maildir", fixture("maildir").to_str().unwrap()],
    ] {
        assert_ok(
            &mailbot()
                .arg("import")
                .arg(&original)
                .args(source)
                .output()
                .unwrap(),
        );
    }
    let backup = dir.path().join("backup.jsonl");
    assert_ok(
        &mailbot()
            .arg("backup")
            .arg(&original)
            .arg(&backup)
            .output()
            .unwrap(),
    );
    let text = std::fs::read_to_string(&backup).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("\"format\":\"feedback-desk-store-backup\"")
            && header.contains("\"schema_version\":1"),
        "{header}"
    );
    let restored = config(dir.path(), "restored", "");
    let output = mailbot()
        .arg("restore")
        .arg(&restored)
        .arg(&backup)
        .output()
        .unwrap();
    assert_ok(&output);
    let before = dump(&dir.path().join("store"));
    let after = dump(&dir.path().join("restored"));
    for tree in [
        "cases",
        "messages",
        "blobs",
        "outbox",
        "quarantine",
        "cursors",
        "uids",
    ] {
        assert!(
            !before[tree.as_bytes()].is_empty(),
            "the fixture store has nothing in `{tree}`"
        );
    }
    assert_eq!(before, after);

    // A store that holds something is refused, unless --force.
    let output = mailbot()
        .arg("restore")
        .arg(&restored)
        .arg(&backup)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));
    assert_ok(
        &mailbot()
            .arg("restore")
            .arg(&restored)
            .arg(&backup)
            .arg("--force")
            .output()
            .unwrap(),
    );
    assert_eq!(dump(&dir.path().join("restored")), before);

    // A backup cut short is refused before anything is written.
    let cut = dir.path().join("cut.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n")).unwrap();
    let fresh = config(dir.path(), "fresh", "");
    let output = mailbot()
        .arg("restore")
        .arg(&fresh)
        .arg(&cut)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cut short"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!dir.path().join("fresh").exists());
}

#[test]
fn metrics_count_outcomes_and_read_cases_and_breaches_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let ingestor = desk(dir.path(), imported());
    let report = import(
        &ingestor,
        &Source::Mbox(fixture("mbox/council.mbox")),
        &options("import"),
        today(),
    )
    .unwrap();
    let metrics = Metrics::new(ingestor.store().clone(), Policy::kent());
    let outcomes: Vec<_> = [
        mailbot::ingest::Outcome::NewCase("a".into()),
        mailbot::ingest::Outcome::Escalated("b".into()),
        mailbot::ingest::Outcome::Quarantined("q".into()),
        mailbot::ingest::Outcome::Duplicate("d".into()),
    ]
    .into();
    metrics.record_outcomes(&outcomes);
    metrics.record_acknowledgement(true);
    metrics.record_acknowledgement(false);
    metrics.record_acknowledgement(false);
    metrics.set_mailbox_state("adults", mailbot::metrics::MailboxState::Retrying);
    // A year later every open case is past its deadlines.
    let later = today() + chrono::Duration::days(365);
    let text = metrics.render(later).unwrap();
    for line in [
        "mailbot_messages_ingested_total 2",
        "mailbot_messages_quarantined_total 1",
        "mailbot_messages_duplicate_total 1",
        "mailbot_acknowledgements_sent_total 1",
        "mailbot_acknowledgements_failed_total 2",
        "mailbot_imap_reconnects_total{mailbox=\"adults\"} 1",
        "mailbot_mailbox_up{mailbox=\"adults\"} 0",
        "mailbot_outbox_entries{status=\"suppressed\"} 3",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    let cases: i64 = text
        .lines()
        .filter(|l| l.starts_with("mailbot_cases{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(cases as usize, report.tally.new_cases);
    let breaches = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("mailbot_deadline_breaches "))
            .unwrap()
            .to_string()
    };
    // The two complaints are overdue a year later (the compliment has no procedure deadline).
    assert_eq!(breaches(&text), "2", "{text}");
    // On the day the first of them arrived, none is.
    let arrival = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    assert_eq!(breaches(&metrics.render(arrival).unwrap()), "0");
    let health = metrics.health();
    assert_eq!(health.status, "ok");
    metrics.set_mailbox_state("adults", mailbot::metrics::MailboxState::Stopped);
    assert_eq!(metrics.health().status, "failing");
}

#[test]
fn the_deployment_config_passes_check_config() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mailbot.toml");
    let output = mailbot()
        .arg("check-config")
        .arg(&deploy)
        .env("MAILBOT_COUNTY_HALL_PASSWORD", "secret")
        .output()
        .unwrap();
    assert_ok(&output);
    // Without the secret it names the missing variable.
    let output = mailbot()
        .arg("check-config")
        .arg(&deploy)
        .env_remove("MAILBOT_COUNTY_HALL_PASSWORD")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("MAILBOT_COUNTY_HALL_PASSWORD"));
}

#[test]
fn metrics_must_listen_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        "store",
        "[metrics]\nlisten = \"0.0.0.0:9187\"\n",
    );
    // `[metrics]` after the top-level keys: the mailbox table follows it in the file.
    let output = mailbot().arg("check-config").arg(&path).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("metrics.listen"), "{stderr}");
}

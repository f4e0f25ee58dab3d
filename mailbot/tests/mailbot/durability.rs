//! What `ingest_batch` returned for is durable: a child process ingests a batch, prints the outcomes and
//! aborts at once (no destructors, no further flush); the parent reopens the store and finds it all.

use std::process::Command;

use mailbot::ingest::{Ingestor, Outcome, RawMessage};
use mailbot::store::Store;

use crate::util::{email, raw, settings, store_path, today};

const CHILD_ENV: &str = "MAILBOT_DURABILITY_CHILD_DIR";
const TEST_NAME: &str = "durability::a_batch_survives_an_abort_right_after_ingest_batch_returns";

fn batch() -> Vec<RawMessage> {
    let mut batch: Vec<RawMessage> = (1..=200)
        .map(|uid| {
            let body = format!(
                "Complaint {uid}: the grass verge on Park Lane has not been cut all summer."
            );
            raw(
                "INBOX",
                uid,
                email(
                    "ann@example.org",
                    &format!("Verge {uid}"),
                    &format!("d{uid}@example.org"),
                    &[],
                    &body,
                ),
            )
        })
        .collect();
    batch.push(raw("INBOX", 201, Vec::new()));
    batch.push(raw("INBOX", 202, b"\n\n".to_vec()));
    batch
}

#[test]
fn a_batch_survives_an_abort_right_after_ingest_batch_returns() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let ingestor = Ingestor::new(
            Store::open(store_path(dir.as_ref())).unwrap(),
            feedback_core::Policy::kent(),
            settings(),
        );
        let outcomes = ingestor.ingest_batch(batch(), today()).unwrap();
        // A leading newline: the harness has already printed the test's name on this line.
        let mut out = String::from("\n");
        for outcome in &outcomes {
            let kind = match outcome {
                Outcome::NewCase(_) => "new",
                Outcome::Quarantined(_) => "quarantined",
                other => panic!("unexpected outcome {other:?}"),
            };
            out.push_str(&format!("OUTCOME {kind} {}\n", outcome.id()));
        }
        use std::io::Write;
        std::io::stdout().write_all(out.as_bytes()).unwrap();
        std::io::stdout().flush().unwrap();
        std::process::abort();
    }
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the child should have aborted: {stdout}"
    );
    let outcomes: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("OUTCOME "))
        .map(|l| {
            let (kind, id) = l.split_once(' ').unwrap();
            (kind.to_string(), id.to_string())
        })
        .collect();
    assert_eq!(
        outcomes.len(),
        202,
        "child output: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let store = Store::open(store_path(dir.path())).unwrap();
    for (uid, (kind, id)) in (1..).zip(&outcomes) {
        let locator = store
            .locate("INBOX", 1, uid)
            .unwrap()
            .unwrap_or_else(|| panic!("uid {uid} lost"));
        assert_eq!(locator.id(), id);
        match kind.as_str() {
            "new" => {
                let case = store
                    .case(id)
                    .unwrap()
                    .unwrap_or_else(|| panic!("case {id} lost"));
                assert_eq!(case.messages.len(), 1);
                assert!(store.message(&case.messages[0]).unwrap().is_some());
                assert!(
                    store.outbox_entry(id).unwrap().is_some(),
                    "outbox entry of {id} lost"
                );
            }
            _ => assert!(
                store.quarantine(id).unwrap().is_some(),
                "quarantine record {id} lost"
            ),
        }
    }
    assert_eq!(store.case_count(), 200);
    // Fetching the batch again after the crash makes nothing new.
    let ingestor = Ingestor::new(store, feedback_core::Policy::kent(), settings());
    let again = ingestor.ingest_batch(batch(), today()).unwrap();
    assert!(
        again.iter().all(|o| matches!(o, Outcome::Duplicate(_))),
        "{again:?}"
    );
}

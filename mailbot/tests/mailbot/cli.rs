//! The casework commands as a script uses them: `mailbot cases`, `case`, `reclassify` over a real store,
//! with their exit codes and JSON; and `mailbot run` serving the console when the config has `[admin]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use feedback_core::Policy;
use mailbot::ingest::Ingestor;
use mailbot::store::{ReviewField, Store};

use crate::util::{email, new_case, raw, settings, today};

fn mailbot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailbot"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("mailbot.toml");
    std::fs::write(
        &path,
        format!(
            "store = \"{}\"\n\n[[mailbox]]\nname = \"county-hall\"\nhost = \"127.0.0.1\"\nport = 1\ntls = \"plain-loopback\"\nuser = \"feedback\"\nsecret_env = \"HOME\"\n{extra}",
            dir.join("store").display()
        ),
    )
    .unwrap();
    path
}

/// A store with one complaint about a pothole; its reference.
fn seed(dir: &Path) -> String {
    let ingestor = Ingestor::new(
        Store::open(dir.join("store")).unwrap(),
        Policy::kent(),
        settings(),
    );
    let bytes = email(
        "Resident <resident@example.org>",
        "Pothole <b>again</b>",
        "cli1@example.org",
        &[],
        "I complained twice about the pothole on Station Road and nothing was done. I am unhappy.",
    );
    new_case(
        &ingestor
            .ingest_batch(vec![raw("county-hall", 1, bytes)], today())
            .unwrap()[0],
    )
}

#[test]
fn cases_case_and_reclassify_work_with_clear_errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let reference = seed(dir.path());
    let config = config(dir.path(), "");
    let config = config.to_str().unwrap();

    let listed = mailbot(&["cases", config]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(text(&listed.stdout).contains(&reference));
    assert!(text(&listed.stdout).contains("to review"));
    let json: serde_json::Value = serde_json::from_slice(
        &mailbot(&["cases", config, "--json", "--state", "received"]).stdout,
    )
    .unwrap();
    assert_eq!(json[0]["reference"], reference.as_str());
    let closed: serde_json::Value =
        serde_json::from_slice(&mailbot(&["cases", config, "--json", "--state", "closed"]).stdout)
            .unwrap();
    assert_eq!(closed, serde_json::json!([]));
    let bad_state = mailbot(&["cases", config, "--state", "lost"]);
    assert_eq!(bad_state.status.code(), Some(1));
    assert!(text(&bad_state.stderr).contains("`lost` is not a state"));

    let shown = mailbot(&["case", config, &reference]);
    assert!(shown.status.success());
    let out = text(&shown.stdout);
    assert!(out.contains("kind: complaint"), "{out}");
    assert!(out.contains("working days left"), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&mailbot(&["case", config, &reference, "--json"]).stdout).unwrap();
    assert_eq!(json["case"]["reference"], reference.as_str());
    assert_eq!(json["messages"].as_array().unwrap().len(), 1);
    assert!(json["clocks"].as_array().unwrap().len() >= 2);
    let missing = mailbot(&["case", config, "KCC-2026-999999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("there is no case `KCC-2026-999999`"));

    // Wrong values are named with the values that are allowed; nothing changes.
    let wrong = mailbot(&[
        "reclassify",
        config,
        &reference,
        "--by",
        "alice",
        "--kind",
        "moan",
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr)
            .contains("`moan` is not a known value for --kind: use one of complaint, comment")
    );
    let nothing = mailbot(&["reclassify", config, &reference, "--by", "alice"]);
    assert_eq!(nothing.status.code(), Some(1));
    let no_by = mailbot(&["reclassify", config, &reference, "--kind", "comment"]);
    assert_eq!(no_by.status.code(), Some(2), "clap's usage error");
    let same = mailbot(&[
        "reclassify",
        config,
        &reference,
        "--by",
        "alice",
        "--kind",
        "complaint",
    ]);
    assert_eq!(same.status.code(), Some(1));
    assert!(text(&same.stderr).contains("changes nothing"));

    let done = mailbot(&[
        "reclassify",
        config,
        &reference,
        "--by",
        "alice",
        "--kind",
        "comment",
        "--exclusions",
        "alternative_route",
    ]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(text(&done.stdout).contains("kind: complaint -> comment"));
    let store = Store::open(dir.path().join("store")).unwrap();
    let case = store.case(&reference).unwrap().unwrap();
    assert_eq!(case.corrections.len(), 2);
    assert!(
        case.corrections
            .iter()
            .any(|c| c.field == ReviewField::Kind && c.by == "alice")
    );
    assert_eq!(case.review.unwrap().by, "alice");

    // A config that cannot be read is exit code 2; so is serving a config without `[admin]`.
    let broken = mailbot(&["cases", "/nonexistent/mailbot.toml"]);
    assert_eq!(broken.status.code(), Some(2));
    let no_console = mailbot(&["serve", config]);
    assert_eq!(no_console.status.code(), Some(2));
    assert!(text(&no_console.stderr).contains("has no `[admin]` section"));
}

#[test]
fn mailbot_run_serves_the_console_when_the_config_has_an_admin_section() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hash = mailbot::console::auth::hash_password("a staff password").unwrap();
    let config = config(
        dir.path(),
        &format!(
            "\n[admin]\nlisten = \"127.0.0.1:{port}\"\ninsecure_http_on_loopback = true\n[[admin.user]]\nname = \"alice\"\npassword_hash = \"{hash}\"\n"
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailbot"))
        .args(["run", config.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut status = None;
    for _ in 0..100 {
        if let Ok(response) = agent
            .get(format!("http://127.0.0.1:{port}/api/cases"))
            .call()
        {
            status = Some(response.status().as_u16());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Served (the IMAP server on port 1 is unreachable; the console does not depend on it) and signed-in only.
    assert_eq!(status, Some(401));
}

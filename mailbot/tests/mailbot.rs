//! mailbot's integration tests, one binary with a module per area, each test in its own temp dir:
//!
//! - `util`: temp stores, message builders, the fixed "today";
//! - `corpus`: the hostile and odd fixtures in `fixtures/eml/<category>/NNN.eml` (expected result in
//!   `NNN.expect` beside each), with LF and CRLF line endings, and a generated 30 MB attachment;
//! - `fuzz`: a million generated inputs through parse and assess, a proptest, and generated batches
//!   through the store;
//! - `dedup`: the same message twice, across mailboxes, within a batch, after reopening; two messages
//!   sharing a Message-ID;
//! - `replies`: replies joining their case by subject reference, In-Reply-To and References; escalation;
//! - `durability`: a batch survives the process aborting right after `ingest_batch` returns;
//! - `cli`: `mailbot cases`, `case`, `reclassify` with their exit codes and JSON; `run` serving the console;
//! - `console`: the admin console over real HTTP: sign-in, CSRF, review, lifecycle, injection, other
//!   channels, quarantine retry, the web-form endpoint, deadlines;
//! - `report`: the monitoring report (figures by hand), its CSV and HTML, the corrections export;
//! - `protection`: purge, subject access, erasure, equalities kept apart, private store files;
//! - `store`: schema versions, permissions, cursors, quarantine, outbox, references;
//! - `ops`: `import` of mbox and Maildir (killed and resumed), backup and restore, metrics, deploy config.
//! - `acknowledge`: the acknowledgement sender's never-loop matrix, header injection, crash recovery
//!   and the at-risk list (no mail server; sending for real is in `imap/acknowledge.rs`).

// Test helpers outside `#[test]` functions may unwrap and panic: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "mailbot/acknowledge.rs"]
mod acknowledge;
#[path = "mailbot/cli.rs"]
mod cli;
#[path = "mailbot/console.rs"]
mod console;
#[path = "mailbot/corpus.rs"]
mod corpus;
#[path = "mailbot/dedup.rs"]
mod dedup;
#[path = "mailbot/durability.rs"]
mod durability;
#[path = "mailbot/fuzz.rs"]
mod fuzz;
#[path = "mailbot/ops.rs"]
mod ops;
#[path = "mailbot/protection.rs"]
mod protection;
#[path = "mailbot/replies.rs"]
mod replies;
#[path = "mailbot/report.rs"]
mod report;
#[path = "mailbot/store.rs"]
mod store;
#[path = "mailbot/util.rs"]
mod util;
// IMAP ingestion against a real Dovecot and Postfix, each test with its own instance (`imap/mod.rs`).
#[path = "imap/mod.rs"]
mod imap;

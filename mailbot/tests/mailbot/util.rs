//! Shared helpers: a desk (temp store + ingestor), raw messages, line endings.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use feedback_core::Policy;
use mailbot::ingest::{IngestSettings, Ingestor, Outcome, RawMessage};
use mailbot::store::Store;
use tempfile::TempDir;

/// The day every test runs on.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// The server's receipt time used by default.
pub fn received() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-24T10:00:00+00:00").unwrap()
}

pub fn settings() -> IngestSettings {
    IngestSettings {
        reference_prefix: "KCC".into(),
        max_message_bytes: 64 * 1024 * 1024,
        max_attachment_bytes_kept: 1024 * 1024,
        ..IngestSettings::default()
    }
}

/// A temp directory with a store and an ingestor over it.
pub struct Desk {
    pub dir: TempDir,
    pub ingestor: Ingestor,
}

impl Desk {
    pub fn new() -> Desk {
        Desk::with_settings(settings())
    }

    pub fn with_settings(settings: IngestSettings) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let ingestor = Ingestor::new(
            Store::open(store_path(dir.path())).unwrap(),
            Policy::kent(),
            settings,
        );
        Desk { dir, ingestor }
    }

    /// Closes the store and opens it again.
    pub fn reopen(self) -> Desk {
        let Desk { dir, ingestor } = self;
        let settings = ingestor.settings().clone();
        drop(ingestor);
        let ingestor = Ingestor::new(
            Store::open(store_path(dir.path())).unwrap(),
            Policy::kent(),
            settings,
        );
        Desk { dir, ingestor }
    }

    pub fn store(&self) -> &Store {
        self.ingestor.store()
    }

    pub fn ingest(&self, messages: Vec<RawMessage>) -> Vec<Outcome> {
        self.ingestor.ingest_batch(messages, today()).unwrap()
    }

    pub fn ingest_one(&self, message: RawMessage) -> Outcome {
        self.ingest(vec![message]).pop().unwrap()
    }
}

pub fn store_path(dir: &Path) -> PathBuf {
    dir.join("store")
}

/// A fetched message in `mailbox` with UIDVALIDITY 1.
pub fn raw(mailbox: &str, uid: u32, bytes: impl Into<Vec<u8>>) -> RawMessage {
    RawMessage {
        mailbox: mailbox.into(),
        uidvalidity: 1,
        uid,
        bytes: bytes.into(),
        internal_date: Some(received()),
        route_hint: None,
    }
}

/// An email with CRLF line endings.
pub fn email(
    from: &str,
    subject: &str,
    message_id: &str,
    extra_headers: &[&str],
    body: &str,
) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: county.hall@kent.example\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\n"
    );
    if !message_id.is_empty() {
        out.push_str(&format!("Message-ID: <{message_id}>\r\n"));
    }
    for header in extra_headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body.replace("\r\n", "\n").replace('\n', "\r\n"));
    out.into_bytes()
}

/// Every CRLF as LF.
pub fn to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter().peekable();
    while let Some(&b) = iter.next() {
        if b == b'\r' && iter.peek() == Some(&&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

/// Every line ending as CRLF (bare CRs left alone).
pub fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let lf = to_lf(bytes);
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 20);
    for &b in &lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// The case reference of a `NewCase` outcome.
pub fn new_case(outcome: &Outcome) -> String {
    match outcome {
        Outcome::NewCase(reference) => reference.clone(),
        other => panic!("expected a new case, got {other:?}"),
    }
}

/// Routes mail-parser's (caught) panics away from stderr, once per process: the fuzzer provokes
/// thousands.
pub fn quiet_parser_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(mailbot::parse::install_panic_hook);
}

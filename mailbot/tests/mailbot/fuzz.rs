//! Generated input through the bytes-to-case path: a million messages through parse and assess (no
//! store, two threads), a proptest of arbitrary bytes, and a few thousand through the store in batches.
//! Nothing may panic; every input becomes an assessment or a quarantine reason.

use std::sync::atomic::{AtomicUsize, Ordering};

use feedback_core::Policy;
use mailbot::ingest::{Outcome, assess_raw};
use proptest::prelude::*;

use crate::util::{Desk, raw, settings, today};

/// A small deterministic generator (SplitMix64): the same seed gives the same inputs on every machine.
pub struct Gen(u64);

const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"--",
    b"--b\r\n",
    b"--b--\r\n",
    b"=?utf-8?B?",
    b"=?iso-8859-1?Q?",
    b"?=",
    b"=\r\n",
    b"=E2=80",
    b"=ZZ",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: text/html\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"charset=",
    b"boundary=\"",
    b"\0",
    b"\xff\xfe",
    b"\xc3",
    b"\xe2\x80",
    b"<",
    b">",
    b"<script>",
    b"</",
    b"&#",
    b";",
    b":",
    b"\"",
    b"\\",
    b" ",
    b"\t",
    b"(",
    b")",
    b"From: ",
    b"Subject: ",
    b"Message-ID: <",
    b"In-Reply-To: <",
    b"References: ",
    b"Date: ",
    b"KCC-2026-000001",
    b"escalate",
];

const WORDS: &[&str] = &[
    "complaint",
    "pothole",
    "bin",
    "road",
    "library",
    "social worker",
    "unhappy",
    "thank you",
    "stage 2",
    "escalate",
    "court",
    "freedom of information",
    "insurance claim",
    "my mother",
    "care home",
    "school",
    "appeal",
    "councillor",
    "not",
    "very",
    "😀",
    "é",
    "الطريق",
    "道路",
    "\u{202e}",
    "&amp;",
    "<b>",
    "=20",
    "\t",
];

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| *self.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One input: a structured message, a mutated seed, or noise.
    pub fn message(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        match self.below(10) {
            0..=4 => self.structured(0),
            5..=8 if !seeds.is_empty() => {
                let seed = self.pick(seeds).clone();
                self.mutate(seed)
            }
            _ => (0..self.below(300)).map(|_| self.next() as u8).collect(),
        }
    }

    fn header(&mut self) -> Vec<u8> {
        let value = match self.below(6) {
            0 => format!(
                "=?{}?{}?{}?=",
                self.pick(&["utf-8", "iso-8859-1", "x-bogus", "shift_jis", ""]),
                self.pick(&["B", "Q", "X"]),
                self.words(2)
            ),
            1 => format!("<{}@{}>", self.next(), self.words(1)),
            2 => format!("\"{}\" <{}@example.org>", self.words(2), self.below(1000)),
            _ => {
                let n = self.below(6);
                self.words(n)
            }
        };
        let name = *self.pick(&[
            "From",
            "To",
            "Cc",
            "Subject",
            "Message-ID",
            "In-Reply-To",
            "References",
            "Date",
            "Reply-To",
            "X-Odd",
            "Auto-Submitted",
            "List-Id",
            "Content-Type",
        ]);
        format!("{name}: {value}\r\n").into_bytes()
    }

    fn structured(&mut self, depth: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..self.below(6) {
            out.extend(self.header());
        }
        let boundary = format!("b{}", self.below(3));
        let kind = if depth > 2 { 0 } else { self.below(5) };
        match kind {
            0 | 1 => {
                let ctype = *self.pick(&[
                    "text/plain",
                    "text/html",
                    "text/calendar",
                    "application/pdf",
                    "image/png",
                    "",
                ]);
                let charset = *self.pick(&[
                    "utf-8",
                    "iso-8859-1",
                    "x-unknown",
                    "utf-16",
                    "windows-1252",
                    "",
                ]);
                let cte = *self.pick(&["", "base64", "quoted-printable", "8bit", "x-weird"]);
                out.extend(format!("Content-Type: {ctype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n").into_bytes());
                let n = self.below(40);
                out.extend(self.words(n).into_bytes());
            }
            2 => {
                out.extend(b"Content-Type: message/rfc822\r\n\r\n");
                out.extend(self.structured(depth + 1));
            }
            _ => {
                let declared = if self.below(4) == 0 {
                    "other".to_string()
                } else {
                    boundary.clone()
                };
                let subtype = *self.pick(&["mixed", "alternative", "related", "report", "digest"]);
                out.extend(
                    format!("Content-Type: multipart/{subtype}; boundary=\"{declared}\"\r\n\r\n")
                        .into_bytes(),
                );
                for _ in 0..self.below(4) {
                    out.extend(format!("--{boundary}\r\n").into_bytes());
                    out.extend(self.structured(depth + 1));
                    out.extend(b"\r\n");
                }
                if self.below(2) == 0 {
                    out.extend(format!("--{boundary}--\r\n").into_bytes());
                }
            }
        }
        out
    }

    fn mutate(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        for _ in 0..1 + self.below(8) {
            let at = self.below(bytes.len() + 1);
            match self.below(6) {
                0 if !bytes.is_empty() => {
                    let i = at.min(bytes.len() - 1);
                    bytes[i] ^= 1 << self.below(8);
                }
                1 => {
                    let token = *self.pick(TOKENS);
                    bytes.splice(at..at, token.iter().copied());
                }
                2 => {
                    let end = (at + self.below(64)).min(bytes.len());
                    bytes.drain(at..end);
                }
                3 => bytes.truncate(at),
                4 => {
                    let end = (at + self.below(128)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    let to = self.below(bytes.len() + 1);
                    bytes.splice(to..to, copy);
                }
                _ => {
                    let byte = self.next() as u8;
                    bytes.insert(at, byte);
                }
            }
        }
        bytes
    }
}

/// The small fixtures, as mutation seeds.
fn seeds() -> Vec<Vec<u8>> {
    crate::corpus::fixtures()
        .into_iter()
        .map(|(_, bytes, _)| bytes)
        .filter(|b| b.len() <= 2048)
        .collect()
}

fn count() -> usize {
    std::env::var("MAILBOT_FUZZ_INPUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

#[test]
fn a_million_generated_messages_parse_and_assess_without_panicking() {
    let total = count();
    let seeds = seeds();
    let policy = Policy::kent();
    let settings = settings();
    crate::util::quiet_parser_panics();
    let assessed = AtomicUsize::new(0);
    let quarantined = AtomicUsize::new(0);
    let caught = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let (seeds, policy, settings, assessed, quarantined, caught, bytes) = (
                &seeds,
                &policy,
                &settings,
                &assessed,
                &quarantined,
                &caught,
                &bytes,
            );
            scope.spawn(move || {
                let mut generator = Gen::new(0x5eed_0000 + thread as u64);
                let share = total / threads + usize::from(thread < total % threads);
                for _ in 0..share {
                    let input = generator.message(seeds);
                    bytes.fetch_add(input.len(), Ordering::Relaxed);
                    match assess_raw(&input, policy, today(), settings) {
                        Ok(_) => assessed.fetch_add(1, Ordering::Relaxed),
                        Err(why) => {
                            // mail-parser 0.11.9 still panics on some malformed nesting: caught, it is a
                            // quarantine reason like any other.
                            if why.contains("panicked") {
                                caught.fetch_add(1, Ordering::Relaxed);
                            }
                            quarantined.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            });
        }
    });
    let (assessed, quarantined, caught) = (
        assessed.into_inner(),
        quarantined.into_inner(),
        caught.into_inner(),
    );
    eprintln!(
        "fuzz: {total} inputs of {} bytes on average, {assessed} assessed, {quarantined} quarantined ({caught} parser panics caught)",
        bytes.into_inner() / total.max(1)
    );
    assert_eq!(assessed + quarantined, total);
    assert!(
        total < 1000 || (assessed > total / 2 && quarantined > 0),
        "a degenerate generator: {assessed} assessed, {quarantined} quarantined"
    );
}

#[test]
fn generated_batches_through_the_store_make_a_case_or_quarantine_each() {
    crate::util::quiet_parser_panics();
    let desk = Desk::new();
    let seeds = seeds();
    let mut generator = Gen::new(42);
    let mut uid = 0;
    let mut new = 0;
    let mut quarantined = 0;
    for _ in 0..10 {
        let batch: Vec<_> = (0..300)
            .map(|_| {
                uid += 1;
                raw("INBOX", uid, generator.message(&seeds))
            })
            .collect();
        for outcome in desk.ingest(batch) {
            match outcome {
                Outcome::NewCase(_) => new += 1,
                Outcome::Quarantined(_) => quarantined += 1,
                // Generated references and ids can match earlier generated messages.
                Outcome::AddedToCase(_) | Outcome::Escalated(_) | Outcome::Duplicate(_) => {}
            }
        }
    }
    assert_eq!(desk.store().case_count(), new);
    assert_eq!(desk.store().quarantined().unwrap().len(), quarantined);
    for uid in 1..=uid {
        assert!(
            desk.ingestor.knows("INBOX", 1, uid).unwrap(),
            "uid {uid} unknown"
        );
    }
    assert!(
        new > 1000 && quarantined > 0,
        "{new} cases, {quarantined} quarantined"
    );
}

/// Compiled once: building Kent's policy takes longer than assessing a message.
static POLICY: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(Policy::kent);

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        crate::util::quiet_parser_panics();
        // Returning at all is the property: a panic the parser raises is caught and becomes a reason.
        let _ = assess_raw(&bytes, &POLICY, today(), &settings());
    }

    #[test]
    fn header_like_text_never_panics(
        headers in proptest::collection::vec(("[A-Za-z-]{1,20}", "[ -~\u{80}-\u{10ffff}]{0,80}"), 0..12),
        body in "(?s).{0,400}",
    ) {
        let mut input = String::new();
        for (name, value) in headers {
            input.push_str(&format!("{name}: {value}\r\n"));
        }
        input.push_str("\r\n");
        input.push_str(&body);
        crate::util::quiet_parser_panics();
        let _ = assess_raw(input.as_bytes(), &POLICY, today(), &settings());
    }
}

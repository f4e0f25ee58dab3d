//! `cargo bench -p mailbot --bench ingest`: ingestion throughput with two-kilobyte messages in batches of
//! 500 (parse, assess, store, one flush per batch) on one thread, beside the rates of parsing alone and
//! of parsing and assessing, and the time of each batch's read stage (parse and assess,
//! `Ingestor::read_batch`) and store stage (`Ingestor::store_batch`: write and flush), which the daemon
//! runs in a pipeline.
//!
//! Environment: `MAILBOT_BENCH_BATCHES` (default 20) batches of `MAILBOT_BENCH_BATCH` (default 500).

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, NaiveDate};
use feedback_core::Policy;
use mailbot::ingest::{IngestSettings, Ingestor, Outcome, RawMessage, assess_raw};
use mailbot::store::Store;

const SENTENCES: &[&str] = &[
    "I am writing to complain about the state of the pavement outside my house on Station Road.",
    "The bins in our street were not collected on Tuesday for the third week running.",
    "I reported the broken streetlight by the school two months ago and nothing has happened.",
    "When I phoned the council the member of staff was rude and would not give me their name.",
    "My mother's care package was changed without anyone telling us, and she was left without help.",
    "I would like to thank the library staff in Ashford, who were extremely helpful last week.",
    "The pothole near the junction with Mill Lane damaged my tyre and I want this looked at.",
    "Nobody has replied to my emails and I have waited far longer than your published standard.",
];

fn message(n: usize) -> Vec<u8> {
    let mut body = String::with_capacity(2048);
    let mut i = n;
    while body.len() < 1700 {
        body.push_str(
            SENTENCES
                .get(i % SENTENCES.len())
                .copied()
                .unwrap_or_default(),
        );
        body.push(if i.is_multiple_of(3) { '\n' } else { ' ' });
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    format!(
        "Return-Path: <resident{n}@example.org>\r\nReceived: from mx.example.org by imap.kent.example; Tue, 24 Nov 2026 09:00:00 +0000\r\n\
         From: Resident {n} <resident{n}@example.org>\r\nTo: county.hall@kent.example\r\nSubject: Complaint number {n}\r\n\
         Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMessage-ID: <bench-{n}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let batches = env("MAILBOT_BENCH_BATCHES", 20);
    let batch_size = env("MAILBOT_BENCH_BATCH", 500);
    let total = batches * batch_size;
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).context("a date")?;
    let received = DateTime::parse_from_rfc3339("2026-11-24T10:00:00+00:00").context("a time")?;
    let policy = Policy::kent();
    let settings = IngestSettings::default();
    let messages: Vec<Vec<u8>> = (0..total).map(message).collect();
    let average = messages.iter().map(Vec::len).sum::<usize>() / total.max(1);

    let start = Instant::now();
    for bytes in &messages {
        std::hint::black_box(mailbot::parse::parse(bytes, settings.max_attachment_bytes_kept).ok());
    }
    let parse_rate = total as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    for bytes in &messages {
        std::hint::black_box(assess_raw(bytes, &policy, today, &settings).ok());
    }
    let assess_rate = total as f64 / start.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().context("a temp dir")?;
    let ingestor = Ingestor::new(Store::open(dir.path().join("store"))?, policy, settings);
    let mut uid = 0u32;
    let mut batch_times = Vec::with_capacity(batches);
    let (mut read_seconds, mut store_seconds) = (0.0, 0.0);
    let start = Instant::now();
    let mut pending = messages.into_iter();
    for _ in 0..batches {
        let batch: Vec<RawMessage> = pending
            .by_ref()
            .take(batch_size)
            .map(|bytes| {
                uid += 1;
                RawMessage {
                    mailbox: "INBOX".into(),
                    uidvalidity: 1,
                    uid,
                    bytes,
                    internal_date: Some(received),
                    route_hint: None,
                }
            })
            .collect();
        let batch_start = Instant::now();
        let read = ingestor.read_batch(batch, today);
        let read_time = batch_start.elapsed().as_secs_f64();
        let outcomes = ingestor.store_batch(read, today)?;
        let batch_time = batch_start.elapsed().as_secs_f64();
        read_seconds += read_time;
        store_seconds += batch_time - read_time;
        batch_times.push(batch_time);
        anyhow::ensure!(
            outcomes.iter().all(|o| matches!(o, Outcome::NewCase(_))),
            "every bench message must make a case"
        );
    }
    let ingest_rate = total as f64 / start.elapsed().as_secs_f64();
    batch_times.sort_by(f64::total_cmp);
    let median_batch = batch_times
        .get(batch_times.len() / 2)
        .copied()
        .unwrap_or_default();

    let flush_start = Instant::now();
    ingestor.store().flush()?;
    let idle_flush = flush_start.elapsed();

    println!("messages: {total} of {average} bytes on average, batches of {batch_size}");
    println!("parse only:         {parse_rate:>10.0} messages/s");
    println!("parse + assess:     {assess_rate:>10.0} messages/s");
    println!(
        "read + store:       {ingest_rate:>10.0} cases/s (median batch of {batch_size}: {:.1} ms)",
        median_batch * 1000.0
    );
    println!(
        "  of which read stage: {:>6.0} messages/s; store stage (write + flush): {:>6.0} messages/s",
        total as f64 / read_seconds.max(1e-9),
        total as f64 / store_seconds.max(1e-9)
    );
    println!("flush with nothing to write: {idle_flush:?}");
    Ok(())
}

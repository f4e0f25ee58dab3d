//! mailbot's library: everything the daemon and its tests share.
//!
//! - [`parse`]: raw RFC 5322 bytes to a [`parse::ParsedMessage`] with mail-parser, panics caught.
//! - [`store`]: the only door to stored cases (sled today; a database server later).
//! - [`ingest`]: a batch of fetched messages to cases, replies, escalations, duplicates or quarantine,
//!   made durable by one flush.
//! - [`config`]: the daemon's TOML configuration, validated with every problem listed.
//! - [`imap`]: one IMAP session of one mailbox: connect, log in, fetch, mark, IDLE.
//! - [`report`]: the policy's monitoring report as JSON, CSV and an HTML page with charts.
//! - [`export`]: cases as JSON lines; reviewed corrections as labelled corpus lines.
//! - [`protection`]: retention purge, subject access and erasure, recorded in the store's audit log.
//! - [`daemon`]: one task per mailbox, reconnection with backoff, shutdown, `--once` and reconcile.
//! - [`casework`]: review, corrections, lifecycle actions, notes, other channels, quarantine retry and
//!   what is due: the operations the console and the CLI share.
//! - [`console`]: the feedback team's web console and the web-form endpoint (axum).
//! - [`import`]: an mbox file or a Maildir folder backfilled into cases, resumably.
//! - [`metrics`]: Prometheus counters and gauges, `/healthz` and `/metrics`.
//! - [`outbox`], [`smtp`], [`templates`]: the acknowledgements, sent over SMTP from the outbox;
//!   [`digest`]: the daily digest per team mailbox, sent by the same sender.
//!
//! Feature flags: none.
#![warn(missing_docs)]

pub mod casework;
pub mod config;
pub mod console;
pub mod daemon;
pub mod digest;
pub mod export;
pub mod imap;
pub mod import;
pub mod ingest;
pub mod metrics;
pub mod outbox;
pub mod parse;
pub mod protection;
pub mod report;
pub mod smtp;
pub mod store;
pub mod templates;

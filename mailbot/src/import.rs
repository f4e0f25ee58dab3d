//! `mailbot import`: a council's existing mail (an mbox file or a Maildir folder) to cases, through the
//! same [`Ingestor::ingest_batch`] as live mail, so the same rules, replies and deduplication apply.
//!
//! Identity: each message gets the IMAP-like identity (mailbox, UIDVALIDITY, UID) that live ingestion
//! deduplicates on. The UID is the message's position (1-based) in the mbox, or in the Maildir's sorted
//! unique file names; the UIDVALIDITY is a fingerprint of the source (its path, and the mbox's size and
//! modification time or the Maildir's list of names). As with IMAP, a changed source is a new "folder":
//! positions are not trusted any more and only the Message-ID and content check catches messages imported
//! before.
//!
//! Resumption: every batch is durable when `ingest_batch` returns, and after it the import records its
//! progress as a cursor (`import:<mailbox>:<path>` -> fingerprint, last position) in the store. A rerun
//! of the same unchanged source skips what the cursor covers without ingesting it again; a batch ingested
//! but not yet covered by the cursor (killed in between) comes back as duplicates, so nothing is stored
//! twice and nothing is lost.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, FixedOffset, NaiveDate};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::imap::Tally;
use crate::ingest::{Ingestor, RawMessage};
use crate::store::Cursor;

/// Where the mail to import is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An mbox file (`From ` lines between messages, `>From ` quoting).
    Mbox(PathBuf),
    /// A Maildir folder: the messages in its `cur/` and `new/`.
    Maildir(PathBuf),
}

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The mailbox name the cases record (a configured mailbox's name gives its route hint).
    pub mailbox: String,
    /// The route the mailbox implies, as a configured mailbox's `route_hint`.
    pub route_hint: Option<String>,
    /// Messages ingested together with one flush.
    pub batch_size: usize,
    /// Draw a progress bar on standard error (only drawn on a terminal).
    pub progress: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Messages in the source.
    pub total: usize,
    /// Messages a previous run had already imported (skipped without reading them into the store).
    pub skipped: usize,
    /// What became of the others.
    pub tally: Tally,
}

/// One message read from the source.
struct Entry {
    bytes: Vec<u8>,
    received: Option<DateTime<FixedOffset>>,
}

/// A source opened for reading: how many messages, its fingerprint and the messages in order.
struct Opened {
    canonical: PathBuf,
    total: usize,
    fingerprint: u32,
    entries: Box<dyn Iterator<Item = anyhow::Result<Entry>>>,
}

/// Imports every message of `source` into `ingestor`'s store, resuming after an earlier interrupted run.
pub fn import(
    ingestor: &Ingestor,
    source: &Source,
    options: &ImportOptions,
    today: NaiveDate,
) -> anyhow::Result<ImportReport> {
    let opened = match source {
        Source::Mbox(path) => open_mbox(path)?,
        Source::Maildir(path) => open_maildir(path)?,
    };
    let store = ingestor.store();
    let cursor_key = format!("import:{}:{}", options.mailbox, opened.canonical.display());
    let resume_after = match store.cursor(&cursor_key)? {
        Some(cursor) if cursor.uidvalidity == opened.fingerprint => cursor.last_uid,
        _ => 0,
    };
    let bar = progress_bar(options.progress, opened.total)?;
    let mut report = ImportReport {
        total: opened.total,
        ..ImportReport::default()
    };
    let mut batch: Vec<RawMessage> = Vec::with_capacity(options.batch_size);
    let ingest = |batch: Vec<RawMessage>, report: &mut ImportReport| -> anyhow::Result<()> {
        let Some(last_uid) = batch.last().map(|message| message.uid) else {
            return Ok(());
        };
        let count = batch.len();
        let outcomes = ingestor.ingest_batch(batch, today)?;
        report.tally.add(&outcomes);
        // Durable with the next batch's flush (or the last one): until then a rerun meets this batch
        // again, as duplicates.
        store.set_cursor(
            &cursor_key,
            Cursor {
                uidvalidity: opened.fingerprint,
                last_uid,
            },
        )?;
        bar.inc(count as u64);
        Ok(())
    };
    for (index, entry) in opened.entries.enumerate() {
        let uid = u32::try_from(index + 1)
            .context("the source holds more than 4,294,967,295 messages: split it")?;
        if uid <= resume_after {
            report.skipped += 1;
            bar.inc(1);
            continue;
        }
        let entry = entry?;
        batch.push(RawMessage {
            mailbox: options.mailbox.clone(),
            uidvalidity: opened.fingerprint,
            uid,
            bytes: entry.bytes,
            internal_date: entry.received,
            route_hint: options.route_hint.clone(),
        });
        if batch.len() >= options.batch_size {
            ingest(std::mem::take(&mut batch), &mut report)?;
        }
    }
    ingest(batch, &mut report)?;
    store.flush()?;
    bar.finish_and_clear();
    Ok(report)
}

fn progress_bar(wanted: bool, total: usize) -> anyhow::Result<ProgressBar> {
    if !wanted || !std::io::stderr().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "[{elapsed_precise}] {wide_bar} {human_pos}/{human_len} messages, {rate}, {eta} left",
        )
        .context("the progress bar template")?
        .with_key(
            "rate",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0}/s", state.per_sec());
            },
        ),
    );
    Ok(bar)
}

/// The first four bytes of a SHA-256 of `parts`: a source's UIDVALIDITY.
fn fingerprint(parts: &[&[u8]]) -> u32 {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut first = [0u8; 4];
    first.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
    u32::from_be_bytes(first)
}

fn timestamp(seconds: u64) -> Option<DateTime<FixedOffset>> {
    let seconds = i64::try_from(seconds).ok().filter(|&s| s > 0)?;
    DateTime::from_timestamp(seconds, 0).map(|date| date.fixed_offset())
}

fn open_mbox(path: &Path) -> anyhow::Result<Opened> {
    let canonical = path
        .canonicalize()
        .with_context(|| format!("cannot find the mbox file {}", path.display()))?;
    let metadata = std::fs::metadata(&canonical)
        .with_context(|| format!("reading {}", canonical.display()))?;
    if !metadata.is_file() {
        anyhow::bail!("{} is not a file: give an mbox file", canonical.display());
    }
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    let fingerprint = fingerprint(&[
        b"mbox",
        canonical.as_os_str().as_encoded_bytes(),
        &metadata.len().to_be_bytes(),
        &modified.to_be_bytes(),
    ]);
    let total = count_mbox_messages(&canonical)?;
    let reader = BufReader::new(
        File::open(&canonical).with_context(|| format!("opening {}", canonical.display()))?,
    );
    let shown = canonical.display().to_string();
    let entries = mail_parser::mailbox::mbox::MessageIterator::new(reader).map(move |message| {
        let message = message.with_context(|| format!("reading the mbox file {shown}"))?;
        Ok(Entry {
            received: timestamp(message.internal_date()),
            bytes: message.contents().to_vec(),
        })
    });
    Ok(Opened {
        canonical,
        total,
        fingerprint,
        entries: Box::new(entries),
    })
}

/// The messages in an mbox: its lines that start with `From ` (how the reader splits it).
fn count_mbox_messages(path: &Path) -> anyhow::Result<usize> {
    let mut reader =
        BufReader::new(File::open(path).with_context(|| format!("opening {}", path.display()))?);
    let mut line = Vec::with_capacity(256);
    let mut count = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading the mbox file {}", path.display()))?;
        if read == 0 {
            return Ok(count);
        }
        if line.starts_with(b"From ") {
            count += 1;
        }
    }
}

/// A Maildir message's unique name: its file name without the `:2,FLAGS` info a client changes.
fn unique_name(file_name: &str) -> &str {
    file_name
        .split_once(':')
        .map_or(file_name, |(base, _)| base)
}

fn open_maildir(path: &Path) -> anyhow::Result<Opened> {
    let canonical = path
        .canonicalize()
        .with_context(|| format!("cannot find the Maildir {}", path.display()))?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for sub in ["cur", "new"] {
        let dir = canonical.join(sub);
        let listing = std::fs::read_dir(&dir).with_context(|| {
            format!(
                "reading {}: a Maildir has `cur` and `new` folders",
                dir.display()
            )
        })?;
        for item in listing {
            let item = item.with_context(|| format!("reading {}", dir.display()))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !item.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            files.push((unique_name(&name).to_string(), item.path()));
        }
    }
    files.sort();
    let mut parts: Vec<&[u8]> = vec![b"maildir", canonical.as_os_str().as_encoded_bytes()];
    parts.extend(files.iter().map(|(name, _)| name.as_bytes()));
    let fingerprint = fingerprint(&parts);
    let entries = files.into_iter().map(|(_, file)| {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let received = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|since| timestamp(since.as_secs()));
        Ok(Entry { bytes, received })
    });
    Ok(Opened {
        canonical,
        total: entries.len(),
        fingerprint,
        entries: Box::new(entries),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maildir_name_keeps_its_unique_part() {
        assert_eq!(
            unique_name("1763000000.M1P2.host:2,S"),
            "1763000000.M1P2.host"
        );
        assert_eq!(unique_name("1763000000.M1P2.host"), "1763000000.M1P2.host");
    }

    #[test]
    fn fingerprints_tell_sources_apart() {
        assert_ne!(fingerprint(&[b"a", b"bc"]), fingerprint(&[b"ab", b"c"]));
        assert_eq!(fingerprint(&[b"a"]), fingerprint(&[b"a"]));
    }
}

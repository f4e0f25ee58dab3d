//! Data protection over the store: retention (purge closed cases), subject access (everything held
//! about one email address) and erasure on request. Every removal is one store transaction recorded in
//! the store's audit log ([`Store::audit_log`]): who, when, how much, and for an erasure a hash of the
//! address rather than the address.
//!
//! mailbot never deletes mail on the IMAP server; a purged or erased case whose mail is still in a
//! mailbox would come back with `mailbot reconcile`, so the council's mailbox retention must match.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use feedback_core::Status;
use feedback_core::calendar::uk_local_time;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::parse::Mailbox;
use crate::store::{
    AuditAction, CaseRecord, MessageRecord, OutboxEntry, QuarantineRecord, Removal, Removed, Store,
};

/// An address as compared: trimmed and lowercased. `Err` when it is not an email address.
pub fn normalise_address(address: &str) -> anyhow::Result<String> {
    let address = address.trim().to_lowercase();
    let valid = address
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !address.chars().any(char::is_whitespace);
    if !valid {
        anyhow::bail!("`{address}` is not an email address: give one like `name@example.org`");
    }
    Ok(address)
}

/// SHA-256 of the normalised address, hex: what the audit log keeps of an erased address.
pub fn address_hash(normalised: &str) -> String {
    Sha256::digest(normalised.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is(mailbox: Option<&Mailbox>, address: &str) -> bool {
    mailbox
        .and_then(|m| m.address.as_deref())
        .is_some_and(|a| a.trim().eq_ignore_ascii_case(address))
}

fn sent_by(record: &MessageRecord, address: &str) -> bool {
    is(record.message.from.as_ref(), address) || is(record.message.reply_to.as_ref(), address)
}

fn copied_to(record: &MessageRecord, address: &str) -> bool {
    let m = &record.message;
    m.to.iter()
        .chain(&m.cc)
        .any(|mailbox| is(Some(mailbox), address))
}

/// A message of theirs in someone else's case, with everything they wrote or were identified by
/// replaced by a note of the erasure; the case keeps the fact that a message came, and when.
fn redacted(mut record: MessageRecord) -> MessageRecord {
    let message = &mut record.message;
    message.subject = None;
    message.from = None;
    message.reply_to = None;
    message.to.clear();
    message.cc.clear();
    message.headers.clear();
    message.attachments.clear();
    message.text = "[erased at the sender's request]".into();
    record
}

/// Someone else's message that was sent or copied to them, without their address (in To, Cc and the
/// header fields that carry it). What the sender wrote stays: it is the sender's.
fn unlisted(mut record: MessageRecord, address: &str) -> MessageRecord {
    let message = &mut record.message;
    message.to.retain(|m| !is(Some(m), address));
    message.cc.retain(|m| !is(Some(m), address));
    message
        .headers
        .retain(|h| !h.value.to_lowercase().contains(address));
    record
}

/// The day a closed case was closed (its last `close` event, as a UK day); `None` for an open case.
pub fn closed_on(case: &CaseRecord) -> Option<NaiveDate> {
    if case.state.status != Status::Closed {
        return None;
    }
    case.history
        .iter()
        .rev()
        .find(|h| matches!(h.event, Some(feedback_core::Event::Close)))
        .map(|h| {
            h.at.as_ref()
                .map_or(h.on, |at| uk_local_time(at.with_timezone(&Utc)).date())
        })
}

/// A case a purge removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeCandidate {
    /// Its reference.
    pub reference: String,
    /// The day it was closed.
    pub closed_on: NaiveDate,
    /// How many messages it has.
    pub messages: usize,
}

/// What a purge found and, unless it was a dry run, removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Cases closed before this day are purged.
    pub closed_before: NaiveDate,
    /// Nothing was removed.
    pub dry_run: bool,
    /// The cases, by reference.
    pub cases: Vec<PurgeCandidate>,
    /// What was removed (not on a dry run).
    pub removed: Option<Removed>,
}

/// The cases closed before `before`, by reference.
pub fn purge_candidates(cases: &[CaseRecord], before: NaiveDate) -> Vec<PurgeCandidate> {
    cases
        .iter()
        .filter_map(|case| {
            closed_on(case)
                .filter(|day| *day < before)
                .map(|closed_on| PurgeCandidate {
                    reference: case.reference.clone(),
                    closed_on,
                    messages: case.messages.len(),
                })
        })
        .collect()
}

/// Purges the cases closed before `before` (everything stored for them), or on a dry run only lists
/// them. A purge that finds nothing records nothing.
pub fn purge(
    store: &Store,
    before: NaiveDate,
    dry_run: bool,
    at: DateTime<FixedOffset>,
    by: &str,
) -> anyhow::Result<PurgeReport> {
    let cases = purge_candidates(&store.cases()?, before);
    let removed = if dry_run || cases.is_empty() {
        None
    } else {
        let references: Vec<String> = cases.iter().map(|c| c.reference.clone()).collect();
        let removal = Removal {
            cases: references.clone(),
            ..Removal::default()
        };
        let action = AuditAction::Purge {
            closed_before: before,
            references,
        };
        Some(store.remove(&removal, at, by, action)?)
    };
    Ok(PurgeReport {
        closed_before: before,
        dry_run,
        cases,
        removed,
    })
}

/// A case of the person's, with what is held for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectCase {
    /// The case.
    pub case: CaseRecord,
    /// Its acknowledgement.
    pub outbox: Option<OutboxEntry>,
    /// The case's messages from the person.
    pub messages: Vec<MessageRecord>,
    /// Keys of the case's messages from someone else: held, but about or from a third party, so for
    /// the data protection officer to review before disclosure.
    pub withheld_messages: Vec<String>,
    /// The equalities data given with it.
    pub equalities: Option<serde_json::Value>,
}

/// A quarantined message that mentions the address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantinedCopy {
    /// The record.
    pub record: QuarantineRecord,
    /// The raw message, as text (invalid UTF-8 replaced).
    pub raw: String,
}

/// Everything held about one email address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectAccess {
    /// The address (normalised).
    pub subject: String,
    /// When this was produced.
    pub generated_at: DateTime<FixedOffset>,
    /// Cases the person opened (first sender, or the address acknowledgements go to).
    pub cases: Vec<SubjectCase>,
    /// Their messages in other people's cases.
    pub messages_in_other_cases: Vec<MessageRecord>,
    /// Keys of other people's messages sent or copied to them (To, Cc): held, but the content is the
    /// sender's, so for the data protection officer to review before disclosure.
    pub copied_to_them: Vec<String>,
    /// Quarantined messages that contain the address.
    pub quarantined: Vec<QuarantinedCopy>,
}

/// What is held about an address, found by scanning the store.
struct Holdings {
    cases: Vec<(CaseRecord, Vec<MessageRecord>)>,
    other_messages: Vec<MessageRecord>,
    copied: Vec<MessageRecord>,
    quarantined: Vec<(QuarantineRecord, Vec<u8>)>,
}

fn holdings(store: &Store, address: &str) -> anyhow::Result<Holdings> {
    let recipients: std::collections::BTreeMap<String, Option<String>> = store
        .outbox()?
        .into_iter()
        .map(|entry| (entry.reference, entry.recipient))
        .collect();
    let mut found = Holdings {
        cases: Vec::new(),
        other_messages: Vec::new(),
        copied: Vec::new(),
        quarantined: Vec::new(),
    };
    for case in store.cases()? {
        let messages = store.case_messages(&case.reference)?;
        let acknowledged_to = recipients
            .get(&case.reference)
            .and_then(|r| r.as_deref())
            .is_some_and(|r| r.trim().eq_ignore_ascii_case(address));
        if is(case.from.as_ref(), address) || acknowledged_to {
            found.cases.push((case, messages));
        } else {
            for message in messages {
                if sent_by(&message, address) {
                    found.other_messages.push(message);
                } else if copied_to(&message, address) {
                    found.copied.push(message);
                }
            }
        }
    }
    let needle = address.as_bytes();
    for record in store.quarantined()? {
        if let Some((record, raw)) = store.quarantine(&record.id)?
            && raw
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
        {
            found.quarantined.push((record, raw));
        }
    }
    Ok(found)
}

/// Everything held about `address`: their cases (with their own messages, the acknowledgement and
/// equalities data), their messages in other cases, and quarantined mail containing the address.
pub fn subject_access(
    store: &Store,
    address: &str,
    at: DateTime<FixedOffset>,
) -> anyhow::Result<SubjectAccess> {
    let address = normalise_address(address)?;
    let found = holdings(store, &address)?;
    let mut cases = Vec::with_capacity(found.cases.len());
    for (case, messages) in found.cases {
        let (theirs, others): (Vec<MessageRecord>, Vec<MessageRecord>) =
            messages.into_iter().partition(|m| sent_by(m, &address));
        cases.push(SubjectCase {
            outbox: store.outbox_entry(&case.reference)?,
            equalities: store.equalities(&case.reference)?,
            messages: theirs,
            withheld_messages: others.into_iter().map(|m| m.key).collect(),
            case,
        });
    }
    Ok(SubjectAccess {
        subject: address,
        generated_at: at,
        cases,
        messages_in_other_cases: found.other_messages,
        copied_to_them: found.copied.into_iter().map(|m| m.key).collect(),
        quarantined: found
            .quarantined
            .into_iter()
            .map(|(record, raw)| QuarantinedCopy {
                record,
                raw: String::from_utf8_lossy(&raw).into_owned(),
            })
            .collect(),
    })
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// SHA-256 of the address (as recorded in the audit log).
    pub subject_sha256: String,
    /// The cases removed.
    pub cases: Vec<String>,
    /// Their messages redacted in other cases, and other people's messages to them with their address
    /// taken out.
    pub redacted: Vec<String>,
    /// The quarantine records removed.
    pub quarantined: Vec<String>,
    /// The counts.
    pub removed: Removed,
}

/// Erases what is held about `address`: their cases go (with messages, attachments, indexes, outbox
/// entry and equalities data), their messages in other cases are redacted, their address is taken out
/// of other people's messages to them, quarantined mail containing the address goes; the audit log
/// records who, when, how much and the address's hash. (A mention of the address in the text of someone
/// else's message stays: it is the sender's words, for a person to judge.)
pub fn erase(
    store: &Store,
    address: &str,
    by: &str,
    at: DateTime<FixedOffset>,
) -> anyhow::Result<Erasure> {
    let address = normalise_address(address)?;
    let found = holdings(store, &address)?;
    let rewrite: Vec<MessageRecord> = found
        .other_messages
        .into_iter()
        .map(redacted)
        .chain(found.copied.into_iter().map(|m| unlisted(m, &address)))
        .collect();
    let removal = Removal {
        cases: found
            .cases
            .iter()
            .map(|(c, _)| c.reference.clone())
            .collect(),
        rewrite,
        quarantine: found
            .quarantined
            .iter()
            .map(|(q, _)| q.id.clone())
            .collect(),
    };
    let subject_sha256 = address_hash(&address);
    let removed = store.remove(
        &removal,
        at,
        by,
        AuditAction::Erase {
            subject_sha256: subject_sha256.clone(),
        },
    )?;
    Ok(Erasure {
        subject_sha256,
        cases: removal.cases,
        redacted: removal.rewrite.into_iter().map(|m| m.key).collect(),
        quarantined: removal.quarantine,
        removed,
    })
}

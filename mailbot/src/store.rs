//! The case store: every read and write of cases, messages, the outbox, quarantine and mailbox cursors
//! goes through [`Store`], so that another backend (PostgreSQL, for a council running several mailbot
//! instances) can replace sled without touching the ingestion loop.
//!
//! The interface is deliberately narrow and backend-neutral: whole records in and out, each write that
//! must be atomic a single method (a case with its first message and its outbox entry; a message added
//! to a case with the lifecycle event it carries; each item of an ingestion batch, [`Store::write_batch`]), and
//! duplicate detection inside those same transactions, so two tasks racing on one message cannot make
//! two cases. A database server would implement the same methods with one SQL transaction each.
//!
//! Durability: with sled, a write is durable only once [`Store::flush`] returns. Callers batch writes
//! and flush once per batch.
//!
//! Layout (sled trees): `meta` (schema version, counters), `cases` (reference -> case JSON),
//! `messages` (`<reference>/<n>` -> message JSON), `blobs` (kept attachment contents, quarantined raw
//! messages), `message_ids` (`<Message-ID>\0<content hash>` -> message key), `uids`
//! (`<mailbox>\0<uidvalidity><uid>` -> locator), `outbox` (reference -> entry JSON), `quarantine`
//! (id -> record JSON), `cursors` (mailbox -> uidvalidity, last uid).

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, FixedOffset, NaiveDate};
use feedback_core::{Assessment, CaseState, Channel, Event, Policy, TransitionError};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Transactional, Tree};

use crate::parse::{Mailbox, ParsedMessage};

/// The schema this build writes. Bump it with every incompatible change to the layout or the records,
/// and teach [`Store::open`] to migrate the older one.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &[u8] = b"schema_version";
const QUARANTINE_COUNTER: &[u8] = b"counter/quarantine";

/// The most batch items one store transaction commits. sled holds what a transaction replaces (old node
/// versions, log buffers) until it commits, so memory grows with the transaction: batches are committed
/// in slices of this many items (see docs/ingest-speed.md for the figures).
pub const ITEMS_PER_TRANSACTION: usize = 64;

/// Errors of opening a store that a caller may want to tell apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store was written by a newer mailbot.
    #[error(
        "the store at `{path}` has schema version {found}, newer than version {supported} that this mailbot understands: run a newer mailbot, or restore a backup made by this one"
    )]
    NewerSchema {
        /// The store's directory.
        path: String,
        /// The version found.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// The version record is unreadable.
    #[error(
        "the store at `{path}` has an unreadable schema version record: it is damaged or not a mailbot store"
    )]
    BadSchemaRecord {
        /// The store's directory.
        path: String,
    },
}

/// Where an IMAP message came from: its identity within one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSource {
    /// The mailbox (configuration name or folder).
    pub mailbox: String,
    /// The folder's UIDVALIDITY when the message was fetched.
    pub uidvalidity: u32,
    /// The message's UID.
    pub uid: u32,
}

/// Where a stored message ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Locator {
    /// In a case.
    Message {
        /// The case reference.
        case: String,
        /// The message key, `<reference>/<n>`.
        key: String,
    },
    /// In quarantine.
    Quarantine {
        /// The quarantine id.
        id: String,
    },
}

impl Locator {
    /// The case reference or quarantine id.
    pub fn id(&self) -> &str {
        match self {
            Locator::Message { case, .. } => case,
            Locator::Quarantine { id } => id,
        }
    }

    /// Whether the message is in quarantine.
    pub fn is_quarantine(&self) -> bool {
        matches!(self, Locator::Quarantine { .. })
    }
}

/// The result of a write that first checks for a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Written now.
    New(Locator),
    /// Already stored (same mailbox, UIDVALIDITY and UID, or same Message-ID and content): nothing new
    /// was written except, for a copy in another mailbox, the note that this UID is known too.
    Known(Locator),
}

impl Stored {
    /// Where the message is.
    pub fn locator(&self) -> &Locator {
        match self {
            Stored::New(locator) | Stored::Known(locator) => locator,
        }
    }
}

/// One message as stored with its case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// `<reference>/<n>`; assigned by the store.
    pub key: String,
    /// The case reference; assigned by the store.
    pub case: String,
    /// The IMAP identity, if it came over IMAP.
    pub source: Option<MessageSource>,
    /// When the council received it (the server's internal date, else a plausible Date header).
    pub received: Option<DateTime<FixedOffset>>,
    /// The message as parsed (the attachments' contents are kept apart, see [`Store::attachment`]).
    #[serde(flatten)]
    pub message: ParsedMessage,
    /// Its size in bytes as fetched.
    pub size: usize,
    /// It asked for the case to be escalated.
    pub escalation_requested: bool,
}

/// A message to store, with the contents of the attachments that are kept (by index).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The record; `key` and `case` are filled in by the store.
    pub record: MessageRecord,
    /// `(attachment index, content)` for each kept attachment.
    pub kept: Vec<(usize, Vec<u8>)>,
}

/// Something that happened to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The day.
    pub on: NaiveDate,
    /// The lifecycle event applied, if one was.
    pub event: Option<Event>,
    /// The message it came with, if any.
    pub message: Option<String>,
    /// What happened, in words.
    pub note: String,
    /// Exactly when, where known (entries written before this field existed have only the day).
    #[serde(default)]
    pub at: Option<DateTime<FixedOffset>>,
    /// Who did it: a staff user's name, or `None` for mailbot itself.
    #[serde(default)]
    pub by: Option<String>,
}

/// A field of an assessment that a reviewer can correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ReviewField {
    Kind,
    Procedure,
    Directorate,
    Exclusions,
}

/// A reviewer's correction of what the classifier decided (kept so the team can measure the classifier
/// and grow the labelled corpus from real mail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// When.
    pub at: DateTime<FixedOffset>,
    /// The staff user.
    pub by: String,
    /// Which decision.
    pub field: ReviewField,
    /// What the classifier said, as its label (`complaint`, `corporate`, a sorted comma list of exclusions).
    pub from: String,
    /// What the reviewer set.
    pub to: String,
}

/// A reviewer's sign-off of a case's classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// When.
    pub at: DateTime<FixedOffset>,
    /// The staff user.
    pub by: String,
}

/// A staff note on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// When.
    pub at: DateTime<FixedOffset>,
    /// The staff user.
    pub by: String,
    /// The text (plain text; escaped wherever shown).
    pub text: String,
}

/// A case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The human-friendly reference, e.g. `KCC-2026-000123`.
    pub reference: String,
    /// The day it was opened (the day of receipt).
    pub opened_on: NaiveDate,
    /// When the first message was received, if known.
    pub received: Option<DateTime<FixedOffset>>,
    /// The mailbox it arrived in.
    pub mailbox: String,
    /// The first message's sender.
    pub from: Option<Mailbox>,
    /// The first message's subject.
    pub subject: Option<String>,
    /// The full assessment of the first message.
    pub assessment: Assessment,
    /// Where the case is in its procedure.
    pub state: CaseState,
    /// The keys of its messages, oldest first.
    pub messages: Vec<String>,
    /// What happened to it.
    pub history: Vec<HistoryEntry>,
    /// How it reached the council.
    #[serde(default = "default_channel")]
    pub channel: Channel,
    /// The reviewer's sign-off, once the classification has been confirmed or corrected.
    #[serde(default)]
    pub review: Option<Review>,
    /// The reviewer's corrections, oldest first (the assessment holds the corrected values).
    #[serde(default)]
    pub corrections: Vec<Correction>,
    /// Staff notes, oldest first.
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Compensation paid to the person, in pence, if any.
    #[serde(default)]
    pub compensation_paid_pence: Option<u64>,
}

fn default_channel() -> Channel {
    Channel::Email
}

/// The state of an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum OutboxStatus {
    /// Waiting to be sent.
    Pending,
    /// Not to be sent (an automatic message, no address).
    Suppressed {
        /// Why.
        reason: String,
    },
    /// Sent.
    Sent {
        /// When.
        at: DateTime<FixedOffset>,
        /// The acknowledgement's Message-ID.
        message_id: Option<String>,
    },
    /// Handed to the SMTP server, its answer not yet recorded: written (and flushed) before the SMTP
    /// transaction, so a crash in between leaves this behind and the next start knows.
    Sending {
        /// When the attempt started.
        since: DateTime<FixedOffset>,
        /// The acknowledgement's Message-ID (kept for a re-send, so both copies thread alike).
        message_id: String,
        /// Attempts made before this one.
        #[serde(default)]
        attempts: u32,
        /// This is the one re-send after a crash left the entry `sending`: a second crash does not
        /// send again.
        #[serde(default)]
        after_crash: bool,
    },
    /// An attempt failed.
    Failed {
        /// When.
        at: DateTime<FixedOffset>,
        /// The SMTP server's answer or the error, for admins.
        reason: String,
        /// Never retried (a 5xx answer, a refused recipient); else retried at `next_attempt`.
        permanent: bool,
        /// Attempts made so far.
        #[serde(default)]
        attempts: u32,
        /// When a temporary failure is retried.
        #[serde(default)]
        next_attempt: Option<DateTime<FixedOffset>>,
    },
}

/// An acknowledgement to send for a new case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The case.
    pub reference: String,
    /// To whom.
    pub recipient: Option<String>,
    /// The Message-ID the acknowledgement replies to.
    pub in_reply_to: Option<String>,
    /// The day the entry was made.
    pub created_on: NaiveDate,
    /// Where it is.
    pub status: OutboxStatus,
}

/// A new case with its first message and its outbox entry, written together.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    /// The reference prefix, e.g. `KCC`.
    pub prefix: String,
    /// The year in the reference (of receipt).
    pub year: i32,
    /// The day opened.
    pub opened_on: NaiveDate,
    /// When received.
    pub received: Option<DateTime<FixedOffset>>,
    /// The mailbox.
    pub mailbox: String,
    /// The assessment.
    pub assessment: Assessment,
    /// The initial lifecycle state.
    pub state: CaseState,
    /// How it reached the council.
    pub channel: Channel,
    /// The first message.
    pub message: NewMessage,
    /// The acknowledgement's recipient.
    pub recipient: Option<String>,
    /// The acknowledgement's initial status.
    pub outbox_status: OutboxStatus,
}

/// The result of adding a message to a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    /// Where the message is (an existing locator if it was a duplicate).
    pub stored: Stored,
    /// The lifecycle move it carried, if any: the new state, or why the lifecycle refused.
    pub transition: Option<Result<CaseState, TransitionError>>,
}

/// A quarantined message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// `Q-00000001`; assigned by the store.
    pub id: String,
    /// The IMAP identity.
    pub source: Option<MessageSource>,
    /// When the server received it.
    pub received: Option<DateTime<FixedOffset>>,
    /// The day it was quarantined.
    pub quarantined_on: NaiveDate,
    /// Why.
    pub reason: String,
    /// Its size in bytes.
    pub size: usize,
}

/// Where a mailbox's fetching has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The highest UID processed.
    pub last_uid: u32,
}

/// The case store (sled).
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    meta: Tree,
    cases: Tree,
    messages: Tree,
    blobs: Tree,
    message_ids: Tree,
    uids: Tree,
    outbox: Tree,
    quarantine: Tree,
    cursors: Tree,
}

/// A transaction's failure: our own reason, or sled's.
type TxResult<T> = Result<T, ConflictableTransactionError<anyhow::Error>>;

fn abort<T>(err: anyhow::Error) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(err))
}

fn tx_error(err: TransactionError<anyhow::Error>) -> anyhow::Error {
    match err {
        TransactionError::Abort(err) => err,
        TransactionError::Storage(err) => {
            anyhow::Error::new(err).context("writing to the case store")
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> TxResult<Vec<u8>> {
    serde_json::to_vec(value)
        .or_else(|err| abort(anyhow::Error::new(err).context("encoding a record")))
}

fn from_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> anyhow::Result<T> {
    serde_json::from_slice(bytes).with_context(|| format!("decoding {what} from the case store"))
}

fn read_u64(bytes: Option<sled::IVec>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
        .map_or(0, u64::from_be_bytes)
}

fn uid_key(mailbox: &str, uidvalidity: u32, uid: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(mailbox.len() + 9);
    key.extend_from_slice(mailbox.as_bytes());
    key.push(0);
    key.extend_from_slice(&uidvalidity.to_be_bytes());
    key.extend_from_slice(&uid.to_be_bytes());
    key
}

fn message_id_key(message_id: &str, hash: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(message_id.len() + hash.len() + 1);
    key.extend_from_slice(message_id.as_bytes());
    key.push(0);
    key.extend_from_slice(hash.as_bytes());
    key
}

fn message_key(reference: &str, index: usize) -> String {
    format!("{reference}/{index:06}")
}

fn attachment_key(message_key: &str, index: usize) -> Vec<u8> {
    format!("a/{message_key}/{index}").into_bytes()
}

fn raw_key(quarantine_id: &str) -> Vec<u8> {
    format!("q/{quarantine_id}").into_bytes()
}

/// Whether a message is already stored: by its IMAP identity, then by Message-ID and content. A copy
/// found only by Message-ID gets its own IMAP identity recorded, so the copy is known from then on.
fn known_in(
    uids: &TransactionalTree,
    message_ids: &TransactionalTree,
    record: &MessageRecord,
) -> TxResult<Option<Locator>> {
    if let Some(source) = &record.source
        && let Some(found) = uids.get(uid_key(&source.mailbox, source.uidvalidity, source.uid))?
    {
        return from_json(&found, "a message locator")
            .map(Some)
            .or_else(abort);
    }
    let Some(message_id) = &record.message.message_id else {
        return Ok(None);
    };
    let Some(key) = message_ids.get(message_id_key(message_id, &record.message.content_hash))?
    else {
        return Ok(None);
    };
    let key = String::from_utf8_lossy(&key).into_owned();
    let case = key
        .rsplit_once('/')
        .map_or(key.as_str(), |(case, _)| case)
        .to_string();
    let locator = Locator::Message { case, key };
    if let Some(source) = &record.source {
        uids.insert(
            uid_key(&source.mailbox, source.uidvalidity, source.uid),
            to_json(&locator)?,
        )?;
    }
    Ok(Some(locator))
}

/// Writes a message's record, attachments and indexes.
fn put_message(
    messages: &TransactionalTree,
    blobs: &TransactionalTree,
    message_ids: &TransactionalTree,
    uids: &TransactionalTree,
    message: &NewMessage,
    case: &str,
    key: &str,
) -> TxResult<Locator> {
    let mut record = message.record.clone();
    record.key = key.to_string();
    record.case = case.to_string();
    messages.insert(key.as_bytes(), to_json(&record)?)?;
    for (index, content) in &message.kept {
        blobs.insert(attachment_key(key, *index), content.as_slice())?;
    }
    if let Some(message_id) = &record.message.message_id {
        message_ids.insert(
            message_id_key(message_id, &record.message.content_hash),
            key.as_bytes(),
        )?;
    }
    let locator = Locator::Message {
        case: case.to_string(),
        key: key.to_string(),
    };
    if let Some(source) = &record.source {
        uids.insert(
            uid_key(&source.mailbox, source.uidvalidity, source.uid),
            to_json(&locator)?,
        )?;
    }
    Ok(locator)
}

fn check_prefix(prefix: &str) -> anyhow::Result<()> {
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
        anyhow::bail!("the case reference prefix `{prefix}` must be letters and digits only");
    }
    Ok(())
}

/// One item of [`Store::write_batch`].
#[derive(Debug, Clone, PartialEq)]
pub enum BatchItem {
    /// A new case (or a duplicate of a stored message).
    Case(Box<NewCase>),
    /// A message for an existing case, or for a case an earlier item of the batch makes.
    Reply {
        /// Which case.
        to: ReplyTarget,
        /// The message.
        message: Box<NewMessage>,
        /// It asks for the case to be escalated.
        escalate: bool,
    },
    /// A message for quarantine.
    Quarantine {
        /// The record (`id` assigned by the store).
        record: QuarantineRecord,
        /// The raw message.
        raw: Vec<u8>,
    },
}

/// The case a reply goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTarget {
    /// A stored case, by reference.
    Case(String),
    /// The case made (or joined) by an earlier item of the same batch, by index.
    Item(usize),
}

/// What [`Store::write_batch`] did with one item.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchResult {
    /// A [`BatchItem::Case`].
    Case(Stored),
    /// A [`BatchItem::Reply`].
    Reply(Added),
    /// A [`BatchItem::Quarantine`].
    Quarantine(Stored),
}

/// Every tree inside one transaction.
struct Tx<'t> {
    meta: &'t TransactionalTree,
    cases: &'t TransactionalTree,
    messages: &'t TransactionalTree,
    blobs: &'t TransactionalTree,
    message_ids: &'t TransactionalTree,
    uids: &'t TransactionalTree,
    outbox: &'t TransactionalTree,
    quarantine: &'t TransactionalTree,
}

impl Tx<'_> {
    fn create_case(&self, new: &NewCase) -> TxResult<Stored> {
        if let Some(locator) = known_in(self.uids, self.message_ids, &new.message.record)? {
            return Ok(Stored::Known(locator));
        }
        let counter_key = format!("counter/case/{}/{}", new.prefix, new.year).into_bytes();
        let number = read_u64(self.meta.get(&counter_key)?) + 1;
        self.meta
            .insert(counter_key.as_slice(), &number.to_be_bytes())?;
        let reference = format!("{}-{:04}-{:06}", new.prefix, new.year, number);
        let key = message_key(&reference, 0);
        let locator = put_message(
            self.messages,
            self.blobs,
            self.message_ids,
            self.uids,
            &new.message,
            &reference,
            &key,
        )?;
        let case = CaseRecord {
            reference: reference.clone(),
            opened_on: new.opened_on,
            received: new.received,
            mailbox: new.mailbox.clone(),
            from: new.message.record.message.from.clone(),
            subject: new.message.record.message.subject.clone(),
            assessment: new.assessment.clone(),
            state: new.state.clone(),
            messages: vec![key.clone()],
            history: vec![HistoryEntry {
                on: new.opened_on,
                event: None,
                message: Some(key),
                note: "case opened".into(),
                at: new.received,
                by: None,
            }],
            channel: new.channel,
            review: None,
            corrections: Vec::new(),
            notes: Vec::new(),
            compensation_paid_pence: None,
        };
        self.cases.insert(reference.as_bytes(), to_json(&case)?)?;
        let entry = OutboxEntry {
            reference: reference.clone(),
            recipient: new.recipient.clone(),
            in_reply_to: new.message.record.message.message_id.clone(),
            created_on: new.opened_on,
            status: new.outbox_status.clone(),
        };
        self.outbox.insert(reference.as_bytes(), to_json(&entry)?)?;
        Ok(Stored::New(locator))
    }

    fn add_message(
        &self,
        reference: &str,
        message: &NewMessage,
        event: Option<(Event, &Policy)>,
        on: NaiveDate,
    ) -> TxResult<Added> {
        if let Some(locator) = known_in(self.uids, self.message_ids, &message.record)? {
            return Ok(Added {
                stored: Stored::Known(locator),
                transition: None,
            });
        }
        let Some(bytes) = self.cases.get(reference.as_bytes())? else {
            return abort(anyhow::anyhow!(
                "there is no case `{reference}` to add a message to"
            ));
        };
        let mut case: CaseRecord = from_json(&bytes, "a case").or_else(abort)?;
        let key = message_key(reference, case.messages.len());
        let locator = put_message(
            self.messages,
            self.blobs,
            self.message_ids,
            self.uids,
            message,
            reference,
            &key,
        )?;
        case.messages.push(key.clone());
        case.history.push(HistoryEntry {
            on,
            event: None,
            message: Some(key.clone()),
            note: "message added".into(),
            at: message.record.received,
            by: None,
        });
        let transition = event.map(|(event, policy)| {
            let result = case.state.apply(event, policy);
            match &result {
                Ok(next) => {
                    case.history.push(HistoryEntry {
                        on,
                        event: Some(event),
                        message: Some(key.clone()),
                        note: format!("moved to `{}` ({:?})", next.stage_id(policy), next.status)
                            .to_lowercase(),
                        at: message.record.received,
                        by: None,
                    });
                    case.state = next.clone();
                }
                Err(err) => case.history.push(HistoryEntry {
                    on,
                    event: None,
                    message: Some(key.clone()),
                    note: format!("`{}` was asked for but not applied: {err}", event.name()),
                    at: message.record.received,
                    by: None,
                }),
            }
            result
        });
        self.cases.insert(reference.as_bytes(), to_json(&case)?)?;
        Ok(Added {
            stored: Stored::New(locator),
            transition,
        })
    }

    fn put_quarantine(&self, record: &QuarantineRecord, raw: &[u8]) -> TxResult<Stored> {
        if let Some(source) = &record.source
            && let Some(found) =
                self.uids
                    .get(uid_key(&source.mailbox, source.uidvalidity, source.uid))?
        {
            return from_json(&found, "a message locator")
                .map(Stored::Known)
                .or_else(abort);
        }
        let number = read_u64(self.meta.get(QUARANTINE_COUNTER)?) + 1;
        self.meta
            .insert(QUARANTINE_COUNTER, &number.to_be_bytes())?;
        let id = format!("Q-{number:08}");
        let mut record = record.clone();
        record.id = id.clone();
        self.quarantine.insert(id.as_bytes(), to_json(&record)?)?;
        self.blobs.insert(raw_key(&id), raw)?;
        let locator = Locator::Quarantine { id };
        if let Some(source) = &record.source {
            self.uids.insert(
                uid_key(&source.mailbox, source.uidvalidity, source.uid),
                to_json(&locator)?,
            )?;
        }
        Ok(Stored::New(locator))
    }
}

/// sled's page cache, by its own count (the on-disk size of the pages it holds; what they take in memory
/// is larger). Ingestion reads little (the UID and Message-ID indexes, cases that replies join), and a
/// larger cache made the daemon's memory grow with the backlog (see docs/ingest-speed.md).
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// How long to wait for the store's file lock: sled's background flusher of a store just closed (in this
/// process, or a mailbot that is still shutting down) holds it for up to about half a second.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens the sled database, retrying while its lock is held for up to `LOCK_WAIT`; a store held longer
/// (another running mailbot) is an error.
fn open_waiting_for_lock(path: &Path) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .open()
        {
            // sled reports a held lock as an I/O error whose text names it, whatever the inner kind.
            Err(sled::Error::Io(err))
                if err.to_string().contains("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store in directory `path`, readable by its owner only. A store
    /// written by a newer schema version is refused with [`StoreError::NewerSchema`].
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Store> {
        let path = path.as_ref().to_path_buf();
        create_private_dir(&path)?;
        let db = open_waiting_for_lock(&path)
            .with_context(|| format!("opening the case store at {}", path.display()))?;
        let tree = |name: &str| {
            db.open_tree(name).with_context(|| {
                format!(
                    "opening tree `{name}` of the case store at {}",
                    path.display()
                )
            })
        };
        let store = Store {
            meta: tree("meta")?,
            cases: tree("cases")?,
            messages: tree("messages")?,
            blobs: tree("blobs")?,
            message_ids: tree("message_ids")?,
            uids: tree("uids")?,
            outbox: tree("outbox")?,
            quarantine: tree("quarantine")?,
            cursors: tree("cursors")?,
            db,
            path,
        };
        store.check_schema()?;
        store.restrict_files()?;
        Ok(store)
    }

    fn check_schema(&self) -> anyhow::Result<()> {
        let path = self.path.display().to_string();
        match self
            .meta
            .get(SCHEMA_KEY)
            .context("reading the store's schema version")?
        {
            None => {
                self.meta
                    .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())
                    .context("writing the store's schema version")?;
                self.flush()?;
                Ok(())
            }
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::BadSchemaRecord { path: path.clone() })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        path,
                        found,
                        supported: SCHEMA_VERSION,
                    }
                    .into());
                }
                // Version 1 is the first; older versions would be migrated here.
                Ok(())
            }
        }
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the store.
    pub fn schema_version(&self) -> anyhow::Result<Option<u32>> {
        let bytes = self
            .meta
            .get(SCHEMA_KEY)
            .context("reading the store's schema version")?;
        Ok(bytes
            .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
            .map(u32::from_be_bytes))
    }

    /// Makes every write so far durable (as far as sled can: see spacejam/sled#1452).
    pub fn flush(&self) -> anyhow::Result<()> {
        self.db
            .flush()
            .with_context(|| format!("flushing the case store at {}", self.path.display()))?;
        Ok(())
    }

    /// Creates a case with its first message and its outbox entry in one transaction, with the next
    /// reference for its prefix and year; or, if the message is already stored, returns where.
    pub fn create_case(&self, new: &NewCase) -> anyhow::Result<Stored> {
        check_prefix(&new.prefix)?;
        self.in_transaction(|tx| tx.create_case(new))
    }

    /// Adds a message to a case and, if `event` is given, applies it through the case's lifecycle, in one
    /// transaction. A move the lifecycle refuses is recorded in the history, not an error. A message
    /// already stored is not added again.
    pub fn add_message(
        &self,
        reference: &str,
        message: &NewMessage,
        event: Option<(Event, &Policy)>,
        on: NaiveDate,
    ) -> anyhow::Result<Added> {
        self.in_transaction(|tx| tx.add_message(reference, message, event, on))
    }

    /// Writes a batch (new cases, replies, quarantine records), in order, in transactions of up to
    /// [`ITEMS_PER_TRANSACTION`] items: each item is written whole or not at all, and an error leaves a
    /// prefix of the batch written, which a retry of the batch finds as duplicates (nothing is marked
    /// on the server before the batch returned Ok and was flushed). A reply may target a case made by an
    /// earlier item of the same batch. Not durable until [`Store::flush`].
    pub fn write_batch(
        &self,
        items: &[BatchItem],
        policy: &Policy,
        on: NaiveDate,
    ) -> anyhow::Result<Vec<BatchResult>> {
        for item in items {
            if let BatchItem::Case(new) = item {
                check_prefix(&new.prefix)?;
            }
        }
        let mut results: Vec<BatchResult> = Vec::with_capacity(items.len());
        for chunk in items.chunks(ITEMS_PER_TRANSACTION) {
            let done = results.as_slice();
            let written = self.in_transaction(|tx| {
                let mut written: Vec<BatchResult> = Vec::with_capacity(chunk.len());
                for item in chunk {
                    let result = match item {
                        BatchItem::Case(new) => BatchResult::Case(tx.create_case(new)?),
                        BatchItem::Quarantine { record, raw } => {
                            BatchResult::Quarantine(tx.put_quarantine(record, raw)?)
                        }
                        BatchItem::Reply {
                            to,
                            message,
                            escalate,
                        } => {
                            let earlier = |index: usize| {
                                done.get(index).or_else(|| {
                                    index
                                        .checked_sub(done.len())
                                        .and_then(|i| written.get(i))
                                })
                            };
                            let reference = match to {
                                ReplyTarget::Case(reference) => reference.clone(),
                                ReplyTarget::Item(index) => match earlier(*index) {
                                    Some(BatchResult::Case(stored))
                                    | Some(BatchResult::Reply(Added { stored, .. })) => {
                                        match stored.locator() {
                                            Locator::Message { case, .. } => case.clone(),
                                            // Only when one UID came twice in a batch, once unreadable: the reply is
                                            // not stored (nor its UID), so a reconcile pass fetches it again.
                                            quarantined @ Locator::Quarantine { .. } => {
                                                let known = Stored::Known(quarantined.clone());
                                                written.push(BatchResult::Reply(Added {
                                                    stored: known,
                                                    transition: None,
                                                }));
                                                continue;
                                            }
                                        }
                                    }
                                    _ => {
                                        return abort(anyhow::anyhow!(
                                            "batch item {index} is not an earlier case of this batch"
                                        ));
                                    }
                                },
                            };
                            let event = escalate.then_some((Event::Escalate, policy));
                            BatchResult::Reply(tx.add_message(&reference, message, event, on)?)
                        }
                    };
                    written.push(result);
                }
                Ok(written)
            })?;
            results.extend(written);
        }
        Ok(results)
    }

    /// Runs `f` in one transaction over every tree that cases, messages and quarantine live in.
    fn in_transaction<T>(&self, f: impl Fn(&Tx<'_>) -> TxResult<T>) -> anyhow::Result<T> {
        (
            &self.meta,
            &self.cases,
            &self.messages,
            &self.blobs,
            &self.message_ids,
            &self.uids,
            &self.outbox,
            &self.quarantine,
        )
            .transaction(
                |(meta, cases, messages, blobs, message_ids, uids, outbox, quarantine)| {
                    f(&Tx {
                        meta,
                        cases,
                        messages,
                        blobs,
                        message_ids,
                        uids,
                        outbox,
                        quarantine,
                    })
                },
            )
            .map_err(tx_error)
    }

    /// Applies a lifecycle event to a case (staff actions, the sender's acknowledgement). The outer error
    /// is the store's; the inner one the lifecycle's refusal, which changes nothing.
    pub fn apply_event(
        &self,
        reference: &str,
        event: Event,
        policy: &Policy,
        on: NaiveDate,
        note: &str,
    ) -> anyhow::Result<Result<CaseState, TransitionError>> {
        self.cases
            .transaction(|cases| {
                let Some(bytes) = cases.get(reference.as_bytes())? else {
                    return abort(anyhow::anyhow!("there is no case `{reference}`"));
                };
                let mut case: CaseRecord = from_json(&bytes, "a case").or_else(abort)?;
                let result = case.state.apply(event, policy);
                if let Ok(next) = &result {
                    case.state = next.clone();
                    case.history.push(HistoryEntry {
                        on,
                        event: Some(event),
                        message: None,
                        note: note.to_string(),
                        at: None,
                        by: None,
                    });
                    cases.insert(reference.as_bytes(), to_json(&case)?)?;
                }
                Ok(result)
            })
            .map_err(tx_error)
    }

    /// A case by reference.
    pub fn case(&self, reference: &str) -> anyhow::Result<Option<CaseRecord>> {
        let bytes = self
            .cases
            .get(reference.as_bytes())
            .context("reading a case")?;
        bytes.map(|b| from_json(&b, "a case")).transpose()
    }

    /// Every case, by reference.
    pub fn cases(&self) -> anyhow::Result<Vec<CaseRecord>> {
        self.cases
            .iter()
            .values()
            .map(|v| {
                v.context("reading cases")
                    .and_then(|b| from_json(&b, "a case"))
            })
            .collect()
    }

    /// The number of cases.
    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// A message by key.
    pub fn message(&self, key: &str) -> anyhow::Result<Option<MessageRecord>> {
        let bytes = self
            .messages
            .get(key.as_bytes())
            .context("reading a message")?;
        bytes.map(|b| from_json(&b, "a message")).transpose()
    }

    /// A case's messages, oldest first.
    pub fn case_messages(&self, reference: &str) -> anyhow::Result<Vec<MessageRecord>> {
        let prefix = format!("{reference}/");
        self.messages
            .scan_prefix(prefix.as_bytes())
            .values()
            .map(|v| {
                v.context("reading messages")
                    .and_then(|b| from_json(&b, "a message"))
            })
            .collect()
    }

    /// A kept attachment's content.
    pub fn attachment(&self, message_key: &str, index: usize) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .blobs
            .get(attachment_key(message_key, index))
            .context("reading an attachment")?
            .map(|b| b.to_vec()))
    }

    /// The keys of the stored messages with this Message-ID (several when different messages share it).
    pub fn find_message_id(&self, message_id: &str) -> anyhow::Result<Vec<String>> {
        let prefix = message_id_key(message_id, "");
        self.message_ids
            .scan_prefix(&prefix)
            .values()
            .map(|v| {
                v.context("reading the Message-ID index")
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            })
            .collect()
    }

    /// Where the message with this IMAP identity went, if it is stored.
    pub fn locate(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        uid: u32,
    ) -> anyhow::Result<Option<Locator>> {
        let bytes = self
            .uids
            .get(uid_key(mailbox, uidvalidity, uid))
            .context("reading the UID index")?;
        bytes
            .map(|b| from_json(&b, "a message locator"))
            .transpose()
    }

    /// Every outbox entry, by reference.
    pub fn outbox(&self) -> anyhow::Result<Vec<OutboxEntry>> {
        self.outbox
            .iter()
            .values()
            .map(|v| {
                v.context("reading the outbox")
                    .and_then(|b| from_json(&b, "an outbox entry"))
            })
            .collect()
    }

    /// One case's outbox entry.
    pub fn outbox_entry(&self, reference: &str) -> anyhow::Result<Option<OutboxEntry>> {
        let bytes = self
            .outbox
            .get(reference.as_bytes())
            .context("reading the outbox")?;
        bytes.map(|b| from_json(&b, "an outbox entry")).transpose()
    }

    /// Sets an outbox entry's status (sent, suppressed). Not durable until [`Store::flush`].
    pub fn set_outbox_status(&self, reference: &str, status: OutboxStatus) -> anyhow::Result<()> {
        self.outbox
            .transaction(|outbox| {
                replace_outbox_status(outbox, reference, &status)?;
                Ok(())
            })
            .map_err(tx_error)
    }

    /// Quarantines a raw message with its reason (the record's `id` is assigned here); or, if a message
    /// with the same IMAP identity is already stored, returns where.
    pub fn put_quarantine(&self, record: &QuarantineRecord, raw: &[u8]) -> anyhow::Result<Stored> {
        self.in_transaction(|tx| tx.put_quarantine(record, raw))
    }

    /// Every quarantine record, oldest first.
    pub fn quarantined(&self) -> anyhow::Result<Vec<QuarantineRecord>> {
        self.quarantine
            .iter()
            .values()
            .map(|v| {
                v.context("reading quarantine")
                    .and_then(|b| from_json(&b, "a quarantine record"))
            })
            .collect()
    }

    /// A quarantine record and the raw message.
    pub fn quarantine(&self, id: &str) -> anyhow::Result<Option<(QuarantineRecord, Vec<u8>)>> {
        let Some(bytes) = self
            .quarantine
            .get(id.as_bytes())
            .context("reading quarantine")?
        else {
            return Ok(None);
        };
        let record = from_json(&bytes, "a quarantine record")?;
        let raw = self
            .blobs
            .get(raw_key(id))
            .context("reading a quarantined message")?
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Some((record, raw)))
    }

    /// A mailbox's cursor.
    pub fn cursor(&self, mailbox: &str) -> anyhow::Result<Option<Cursor>> {
        let bytes = self
            .cursors
            .get(mailbox.as_bytes())
            .context("reading a mailbox cursor")?;
        Ok(bytes
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(|b| {
                let [a, b2, c, d, e, f, g, h] = b;
                Cursor {
                    uidvalidity: u32::from_be_bytes([a, b2, c, d]),
                    last_uid: u32::from_be_bytes([e, f, g, h]),
                }
            }))
    }

    /// Sets a mailbox's cursor. Not durable until [`Store::flush`].
    pub fn set_cursor(&self, mailbox: &str, cursor: Cursor) -> anyhow::Result<()> {
        let mut bytes = [0u8; 8];
        let (a, b) = bytes.split_at_mut(4);
        a.copy_from_slice(&cursor.uidvalidity.to_be_bytes());
        b.copy_from_slice(&cursor.last_uid.to_be_bytes());
        self.cursors
            .insert(mailbox.as_bytes(), &bytes)
            .context("writing a mailbox cursor")?;
        Ok(())
    }
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating the store directory {}", path.display()))?;
    // An existing directory may have been made by hand with wider permissions: cases hold personal data.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private to its owner", path.display()))
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path)
        .with_context(|| format!("creating the store directory {}", path.display()))
}

// ---- acknowledgements ----

/// The sled tree of acknowledgements handed to SMTP, per recipient: `<address, lower case>\0<reference>`
/// -> RFC 3339 time of the first attempt. The sender's rate limit counts it.
const ACK_LOG_TREE: &str = "ack_log";

fn ack_log_key(recipient: &str, reference: &str) -> Vec<u8> {
    let mut key = recipient.to_lowercase().into_bytes();
    key.push(0);
    key.extend_from_slice(reference.as_bytes());
    key
}

impl Store {
    /// A subscription to every write of the outbox (the sender wakes on new entries with it). Writers
    /// block once 1,024 events are unread: the subscriber must be drained continuously.
    pub fn watch_outbox(&self) -> sled::Subscriber {
        self.outbox.watch_prefix(Vec::new())
    }

    /// Marks an entry as being sent (a [`OutboxStatus::Sending`]) and logs the acknowledgement against
    /// its recipient for the rate limit, in one transaction. Not durable until [`Store::flush`].
    pub fn begin_sending(
        &self,
        reference: &str,
        recipient: &str,
        status: &OutboxStatus,
        at: DateTime<FixedOffset>,
    ) -> anyhow::Result<()> {
        let log = self
            .db
            .open_tree(ACK_LOG_TREE)
            .context("opening the acknowledgement log")?;
        let key = ack_log_key(recipient, reference);
        (&self.outbox, &log)
            .transaction(|(outbox, log)| {
                replace_outbox_status(outbox, reference, status)?;
                if log.get(&key)?.is_none() {
                    log.insert(key.clone(), at.to_rfc3339().as_bytes())?;
                }
                Ok(())
            })
            .map_err(tx_error)
    }

    /// Sets an outbox entry's status and notes `note` in its case's history (by mailbot), in one
    /// transaction: what admins must see on the case (a refusal for good, a suppression at send time).
    /// Not durable until [`Store::flush`].
    pub fn set_outbox_status_noted(
        &self,
        reference: &str,
        status: &OutboxStatus,
        note: &str,
        at: DateTime<FixedOffset>,
    ) -> anyhow::Result<()> {
        (&self.outbox, &self.cases)
            .transaction(|(outbox, cases)| {
                replace_outbox_status(outbox, reference, status)?;
                if let Some(bytes) = cases.get(reference.as_bytes())? {
                    let mut case: CaseRecord = from_json(&bytes, "a case").or_else(abort)?;
                    case.history.push(HistoryEntry {
                        on: at.date_naive(),
                        event: None,
                        message: None,
                        note: note.to_string(),
                        at: Some(at),
                        by: None,
                    });
                    cases.insert(reference.as_bytes(), to_json(&case)?)?;
                }
                Ok(())
            })
            .map_err(tx_error)
    }

    /// How many acknowledgements (other than `except`'s) went to `recipient` (any case) at or after
    /// `since`.
    pub fn acknowledgements_to(
        &self,
        recipient: &str,
        since: DateTime<FixedOffset>,
        except: &str,
    ) -> anyhow::Result<usize> {
        let log = self
            .db
            .open_tree(ACK_LOG_TREE)
            .context("opening the acknowledgement log")?;
        let prefix = ack_log_key(recipient, "");
        let mut count = 0;
        for item in log.scan_prefix(&prefix) {
            let (key, value) = item.context("reading the acknowledgement log")?;
            if key.get(prefix.len()..) == Some(except.as_bytes()) {
                continue;
            }
            let at = std::str::from_utf8(&value)
                .ok()
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
            if at.is_some_and(|at| at >= since) {
                count += 1;
            }
        }
        Ok(count)
    }
}

/// The sled tree of the day each mailbox's digest was last sent: mailbox name -> `YYYY-MM-DD`.
const DIGEST_TREE: &str = "digests";

impl Store {
    /// The day `mailbox`'s digest was last sent.
    pub fn last_digest(&self, mailbox: &str) -> anyhow::Result<Option<NaiveDate>> {
        let tree = self
            .db
            .open_tree(DIGEST_TREE)
            .context("opening the digest log")?;
        let value = tree
            .get(mailbox.as_bytes())
            .context("reading the digest log")?;
        Ok(value.and_then(|v| {
            std::str::from_utf8(&v)
                .ok()
                .and_then(|text| text.parse::<NaiveDate>().ok())
        }))
    }

    /// Records that `mailbox`'s digest for `day` was sent. Not durable until [`Store::flush`].
    pub fn set_last_digest(&self, mailbox: &str, day: NaiveDate) -> anyhow::Result<()> {
        let tree = self
            .db
            .open_tree(DIGEST_TREE)
            .context("opening the digest log")?;
        tree.insert(mailbox.as_bytes(), day.to_string().as_bytes())
            .context("writing the digest log")?;
        Ok(())
    }
}

// ---- reporting and data protection ----

/// What a removal took out of the store (records that existed; absent keys are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// Cases.
    pub cases: usize,
    /// Messages of those cases.
    pub messages: usize,
    /// Kept attachment contents and quarantined raw messages.
    pub blobs: usize,
    /// Entries of the Message-ID and UID indexes.
    pub index_entries: usize,
    /// Outbox entries.
    pub outbox_entries: usize,
    /// Equalities records.
    pub equalities: usize,
    /// Quarantine records.
    pub quarantined: usize,
    /// Messages in other cases rewritten without what identified the person.
    pub redacted_messages: usize,
}

/// Why data was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum AuditAction {
    /// Retention: cases closed before a day.
    Purge {
        /// The cut-off day.
        closed_before: NaiveDate,
        /// The cases removed.
        references: Vec<String>,
    },
    /// Erasure at a person's request.
    Erase {
        /// SHA-256 of the address, lowercased (hex): the address itself is not kept.
        subject_sha256: String,
    },
}

/// One entry of the store's audit log of removals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When.
    pub at: DateTime<FixedOffset>,
    /// Who ran it.
    pub by: String,
    /// What and why.
    #[serde(flatten)]
    pub action: AuditAction,
    /// How much went.
    pub removed: Removed,
}

/// What to remove in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Removal {
    /// Cases, removed with their messages, attachments, index entries, outbox entry and equalities.
    pub cases: Vec<String>,
    /// Messages of other cases to rewrite as given (redacted): the record is stored as it is, and the
    /// kept contents of attachments it no longer lists are removed.
    pub rewrite: Vec<MessageRecord>,
    /// Quarantine records, removed with their raw message and index entries.
    pub quarantine: Vec<String>,
}

/// The keys a [`Removal`] touches, gathered before its transaction.
#[derive(Default)]
struct RemovalKeys {
    /// Reference and the number of messages the case had when planned.
    cases: Vec<(String, usize)>,
    messages: Vec<Vec<u8>>,
    blobs: Vec<Vec<u8>>,
    message_ids: Vec<Vec<u8>>,
    uids: Vec<Vec<u8>>,
    redacted: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Store {
    fn equalities_tree(&self) -> anyhow::Result<Tree> {
        self.db
            .open_tree("equalities")
            .context("opening the equalities tree of the case store")
    }

    fn audit_tree(&self) -> anyhow::Result<Tree> {
        self.db
            .open_tree("audit")
            .context("opening the audit tree of the case store")
    }

    /// Stores a case's equalities monitoring data (as a form sent it), apart from the case record: it is
    /// never part of [`CaseRecord`] and is left out of case views and exports unless asked for. Not
    /// durable until [`Store::flush`].
    pub fn put_equalities(&self, reference: &str, data: &serde_json::Value) -> anyhow::Result<()> {
        if self.case(reference)?.is_none() {
            anyhow::bail!("there is no case `{reference}` to attach equalities data to");
        }
        let bytes = serde_json::to_vec(data).context("encoding equalities data")?;
        self.equalities_tree()?
            .insert(reference.as_bytes(), bytes)
            .context("writing equalities data")?;
        Ok(())
    }

    /// A case's equalities monitoring data, if any was given.
    pub fn equalities(&self, reference: &str) -> anyhow::Result<Option<serde_json::Value>> {
        let bytes = self
            .equalities_tree()?
            .get(reference.as_bytes())
            .context("reading equalities data")?;
        bytes.map(|b| from_json(&b, "equalities data")).transpose()
    }

    /// The audit log of removals (purges, erasures), oldest first.
    pub fn audit_log(&self) -> anyhow::Result<Vec<AuditRecord>> {
        self.audit_tree()?
            .iter()
            .values()
            .map(|v| {
                v.context("reading the audit log")
                    .and_then(|b| from_json(&b, "an audit record"))
            })
            .collect()
    }

    /// Removes cases (with everything stored for them), rewrites messages and removes quarantine
    /// records, in ONE transaction with the audit record of it, then flushes. Index entries go too, so a
    /// removed message fetched again is new to the store. A case that gained a message since this call
    /// began is not half-removed: the whole removal fails and can be run again.
    pub fn remove(
        &self,
        removal: &Removal,
        at: DateTime<FixedOffset>,
        by: &str,
        action: AuditAction,
    ) -> anyhow::Result<Removed> {
        let keys = self.removal_keys(removal)?;
        let equalities = self.equalities_tree()?;
        let audit = self.audit_tree()?;
        let audit_key = self
            .db
            .generate_id()
            .context("numbering an audit record")?
            .to_be_bytes();
        let removed = (
            &self.cases,
            &self.messages,
            &self.blobs,
            &self.message_ids,
            &self.uids,
            &self.outbox,
            &self.quarantine,
            &equalities,
            &audit,
        )
            .transaction(
                |(cases, messages, blobs, message_ids, uids, outbox, quarantine, equalities, audit)| {
                    let mut removed = Removed::default();
                    let count = |found: Option<sled::IVec>| usize::from(found.is_some());
                    for (reference, planned) in &keys.cases {
                        let Some(bytes) = cases.remove(reference.as_bytes())? else {
                            continue;
                        };
                        let case: CaseRecord = from_json(&bytes, "a case").or_else(abort)?;
                        if case.messages.len() != *planned {
                            return abort(anyhow::anyhow!(
                                "case `{reference}` changed while it was being removed: run it again"
                            ));
                        }
                        removed.cases += 1;
                        removed.outbox_entries += count(outbox.remove(reference.as_bytes())?);
                        removed.equalities += count(equalities.remove(reference.as_bytes())?);
                    }
                    for key in &keys.messages {
                        removed.messages += count(messages.remove(key.as_slice())?);
                    }
                    for key in &keys.blobs {
                        removed.blobs += count(blobs.remove(key.as_slice())?);
                    }
                    for key in &keys.message_ids {
                        removed.index_entries += count(message_ids.remove(key.as_slice())?);
                    }
                    for key in &keys.uids {
                        removed.index_entries += count(uids.remove(key.as_slice())?);
                    }
                    for id in &removal.quarantine {
                        removed.quarantined += count(quarantine.remove(id.as_bytes())?);
                    }
                    for (key, record) in &keys.redacted {
                        messages.insert(key.as_slice(), record.as_slice())?;
                        removed.redacted_messages += 1;
                    }
                    let record = AuditRecord {
                        at,
                        by: by.to_string(),
                        action: action.clone(),
                        removed,
                    };
                    audit.insert(&audit_key, to_json(&record)?)?;
                    Ok(removed)
                },
            )
            .map_err(tx_error)?;
        self.flush()?;
        Ok(removed)
    }

    /// Every key a removal touches: read before the transaction, which cannot scan.
    fn removal_keys(&self, removal: &Removal) -> anyhow::Result<RemovalKeys> {
        let mut keys = RemovalKeys::default();
        for reference in &removal.cases {
            let Some(case) = self.case(reference)? else {
                anyhow::bail!("there is no case `{reference}` to remove");
            };
            for record in self.case_messages(reference)? {
                keys.messages.push(record.key.clone().into_bytes());
                keys.blobs.extend(attachment_keys(&record));
                if let Some(id) = &record.message.message_id {
                    keys.message_ids
                        .push(message_id_key(id, &record.message.content_hash));
                }
            }
            keys.cases.push((reference.clone(), case.messages.len()));
        }
        for new in &removal.rewrite {
            let Some(old) = self.message(&new.key)? else {
                anyhow::bail!("there is no message `{}` to rewrite", new.key);
            };
            keys.blobs
                .extend(attachment_keys(&old).skip(new.message.attachments.len()));
            keys.redacted.push((
                new.key.clone().into_bytes(),
                serde_json::to_vec(new).context("encoding a redacted message")?,
            ));
        }
        keys.blobs
            .extend(removal.quarantine.iter().map(|id| raw_key(id)));
        // The UID index points at cases and quarantine records; copies found by Message-ID have entries
        // of their own that no message record names, so scan it.
        for entry in self.uids.iter() {
            let (key, value) = entry.context("reading the UID index")?;
            let locator: Locator = from_json(&value, "a message locator")?;
            let gone = match &locator {
                Locator::Message { case, .. } => removal.cases.contains(case),
                Locator::Quarantine { id } => removal.quarantine.contains(id),
            };
            if gone {
                keys.uids.push(key.to_vec());
            }
        }
        Ok(keys)
    }

    /// Makes the files sled created in the store directory readable by the owner only (the directory
    /// itself already is): sled creates them with the process's umask.
    #[cfg(unix)]
    fn restrict_files(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mut pending = vec![self.path.clone()];
        while let Some(dir) = pending.pop() {
            let entries =
                std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
                let kind = entry
                    .file_type()
                    .with_context(|| format!("listing {}", dir.display()))?;
                let path = entry.path();
                // A symlink is left alone: changing its mode would change its target's.
                let mode = if kind.is_symlink() {
                    continue;
                } else if kind.is_dir() {
                    pending.push(path.clone());
                    0o700
                } else {
                    0o600
                };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .with_context(|| format!("making {} private to its owner", path.display()))?;
            }
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn restrict_files(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

fn attachment_keys(record: &MessageRecord) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..record.message.attachments.len()).map(|i| attachment_key(&record.key, i))
}

// ---- backup and restore ----

/// The name of the backup format in a backup's first line.
const BACKUP_FORMAT: &str = "feedback-desk-store-backup";
/// The version of the backup format (not of the store's schema, which the header also names).
const BACKUP_FORMAT_VERSION: u32 = 1;

/// One line of a backup: a header first, a record per stored entry, an end line last (a backup without
/// it was cut short).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
enum BackupLine {
    Header {
        format: String,
        format_version: u32,
        /// The store's schema version: a restore into an older mailbot is refused.
        schema_version: Option<u32>,
        created: DateTime<FixedOffset>,
        mailbot_version: String,
    },
    Record {
        tree: String,
        /// base64 of the key bytes.
        key: String,
        /// base64 of the value bytes.
        value: String,
    },
    End {
        records: u64,
    },
}

/// What [`read_backup`] does with each record: `(tree, key, value)`.
type RecordSink<'a> = &'a mut dyn FnMut(&str, Vec<u8>, Vec<u8>) -> anyhow::Result<()>;

fn base64_decode(text: &str, line: usize) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .with_context(|| format!("line {line}: bad base64"))
}

/// Reads a backup file's records after checking it whole: the header, every line, the end line and its
/// count. `each` gets `(tree, key, value)`; `None` just validates. Returns the number of records.
fn read_backup(file: &Path, mut each: Option<RecordSink<'_>>) -> anyhow::Result<u64> {
    use std::io::BufRead as _;
    let reader = std::io::BufReader::new(
        std::fs::File::open(file)
            .with_context(|| format!("opening the backup {}", file.display()))?,
    );
    let mut records = 0u64;
    let mut ended = false;
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("reading the backup {}", file.display()))?;
        if ended {
            anyhow::bail!("line {number}: text after the end line: the backup is damaged");
        }
        let parsed: BackupLine = serde_json::from_str(&line)
            .with_context(|| format!("line {number} of the backup {}", file.display()))?;
        match parsed {
            BackupLine::Header {
                format,
                format_version,
                schema_version,
                ..
            } => {
                if number != 1 || format != BACKUP_FORMAT {
                    anyhow::bail!("line {number}: not a Feedback Desk store backup header");
                }
                if format_version != BACKUP_FORMAT_VERSION {
                    anyhow::bail!(
                        "backup format version {format_version} is not supported (this mailbot reads {BACKUP_FORMAT_VERSION})"
                    );
                }
                if let Some(found) = schema_version.filter(|&v| v > SCHEMA_VERSION) {
                    anyhow::bail!(
                        "the backup holds store schema {found}, newer than this mailbot's {SCHEMA_VERSION}: restore it with a newer mailbot"
                    );
                }
            }
            _ if number == 1 => {
                anyhow::bail!("{} does not start with a backup header", file.display())
            }
            BackupLine::Record { tree, key, value } => {
                let key = base64_decode(&key, number)?;
                let value = base64_decode(&value, number)?;
                if let Some(each) = each.as_mut() {
                    each(&tree, key, value)?;
                }
                records += 1;
            }
            BackupLine::End { records: expected } => {
                if expected != records {
                    anyhow::bail!(
                        "the backup's end line counts {expected} records but it holds {records}"
                    );
                }
                ended = true;
            }
        }
    }
    if !ended {
        anyhow::bail!(
            "{} has no end line: the backup was cut short",
            file.display()
        );
    }
    Ok(records)
}

impl Store {
    /// The store's trees by name, sorted (every tree sled holds, not only the ones this build opens).
    fn all_trees(&self) -> anyhow::Result<Vec<(String, Tree)>> {
        let mut names: Vec<String> = self
            .db
            .tree_names()
            .iter()
            .map(|name| String::from_utf8(name.to_vec()))
            .collect::<Result<_, _>>()
            .context("a tree of the store has a name that is not UTF-8")?;
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let tree = self
                    .db
                    .open_tree(&name)
                    .with_context(|| format!("opening tree `{name}`"))?;
                Ok((name, tree))
            })
            .collect()
    }

    /// Writes every entry of every tree to `out` as JSON lines (a header naming the schema version, one
    /// line per entry with base64 key and value, an end line with the count). The store is consistent
    /// while this runs because a process holding it open holds it alone. Returns the number of entries.
    pub fn backup(&self, out: impl std::io::Write) -> anyhow::Result<u64> {
        use base64::Engine as _;
        use std::io::Write as _;
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut out = std::io::BufWriter::new(out);
        let mut line = |value: &BackupLine| -> anyhow::Result<()> {
            serde_json::to_writer(&mut out, value).context("writing the backup")?;
            out.write_all(b"\n").context("writing the backup")
        };
        line(&BackupLine::Header {
            format: BACKUP_FORMAT.into(),
            format_version: BACKUP_FORMAT_VERSION,
            schema_version: self.schema_version()?,
            created: chrono::Local::now().fixed_offset(),
            mailbot_version: env!("CARGO_PKG_VERSION").into(),
        })?;
        let mut records = 0u64;
        for (name, tree) in self.all_trees()? {
            for entry in tree.iter() {
                let (key, value) =
                    entry.with_context(|| format!("reading tree `{name}` of the store"))?;
                line(&BackupLine::Record {
                    tree: name.clone(),
                    key: engine.encode(&key),
                    value: engine.encode(&value),
                })?;
                records += 1;
            }
        }
        line(&BackupLine::End { records })?;
        out.flush().context("writing the backup")?;
        Ok(records)
    }

    /// Whether the store holds anything besides its schema version.
    pub fn is_empty(&self) -> anyhow::Result<bool> {
        for (name, tree) in self.all_trees()? {
            for entry in tree.iter() {
                let (key, _) = entry.with_context(|| format!("reading tree `{name}`"))?;
                if !(name == "meta" && key.as_ref() == SCHEMA_KEY) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Loads the backup `file` into the store at `path` (created if missing). The whole file is checked
    /// before anything is written. A store that holds anything is refused unless `force`, which empties it
    /// first. The store is then opened again, so its schema check (and any migration) runs. Returns the
    /// number of entries restored.
    pub fn restore(path: impl AsRef<Path>, file: &Path, force: bool) -> anyhow::Result<u64> {
        let path = path.as_ref();
        read_backup(file, None)?;
        let store = Store::open(path)?;
        if !store.is_empty()? {
            if !force {
                anyhow::bail!(
                    "the store at {} is not empty: restore into an empty store, or give --force to replace what it holds",
                    path.display()
                );
            }
            for (name, tree) in store.all_trees()? {
                tree.clear()
                    .with_context(|| format!("emptying tree `{name}`"))?;
            }
        }
        let db = store.db.clone();
        let mut insert = |tree: &str, key: Vec<u8>, value: Vec<u8>| -> anyhow::Result<()> {
            db.open_tree(tree)
                .and_then(|t| t.insert(key, value))
                .with_context(|| format!("writing tree `{tree}` of the store"))?;
            Ok(())
        };
        let records = read_backup(file, Some(&mut insert))?;
        store.flush()?;
        drop(store);
        drop(db);
        Store::open(path)?;
        Ok(records)
    }
}

// ---- admin console: staff changes to cases, cases from other channels, quarantine retry ----

impl Store {
    /// Changes a case in one transaction: `change` gets the stored record and edits it (or refuses with
    /// an error, which changes nothing). Returns the case as written. Not durable until [`Store::flush`].
    pub fn update_case(
        &self,
        reference: &str,
        change: impl Fn(&mut CaseRecord) -> anyhow::Result<()>,
    ) -> anyhow::Result<CaseRecord> {
        self.cases
            .transaction(|cases| {
                let Some(bytes) = cases.get(reference.as_bytes())? else {
                    return abort(anyhow::anyhow!("there is no case `{reference}`"));
                };
                let mut case: CaseRecord = from_json(&bytes, "a case").or_else(abort)?;
                change(&mut case).or_else(abort)?;
                cases.insert(reference.as_bytes(), to_json(&case)?)?;
                Ok(case)
            })
            .map_err(tx_error)
    }

    /// Applies a staff member's lifecycle action, recording who and when in the history. The outer error
    /// is the store's; the inner one the lifecycle's refusal, which changes nothing.
    pub fn apply_staff_event(
        &self,
        reference: &str,
        event: Event,
        policy: &Policy,
        at: DateTime<FixedOffset>,
        by: &str,
    ) -> anyhow::Result<Result<CaseState, TransitionError>> {
        let result = self.update_case(reference, |case| {
            let next = case.state.apply(event, policy)?;
            case.history.push(HistoryEntry {
                on: at.date_naive(),
                event: Some(event),
                message: None,
                note: format!("moved to `{}` ({:?})", next.stage_id(policy), next.status)
                    .to_lowercase(),
                at: Some(at),
                by: Some(by.to_string()),
            });
            case.state = next;
            Ok(())
        });
        match result {
            Ok(case) => Ok(Ok(case.state)),
            // The lifecycle's refusal travels out of the transaction as the error; tell it apart.
            Err(err) => err.downcast::<TransitionError>().map(Err),
        }
    }

    /// Creates a case that did not come over IMAP (a phone call, a letter, a web form): no IMAP source,
    /// and the outbox entry `new.outbox_status` says (Suppressed when staff acknowledge it themselves).
    pub fn create_recorded_case(&self, new: &NewCase) -> anyhow::Result<String> {
        if new.message.record.source.is_some() {
            anyhow::bail!("a recorded case has no IMAP source: ingest mail through the mailbox");
        }
        match self.create_case(new)? {
            Stored::New(locator) | Stored::Known(locator) => Ok(locator.id().to_string()),
        }
    }

    /// Makes a quarantined message's IMAP identity unknown again, so that ingestion can take it afresh;
    /// the record and raw bytes stay until [`Store::remove_quarantine`]. Not durable until [`Store::flush`].
    pub fn release_quarantine_identity(&self, id: &str) -> anyhow::Result<()> {
        let Some((record, _)) = self.quarantine(id)? else {
            anyhow::bail!("there is no quarantined message `{id}`");
        };
        if let Some(source) = &record.source {
            let key = uid_key(&source.mailbox, source.uidvalidity, source.uid);
            let points_here = self
                .uids
                .get(&key)
                .context("reading the UID index")?
                .map(|b| from_json::<Locator>(&b, "a message locator"))
                .transpose()?
                .is_some_and(|locator| locator.id() == id);
            if points_here {
                self.uids.remove(key).context("writing the UID index")?;
            }
        }
        Ok(())
    }

    /// Removes a quarantine record and its raw message (after a retry made it a case). Not durable until
    /// [`Store::flush`].
    pub fn remove_quarantine(&self, id: &str) -> anyhow::Result<()> {
        (&self.quarantine, &self.blobs)
            .transaction(|(quarantine, blobs)| {
                quarantine.remove(id.as_bytes())?;
                blobs.remove(raw_key(id))?;
                Ok(())
            })
            .map_err(tx_error)
    }
}

/// Inside a transaction: sets the status of a case's outbox entry (an error if it has none).
fn replace_outbox_status(
    outbox: &TransactionalTree,
    reference: &str,
    status: &OutboxStatus,
) -> TxResult<()> {
    let Some(bytes) = outbox.get(reference.as_bytes())? else {
        return abort(anyhow::anyhow!(
            "there is no outbox entry for case `{reference}`"
        ));
    };
    let mut entry: OutboxEntry = from_json(&bytes, "an outbox entry").or_else(abort)?;
    entry.status = status.clone();
    outbox.insert(reference.as_bytes(), to_json(&entry)?)?;
    Ok(())
}

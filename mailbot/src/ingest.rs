//! A batch of fetched messages to cases: parse, assess, match replies, detect duplicates, quarantine
//! what cannot be read, and make it all durable with one flush.
//!
//! The IMAP side calls [`Ingestor::ingest_batch`] with what it fetched and flags or moves those messages
//! on the server only after it returns `Ok`: by then every outcome it reports is durable. A store error
//! fails the whole batch (nothing is flagged, the batch is fetched again and deduplicated); a message
//! that cannot be parsed or assessed never fails the batch, it goes to quarantine.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate};
use feedback_core::lexicon::Signal;
use feedback_core::{CaseState, Channel, FormAnswers, Policy, Submission, assess};

use crate::parse::{self, ParseError, ParsedMessage};
use crate::store::{
    self, BatchItem, BatchResult, MessageRecord, MessageSource, NewCase, NewMessage, OutboxStatus,
    QuarantineRecord, ReplyTarget, Stored,
};

/// The most text given to the classifier; longer bodies are stored whole but assessed on their start
/// (what a resident writes about comes first, and the assessment stays fast on a 30 MB paste).
pub const MAX_ASSESSED_TEXT: usize = 256 * 1024;

/// Phrases that ask for escalation, besides the policy's own `escalation` cues (a council's cue file may
/// leave them out; these are the ones the issue names).
const ESCALATION_PHRASES: &[&str] = &[
    " escalate ",
    " escalated ",
    " escalation ",
    " stage 2 ",
    " stage two ",
    " not satisfied with your response ",
];

/// A message as fetched from a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The mailbox it came from (the configuration's name for it).
    pub mailbox: String,
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The message's UID.
    pub uid: u32,
    /// The raw RFC 5322 bytes.
    pub bytes: Vec<u8>,
    /// The server's INTERNALDATE: the time of receipt the deadlines run from.
    pub internal_date: Option<DateTime<FixedOffset>>,
    /// The route the mailbox implies: a key of the policy's `mailbox_hints` (`adults`) or a service area
    /// id (`adult_social_care`); the mailbox name when `None`.
    pub route_hint: Option<String>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new case, by reference.
    NewCase(String),
    /// A reply added to an existing case.
    AddedToCase(String),
    /// A reply that escalated its case to the next stage.
    Escalated(String),
    /// Already stored: the case reference or quarantine id it is in.
    Duplicate(String),
    /// Kept raw in quarantine, by quarantine id.
    Quarantined(String),
}

impl Outcome {
    /// The case reference or quarantine id.
    pub fn id(&self) -> &str {
        match self {
            Outcome::NewCase(id)
            | Outcome::AddedToCase(id)
            | Outcome::Escalated(id)
            | Outcome::Duplicate(id)
            | Outcome::Quarantined(id) => id,
        }
    }
}

/// Ingestion settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSettings {
    /// Case reference prefix, letters and digits (`KCC` gives `KCC-2026-000123`).
    pub reference_prefix: String,
    /// A message larger than this is quarantined unparsed.
    pub max_message_bytes: usize,
    /// Attachment contents kept per message, in total; an attachment is kept whole or recorded by name,
    /// type and size only.
    pub max_attachment_bytes_kept: usize,
    /// When set, a new case's acknowledgement is not sent but suppressed with this reason (`imported`:
    /// old mail backfilled with `mailbot import`); `None` (live ingestion) queues it.
    pub suppress_acknowledgements: Option<String>,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            reference_prefix: "KCC".into(),
            max_message_bytes: 50 * 1024 * 1024,
            max_attachment_bytes_kept: 10 * 1024 * 1024,
            suppress_acknowledgements: None,
        }
    }
}

/// Turns fetched messages into cases in a [`store::Store`].
#[derive(Debug)]
pub struct Ingestor {
    store: store::Store,
    policy: Policy,
    settings: IngestSettings,
}

/// A fetched message after the work that needs no store (size check, parse, assessment, escalation
/// check), done for a whole batch in parallel by [`Ingestor::read_batch`]; [`Ingestor::store_batch`]
/// then decides, in order and against the store, what it becomes.
#[derive(Debug)]
pub struct ReadMessage {
    raw: RawMessage,
    read: Read,
}

impl ReadMessage {
    /// The message's UID.
    pub fn uid(&self) -> u32 {
        self.raw.uid
    }
}

#[derive(Debug)]
enum Read {
    /// Unreadable or too large: the quarantine reason.
    Unreadable(String),
    Parsed(Box<Assessed>),
}

#[derive(Debug)]
struct Assessed {
    parsed: ParsedMessage,
    received: Option<DateTime<FixedOffset>>,
    /// The assessment, made before it is known whether the message is a reply (a reply does not use
    /// it); `Err` is the quarantine reason.
    assessment: Result<feedback_core::Assessment, String>,
    /// It could be a reply (a reference in its subject, In-Reply-To or References) and asks to escalate.
    asks_to_escalate: bool,
}

/// A message ready to store, or why it is quarantined.
enum Prepared {
    Reply {
        to: ReplyTarget,
        message: Box<NewMessage>,
        escalate: bool,
    },
    Case(Box<NewCase>),
    Quarantine(String),
}

impl Ingestor {
    /// An ingestor writing to `store`, assessing with `policy`.
    pub fn new(store: store::Store, policy: Policy, settings: IngestSettings) -> Self {
        Ingestor {
            store,
            policy,
            settings,
        }
    }

    /// The store.
    pub fn store(&self) -> &store::Store {
        &self.store
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The settings.
    pub fn settings(&self) -> &IngestSettings {
        &self.settings
    }

    /// Whether the message with this IMAP identity is stored (as a case message or in quarantine).
    pub fn knows(&self, mailbox: &str, uidvalidity: u32, uid: u32) -> anyhow::Result<bool> {
        Ok(self.store.locate(mailbox, uidvalidity, uid)?.is_some())
    }

    /// Parses, assesses and stores a batch; returns only after ONE flush made everything durable. The
    /// outcomes are in the order of `messages`; a reply in the batch can join a case made earlier in the
    /// same batch. The same as [`Ingestor::read_batch`] then [`Ingestor::store_batch`], which a pipeline
    /// runs for different batches at once.
    pub fn ingest_batch(
        &self,
        messages: Vec<RawMessage>,
        today: NaiveDate,
    ) -> anyhow::Result<Vec<Outcome>> {
        let read = self.read_batch(messages, today);
        self.store_batch(read, today)
    }

    /// The part of ingestion that needs no store: checks the size, parses and assesses every message
    /// (guarded against panics). A message that cannot be read is marked for quarantine. Parts of a
    /// batch can be read on different threads and concatenated in order (see [`crate::imap`]).
    pub fn read_batch(&self, messages: Vec<RawMessage>, today: NaiveDate) -> Vec<ReadMessage> {
        messages
            .into_iter()
            .map(|raw| self.read_one(raw, today))
            .collect()
    }

    /// Checks the size, parses and assesses one message.
    fn read_one(&self, raw: RawMessage, today: NaiveDate) -> ReadMessage {
        if raw.bytes.len() > self.settings.max_message_bytes {
            let reason = format!(
                "the message is {} bytes, over the limit of {} bytes",
                raw.bytes.len(),
                self.settings.max_message_bytes
            );
            return ReadMessage {
                raw,
                read: Read::Unreadable(reason),
            };
        }
        let parsed = match parse::parse(&raw.bytes, self.settings.max_attachment_bytes_kept) {
            Ok(parsed) => parsed,
            Err(err) => {
                return ReadMessage {
                    raw,
                    read: Read::Unreadable(format!("cannot be parsed: {err}")),
                };
            }
        };
        let received = raw.internal_date.or_else(|| {
            parsed
                .date
                .filter(|date| plausible(date.date_naive(), today))
        });
        let may_reply = !parsed.in_reply_to.is_empty()
            || !parsed.references.is_empty()
            || parsed
                .subject
                .as_deref()
                .is_some_and(|s| !references_in(s, &self.settings.reference_prefix).is_empty());
        let asks_to_escalate = may_reply
            && parse::guarded(|| Ok(asks_to_escalate(&parsed, &self.policy))).unwrap_or(false);
        let submission = Submission {
            text: truncate(&parsed.text, MAX_ASSESSED_TEXT).to_string(),
            subject: parsed.subject.clone(),
            channel: Some(Channel::Email),
            received,
            form: FormAnswers {
                mailbox: Some(self.mailbox_hint(&raw)),
                ..FormAnswers::default()
            },
        };
        let policy = &self.policy;
        let assessment = match parse::guarded(|| Ok(assess(&submission, policy, today))) {
            Ok(assessment) => Ok(assessment),
            Err(ParseError::Panicked(why)) => Err(format!("the assessment panicked: {why}")),
            Err(err) => Err(format!("cannot be assessed: {err}")),
        };
        ReadMessage {
            raw,
            read: Read::Parsed(Box::new(Assessed {
                parsed,
                received,
                assessment,
                asks_to_escalate,
            })),
        }
    }

    /// The part of ingestion that needs the store, for a batch from [`Ingestor::read_batch`]: drops what
    /// is stored already, finds the cases replies belong to, writes everything ([`store::Store::write_batch`])
    /// and returns only after ONE flush made it durable. Batches must be stored one after another, in
    /// the order they were fetched (a reply may join a case of the previous batch).
    pub fn store_batch(
        &self,
        messages: Vec<ReadMessage>,
        today: NaiveDate,
    ) -> anyhow::Result<Vec<Outcome>> {
        enum Slot {
            Done(Outcome),
            Item(usize),
        }
        let started = std::time::Instant::now();
        let mut slots = Vec::with_capacity(messages.len());
        let mut items: Vec<BatchItem> = Vec::with_capacity(messages.len());
        // The Message-IDs of this batch's messages, for replies to them within the batch.
        let mut threads: HashMap<String, ReplyTarget> = HashMap::new();
        for ReadMessage { raw, read } in messages {
            if let Some(locator) = self.store.locate(&raw.mailbox, raw.uidvalidity, raw.uid)? {
                slots.push(Slot::Done(Outcome::Duplicate(locator.id().to_string())));
                continue;
            }
            let item = match self.prepare(&raw, read, today, &threads)? {
                Prepared::Quarantine(reason) => {
                    tracing::warn!(mailbox = %raw.mailbox, uid = raw.uid, size = raw.bytes.len(), %reason, "message quarantined");
                    let record = QuarantineRecord {
                        id: String::new(),
                        source: Some(source(&raw)),
                        received: raw.internal_date,
                        quarantined_on: today,
                        reason,
                        size: raw.bytes.len(),
                    };
                    BatchItem::Quarantine {
                        record,
                        raw: raw.bytes,
                    }
                }
                Prepared::Case(new) => {
                    if let Some(id) = &new.message.record.message.message_id {
                        threads
                            .entry(id.clone())
                            .or_insert(ReplyTarget::Item(items.len()));
                    }
                    BatchItem::Case(new)
                }
                Prepared::Reply {
                    to,
                    message,
                    escalate,
                } => {
                    if let Some(id) = &message.record.message.message_id {
                        threads.entry(id.clone()).or_insert_with(|| to.clone());
                    }
                    BatchItem::Reply {
                        to,
                        message,
                        escalate,
                    }
                }
            };
            slots.push(Slot::Item(items.len()));
            items.push(item);
        }
        let matched = started.elapsed();
        let results = self.store.write_batch(&items, &self.policy, today)?;
        let written = started.elapsed();
        self.store.flush()?;
        tracing::debug!(
            items = items.len(),
            matched_ms = matched.as_secs_f64() * 1e3,
            write_ms = (written - matched).as_secs_f64() * 1e3,
            flush_ms = (started.elapsed() - written).as_secs_f64() * 1e3,
            "batch stored"
        );
        drop(items);
        let outcomes = slots
            .into_iter()
            .map(|slot| {
                let index = match slot {
                    Slot::Done(outcome) => return Ok(outcome),
                    Slot::Item(index) => index,
                };
                let result = results.get(index).ok_or_else(|| anyhow::anyhow!("the store returned no result for batch item {index}"))?;
                Ok(match result {
                    BatchResult::Case(Stored::New(locator)) => Outcome::NewCase(locator.id().to_string()),
                    BatchResult::Quarantine(Stored::New(locator)) => Outcome::Quarantined(locator.id().to_string()),
                    BatchResult::Case(Stored::Known(locator)) | BatchResult::Quarantine(Stored::Known(locator)) => Outcome::Duplicate(locator.id().to_string()),
                    BatchResult::Reply(added) => {
                        let reference = added.stored.locator().id().to_string();
                        match (&added.stored, &added.transition) {
                            (Stored::Known(_), _) => Outcome::Duplicate(reference),
                            (Stored::New(_), Some(Ok(_))) => Outcome::Escalated(reference),
                            (Stored::New(_), Some(Err(err))) => {
                                tracing::info!(case = %reference, "escalation asked for but not applied: {err}");
                                Outcome::AddedToCase(reference)
                            }
                            (Stored::New(_), None) => Outcome::AddedToCase(reference),
                        }
                    }
                })
            })
            .collect::<anyhow::Result<Vec<Outcome>>>()?;
        for outcome in &outcomes {
            tracing::debug!(outcome = ?outcome, "message ingested");
        }
        Ok(outcomes)
    }

    /// Finds the case a read message replies to and makes it a reply, a new case, or a quarantine
    /// record. The outer error is the store's (a lookup failed).
    fn prepare(
        &self,
        raw: &RawMessage,
        read: Read,
        today: NaiveDate,
        threads: &HashMap<String, ReplyTarget>,
    ) -> anyhow::Result<Prepared> {
        let Assessed {
            parsed,
            received,
            assessment,
            asks_to_escalate,
        } = match read {
            Read::Unreadable(reason) => return Ok(Prepared::Quarantine(reason)),
            Read::Parsed(assessed) => *assessed,
        };
        if let Some(to) = self.replied_case(&parsed, threads)? {
            return Ok(Prepared::Reply {
                to,
                message: Box::new(new_message(raw, parsed, received, asks_to_escalate)),
                escalate: asks_to_escalate,
            });
        }
        let assessment = match assessment {
            Ok(assessment) => assessment,
            Err(reason) => return Ok(Prepared::Quarantine(reason)),
        };
        let state = CaseState::new(assessment.kind, assessment.procedure);
        let recipient = parsed.reply_address().map(str::to_string);
        let outbox_status = match (&parsed.automatic, &recipient) {
            (Some(why), _) => OutboxStatus::Suppressed {
                reason: format!("an automatic message: {why}"),
            },
            (None, None) => OutboxStatus::Suppressed {
                reason: "no sender address to acknowledge".into(),
            },
            (None, Some(_)) => match &self.settings.suppress_acknowledgements {
                Some(reason) => OutboxStatus::Suppressed {
                    reason: reason.clone(),
                },
                None => OutboxStatus::Pending,
            },
        };
        let opened_on = received.map_or(today, |r| r.date_naive());
        Ok(Prepared::Case(Box::new(NewCase {
            prefix: self.settings.reference_prefix.clone(),
            year: opened_on.year(),
            opened_on,
            received,
            mailbox: raw.mailbox.clone(),
            assessment,
            state,
            channel: Channel::Email,
            message: new_message(raw, parsed, received, false),
            recipient,
            outbox_status,
        })))
    }

    /// The case a message replies to: a reference of ours in the subject, else a Message-ID in
    /// In-Reply-To or References (nearest first) of a message earlier in this batch, of a stored message,
    /// or carrying a reference (as acknowledgements' ids do).
    fn replied_case(
        &self,
        parsed: &ParsedMessage,
        threads: &HashMap<String, ReplyTarget>,
    ) -> anyhow::Result<Option<ReplyTarget>> {
        let prefix = &self.settings.reference_prefix;
        for reference in parsed
            .subject
            .as_deref()
            .map(|s| references_in(s, prefix))
            .unwrap_or_default()
        {
            if self.store.case(&reference)?.is_some() {
                return Ok(Some(ReplyTarget::Case(reference)));
            }
        }
        for id in parsed
            .in_reply_to
            .iter()
            .chain(parsed.references.iter().rev())
        {
            if let Some(target) = threads.get(id) {
                return Ok(Some(target.clone()));
            }
            if let Some(key) = self.store.find_message_id(id)?.first()
                && let Some(message) = self.store.message(key)?
            {
                return Ok(Some(ReplyTarget::Case(message.case)));
            }
            for reference in references_in(id, prefix) {
                if self.store.case(&reference)?.is_some() {
                    return Ok(Some(ReplyTarget::Case(reference)));
                }
            }
        }
        Ok(None)
    }

    /// What `FormAnswers::mailbox` gets: the route hint as a mailbox-hint key; a service-area hint turned
    /// into a mailbox-hint key that implies it; else the hint or the mailbox name as it is.
    fn mailbox_hint(&self, raw: &RawMessage) -> String {
        let hint = raw.route_hint.as_deref().unwrap_or(&raw.mailbox);
        let hints = &self.policy.document.mailbox_hints;
        if hints.contains_key(&hint.to_ascii_lowercase()) {
            return hint.to_string();
        }
        hints
            .iter()
            .find(|(_, area)| area.as_str() == hint)
            .map_or_else(|| hint.to_string(), |(mailbox, _)| mailbox.clone())
    }
}

/// Whether a reply asks for its case to be escalated: the policy's escalation cues or the issue's
/// phrases, in what the person wrote now (quoted history left out). A reply's subject is usually the
/// council's own (`Re: Your stage 2 response`), so only a subject the person wrote is read; an
/// automatic message (an out-of-office naming "escalations") never escalates.
pub fn asks_to_escalate(parsed: &ParsedMessage, policy: &Policy) -> bool {
    if parsed.automatic.is_some() {
        return false;
    }
    let subject = parsed.subject.as_deref().filter(|s| !is_reply_subject(s));
    let prepared = feedback_core::text::prepare(subject, truncate(&parsed.text, MAX_ASSESSED_TEXT));
    policy
        .lexicon
        .scan(&prepared.normalised)
        .has(Signal::Escalation)
        || ESCALATION_PHRASES
            .iter()
            .any(|p| prepared.normalised.contains(p))
}

/// Whether a subject is a reply's or a forward's (`Re:`, `Fwd:` and their common translations).
fn is_reply_subject(subject: &str) -> bool {
    let lower = subject.trim_start().to_lowercase();
    [
        "re:", "re :", "aw:", "sv:", "vs:", "antw:", "fw:", "fwd:", "tr:", "wg:", "rv:",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

/// Case references of the form `PREFIX-YYYY-NNNNNN` in `text` (prefix matched case-insensitively,
/// normalised to upper case).
pub fn references_in(text: &str, prefix: &str) -> Vec<String> {
    let upper = text.to_ascii_uppercase();
    let prefix = format!("{}-", prefix.to_ascii_uppercase());
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = upper.get(from..).and_then(|rest| rest.find(&prefix)) {
        let start = from + at;
        from = start + prefix.len();
        let preceded_by_word = upper
            .get(..start)
            .and_then(|before| before.chars().next_back())
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let rest = upper.get(from..).unwrap_or_default();
        let year: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if preceded_by_word || year.len() != 4 {
            continue;
        }
        let after_year = rest.get(4..).unwrap_or_default();
        let Some(number_part) = after_year.strip_prefix('-') else {
            continue;
        };
        let number: String = number_part
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let followed_by_word = number_part
            .get(number.len()..)
            .and_then(|s| s.chars().next())
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if number.len() == 6 && !followed_by_word {
            found.push(format!("{prefix}{year}-{number}"));
        }
    }
    found
}

/// A Date header is trusted for the time of receipt only when it is close to today: the sender sets it.
fn plausible(date: NaiveDate, today: NaiveDate) -> bool {
    date <= today + Duration::days(1) && date >= today - Duration::days(30)
}

fn source(raw: &RawMessage) -> MessageSource {
    MessageSource {
        mailbox: raw.mailbox.clone(),
        uidvalidity: raw.uidvalidity,
        uid: raw.uid,
    }
}

fn new_message(
    raw: &RawMessage,
    mut message: ParsedMessage,
    received: Option<DateTime<FixedOffset>>,
    escalate: bool,
) -> NewMessage {
    // The contents of kept attachments travel beside the record, not in it.
    let kept = message
        .attachments
        .iter_mut()
        .enumerate()
        .filter_map(|(index, a)| a.content.take().map(|c| (index, c)))
        .collect();
    let record = MessageRecord {
        key: String::new(),
        case: String::new(),
        source: Some(source(raw)),
        received,
        message,
        size: raw.bytes.len(),
        escalation_requested: escalate,
    };
    NewMessage { record, kept }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The bytes-to-assessment path without a store, for fuzzing and benchmarks: parse, then assess, both
/// guarded. `Err` is the quarantine reason.
pub fn assess_raw(
    bytes: &[u8],
    policy: &Policy,
    today: NaiveDate,
    settings: &IngestSettings,
) -> Result<feedback_core::Assessment, String> {
    if bytes.len() > settings.max_message_bytes {
        return Err("over the size limit".into());
    }
    let parsed =
        parse::parse(bytes, settings.max_attachment_bytes_kept).map_err(|err| err.to_string())?;
    let submission = Submission {
        text: truncate(&parsed.text, MAX_ASSESSED_TEXT).to_string(),
        subject: parsed.subject,
        channel: Some(Channel::Email),
        received: parsed
            .date
            .filter(|date| plausible(date.date_naive(), today)),
        form: FormAnswers::default(),
    };
    parse::guarded(|| Ok(assess(&submission, policy, today))).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_with_word_boundaries() {
        assert_eq!(
            references_in("Re: Your complaint KCC-2026-000123 (stage 1)", "KCC"),
            vec!["KCC-2026-000123"]
        );
        assert_eq!(
            references_in("kcc-2026-000007", "KCC"),
            vec!["KCC-2026-000007"]
        );
        assert!(references_in("XKCC-2026-000123", "KCC").is_empty());
        assert!(references_in("KCC-2026-0001234", "KCC").is_empty());
        assert!(references_in("KCC-26-000123", "KCC").is_empty());
        assert_eq!(
            references_in("<KCC-2026-000042.ack@desk>", "KCC"),
            vec!["KCC-2026-000042"]
        );
    }

    #[test]
    fn a_date_header_far_from_today_is_not_trusted() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert!(plausible(today, today));
        assert!(!plausible(
            NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
            today
        ));
        assert!(!plausible(
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            today
        ));
    }
}

//! The acknowledgement sender: drains the outbox that ingestion fills (in the same transaction as the
//! case) over SMTP, never to an automatic message, the council itself or a sender over the daily rate.
//!
//! Order of every send, each step durable before the next: mark the entry `sending` with our Message-ID
//! (flush), hand the message to SMTP, record `sent` (flush), then apply the lifecycle's `Acknowledge`.
//! So in normal running a case is acknowledged at most once; a crash after the server accepted the
//! message but before `sent` was recorded leaves `sending`, which the next start sends once more (the
//! same Message-ID, so both copies thread alike) and marks `after_crash`: a second crash there sends
//! nothing more and marks the entry failed for an admin to check. At most one duplicate per case.
//!
//! The sender wakes on every outbox write (a sled subscription, drained continuously so ingestion never
//! waits for it) and otherwise when the earliest retry is due, or once a minute to look for entries at
//! risk of missing the three-working-day standard.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use feedback_core::{Event, Policy};
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::{Address, AsyncSmtpTransport, Message, Tokio1Executor};
use rand::Rng;
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::smtp::{Delivery, SmtpConfig, deliver};
use crate::store::{CaseRecord, OutboxEntry, OutboxStatus, Store};
use crate::templates::{AckContext, Templates};

/// The longest the sender sleeps between passes with nothing due (it also wakes on new entries).
const RESCAN: Duration = Duration::from_secs(60);

/// Working days before the acknowledgement deadline from which an unsent entry is at risk.
const AT_RISK_WITHIN: i64 = 1;

/// `Auto-Submitted` (RFC 3834): `auto-replied` on acknowledgements, `auto-generated` on digests; tells
/// other robots not to answer us.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted(&'static str);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(value: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(if value.trim() == "auto-generated" {
            "auto-generated"
        } else {
            "auto-replied"
        }))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_string())
    }
}

/// A Message-ID (without angle brackets) fit to repeat in our headers: printable ASCII, no spaces or
/// brackets, of a sane length. Anything else from an incoming message is dropped, not repeated.
fn usable_id(id: &str) -> Option<&str> {
    (!id.is_empty()
        && id.len() <= 250
        && id.contains('@')
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>'))
    .then_some(id)
}

/// An entry whose acknowledgement has not gone out and whose deadline is within a working day or past.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtRisk {
    /// The case.
    pub reference: String,
    /// The acknowledgement's due date.
    pub due: NaiveDate,
    /// Working days from today to `due` (0 on the day, negative when missed).
    pub working_days_left: i64,
    /// Where the entry is (pending, sending, failed).
    pub status: OutboxStatus,
}

/// Every unsent acknowledgement (pending, being sent or failed; not suppressed) due within one working
/// day of `today` or overdue, most urgent first.
pub fn at_risk(store: &Store, policy: &Policy, today: NaiveDate) -> anyhow::Result<Vec<AtRisk>> {
    let calendar = &policy.calendar;
    let mut out = Vec::new();
    for entry in store.outbox()? {
        if matches!(
            entry.status,
            OutboxStatus::Sent { .. } | OutboxStatus::Suppressed { .. }
        ) {
            continue;
        }
        let due = store
            .case(&entry.reference)?
            .and_then(|case| {
                case.assessment
                    .deadlines
                    .iter()
                    .find(|d| d.milestone == "acknowledge")
                    .and_then(|d| d.due)
            })
            .unwrap_or_else(|| calendar.add_working_days(entry.created_on, 3));
        let left = calendar.working_days_between(today, due);
        if left <= AT_RISK_WITHIN {
            out.push(AtRisk {
                reference: entry.reference,
                due,
                working_days_left: left,
                status: entry.status,
            });
        }
    }
    out.sort_by(|a, b| (a.due, &a.reference).cmp(&(b.due, &b.reference)));
    Ok(out)
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// What one pass over an entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Nothing to do (already sent, suppressed, or a retry not yet due).
    Nothing,
    /// Suppressed now, with the reason.
    Suppressed(String),
    /// Accepted by the SMTP server.
    Accepted,
    /// Refused or not reached; the reason, and whether for good.
    Failed(String, bool),
}

/// The acknowledgement sender of one store.
#[derive(Debug)]
pub struct Sender {
    store: Store,
    policy: Policy,
    smtp: SmtpConfig,
    templates: Templates,
    from: BTreeMap<String, Address>,
    own_addresses: BTreeSet<String>,
    /// Entries written `pending` since the last pass (from the outbox subscription).
    queue: Arc<Mutex<BTreeSet<String>>>,
    wake: Arc<Notify>,
}

impl Sender {
    /// The sender of `config`'s `[smtp]` section; `None` when there is none (nothing is sent).
    pub fn new(config: &Config, store: Store, policy: Policy) -> anyhow::Result<Option<Sender>> {
        let Some(smtp) = config.smtp.clone() else {
            return Ok(None);
        };
        let templates = Templates::load(smtp.templates.as_deref())?;
        Ok(Some(Sender {
            from: smtp.from_addresses(config),
            own_addresses: smtp.own_addresses(config),
            store,
            policy,
            smtp,
            templates,
            queue: Arc::default(),
            wake: Arc::default(),
        }))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Why this entry must not be acknowledged, checked just before sending: no usable address, one of
    /// the council's own, or a sender past the daily rate. (Automatic messages were suppressed when the
    /// case was made, by [`crate::parse`].)
    pub fn suppression(
        &self,
        entry: &OutboxEntry,
        now: DateTime<FixedOffset>,
    ) -> anyhow::Result<Option<String>> {
        let Some(recipient) = entry.recipient.as_deref() else {
            return Ok(Some("no sender address to acknowledge".into()));
        };
        let Ok(address) = recipient.parse::<Address>() else {
            return Ok(Some(format!(
                "`{}` is not an address mail can be sent to",
                recipient.escape_debug()
            )));
        };
        let lower = address.to_string().to_lowercase();
        if self.own_addresses.contains(&lower) {
            return Ok(Some("the council's own address".into()));
        }
        let domain = address.domain().to_lowercase();
        if self.smtp.own_domains.iter().any(|own| {
            let own = own.to_lowercase();
            domain == own || domain.ends_with(&format!(".{own}"))
        }) {
            return Ok(Some(format!(
                "an address of the council's own domain {domain}"
            )));
        }
        let since = now - chrono::Duration::hours(24);
        let sent = self
            .store
            .acknowledgements_to(&lower, since, &entry.reference)?;
        if sent >= self.smtp.max_per_sender_per_day as usize {
            return Ok(Some(format!(
                "rate limit: {sent} acknowledgements to this address in the last 24 hours (at most {})",
                self.smtp.max_per_sender_per_day
            )));
        }
        Ok(None)
    }

    /// The acknowledgement of `case` as an email with Message-ID `message_id`.
    pub fn compose(
        &self,
        case: &CaseRecord,
        entry: &OutboxEntry,
        message_id: &str,
    ) -> anyhow::Result<Message> {
        let context = AckContext::new(
            &case.reference,
            &case.assessment,
            case.opened_on,
            &self.policy,
        );
        let rendered = self.templates.render(&context)?;
        let from = self
            .from
            .get(&case.mailbox)
            .or_else(|| self.from.values().next())
            .context("no From address is configured")?;
        let from_name = self.sender_name();
        let to: Address = entry
            .recipient
            .as_deref()
            .unwrap_or_default()
            .parse()
            .context("the recipient is not an address")?;
        let mut builder = Message::builder()
            .from(Mailbox::new(Some(from_name), from.clone()))
            .to(Mailbox::new(None, to))
            .subject(rendered.subject)
            .message_id(Some(format!("<{message_id}>")))
            .date_now()
            .header(AutoSubmitted("auto-replied"))
            .header(ContentType::TEXT_PLAIN);
        if let Some(id) = entry.in_reply_to.as_deref().and_then(usable_id) {
            let first = self
                .store
                .case_messages(&case.reference)?
                .into_iter()
                .next();
            let mut references: Vec<String> = first
                .map(|m| m.message.references)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| usable_id(r))
                .map(|r| format!("<{r}>"))
                .collect();
            references.push(format!("<{id}>"));
            builder = builder
                .in_reply_to(format!("<{id}>"))
                .references(references.join(" "));
        }
        builder
            .body(rendered.body)
            .context("building the acknowledgement")
    }

    /// Our Message-ID for a case's acknowledgement: it carries the reference, so a reply to it joins
    /// the case even if the resident's client drops the subject.
    fn new_message_id(&self, case: &CaseRecord) -> String {
        let domain = self
            .from
            .get(&case.mailbox)
            .or_else(|| self.from.values().next())
            .map_or_else(|| "localhost".to_string(), |a| a.domain().to_string());
        let token: u64 = rand::rng().random();
        format!("{}.ack.{token:016x}@{domain}", case.reference)
    }

    /// One entry: suppress it, or send it if it is due. `transport` is made on first use in a pass.
    pub async fn process(
        &self,
        reference: &str,
        transport: &mut Option<AsyncSmtpTransport<Tokio1Executor>>,
    ) -> anyhow::Result<Sent> {
        let now = now();
        let Some(entry) = self.store.outbox_entry(reference)? else {
            return Ok(Sent::Nothing);
        };
        let (attempts, message_id, after_crash) = match &entry.status {
            OutboxStatus::Pending => (0, None, false),
            OutboxStatus::Failed {
                permanent: false,
                attempts,
                next_attempt,
                ..
            } if next_attempt.is_none_or(|at| at <= now) => (*attempts, None, false),
            // Only recovery (at start-up) finds an entry `sending`: see `recover`.
            OutboxStatus::Sending {
                message_id,
                attempts,
                after_crash: true,
                ..
            } => (*attempts, Some(message_id.clone()), true),
            _ => return Ok(Sent::Nothing),
        };
        let Some(case) = self.store.case(reference)? else {
            return Ok(Sent::Nothing);
        };
        if !after_crash && let Some(reason) = self.suppression(&entry, now)? {
            info!(case = %reference, %reason, "acknowledgement suppressed");
            self.store.set_outbox_status_noted(
                reference,
                &OutboxStatus::Suppressed {
                    reason: reason.clone(),
                },
                &format!("acknowledgement not sent: {reason}"),
                now,
            )?;
            self.store.flush()?;
            return Ok(Sent::Suppressed(reason));
        }
        let message_id = message_id.unwrap_or_else(|| self.new_message_id(&case));
        let message = match self.compose(&case, &entry, &message_id) {
            Ok(message) => message,
            Err(err) => {
                // A template or address problem: the entry waits (and shows as at risk) until it is fixed.
                let reason = format!("{err:#}");
                warn!(case = %reference, "cannot compose the acknowledgement: {reason}");
                return self.failed(reference, reason, false, attempts + 1, now);
            }
        };
        // Before `sending` is marked: a secret that cannot be read sends nothing and counts nothing.
        if transport.is_none() {
            match self.smtp.transport().await {
                Ok(made) => *transport = Some(made),
                Err(err) => {
                    return self.failed(reference, format!("{err:#}"), false, attempts + 1, now);
                }
            }
        }
        let recipient = entry.recipient.clone().unwrap_or_default();
        if !after_crash {
            let sending = OutboxStatus::Sending {
                since: now,
                message_id: message_id.clone(),
                attempts,
                after_crash: false,
            };
            self.store
                .begin_sending(reference, &recipient, &sending, now)?;
            self.store.flush()?;
        }
        let Some(client) = transport.as_ref() else {
            return Ok(Sent::Nothing);
        };
        match deliver(client, message).await {
            Delivery::Accepted => {
                let at = crate::outbox::now();
                self.store.set_outbox_status(
                    reference,
                    OutboxStatus::Sent {
                        at,
                        message_id: Some(message_id.clone()),
                    },
                )?;
                self.store.flush()?;
                let note = format!("acknowledgement sent, Message-ID <{message_id}>");
                match self.store.apply_event(
                    reference,
                    Event::Acknowledge,
                    &self.policy,
                    at.date_naive(),
                    &note,
                )? {
                    Ok(_) => self.store.flush()?,
                    Err(err) => debug!(case = %reference, "acknowledge not applied: {err}"),
                }
                info!(case = %reference, latency_ms = (at - now).num_milliseconds(), "acknowledgement sent");
                Ok(Sent::Accepted)
            }
            Delivery::Permanent(reason) => {
                warn!(case = %reference, "acknowledgement refused for good: {reason}");
                self.failed(reference, reason, true, attempts + 1, now)
            }
            Delivery::Temporary(reason) => {
                // The connection may be broken: make a new one for the next entry.
                *transport = None;
                self.failed(reference, reason, false, attempts + 1, now)
            }
        }
    }

    fn failed(
        &self,
        reference: &str,
        reason: String,
        permanent: bool,
        attempts: u32,
        now: DateTime<FixedOffset>,
    ) -> anyhow::Result<Sent> {
        let (initial, max) = self.smtp.retry();
        let next_attempt = (!permanent).then(|| {
            let delay = crate::daemon::backoff_delay(initial, max, attempts.saturating_sub(1));
            now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60))
        });
        if !permanent {
            info!(case = %reference, attempts, retry_at = ?next_attempt, "acknowledgement not sent yet: {reason}");
        }
        let status = OutboxStatus::Failed {
            at: now,
            reason: reason.clone(),
            permanent,
            attempts,
            next_attempt,
        };
        if permanent {
            let note = format!("acknowledgement refused for good, not sent: {reason}");
            self.store
                .set_outbox_status_noted(reference, &status, &note, now)?;
        } else {
            self.store.set_outbox_status(reference, status)?;
        }
        self.store.flush()?;
        Ok(Sent::Failed(reason, permanent))
    }

    /// At start-up: an entry left `sending` by a crash is sent once more (marked `after_crash` first);
    /// one left `sending` after such a re-send is marked failed for an admin, never sent a third time.
    /// Returns the references to re-send.
    pub fn recover(&self) -> anyhow::Result<Vec<String>> {
        let mut resend = Vec::new();
        for entry in self.store.outbox()? {
            let OutboxStatus::Sending {
                since,
                message_id,
                attempts,
                after_crash,
            } = entry.status
            else {
                continue;
            };
            let status = if after_crash {
                warn!(case = %entry.reference, "interrupted twice while sending: not sent again");
                OutboxStatus::Failed {
                    at: now(),
                    reason: format!(
                        "sending was interrupted twice (first at {since}); the acknowledgement may have gone out: check before sending it by hand"
                    ),
                    permanent: true,
                    attempts,
                    next_attempt: None,
                }
            } else {
                warn!(case = %entry.reference, "interrupted while sending: sending once more");
                resend.push(entry.reference.clone());
                OutboxStatus::Sending {
                    since,
                    message_id,
                    attempts,
                    after_crash: true,
                }
            };
            if after_crash {
                let note = "acknowledgement interrupted twice while sending: it may have gone out; check before sending it by hand";
                self.store
                    .set_outbox_status_noted(&entry.reference, &status, note, now())?;
            } else {
                self.store.set_outbox_status(&entry.reference, status)?;
            }
        }
        self.store.flush()?;
        Ok(resend)
    }

    /// One pass over `references`, or over the whole outbox when `None`. Returns when the earliest
    /// temporary failure among them is due again.
    pub async fn pass(
        &self,
        references: Option<Vec<String>>,
    ) -> anyhow::Result<Option<DateTime<FixedOffset>>> {
        let full = references.is_none();
        let references = match references {
            Some(list) => list,
            None => self
                .store
                .outbox()?
                .into_iter()
                .filter(|e| {
                    matches!(
                        e.status,
                        OutboxStatus::Pending
                            | OutboxStatus::Failed {
                                permanent: false,
                                ..
                            }
                    )
                })
                .map(|e| e.reference)
                .collect(),
        };
        let mut transport = None;
        for reference in &references {
            self.process(reference, &mut transport).await?;
        }
        let checked = if full {
            self.store.outbox()?
        } else {
            let mut entries = Vec::with_capacity(references.len());
            for reference in &references {
                entries.extend(self.store.outbox_entry(reference)?);
            }
            entries
        };
        let mut next = None;
        for entry in checked {
            if let OutboxStatus::Failed {
                permanent: false,
                next_attempt: Some(at),
                ..
            } = entry.status
            {
                next = Some(next.map_or(at, |n: DateTime<FixedOffset>| n.min(at)));
            }
        }
        Ok(next)
    }

    /// Re-sends what a crash interrupted, then sends everything due: `mailbot run --once`.
    pub async fn drain(&self) -> anyhow::Result<()> {
        let resend = self.recover()?;
        self.pass(Some(resend)).await?;
        self.pass(None).await?;
        Ok(())
    }

    /// Starts draining the outbox subscription into the queue (never blocking the store's writers).
    fn watch(&self) -> tokio::task::JoinHandle<()> {
        let mut subscriber = self.store.watch_outbox();
        let queue = Arc::clone(&self.queue);
        let wake = Arc::clone(&self.wake);
        tokio::spawn(async move {
            while let Some(event) = (&mut subscriber).await {
                if let sled::Event::Insert { key, value } = event
                    && serde_json::from_slice::<OutboxEntry>(&value)
                        .is_ok_and(|e| e.status == OutboxStatus::Pending)
                {
                    queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(String::from_utf8_lossy(&key).into_owned());
                    wake.notify_one();
                }
            }
        })
    }

    /// Sends until `cancel` fires: at start what a crash interrupted and everything due, then each new
    /// entry as it is written, retries when due, and a warning for each entry at risk once a day.
    pub async fn run(self, cancel: CancellationToken) {
        let watcher = self.watch();
        info!(host = %self.smtp.host, port = self.smtp.port(), tls = %self.smtp.tls, templates = ?self.templates.dir(), "acknowledgement sender started");
        let mut warned: BTreeMap<String, NaiveDate> = BTreeMap::new();
        let mut failures = 0u32;
        let mut full_pass = true;
        let mut last_full = tokio::time::Instant::now();
        let mut next_retry: Option<DateTime<FixedOffset>> = None;
        match self.recover() {
            Ok(resend) => {
                if let Err(err) = self.pass(Some(resend)).await {
                    warn!("re-sending after a crash: {err:#}");
                }
            }
            Err(err) => warn!("recovering the outbox: {err:#}"),
        }
        while !cancel.is_cancelled() {
            let queued: Vec<String> =
                std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
                    .into_iter()
                    .collect();
            let due = next_retry.is_some_and(|at| at <= now());
            let result = if full_pass || due {
                full_pass = false;
                last_full = tokio::time::Instant::now();
                self.warn_at_risk(&mut warned);
                let local = chrono::Local::now();
                if !self.smtp.digest_to.is_empty()
                    && chrono::Timelike::hour(&local) >= self.smtp.digest_hour
                    && let Err(err) = self.send_digests(local.date_naive()).await
                {
                    warn!("sending the daily digests: {err:#}");
                }
                self.pass(None).await
            } else {
                self.pass(Some(queued))
                    .await
                    .map(|next| match (next, next_retry) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    })
            };
            let mut sleep = RESCAN;
            match result {
                Ok(next) => {
                    failures = 0;
                    next_retry = next;
                    if let Some(at) = next {
                        sleep = sleep.min((at - now()).to_std().unwrap_or(Duration::ZERO));
                    }
                }
                Err(err) => {
                    // The store failed: back off and look at everything again.
                    failures = failures.saturating_add(1);
                    full_pass = true;
                    sleep = crate::daemon::backoff_delay(Duration::from_secs(1), RESCAN, failures);
                    warn!(retry_in = ?sleep, "sending acknowledgements: {err:#}");
                }
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {
                    if last_full.elapsed() >= RESCAN {
                        full_pass = true;
                    }
                }
                () = cancel.cancelled() => break,
            }
        }
        watcher.abort();
        info!("acknowledgement sender stopped");
    }

    /// Sends each mailbox's digest for `today` (`[smtp] digest_to`) unless it went already; returns the
    /// mailboxes whose digest went now. One that fails is tried again at the next call.
    pub async fn send_digests(&self, today: NaiveDate) -> anyhow::Result<Vec<String>> {
        let mut sent = Vec::new();
        let mut transport = None;
        for (mailbox, to) in &self.smtp.digest_to {
            if self
                .store
                .last_digest(mailbox)?
                .is_some_and(|last| last >= today)
            {
                continue;
            }
            let digest = crate::digest::digest(&self.store, &self.policy, mailbox, today)?;
            let (subject, body) = digest.render(&self.policy.document.council);
            let from = self
                .from
                .get(mailbox)
                .context("the digest's mailbox has no From address")?;
            let to: Address = to.parse().context("the digest's address")?;
            let message = Message::builder()
                .from(Mailbox::new(Some(self.sender_name()), from.clone()))
                .to(Mailbox::new(None, to))
                .subject(subject)
                .date_now()
                .header(AutoSubmitted("auto-generated"))
                .header(ContentType::TEXT_PLAIN)
                .body(body)
                .context("building the digest")?;
            if transport.is_none() {
                transport = Some(self.smtp.transport().await?);
            }
            let Some(client) = transport.as_ref() else {
                continue;
            };
            match deliver(client, message).await {
                Delivery::Accepted => {
                    self.store.set_last_digest(mailbox, today)?;
                    self.store.flush()?;
                    info!(%mailbox, "digest sent");
                    sent.push(mailbox.clone());
                }
                Delivery::Permanent(reason) | Delivery::Temporary(reason) => {
                    warn!(%mailbox, "digest not sent: {reason}");
                    transport = None;
                }
            }
        }
        Ok(sent)
    }

    fn sender_name(&self) -> String {
        self.smtp
            .from_name
            .clone()
            .unwrap_or_else(|| self.policy.document.council.clone())
    }

    /// Logs each entry at risk at warn, once a day.
    fn warn_at_risk(&self, warned: &mut BTreeMap<String, NaiveDate>) {
        let today = chrono::Local::now().date_naive();
        match at_risk(&self.store, &self.policy, today) {
            Ok(list) => {
                for item in list {
                    if warned.get(&item.reference) != Some(&today) {
                        warn!(case = %item.reference, due = %item.due, working_days_left = item.working_days_left, "acknowledgement at risk of missing its deadline");
                        warned.insert(item.reference, today);
                    }
                }
            }
            Err(err) => warn!("checking acknowledgements at risk: {err:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_message_ids_are_repeated_in_our_headers() {
        assert_eq!(
            usable_id("a1@residents.example"),
            Some("a1@residents.example")
        );
        for bad in [
            "",
            "no-at-sign",
            "a@b\r\nBcc: evil@attacker.example",
            "a@b Bcc: x",
            "a@b>\nX: y",
            "<a@b>",
            "caf\u{e9}@b",
        ] {
            assert_eq!(usable_id(bad), None, "{bad:?}");
        }
        assert_eq!(usable_id(&format!("{}@b", "x".repeat(300))), None);
    }
}

//! Raw RFC 5322 bytes to the parts of a message a case needs, with mail-parser.
//!
//! mail-parser is lenient (it returns `None` only when it finds no header at all), but releases of 0.11
//! have panicked on malformed input, and some of its accessors index `parts[0]`: every call into it runs
//! under `catch_unwind`, so a hostile message becomes a [`ParseError`] for quarantine, never a dead task.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, FixedOffset, NaiveDate};
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The longest header value kept, in bytes; longer ones are cut (a huge header line is an attack, not
/// content anyone reads).
pub const MAX_HEADER_VALUE: usize = 16 * 1024;

/// A header as it arrived (unfolded, decoded lossily as UTF-8, cut at [`MAX_HEADER_VALUE`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderField {
    /// The field name as written.
    pub name: String,
    /// The raw value, unfolded.
    pub value: String,
}

/// A mailbox address with its display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// The display name, decoded.
    pub name: Option<String>,
    /// The address, e.g. `resident@example.org`.
    pub address: Option<String>,
}

/// What is recorded of an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// Its file name, if it has one.
    pub name: Option<String>,
    /// `type/subtype`, e.g. `application/pdf`; `application/octet-stream` when unsaid.
    pub content_type: String,
    /// Its decoded size in bytes.
    pub size: usize,
    /// Whether its content is kept (it fitted the size budget).
    pub kept: bool,
}

/// An attachment and, when it fits the budget, its content. Serialised, it is only what is recorded of
/// it: the store keeps the content apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedAttachment {
    /// What is recorded of it.
    #[serde(flatten)]
    pub info: AttachmentInfo,
    /// The decoded content, when kept.
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
}

/// A parsed message: everything ingestion and the case record need, owned (the store records it as it
/// is, without the attachments' contents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedMessage {
    /// The Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// References ids, without angle brackets, oldest first.
    pub references: Vec<String>,
    /// The decoded subject.
    pub subject: Option<String>,
    /// The first From mailbox.
    pub from: Option<Mailbox>,
    /// The first Reply-To mailbox.
    pub reply_to: Option<Mailbox>,
    /// To recipients.
    pub to: Vec<Mailbox>,
    /// Cc recipients.
    pub cc: Vec<Mailbox>,
    /// The Date header, when it is a valid date.
    pub date: Option<DateTime<FixedOffset>>,
    /// Every top-level header.
    pub headers: Vec<HeaderField>,
    /// The body as text: every text part, HTML turned into text where there is no plain part.
    pub text: String,
    /// The message had only HTML bodies, turned into text.
    pub html_only: bool,
    /// Attachments, with content where kept.
    pub attachments: Vec<ParsedAttachment>,
    /// Why the message looks machine-generated (RFC 3834 auto-reply, delivery report, list mail), if it
    /// does: the outbox must not acknowledge those.
    pub automatic: Option<String>,
    /// A hash of what the sender wrote (From, Subject, Date and the body, line endings ignored), hex.
    /// The same message copied to two mailboxes gets different trace headers but the same hash.
    pub content_hash: String,
}

impl ParsedMessage {
    /// The address an acknowledgement would go to: Reply-To, else From.
    pub fn reply_address(&self) -> Option<&str> {
        self.reply_to
            .as_ref()
            .and_then(|m| m.address.as_deref())
            .or_else(|| self.from.as_ref().and_then(|m| m.address.as_deref()))
    }
}

/// Why a message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing at all.
    #[error("the message is empty")]
    Empty,
    /// mail-parser found no header.
    #[error("no message header found: not an RFC 5322 message")]
    NotAMessage,
    /// Headers were found but nothing a person wrote: no sender, subject, text or attachment.
    #[error("nothing to read: no sender, subject, text or attachment")]
    NothingToRead,
    /// The parser panicked.
    #[error("the mail parser panicked: {0}")]
    Panicked(String),
}

/// Parses raw bytes; attachments' contents are kept while their total stays within
/// `attachment_budget` bytes (an attachment is kept whole or not at all).
pub fn parse(raw: &[u8], attachment_budget: usize) -> Result<ParsedMessage, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    guarded(|| {
        let message = MessageParser::default()
            .parse(raw)
            .ok_or(ParseError::NotAMessage)?;
        if message.parts.is_empty() {
            return Err(ParseError::NotAMessage);
        }
        let parsed = extract(&message, raw, attachment_budget);
        if parsed.from.is_none()
            && parsed
                .subject
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
            && parsed.text.trim().is_empty()
            && parsed.attachments.is_empty()
        {
            return Err(ParseError::NothingToRead);
        }
        Ok(parsed)
    })
}

/// Runs `f`, turning a panic into [`ParseError::Panicked`] with its message.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, ParseError>) -> Result<T, ParseError> {
    // AssertUnwindSafe: on a panic everything `f` built is dropped, and it holds only borrows of input
    // that a panic cannot leave half-changed.
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(ParseError::Panicked(panic_message(payload.as_ref()))))
}

/// Installs a panic hook that logs panics raised inside mail-parser at debug level (they are caught by
/// [`guarded`] and the message is quarantined with the panic's text, so stderr need not show them) and
/// hands every other panic to the hook that was installed before. Call once, at start-up.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_parser = info
            .location()
            .is_some_and(|location| location.file().contains("mail-parser"));
        if in_parser {
            tracing::debug!(
                "mail-parser panicked at {}: caught, the message goes to quarantine",
                info.location()
                    .map_or_else(String::new, ToString::to_string)
            );
        } else {
            previous(info);
        }
    }));
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

fn extract(message: &Message<'_>, raw: &[u8], attachment_budget: usize) -> ParsedMessage {
    let root_headers = message
        .parts
        .first()
        .map_or(&[][..], |part| part.headers.as_slice());
    let header = |name: HeaderName<'static>| {
        root_headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| &h.value)
    };
    let raw_value = |name: HeaderName<'static>| raw_header(root_headers, raw, &name);

    let headers = root_headers
        .iter()
        .map(|h| {
            let value = raw
                .get(h.offset_start as usize..h.offset_end as usize)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            HeaderField {
                name: clean(h.name.as_str(), 256),
                value: clean(&unfold(&value), MAX_HEADER_VALUE),
            }
        })
        .collect::<Vec<_>>();

    let subject = header(HeaderName::Subject)
        .and_then(text_of)
        .map(|s| clean(&s, MAX_HEADER_VALUE));
    let from = header(HeaderName::From).and_then(first_mailbox);
    let reply_to = header(HeaderName::ReplyTo).and_then(first_mailbox);
    let to = header(HeaderName::To)
        .map(all_mailboxes)
        .unwrap_or_default();
    let cc = header(HeaderName::Cc)
        .map(all_mailboxes)
        .unwrap_or_default();
    let message_id = header(HeaderName::MessageId)
        .and_then(text_of)
        .map(|id| clean(id.trim_matches(['<', '>', ' ']), 998))
        .filter(|id| !id.is_empty());
    let in_reply_to = header(HeaderName::InReplyTo).map(ids).unwrap_or_default();
    let references = header(HeaderName::References).map(ids).unwrap_or_default();
    let date = match header(HeaderName::Date) {
        Some(HeaderValue::DateTime(date)) => to_chrono(date),
        _ => None,
    };

    let mut text = String::new();
    let mut html_only = !message.text_body.is_empty();
    for (index, part_id) in message.text_body.iter().enumerate() {
        if matches!(
            message.parts.get(*part_id as usize).map(|p| &p.body),
            Some(PartType::Text(_))
        ) {
            html_only = false;
        }
        if let Some(body) = message.body_text(index) {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&body);
        }
    }
    let text = clean(&text, usize::MAX);

    let mut budget = attachment_budget;
    let attachments = message
        .attachments()
        .map(|part| {
            let contents = part.contents();
            let size = contents.len();
            let kept = size <= budget;
            if kept {
                budget -= size;
            }
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .map_or_else(
                    || {
                        if part.is_message() {
                            "message/rfc822".to_string()
                        } else {
                            "application/octet-stream".to_string()
                        }
                    },
                    |ct| clean(&ct.to_ascii_lowercase(), 255),
                );
            ParsedAttachment {
                info: AttachmentInfo {
                    name: part.attachment_name().map(|n| clean(n, 1024)),
                    content_type,
                    size,
                    kept,
                },
                content: kept.then(|| contents.to_vec()),
            }
        })
        .collect();

    let automatic = automatic(message, root_headers, from.as_ref(), raw);

    let mut hasher = Sha256::new();
    for name in [HeaderName::From, HeaderName::Subject, HeaderName::Date] {
        hasher.update(raw_value(name).trim().as_bytes());
        hasher.update(b"\n");
    }
    let body_offset = message
        .parts
        .first()
        .map_or(raw.len(), |p| p.offset_body as usize);
    hasher.update(b"\n");
    for chunk in raw
        .get(body_offset..)
        .unwrap_or_default()
        .split(|b| *b == b'\r')
    {
        hasher.update(chunk);
    }
    let content_hash = hex(&hasher.finalize());

    ParsedMessage {
        message_id,
        in_reply_to,
        references,
        subject,
        from,
        reply_to,
        to,
        cc,
        date,
        headers,
        text,
        html_only,
        attachments,
        automatic,
        content_hash,
    }
}

/// A top-level header's raw value (the first of its name), lossily decoded.
fn raw_header<'r>(
    headers: &[mail_parser::Header<'_>],
    raw: &'r [u8],
    name: &HeaderName<'_>,
) -> Cow<'r, str> {
    headers
        .iter()
        .find(|h| &h.name == name)
        .and_then(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
}

fn automatic(
    message: &Message<'_>,
    headers: &[mail_parser::Header<'_>],
    from: Option<&Mailbox>,
    raw: &[u8],
) -> Option<String> {
    // mail-parser names this header itself: `HeaderName::Other("Auto-Submitted")` never matches it.
    let auto_submitted = raw_header(headers, raw, &HeaderName::AutoSubmitted)
        .trim()
        .to_ascii_lowercase();
    if !auto_submitted.is_empty() && auto_submitted != "no" {
        return Some(format!("Auto-Submitted: {auto_submitted}"));
    }
    let is_report = message
        .parts
        .first()
        .and_then(|p| p.content_type())
        .is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        });
    if is_report {
        return Some("a delivery or disposition report (multipart/report)".into());
    }
    let precedence = raw_header(headers, raw, &HeaderName::Other("Precedence".into()))
        .trim()
        .to_ascii_lowercase();
    if matches!(precedence.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
        return Some(format!("Precedence: {precedence}"));
    }
    if headers.iter().any(|h| h.name == HeaderName::ListId) {
        return Some("mailing list mail (List-Id)".into());
    }
    if headers
        .iter()
        .any(|h| h.name == HeaderName::ListUnsubscribe)
    {
        return Some("mailing list or bulk mail (List-Unsubscribe)".into());
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if headers
            .iter()
            .any(|h| h.name.as_str().eq_ignore_ascii_case(name))
        {
            return Some(format!("{name} header"));
        }
    }
    if raw_header(headers, raw, &HeaderName::ReturnPath).trim() == "<>" {
        return Some("null Return-Path (a bounce)".into());
    }
    let local = from
        .and_then(|m| m.address.as_deref())
        .and_then(|a| a.split('@').next())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let local = local.replace(['-', '_', '.'], "");
    // `noreply-alerts`, `no_reply.team`, `donotreply42`: the no-reply prefixes with anything after.
    if matches!(
        local.as_str(),
        "mailerdaemon" | "postmaster" | "noreplies" | "bounce" | "bounces"
    ) || local.starts_with("noreply")
        || local.starts_with("donotreply")
    {
        return Some(format!("a no-reply or system sender ({local})"));
    }
    None
}

fn text_of<'a>(value: &'a HeaderValue<'_>) -> Option<Cow<'a, str>> {
    match value {
        HeaderValue::Text(text) => Some(Cow::Borrowed(text.as_ref())),
        HeaderValue::TextList(list) => Some(Cow::Owned(list.join(" "))),
        _ => None,
    }
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<&str> = match value {
        HeaderValue::Text(text) => vec![text.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(AsRef::as_ref).collect(),
        _ => Vec::new(),
    };
    raw.into_iter()
        .map(|id| clean(id.trim_matches(['<', '>', ' ']), 998))
        .filter(|id| !id.is_empty())
        .take(100)
        .collect()
}

fn first_mailbox(value: &HeaderValue<'_>) -> Option<Mailbox> {
    match value {
        HeaderValue::Address(address) => address.first().map(mailbox),
        _ => None,
    }
}

fn all_mailboxes(value: &HeaderValue<'_>) -> Vec<Mailbox> {
    match value {
        HeaderValue::Address(Address::List(list)) => list.iter().take(100).map(mailbox).collect(),
        HeaderValue::Address(Address::Group(groups)) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .take(100)
            .map(mailbox)
            .collect(),
        _ => Vec::new(),
    }
}

fn mailbox(addr: &mail_parser::Addr<'_>) -> Mailbox {
    Mailbox {
        name: addr
            .name
            .as_deref()
            .map(|n| clean(n, 998))
            .filter(|n| !n.is_empty()),
        address: addr
            .address
            .as_deref()
            .map(|a| clean(a.trim(), 998))
            .filter(|a| !a.is_empty()),
    }
}

/// A valid mail-parser date as chrono's, `None` for an impossible one.
fn to_chrono(date: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    if !date.is_valid() {
        return None;
    }
    let seconds = i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60;
    let offset = FixedOffset::east_opt(if date.tz_before_gmt {
        -seconds
    } else {
        seconds
    })?;
    NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )?
    .and_hms_opt(
        u32::from(date.hour),
        u32::from(date.minute),
        u32::from(date.second),
    )?
    .and_local_timezone(offset)
    .single()
}

fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (index, line) in value.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if index > 0 {
            out.push(' ');
            out.push_str(line.trim_start());
        } else {
            out.push_str(line);
        }
    }
    out.trim().to_string()
}

/// Drops NULs (which no text field should carry), and cuts to `max` bytes on a character boundary.
fn clean(text: &str, max: usize) -> String {
    let mut out: String = if text.contains('\0') {
        text.chars().filter(|c| *c != '\0').collect()
    } else {
        text.to_string()
    };
    if out.len() > max {
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_message_is_read() {
        let raw = b"From: Ann <ann@example.org>\r\nTo: county.hall@kent.example\r\nSubject: =?utf-8?q?Pothole_=E2=80=93_A2?=\r\nMessage-ID: <abc@example.org>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nThere is a pothole.\r\n";
        let parsed = parse(raw, 1024).unwrap();
        assert_eq!(parsed.subject.as_deref(), Some("Pothole – A2"));
        assert_eq!(parsed.message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(parsed.reply_address(), Some("ann@example.org"));
        assert!(parsed.text.contains("pothole"));
        assert!(parsed.date.is_some());
        assert!(parsed.automatic.is_none());
    }

    #[test]
    fn line_endings_do_not_change_the_content_hash() {
        let crlf = b"From: a@b.c\r\nSubject: x\r\n\r\nline one\r\nline two\r\n";
        let lf = b"From: a@b.c\nSubject: x\n\nline one\nline two\n";
        assert_eq!(
            parse(crlf, 0).unwrap().content_hash,
            parse(lf, 0).unwrap().content_hash
        );
    }

    #[test]
    fn empty_input_is_an_error() {
        assert_eq!(parse(b"", 0), Err(ParseError::Empty));
        assert_eq!(parse(b"\r\n\r\n", 0), Err(ParseError::Empty));
    }

    #[test]
    fn a_panic_is_caught() {
        let result: Result<(), ParseError> = guarded(|| panic!("boom"));
        assert_eq!(result, Err(ParseError::Panicked("boom".into())));
    }
}

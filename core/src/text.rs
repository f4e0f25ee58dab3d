//! Text preparation: the resident's own words apart from quoted history and signatures, folded to a form
//! the phrase matcher can search.

/// A message split into what the person wrote now and what it quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The new text (subject first), normalised: lowercase words separated by single spaces, with a
    /// space at each end so every word has a boundary on both sides.
    pub normalised: String,
    /// Whether the message quotes an earlier exchange (a reply to the council).
    pub quotes_history: bool,
}

/// Separates the new text from quoted replies and the signature, then normalises it.
pub fn prepare(subject: Option<&str>, body: &str) -> Prepared {
    let mut own = String::with_capacity(body.len() + 64);
    if let Some(subject) = subject {
        own.push_str(strip_reply_prefixes(subject));
        own.push('\n');
    }
    let mut quotes_history = false;
    // Words the writer has written so far (a history header before any of them starts a forward or a
    // reply written below the quote, so what follows is read, not cut off).
    let mut own_words = 0;
    let mut in_header = false;
    let mut forwarding = false;
    for line in body.lines() {
        let trimmed = line.trim();
        if in_header {
            // The From:/Sent:/To:/Subject: lines of a quoted or forwarded message's header.
            if is_header_field(trimmed) {
                continue;
            }
            in_header = false;
        }
        if let Some(quoted) = trimmed.strip_prefix('>') {
            quotes_history = true;
            // A forwarded message is the matter itself; an ordinary quote is the council's own words.
            if forwarding {
                own.push_str(quoted);
                own.push('\n');
            }
            continue;
        }
        // The checks below read a line's start (and a sign-off is a short line), so only that is folded.
        let start = lower_start(trimmed);
        if is_history_header(trimmed, &start) {
            quotes_history = true;
            if own_words >= FEW_WORDS && !forwarding {
                break;
            }
            in_header = true;
            continue;
        }
        if is_signature_start(trimmed, &start, own_words) {
            break;
        }
        own_words += trimmed.split_whitespace().count();
        forwarding |= own_words < FEW_WORDS * 3 && says_forwarded(trimmed);
        own.push_str(line);
        own.push('\n');
    }
    Prepared {
        normalised: normalise(&own),
        quotes_history,
    }
}

const SEPARATOR: u8 = 0;
const DROPPED: u8 = 1;
const AMPERSAND: u8 = 2;

/// What each ASCII byte becomes: a letter or digit its lowercase self, an apostrophe or backtick
/// dropped (so `don't` and `dont` match alike), `&` the word "and", anything else a word break.
#[expect(
    clippy::indexing_slicing,
    reason = "const evaluation over indices below 128: out of range fails the build"
)]
const ASCII_CLASS: [u8; 128] = {
    let mut table = [SEPARATOR; 128];
    let mut byte = 0;
    while byte < 128 {
        let b = byte as u8;
        if b.is_ascii_alphanumeric() {
            table[byte] = b.to_ascii_lowercase();
        }
        byte += 1;
    }
    table[b'\'' as usize] = DROPPED;
    table[b'`' as usize] = DROPPED;
    table[b'&' as usize] = AMPERSAND;
    table
};

/// Folds text for matching: lowercase, apostrophes dropped (`don't` -> `dont`), `&` as `and`, every other
/// non-alphanumeric character a word break, with single spaces and a space at each end.
pub fn normalise(text: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(text.len() + 2);
    out.push(b' ');
    let mut pending_space = false;
    let bytes = text.as_bytes();
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte.is_ascii() {
            // The common case, a byte at a time through the class table.
            index += 1;
            match ASCII_CLASS
                .get(usize::from(byte))
                .copied()
                .unwrap_or(SEPARATOR)
            {
                SEPARATOR => pending_space |= out.len() > 1,
                DROPPED => {}
                AMPERSAND => {
                    out.extend_from_slice(b" and");
                    pending_space = true;
                }
                lower => {
                    if pending_space {
                        out.push(b' ');
                        pending_space = false;
                    }
                    out.push(lower);
                }
            }
            continue;
        }
        let Some(ch) = text.get(index..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        index += ch.len_utf8();
        if ch.is_alphanumeric() {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            for lower in ch.to_lowercase() {
                let mut buffer = [0u8; 4];
                out.extend_from_slice(lower.encode_utf8(&mut buffer).as_bytes());
            }
        } else if matches!(ch, '’' | '‘') {
            // Typographic apostrophes, dropped like plain ones.
        } else if ch == '£' {
            out.extend_from_slice(" £".as_bytes());
            pending_space = false;
        } else if out.len() > 1 {
            pending_space = true;
        }
    }
    out.push(b' ');
    // Only whole ASCII bytes and whole encoded characters were written.
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

fn strip_reply_prefixes(subject: &str) -> &str {
    let mut rest = subject.trim_start();
    loop {
        let lower = rest.get(..4).map(str::to_ascii_lowercase);
        match lower.as_deref() {
            Some("re: ") | Some("fw: ") => rest = rest.get(4..).unwrap_or("").trim_start(),
            Some("fwd:") => rest = rest.get(4..).unwrap_or("").trim_start(),
            _ => return rest,
        }
    }
}

/// How many characters of a line [`lower_start`] folds: more than the longest start looked for.
const START_CHARS: usize = 40;

/// The first [`START_CHARS`] characters of a line in lower case.
fn lower_start(line: &str) -> String {
    line.chars()
        .take(START_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// The line (with `start`, its [`lower_start`]) that starts a quoted earlier message in common mail
/// clients.
fn is_history_header(line: &str, start: &str) -> bool {
    let ends_wrote = line
        .len()
        .checked_sub("wrote:".len())
        .and_then(|at| line.get(at..))
        .is_some_and(|end| end.eq_ignore_ascii_case("wrote:"));
    (start.starts_with("on ") && ends_wrote)
        || start.starts_with("-----original message")
        || start.starts_with("----- original message")
        || start.starts_with("-------- original message")
        || start.starts_with("---------- forwarded message")
        || (start.starts_with("from:") && line.contains('@'))
}

/// Fewer of the writer's own words than this before a quoted header: the quote is what the message is
/// about (a forward, or a reply written below it), so the text after it is read too.
const FEW_WORDS: usize = 5;

/// The line that starts a signature block or a mobile client's footer, after some text of the writer's
/// own: a bare `--`, a short "Sent from my ..." line (not a sentence that starts so), a sign-off alone on
/// its line ("Kind regards", "Many thanks") once the message has said something, or a confidentiality
/// disclaimer (whose words, "complaints about this email ...", are not the writer's).
fn is_signature_start(line: &str, start: &str, own_words: usize) -> bool {
    const SIGN_OFFS: [&str; 16] = [
        "thanks",
        "thank you",
        "many thanks",
        "kind regards",
        "regards",
        "best regards",
        "best wishes",
        "yours sincerely",
        "yours faithfully",
        "yours truly",
        "cheers",
        "warm regards",
        "with thanks",
        "thanks again",
        "all the best",
        "with best wishes",
    ];
    const DISCLAIMERS: [&str; 8] = [
        "this email and any",
        "this e-mail and any",
        "this message and any",
        "the information in this",
        "the information contained in this",
        "confidentiality notice",
        "disclaimer:",
        "if you have received this",
    ];
    // A sign-off line is short, so all of it is in `start` when it is one.
    let short = line.chars().count() <= START_CHARS;
    let bare = start.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
    let footer = line.len() <= 60 && start.starts_with("sent from my");
    own_words > 0
        && (line == "--"
            || footer
            || (short && own_words >= FEW_WORDS * 2 && SIGN_OFFS.contains(&bare))
            || DISCLAIMERS
                .iter()
                .any(|disclaimer| start.starts_with(disclaimer)))
}

/// A field line of a quoted message's header block.
fn is_header_field(line: &str) -> bool {
    const FIELDS: [&str; 7] = [
        "from:",
        "sent:",
        "to:",
        "cc:",
        "date:",
        "subject:",
        "importance:",
    ];
    let lower = line
        .get(..14.min(line.len()))
        .unwrap_or(line)
        .to_ascii_lowercase();
    line.is_empty() || FIELDS.iter().any(|field| lower.starts_with(field))
}

/// The writer says they pass on someone else's message.
fn says_forwarded(line: &str) -> bool {
    let lower = line.to_lowercase();
    [
        "forwarding",
        "forwarded",
        "passing on",
        "see below",
        "see the email below",
        "on behalf of",
    ]
    .iter()
    .any(|phrase| lower.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_case_apostrophes_and_punctuation() {
        assert_eq!(
            normalise("I DON'T think it's fixed!!  See: ref#12"),
            " i dont think its fixed see ref 12 "
        );
        assert_eq!(normalise("Roads & paths"), " roads and paths ");
        assert_eq!(normalise(""), "  ");
    }

    #[test]
    fn quoted_history_and_signature_are_set_aside() {
        let body = "Still not fixed.\n\nOn 3 March 2026, Kent County Council wrote:\n> Thank you for your complaint\n";
        let prepared = prepare(Some("RE: Pothole"), body);
        assert_eq!(prepared.normalised, " pothole still not fixed ");
        assert!(prepared.quotes_history);
        let signed = prepare(None, "Thanks so much\n--\nJo Bloggs\nComplaints Manager");
        assert_eq!(signed.normalised, " thanks so much ");
    }

    #[test]
    fn a_reply_below_the_quote_and_a_forward_are_read() {
        let below = "-----Original Message-----\nFrom: Highways\nSent: 12 March\n\nThank you for your report.\n";
        let prepared = prepare(None, &format!("{below}\nStill not mended."));
        assert!(prepared.quotes_history);
        assert!(prepared.normalised.contains("still not mended"));
        let forward = prepare(
            None,
            "Forwarding for my neighbour:\n> The street light outside my house is out.\n",
        );
        assert!(forward.normalised.contains("street light outside my house"));
        let footer = prepare(
            None,
            "Sent from my work phone. My manager refused my leave.",
        );
        assert!(footer.normalised.contains("my manager refused"));
        let quoted = prepare(None, "Still waiting.\n> Thank you for your complaint\n");
        assert_eq!(quoted.normalised, " still waiting ");
        let signed = prepare(
            None,
            "The crossing lights by the roundabout are stuck on red.\n\nThanks\n\nJo Hart\nSurveyor\nThis email and any attachments are confidential. Complaints about it to info@example.com",
        );
        assert_eq!(
            signed.normalised,
            " the crossing lights by the roundabout are stuck on red "
        );
    }
}

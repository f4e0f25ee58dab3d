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
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            quotes_history = true;
            continue;
        }
        if is_history_header(trimmed) {
            quotes_history = true;
            break;
        }
        if is_signature_start(trimmed) {
            break;
        }
        own.push_str(line);
        own.push('\n');
    }
    Prepared { normalised: normalise(&own), quotes_history }
}

/// Folds text for matching: lowercase, apostrophes dropped (`don't` -> `dont`), `&` as `and`, every other
/// non-alphanumeric character a word break, with single spaces and a space at each end.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    let mut pending_space = false;
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch.is_ascii() && !matches!(ch, '\'' | '`' | '&') {
            if out.len() > 1 {
                pending_space = true;
            }
        } else if ch.is_alphanumeric() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.extend(ch.to_lowercase());
        } else if matches!(ch, '\'' | '’' | '‘' | '`') {
            // Dropped inside a word so `don't` and `dont` match alike.
        } else if ch == '&' {
            out.push_str(" and");
            pending_space = true;
        } else if ch == '£' {
            out.push_str(" £");
            pending_space = false;
        } else if out.len() > 1 {
            pending_space = true;
        }
    }
    out.push(' ');
    out
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

/// The line that starts a quoted earlier message in common mail clients.
fn is_history_header(line: &str) -> bool {
    let lower = line.to_lowercase();
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || lower.starts_with("-----original message")
        || lower.starts_with("----- original message")
        || lower.starts_with("-------- original message")
        || lower.starts_with("---------- forwarded message")
        || (lower.starts_with("from:") && lower.contains('@'))
}

/// The line that starts a signature block or a mobile client's footer.
fn is_signature_start(line: &str) -> bool {
    line == "--" || line == "-- " || line.to_lowercase().starts_with("sent from my ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_case_apostrophes_and_punctuation() {
        assert_eq!(normalise("I DON'T think it's fixed!!  See: ref#12"), " i dont think its fixed see ref 12 ");
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
}

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

/// The line that starts a quoted earlier message in common mail clients.
fn is_history_header(line: &str) -> bool {
    (starts_with_folded(line, "on ") && ends_with_folded(line, "wrote:"))
        || starts_with_folded(line, "-----original message")
        || starts_with_folded(line, "----- original message")
        || starts_with_folded(line, "-------- original message")
        || starts_with_folded(line, "---------- forwarded message")
        || (starts_with_folded(line, "from:") && line.contains('@'))
}

/// The line that starts a signature block or a mobile client's footer.
fn is_signature_start(line: &str) -> bool {
    line == "--" || line == "-- " || starts_with_folded(line, "sent from my ")
}

/// `line.to_lowercase().starts_with(prefix)` for a lowercase ASCII `prefix` with no `k` and no final
/// `i`, without Unicode's case tables (most of what `str::to_lowercase` adds to the wasm module): the
/// only characters outside ASCII that lowercase to ASCII are the Kelvin sign (to `k`) and the dotted
/// capital I (to `i` and a combining dot, which no prefix character matches), so such a prefix matches
/// exactly when the line starts with it, ignoring ASCII case.
fn starts_with_folded(line: &str, prefix: &str) -> bool {
    line.as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// `line.to_lowercase().ends_with(suffix)`, on the same terms as [`starts_with_folded`].
fn ends_with_folded(line: &str, suffix: &str) -> bool {
    line.len()
        .checked_sub(suffix.len())
        .and_then(|at| line.as_bytes().get(at..))
        .is_some_and(|end| end.eq_ignore_ascii_case(suffix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folded_line_tests_are_the_unicode_lowercase_ones() {
        let history = |line: &str| {
            let lower = line.to_lowercase();
            (lower.starts_with("on ") && lower.ends_with("wrote:"))
                || lower.starts_with("-----original message")
                || lower.starts_with("----- original message")
                || lower.starts_with("-------- original message")
                || lower.starts_with("---------- forwarded message")
                || (lower.starts_with("from:") && lower.contains('@'))
        };
        let signature = |line: &str| {
            line == "--" || line == "-- " || line.to_lowercase().starts_with("sent from my ")
        };
        let mut lines = vec![String::new()];
        for line in [
            "On Tue, 3 Mar 2026, Jo Bloggs <jo@example.org> WROTE:",
            "ON monday, someone wrote:",
            "On Monday, someone wrote: ",
            "-----Original Message-----",
            "----- ORIGINAL MESSAGE -----",
            "-------- Original message --------",
            "---------- Forwarded message ---------",
            "From: Jo Bloggs <jo@example.org>",
            "From: Jo Bloggs",
            "FROM:jo@",
            "Sent from my iPhone",
            "SENT FROM MY PHONE",
            "sent from my",
            "--",
            "-- ",
            "---",
            "on wrote:",
            "ÖN wrote:",
            "-----Orİginal Message",
            "-----ORİGİNAL MESSAGE",
            "Sent from my \u{212a}indle",
            "\u{212a}",
            "Σent from my phone",
            "ﬀrom: jo@example.org",
            "On é wrote:",
            "wrote:",
            "On\u{0130} wrote:",
        ] {
            lines.push(line.to_string());
            // Every prefix and suffix, cut at character boundaries.
            for (at, _) in line.char_indices() {
                lines.push(line[..at].to_string());
                lines.push(line[at..].to_string());
            }
        }
        for line in &lines {
            assert_eq!(is_history_header(line), history(line), "{line:?}");
            assert_eq!(is_signature_start(line), signature(line), "{line:?}");
        }
        assert!(lines.iter().any(|line| history(line)));
        assert!(lines.iter().any(|line| signature(line)));
    }

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
}

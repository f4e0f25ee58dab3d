//! Exports of the store: every case with its messages (JSON lines, equalities data only when asked
//! for), and the cases reviewers checked as labelled examples in the corpus format of
//! `core/tests/corpus/` (see its `LABELS.md`), so the team can grow the corpus from real mail.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Context;
use chrono::{DateTime, FixedOffset};
use feedback_core::{Caution, Channel, Directorate, Exclusion, Kind, Procedure};
use serde::Serialize;

use crate::report::label;
use crate::store::{CaseRecord, MessageRecord, OutboxEntry, Store};

/// One case as exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedCase {
    /// The case.
    pub case: CaseRecord,
    /// Its messages, oldest first.
    pub messages: Vec<MessageRecord>,
    /// Its acknowledgement.
    pub outbox: Option<OutboxEntry>,
    /// Equalities data: present only in an export that asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equalities: Option<serde_json::Value>,
}

/// Writes every case with its messages as one JSON line each; equalities data only when
/// `with_equalities`. Returns the number of cases.
pub fn export_cases(
    store: &Store,
    with_equalities: bool,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let mut count = 0;
    for case in store.cases()? {
        let exported = ExportedCase {
            messages: store.case_messages(&case.reference)?,
            outbox: store.outbox_entry(&case.reference)?,
            equalities: if with_equalities {
                store.equalities(&case.reference)?
            } else {
                None
            },
            case,
        };
        write_line(out, &exported)?;
        count += 1;
    }
    Ok(count)
}

/// The labels of a corpus line (`LABELS.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expect {
    /// The kind.
    pub kind: Kind,
    /// The procedure.
    pub procedure: Option<Procedure>,
    /// The directorate.
    pub directorate: Option<Directorate>,
    /// Exclusions.
    pub exclusions: BTreeSet<Exclusion>,
    /// Cautions (as the classifier found them: review does not correct cautions).
    pub cautions: BTreeSet<Caution>,
}

/// One labelled example in the corpus format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorpusLine {
    /// The case reference.
    pub id: String,
    /// The first message's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The first message's text.
    pub text: String,
    /// How it arrived.
    pub channel: Channel,
    /// When it was received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<DateTime<FixedOffset>>,
    /// The labels the reviewers confirmed or set.
    pub expect: Expect,
    /// Always `review`.
    pub source: String,
    /// What the reviewers changed.
    pub note: String,
}

/// The labelled example of a reviewed case (`None` when it was not reviewed, or has no first message).
pub fn corpus_line(case: &CaseRecord, first: &MessageRecord) -> Option<CorpusLine> {
    let review = case.review.as_ref()?;
    let a = &case.assessment;
    let changes: Vec<String> = case
        .corrections
        .iter()
        .map(|c| format!("{} {} -> {}", label(&c.field), c.from, c.to))
        .collect();
    let note = if changes.is_empty() {
        format!("reviewed {}: confirmed", review.at.date_naive())
    } else {
        format!(
            "reviewed {}: corrected {}",
            review.at.date_naive(),
            changes.join("; ")
        )
    };
    Some(CorpusLine {
        id: case.reference.clone(),
        subject: first.message.subject.clone(),
        text: first.message.text.clone(),
        channel: case.channel,
        received: case.received,
        expect: Expect {
            kind: a.kind,
            procedure: a.procedure,
            directorate: a.directorate,
            exclusions: a.exclusions.clone(),
            cautions: a.cautions.clone(),
        },
        source: "review".into(),
        note,
    })
}

/// Writes the reviewed cases with corrections (and, with `all_reviewed`, the confirmed ones too) as
/// corpus lines. The texts are residents' own words: anonymise them before they join the corpus.
/// Returns the number of lines.
pub fn export_corrections(
    store: &Store,
    all_reviewed: bool,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let mut count = 0;
    for case in store.cases()? {
        if case.review.is_none() || (case.corrections.is_empty() && !all_reviewed) {
            continue;
        }
        let Some(first) = case
            .messages
            .first()
            .map(|key| store.message(key))
            .transpose()?
            .flatten()
        else {
            continue;
        };
        if let Some(line) = corpus_line(&case, &first) {
            write_line(out, &line)?;
            count += 1;
        }
    }
    Ok(count)
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value).context("writing the export")?;
    out.write_all(b"\n").context("writing the export")
}

//! `mailbot evaluate`: per-label precision and recall of the classifier on labelled corpus files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use feedback_core::{Caution, Directorate, Exclusion, Kind, Policy, Procedure, assess};
use serde::{Deserialize, Serialize};

use crate::classify::InputLine;

/// The labels a corpus line expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    kind: Kind,
    procedure: Option<Procedure>,
    directorate: Option<Directorate>,
    exclusions: BTreeSet<Exclusion>,
    cautions: BTreeSet<Caution>,
}

/// The expected labels as names, for comparing and reporting.
struct ExpectNames {
    kind: String,
    procedure: Option<String>,
    directorate: Option<String>,
    exclusions: BTreeSet<String>,
    cautions: BTreeSet<String>,
}

#[derive(Debug, Deserialize)]
struct Labelled {
    id: String,
    expect: Expect,
}

/// Counts for one label value.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Counts {
    /// Predicted and expected.
    pub true_positive: usize,
    /// Predicted, not expected.
    pub false_positive: usize,
    /// Expected, not predicted.
    pub false_negative: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }
    fn recall(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// The whole evaluation.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Lines scored.
    pub lines: usize,
    /// Kind right.
    pub kind_correct: usize,
    /// Procedure right (including `null` for redirected kinds).
    pub procedure_correct: usize,
    /// Directorate right.
    pub directorate_correct: usize,
    /// Exclusion and caution sets exactly right.
    pub exclusions_exact: usize,
    /// Per label: `kind:complaint`, `procedure:school`, `exclusion:over_twelve_months`, ...
    pub labels: BTreeMap<String, Counts>,
    /// Lines with any field wrong: id, field, expected, got.
    pub errors: Vec<(String, String, String, String)>,
}

/// Assesses every labelled line of the files and scores the result.
pub fn evaluate_files(files: &[PathBuf], policy: &Policy) -> anyhow::Result<Report> {
    let default_today = NaiveDate::from_ymd_opt(2026, 6, 1).context("a fixed date")?;
    let mut report = Report::default();
    for file in files {
        let source =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for (index, line) in source
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = || format!("{} line {}", file.display(), index + 1);
            let input: InputLine = serde_json::from_str(line).with_context(at)?;
            let labelled: Labelled = serde_json::from_str(line).with_context(at)?;
            let a = assess(&input.submission(), policy, input.today(default_today));
            let got_kind = name(&a.kind);
            let got_procedure = a.procedure.as_ref().map(name);
            let got_directorate = a.directorate.as_ref().map(name);
            let got_exclusions: BTreeSet<String> = a.exclusions.iter().map(name).collect();
            let got_cautions: BTreeSet<String> = a.cautions.iter().map(name).collect();
            let expected = &labelled.expect;
            let e = ExpectNames {
                kind: name(&expected.kind),
                procedure: expected.procedure.as_ref().map(name),
                directorate: expected.directorate.as_ref().map(name),
                exclusions: expected.exclusions.iter().map(name).collect(),
                cautions: expected.cautions.iter().map(name).collect(),
            };
            let e = &e;
            report.lines += 1;
            let mut wrong = |field: &str, expected: String, got: String| {
                report
                    .errors
                    .push((labelled.id.clone(), field.into(), expected, got))
            };
            if got_kind == e.kind {
                report.kind_correct += 1
            } else {
                wrong("kind", e.kind.clone(), got_kind.clone())
            }
            if got_procedure == e.procedure {
                report.procedure_correct += 1
            } else {
                wrong("procedure", show(&e.procedure), show(&got_procedure))
            }
            if got_directorate == e.directorate {
                report.directorate_correct += 1
            } else {
                wrong("directorate", show(&e.directorate), show(&got_directorate))
            }
            if got_exclusions == e.exclusions && got_cautions == e.cautions {
                report.exclusions_exact += 1;
            } else {
                wrong(
                    "exclusions/cautions",
                    format!("{:?} {:?}", e.exclusions, e.cautions),
                    format!("{:?} {:?}", got_exclusions, got_cautions),
                );
            }
            tally(
                &mut report.labels,
                "kind",
                std::iter::once(e.kind.clone()).collect(),
                std::iter::once(got_kind).collect(),
            );
            tally(
                &mut report.labels,
                "procedure",
                e.procedure.iter().cloned().collect(),
                got_procedure.into_iter().collect(),
            );
            tally(
                &mut report.labels,
                "directorate",
                e.directorate.iter().cloned().collect(),
                got_directorate.into_iter().collect(),
            );
            tally(
                &mut report.labels,
                "exclusion",
                e.exclusions.clone(),
                got_exclusions,
            );
            tally(
                &mut report.labels,
                "caution",
                e.cautions.clone(),
                got_cautions,
            );
        }
    }
    Ok(report)
}

fn tally(
    labels: &mut BTreeMap<String, Counts>,
    field: &str,
    expected: BTreeSet<String>,
    got: BTreeSet<String>,
) {
    for label in expected.union(&got) {
        let counts = labels.entry(format!("{field}:{label}")).or_default();
        match (expected.contains(label), got.contains(label)) {
            (true, true) => counts.true_positive += 1,
            (false, true) => counts.false_positive += 1,
            (true, false) => counts.false_negative += 1,
            (false, false) => {}
        }
    }
}

fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn show(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "null".into())
}

impl Report {
    /// Share of lines with the kind right.
    pub fn kind_accuracy(&self) -> f64 {
        ratio(self.kind_correct, self.lines)
    }

    /// Share of lines with the procedure right.
    pub fn procedure_accuracy(&self) -> f64 {
        ratio(self.procedure_correct, self.lines)
    }

    /// Recall over every expected exclusion.
    pub fn exclusion_recall(&self) -> f64 {
        let (tp, fne) = self
            .labels
            .iter()
            .filter(|(k, _)| k.starts_with("exclusion:"))
            .fold((0, 0), |(tp, fne), (_, c)| {
                (tp + c.true_positive, fne + c.false_negative)
            });
        ratio(tp, tp + fne)
    }

    /// The report as a text table.
    pub fn render(&self, show_errors: bool) -> String {
        let mut out = String::new();
        let pct = |n: usize| 100.0 * ratio(n, self.lines);
        let _ = writeln!(out, "lines: {}", self.lines);
        let _ = writeln!(
            out,
            "kind accuracy:        {:5.1}%",
            100.0 * self.kind_accuracy()
        );
        let _ = writeln!(
            out,
            "procedure accuracy:   {:5.1}%",
            100.0 * self.procedure_accuracy()
        );
        let _ = writeln!(
            out,
            "directorate accuracy: {:5.1}%",
            pct(self.directorate_correct)
        );
        let _ = writeln!(
            out,
            "exclusion recall:     {:5.1}%",
            100.0 * self.exclusion_recall()
        );
        let _ = writeln!(
            out,
            "exclusions+cautions exactly right: {:5.1}%",
            pct(self.exclusions_exact)
        );
        let _ = writeln!(
            out,
            "\n{:<48} {:>9} {:>7} {:>8}",
            "label", "precision", "recall", "support"
        );
        for (label, c) in &self.labels {
            let _ = writeln!(
                out,
                "{:<48} {:>8.1}% {:>6.1}% {:>8}",
                label,
                100.0 * c.precision(),
                100.0 * c.recall(),
                c.true_positive + c.false_negative
            );
        }
        if show_errors {
            let _ = writeln!(out, "\nerrors:");
            for (id, field, expected, got) in &self.errors {
                let _ = writeln!(out, "{id:<8} {field:<20} expected {expected:<40} got {got}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus files whose names start with `prefix`, in name order.
    fn corpus(prefix: &str) -> Vec<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/corpus");
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "jsonl")
                    && p.file_name().unwrap().to_string_lossy().starts_with(prefix)
            })
            .collect();
        files.sort();
        files
    }

    /// Every corpus line parses with valid labels, the corpus is as large as the issue asks and a fifth is
    /// held out. The accuracy figures are printed for the record (`cargo test -- --nocapture`); the README
    /// carries them.
    #[test]
    fn corpus_is_valid_and_evaluates() {
        let policy = Policy::kent();
        let train = evaluate_files(&corpus("train-"), &policy).unwrap();
        let holdout = evaluate_files(&corpus("holdout"), &policy).unwrap();
        assert!(
            train.lines + holdout.lines >= 400,
            "the corpus has {} lines",
            train.lines + holdout.lines
        );
        assert!(
            holdout.lines * 5 >= train.lines + holdout.lines,
            "the held-out part is under a fifth"
        );
        for (name, report) in [("train", &train), ("holdout", &holdout)] {
            println!(
                "{name}: {} lines, kind {:.1}%, procedure {:.1}%, exclusion recall {:.1}%",
                report.lines,
                100.0 * report.kind_accuracy(),
                100.0 * report.procedure_accuracy(),
                100.0 * report.exclusion_recall()
            );
        }
    }
}

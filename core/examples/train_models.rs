//! Trains the kind model and Kent's procedure model from the labelled training corpus and writes
//! `core/policy/kind-model-en.toml` and `core/policy/kent-procedure-model.toml`.
//!
//! `cargo run --release -p feedback-core --example train_models` reads `core/tests/corpus/train-*.jsonl`;
//! the held-out file is never read. `-- --cross-validate` prints five-fold accuracy for several penalties
//! instead, and `-- --show-errors` the training messages the five-fold kind models get wrong.
//! Deterministic: the same corpus gives the same weights.
#![allow(missing_docs)]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a developer tool over the project's own files"
)]

use std::path::Path;

use feedback_core::classify::{
    kind_feature_names, kind_features_of, procedure_feature_names, procedure_features_of,
};
use feedback_core::linear::{Label, LinearModel};
use feedback_core::{FormAnswers, Kind, Policy, Procedure, Submission};
use serde::Deserialize;

const STEPS: usize = 3000;
const RATE: f32 = 0.5;
const L2: f32 = 0.02;

#[derive(Deserialize)]
struct Expect {
    kind: Kind,
    procedure: Option<Procedure>,
}

#[derive(Deserialize)]
struct Line {
    id: String,
    text: String,
    subject: Option<String>,
    form: Option<FormAnswers>,
    aware_since: Option<chrono::NaiveDate>,
    expect: Expect,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("train-") && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    let lines: Vec<Line> = files
        .iter()
        .flat_map(|file| {
            std::fs::read_to_string(file)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Line>>()
        })
        .collect();
    let policy = Policy::kent_untrained().expect("the embedded policy and cues are valid");

    let kinds: Vec<(Vec<f32>, Kind)> = lines
        .iter()
        .map(|l| {
            (
                kind_features_of(l.subject.as_deref(), &l.text, &policy),
                l.expect.kind,
            )
        })
        .collect();
    let procedures: Vec<(Vec<f32>, Procedure)> = lines
        .iter()
        .filter_map(|l| {
            let procedure = l.expect.procedure?;
            let mut form = l.form.clone().unwrap_or_default();
            form.aware_since = form.aware_since.or(l.aware_since);
            let submission = Submission {
                text: l.text.clone(),
                subject: l.subject.clone(),
                form,
                ..Submission::default()
            };
            Some((
                procedure_features_of(&submission, &policy, l.expect.kind),
                procedure,
            ))
        })
        .collect();
    let kind_names = kind_feature_names();
    let procedure_names = procedure_feature_names(&policy.document);

    if std::env::args().any(|a| a == "--show-errors") {
        // The training messages each fold's kind model gets wrong, to study for general causes.
        for (i, label) in cross_validated_labels(&kind_names, &kinds, L2)
            .iter()
            .enumerate()
        {
            if let (Some(line), Some(got)) = (lines.get(i), label)
                && *got != line.expect.kind
            {
                println!(
                    "{}\t{:?} -> {:?}\t{}",
                    line.id,
                    line.expect.kind,
                    got,
                    line.text.replace('\n', " ")
                );
            }
        }
        return;
    }
    if std::env::args().any(|a| a == "--cross-validate") {
        for l2 in [0.01, 0.02, 0.05] {
            println!(
                "l2 {l2}: kind {:.1}% of {}, procedure {:.1}% of {}",
                cross_validate(&kind_names, &kinds, l2),
                kinds.len(),
                cross_validate(&procedure_names, &procedures, l2),
                procedures.len()
            );
        }
        return;
    }
    write(
        root.join("policy/kind-model-en.toml"),
        &LinearModel::train(&kind_names, &kinds, STEPS, RATE, L2),
    );
    write(
        root.join("policy/kent-procedure-model.toml"),
        &LinearModel::train(&procedure_names, &procedures, STEPS, RATE, L2),
    );
    println!(
        "trained from {} files: kind on {} messages ({} features), procedure on {} ({} features)",
        files.len(),
        kinds.len(),
        kind_names.len(),
        procedures.len(),
        procedure_names.len()
    );
}

/// Five folds by position: accuracy on training messages the model was not fitted to.
fn cross_validate<L: Label>(names: &[String], examples: &[(Vec<f32>, L)], l2: f32) -> f64 {
    let right = cross_validated_labels(names, examples, l2)
        .iter()
        .zip(examples)
        .filter(|(got, (_, label))| **got == Some(*label))
        .count();
    100.0 * right as f64 / examples.len().max(1) as f64
}

/// Each example's label as predicted by the model of the fold that left it out.
fn cross_validated_labels<L: Label>(
    names: &[String],
    examples: &[(Vec<f32>, L)],
    l2: f32,
) -> Vec<Option<L>> {
    let mut labels = vec![None; examples.len()];
    for fold in 0..5 {
        let train: Vec<_> = examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 5 != fold)
            .map(|(_, e)| e.clone())
            .collect();
        let model = LinearModel::train(names, &train, STEPS, RATE, l2);
        for (i, (x, _)) in examples.iter().enumerate().filter(|(i, _)| i % 5 == fold) {
            if let Some(label) = labels.get_mut(i) {
                *label = model.predict(x).map(|p| p.label);
            }
        }
    }
    labels
}

fn write<L: Label>(path: std::path::PathBuf, model: &LinearModel<L>) {
    let mut out = String::from(
        "# Generated by `cargo run --release -p feedback-core --example train_models` from the training corpus.\n# Do not edit by hand: change the cues or the corpus and retrain.\n",
    );
    out.push_str(&toml::to_string(model).unwrap());
    std::fs::write(path, out).unwrap();
}

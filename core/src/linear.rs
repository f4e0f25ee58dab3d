//! The learned models (kind, procedure): multinomial logistic regression over the classifier's
//! features, trained from the labelled corpus by `cargo run -p feedback-core --example train_models` and
//! embedded as data. Deterministic: full-batch gradient descent from zero weights, a fixed number of steps.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::{Kind, Procedure};

/// A label a linear model can predict.
pub trait Label: Copy + Ord + Serialize + DeserializeOwned + std::fmt::Debug + 'static {
    /// Every value, in a fixed order.
    fn all() -> &'static [Self];
}

impl Label for Kind {
    fn all() -> &'static [Kind] {
        &Kind::ALL
    }
}

impl Label for Procedure {
    fn all() -> &'static [Procedure] {
        &Procedure::ALL
    }
}

/// The kind model.
pub type KindModel = LinearModel<Kind>;
/// The procedure model.
pub type ProcedureModel = LinearModel<Procedure>;

/// Trained weights, as stored in `kind-model-en.toml` and `procedure-model-en.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound = "L: Label")]
pub struct LinearModel<L: Label> {
    /// Feature names, in the order the engine computes them; empty for an untrained model.
    pub features: Vec<String>,
    /// Per-feature scale the inputs are divided by (the training standard deviation).
    pub scale: Vec<f32>,
    /// Per kind: one weight per feature, then the bias last.
    pub weights: BTreeMap<L, Vec<f32>>,
}

/// How many of the strongest features a prediction names.
const TOP_FEATURES: usize = 6;

/// A prediction with its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction<L> {
    /// The most probable label.
    pub label: L,
    /// Its probability.
    pub probability: f32,
    /// Features that pushed hardest towards it, strongest first.
    pub top_features: Vec<String>,
}

impl<L: Label> LinearModel<L> {
    /// A model with no weights: every label equally likely.
    pub fn untrained() -> LinearModel<L> {
        LinearModel {
            features: Vec::new(),
            scale: Vec::new(),
            weights: BTreeMap::new(),
        }
    }

    /// Problems with the model for an engine computing `expected` features.
    pub fn problems(&self, expected: &[String]) -> Vec<String> {
        if self.features.is_empty() {
            return Vec::new();
        }
        let mut problems = Vec::new();
        if self.features != expected {
            problems.push("the model was trained for other features: retrain it with the train_models example".to_string());
        }
        if self.scale.len() != self.features.len() {
            problems.push(format!(
                "`scale` has {} values for {} features",
                self.scale.len(),
                self.features.len()
            ));
        }
        for (kind, weights) in &self.weights {
            if weights.len() != self.features.len() + 1 {
                problems.push(format!(
                    "`weights.{}` has {} values, expected {}",
                    crate::policy::snake(kind),
                    weights.len(),
                    self.features.len() + 1
                ));
            }
        }
        problems
    }

    /// Whether the model has weights.
    pub fn is_trained(&self) -> bool {
        !self.features.is_empty()
    }

    fn scores(&self, features: &[f32], allowed: impl Fn(L) -> bool) -> Vec<(L, f32)> {
        L::all()
            .iter()
            .filter(|label| allowed(**label))
            .map(|kind| {
                let score = self.weights.get(kind).map_or(0.0, |w| {
                    let bias = w.last().copied().unwrap_or(0.0);
                    bias + w
                        .iter()
                        .zip(features)
                        .zip(&self.scale)
                        .map(|((w, x), s)| w * x / s)
                        .sum::<f32>()
                });
                (*kind, score)
            })
            .collect()
    }

    /// The most probable label for these features.
    pub fn predict(&self, features: &[f32]) -> Option<Prediction<L>> {
        self.predict_among(features, |_| true)
    }

    /// The most probable label among those `allowed`.
    pub fn predict_among(
        &self,
        features: &[f32],
        allowed: impl Fn(L) -> bool,
    ) -> Option<Prediction<L>> {
        let scores = self.scores(features, allowed);
        let probabilities = softmax(&scores.iter().map(|(_, s)| *s).collect::<Vec<_>>());
        let (best, probability) = scores.iter().zip(&probabilities).fold(
            None,
            |best: Option<(L, f32)>, ((label, _), q)| match best {
                Some((_, p)) if p >= *q => best,
                _ => Some((*label, *q)),
            },
        )?;
        // The features that pushed hardest towards the winner; only the top few names are cloned.
        let mut contributions: Vec<(f32, &String)> = match self.weights.get(&best) {
            Some(w) => self
                .features
                .iter()
                .zip(w)
                .zip(features)
                .zip(&self.scale)
                .map(|(((name, w), x), s)| (w * x / s, name))
                .filter(|(c, _)| *c > 0.0)
                .collect(),
            None => Vec::new(),
        };
        contributions.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let top_features = contributions
            .into_iter()
            .take(TOP_FEATURES)
            .map(|(_, n)| n.clone())
            .collect();
        Some(Prediction {
            label: best,
            probability,
            top_features,
        })
    }

    /// Trains on (features, kind) examples: softmax regression with L2 penalty `l2`, `steps` full-batch
    /// gradient steps at rate `rate`. The same examples always give the same weights.
    pub fn train(
        names: &[String],
        examples: &[(Vec<f32>, L)],
        steps: usize,
        rate: f32,
        l2: f32,
    ) -> LinearModel<L> {
        let labels = L::all();
        let n_features = names.len();
        let count = examples.len().max(1) as f32;
        // Scale each feature by its standard deviation so one learning rate suits all.
        let scale: Vec<f32> = (0..n_features)
            .map(|f| {
                let values = examples
                    .iter()
                    .map(|(x, _)| x.get(f).copied().unwrap_or(0.0));
                let mean = values.clone().sum::<f32>() / count;
                let variance = values.map(|v| (v - mean) * (v - mean)).sum::<f32>() / count;
                if variance > 1e-6 {
                    variance.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let mut weights: Vec<Vec<f32>> = vec![vec![0.0; n_features + 1]; labels.len()];
        let scaled: Vec<(Vec<f32>, usize)> = examples
            .iter()
            .map(|(x, kind)| {
                let mut row: Vec<f32> = x.iter().zip(&scale).map(|(v, s)| v / s).collect();
                row.push(1.0);
                (row, labels.iter().position(|k| k == kind).unwrap_or(0))
            })
            .collect();
        for _ in 0..steps {
            let mut gradient = vec![vec![0.0f32; n_features + 1]; labels.len()];
            for (row, label) in &scaled {
                let scores: Vec<f32> = weights
                    .iter()
                    .map(|w| w.iter().zip(row).map(|(a, b)| a * b).sum())
                    .collect();
                let probabilities = softmax(&scores);
                for (class, (g, p)) in gradient.iter_mut().zip(&probabilities).enumerate() {
                    let error = p - if class == *label { 1.0 } else { 0.0 };
                    for (gi, xi) in g.iter_mut().zip(row) {
                        *gi += error * xi;
                    }
                }
            }
            for (w, g) in weights.iter_mut().zip(&gradient) {
                let last = w.len().saturating_sub(1);
                for (i, (wi, gi)) in w.iter_mut().zip(g).enumerate() {
                    let penalty = if i == last { 0.0 } else { l2 * *wi };
                    *wi -= rate * (gi / count + penalty);
                }
            }
        }
        let weights = labels.iter().copied().zip(weights).collect();
        LinearModel {
            features: names.to_vec(),
            scale,
            weights,
        }
    }
}

fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::MIN, f32::max);
    let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.iter()
        .map(|e| e / total.max(f32::MIN_POSITIVE))
        .collect()
}

//! The phrase cues, compiled once into one Aho-Corasick automaton, and the scan of a message for them.

use std::collections::BTreeMap;

use aho_corasick::automaton::Automaton;
// The phrase automaton: natively the contiguous NFA (dense to DENSE_DEPTH), because with several thousand
// phrases the DFA's transition table outgrows the CPU caches and scans slower (`cargo bench -p
// feedback-core`, idle: 46,400 against 48,700 to 50,500 messages a second); in the browser the DFA, which is faster there
// and the only kind linked into the module. Both find the same matches in the same order.
#[cfg(target_arch = "wasm32")]
use aho_corasick::dfa::DFA as PhraseAutomaton;
#[cfg(not(target_arch = "wasm32"))]
use aho_corasick::nfa::contiguous::NFA as PhraseAutomaton;
use aho_corasick::{Input, Match, MatchKind};
use serde::{Deserialize, Serialize};

use crate::policy::{PolicyProblem, ServiceAreaSpec};
use crate::text::normalise;

/// How deep the native automaton's states are dense (a full transition table: faster, larger).
#[cfg(not(target_arch = "wasm32"))]
const DENSE_DEPTH: usize = 4;

/// What a cue phrase is evidence of. The classifier combines these; the cue file supplies the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Signal {
    ComplaintIntent,
    NotComplaint,
    Dissatisfaction,
    PriorContact,
    Delay,
    StaffConduct,
    ServiceFailure,
    Praise,
    Sarcasm,
    Courtesy,
    PolicyLevel,
    Suggestion,
    GeneralAudience,
    ReportIntent,
    FaultCondition,
    ServiceRequest,
    FoiRequest,
    SarRequest,
    InfoDissatisfaction,
    DataBreach,
    PaymentRequest,
    DamageLoss,
    StaffEmployment,
    AsResident,
    LegalStarted,
    LegalWord,
    StartedVerb,
    LegalThreat,
    CourtDecided,
    OmbudsmanDecided,
    OmbudsmanMention,
    CourtMention,
    DecisionMade,
    AppealRoute,
    AppealDispute,
    RefusalDecision,
    Safeguarding,
    VulnerablePerson,
    OnBehalfExplicit,
    Relative,
    AlternativeFormat,
    RequestVerb,
    FluencyComplaint,
    FluencyIllegitimate,
    CouncillorSubject,
    CouncillorHelper,
    GovernorWriter,
    ChildrensStatutoryCriteria,
    Escalation,
    Negation,
    FirstPerson,
    PersonPraised,
    PersonalStake,
}

impl Signal {
    /// The signal's name, as in the cue file.
    pub fn name(self) -> &'static str {
        match self {
            Signal::ComplaintIntent => "complaint_intent",
            Signal::NotComplaint => "not_complaint",
            Signal::Dissatisfaction => "dissatisfaction",
            Signal::PriorContact => "prior_contact",
            Signal::Delay => "delay",
            Signal::StaffConduct => "staff_conduct",
            Signal::ServiceFailure => "service_failure",
            Signal::Praise => "praise",
            Signal::Sarcasm => "sarcasm",
            Signal::Courtesy => "courtesy",
            Signal::PolicyLevel => "policy_level",
            Signal::Suggestion => "suggestion",
            Signal::GeneralAudience => "general_audience",
            Signal::ReportIntent => "report_intent",
            Signal::FaultCondition => "fault_condition",
            Signal::ServiceRequest => "service_request",
            Signal::FoiRequest => "foi_request",
            Signal::SarRequest => "sar_request",
            Signal::InfoDissatisfaction => "info_dissatisfaction",
            Signal::DataBreach => "data_breach",
            Signal::PaymentRequest => "payment_request",
            Signal::DamageLoss => "damage_loss",
            Signal::StaffEmployment => "staff_employment",
            Signal::AsResident => "as_resident",
            Signal::LegalStarted => "legal_started",
            Signal::LegalWord => "legal_word",
            Signal::StartedVerb => "started_verb",
            Signal::LegalThreat => "legal_threat",
            Signal::CourtDecided => "court_decided",
            Signal::OmbudsmanDecided => "ombudsman_decided",
            Signal::OmbudsmanMention => "ombudsman_mention",
            Signal::CourtMention => "court_mention",
            Signal::DecisionMade => "decision_made",
            Signal::AppealRoute => "appeal_route",
            Signal::AppealDispute => "appeal_dispute",
            Signal::RefusalDecision => "refusal_decision",
            Signal::Safeguarding => "safeguarding",
            Signal::VulnerablePerson => "vulnerable_person",
            Signal::OnBehalfExplicit => "on_behalf_explicit",
            Signal::Relative => "relative",
            Signal::AlternativeFormat => "alternative_format",
            Signal::RequestVerb => "request_verb",
            Signal::FluencyComplaint => "fluency_complaint",
            Signal::FluencyIllegitimate => "fluency_illegitimate",
            Signal::CouncillorSubject => "councillor_subject",
            Signal::CouncillorHelper => "councillor_helper",
            Signal::GovernorWriter => "governor_writer",
            Signal::ChildrensStatutoryCriteria => "childrens_statutory_criteria",
            Signal::Escalation => "escalation",
            Signal::Negation => "negation",
            Signal::FirstPerson => "first_person",
            Signal::PersonPraised => "person_praised",
            Signal::PersonalStake => "personal_stake",
        }
    }

    /// Every signal, in declaration order.
    pub const ALL: [Signal; SIGNALS] = [
        Signal::ComplaintIntent,
        Signal::NotComplaint,
        Signal::Dissatisfaction,
        Signal::PriorContact,
        Signal::Delay,
        Signal::StaffConduct,
        Signal::ServiceFailure,
        Signal::Praise,
        Signal::Sarcasm,
        Signal::Courtesy,
        Signal::PolicyLevel,
        Signal::Suggestion,
        Signal::GeneralAudience,
        Signal::ReportIntent,
        Signal::FaultCondition,
        Signal::ServiceRequest,
        Signal::FoiRequest,
        Signal::SarRequest,
        Signal::InfoDissatisfaction,
        Signal::DataBreach,
        Signal::PaymentRequest,
        Signal::DamageLoss,
        Signal::StaffEmployment,
        Signal::AsResident,
        Signal::LegalStarted,
        Signal::LegalWord,
        Signal::StartedVerb,
        Signal::LegalThreat,
        Signal::CourtDecided,
        Signal::OmbudsmanDecided,
        Signal::OmbudsmanMention,
        Signal::CourtMention,
        Signal::DecisionMade,
        Signal::AppealRoute,
        Signal::AppealDispute,
        Signal::RefusalDecision,
        Signal::Safeguarding,
        Signal::VulnerablePerson,
        Signal::OnBehalfExplicit,
        Signal::Relative,
        Signal::AlternativeFormat,
        Signal::RequestVerb,
        Signal::FluencyComplaint,
        Signal::FluencyIllegitimate,
        Signal::CouncillorSubject,
        Signal::CouncillorHelper,
        Signal::GovernorWriter,
        Signal::ChildrensStatutoryCriteria,
        Signal::Escalation,
        Signal::Negation,
        Signal::FirstPerson,
        Signal::PersonPraised,
        Signal::PersonalStake,
    ];
}

/// Number of signals.
pub const SIGNALS: usize = Signal::PersonalStake as usize + 1;

/// The cue file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconSource {
    /// Phrase groups for signals.
    pub cues: Vec<CueGroup>,
    /// Phrases that point at each service area.
    pub areas: BTreeMap<String, AreaCues>,
}

/// Phrases for one signal with one weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueGroup {
    /// The signal.
    pub signal: Signal,
    /// How strongly each phrase counts.
    #[serde(default = "one")]
    pub weight: f32,
    /// Signals whose matches inside one of these phrases do not count (`not complaining` overrides
    /// `complaining`).
    #[serde(default)]
    pub overrides: Vec<Signal>,
    /// The phrases; a final `*` matches any word ending (`repair*`).
    pub phrases: Vec<String>,
}

/// Phrases for one service area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaCues {
    /// How strongly each phrase counts.
    #[serde(default = "one")]
    pub weight: f32,
    /// The phrases.
    pub phrases: Vec<String>,
}

fn one() -> f32 {
    1.0
}

/// What one pattern stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Signal(Signal),
    Area(usize),
}

#[derive(Debug, Clone, PartialEq)]
struct PatternMeta {
    slot: Slot,
    weight: f32,
    overrides: Vec<Signal>,
    phrase: String,
    /// Whether a longer pattern that can cancel this one contains it; only then is a match checked.
    coverable: bool,
}

/// The compiled cues.
#[derive(Debug, Clone)]
pub struct Lexicon {
    /// `None` only when compiling failed, which `Policy::load` reports as an error.
    automaton: Option<PhraseAutomaton>,
    /// For each distinct pattern, every cue that uses it (a phrase can serve a signal and an area).
    patterns: Vec<Vec<PatternMeta>>,
    /// The longest pattern in bytes: how far back a containing match can start.
    longest: usize,
    areas: Vec<String>,
}

/// Two lexicons are equal when they hold the same cues: the automaton is built from them.
impl PartialEq for Lexicon {
    fn eq(&self, other: &Lexicon) -> bool {
        self.patterns == other.patterns
            && self.longest == other.longest
            && self.areas == other.areas
            && self.automaton.is_some() == other.automaton.is_some()
    }
}

/// One cue found in a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a> {
    /// The phrase as written in the cue file.
    pub phrase: &'a str,
    /// Its weight.
    pub weight: f32,
    /// Where in the normalised text it starts.
    pub at: usize,
}

/// Every cue found in a message, by signal and by area.
#[derive(Debug, Clone, Default)]
pub struct Scan<'a> {
    /// Every hit, grouped by slot: signals first (in `Signal` order), then areas (in policy order).
    hits: Vec<Hit<'a>>,
    /// Where each slot's hits start in `hits`; one more entry than there are slots.
    starts: Vec<usize>,
    /// The area names, in policy order.
    area_names: &'a [String],
    /// Each signal's score, computed once.
    signal_scores: Vec<f32>,
    /// Each area's score, in the policy's order, computed once.
    area_scores: Vec<f32>,
}

impl Lexicon {
    /// Compiles the cue file, reporting empty phrases (and unknown areas, see below) into `problems`.
    /// Cues for an area the policy lacks are a problem when `strict_areas` (the cue file was written for
    /// this policy), and are skipped otherwise (the shared English cues know areas a council may not have).
    pub fn compile(
        source: &LexiconSource,
        areas: &BTreeMap<String, ServiceAreaSpec>,
        strict_areas: bool,
        problems: &mut Vec<PolicyProblem>,
    ) -> Lexicon {
        let mut patterns: Vec<(String, PatternMeta)> = Vec::new();
        let mut add = |phrase: &str,
                       slot: Slot,
                       weight: f32,
                       overrides: &[Signal],
                       field: String,
                       problems: &mut Vec<PolicyProblem>| {
            let prefix = phrase.ends_with('*');
            let words = normalise(phrase.trim_end_matches('*'));
            if words.trim().is_empty() {
                problems.push(PolicyProblem {
                    field,
                    message: format!("phrase `{phrase}` has no words"),
                });
                return;
            }
            // A leading space always, a trailing one unless the phrase ends in `*`: whole words only.
            let pattern = if prefix {
                words.trim_end().to_string()
            } else {
                words
            };
            patterns.push((
                pattern,
                PatternMeta {
                    slot,
                    weight,
                    overrides: overrides.to_vec(),
                    phrase: phrase.to_string(),
                    coverable: false,
                },
            ));
        };
        for (index, group) in source.cues.iter().enumerate() {
            for phrase in &group.phrases {
                add(
                    phrase,
                    Slot::Signal(group.signal),
                    group.weight,
                    &group.overrides,
                    format!("cues[{index}].phrases"),
                    problems,
                );
            }
        }
        let names: Vec<String> = areas.keys().cloned().collect();
        for (area, cues) in &source.areas {
            match names.iter().position(|name| name == area) {
                Some(slot) => {
                    for phrase in &cues.phrases {
                        add(
                            phrase,
                            Slot::Area(slot),
                            cues.weight,
                            &[],
                            format!("areas.{area}"),
                            problems,
                        );
                    }
                }
                None if !strict_areas => {}
                None => problems.push(PolicyProblem {
                    field: format!("areas.{area}"),
                    message: format!("no service area `{area}` in the policy's [service_areas]"),
                }),
            }
        }
        // One automaton pattern per distinct text, in text order, carrying every cue that uses it. A list
        // kept in order by binary search rather than a map: a `BTreeMap` of these types would add its
        // code to the wasm module.
        let mut distinct: Vec<(String, Vec<PatternMeta>)> = Vec::new();
        for (pattern, meta) in patterns {
            match distinct.binary_search_by(|(text, _)| text.cmp(&pattern)) {
                Ok(found) => {
                    if let Some((_, metas)) = distinct.get_mut(found) {
                        metas.push(meta);
                    }
                }
                Err(at) => distinct.insert(at, (pattern, vec![meta])),
            }
        }
        let longest = distinct
            .iter()
            .map(|(text, _)| text.len())
            .max()
            .unwrap_or(0);
        // The automaton itself rather than the `AhoCorasick` wrapper, which would link every kind of
        // automaton into the wasm module.
        let mut builder = PhraseAutomaton::builder();
        builder.match_kind(MatchKind::Standard);
        #[cfg(not(target_arch = "wasm32"))]
        builder.dense_depth(DENSE_DEPTH);
        let automaton = builder.build(distinct.iter().map(|(text, _)| text));
        let automaton = match automaton {
            Ok(automaton) => Some(automaton),
            Err(err) => {
                problems.push(PolicyProblem {
                    field: "cues".into(),
                    message: format!("the phrases cannot be compiled: {err}"),
                });
                None
            }
        };
        let (texts, mut patterns): (Vec<String>, Vec<Vec<PatternMeta>>) =
            distinct.into_iter().unzip();
        if let Some(automaton) = &automaton {
            mark_coverable(automaton, &texts, &mut patterns);
        }
        Lexicon {
            automaton,
            patterns,
            longest,
            areas: names,
        }
    }

    /// Finds every cue in normalised text. A match inside a longer match of the same signal, or inside a
    /// match whose group overrides its signal, does not count.
    pub fn scan<'a>(&'a self, normalised: &str) -> Scan<'a> {
        let mut found: Vec<(usize, usize, &PatternMeta)> = Vec::new();
        if let Some(automaton) = &self.automaton {
            for m in overlapping(automaton, normalised) {
                if let Some(metas) = self.patterns.get(m.pattern().as_usize()) {
                    found.extend(metas.iter().map(|meta| (m.start(), m.end(), meta)));
                }
            }
        }
        // The automaton reports matches in order of their end, so a match's containers (which end no
        // earlier and at most `longest` bytes later) are its near neighbours: only those are checked,
        // and only for cues that a longer pattern can cancel.
        let longest = self.longest;
        let mut kept: Vec<(usize, Hit<'a>)> = Vec::with_capacity(found.len());
        for (index, (start, end, meta)) in found.iter().enumerate() {
            let same_end_before = found
                .get(..index)
                .unwrap_or(&[])
                .iter()
                .rev()
                .take_while(|(_, e, _)| e == end);
            let after = found
                .get(index + 1..)
                .unwrap_or(&[])
                .iter()
                .take_while(|(_, e, _)| *e <= end + longest);
            let covered = meta.coverable && same_end_before.chain(after).any(|(s, e, other)| {
                let contains = s <= start && e >= end && (e - s) > (end - start);
                contains
                    && (other.slot == meta.slot
                        || matches!(meta.slot, Slot::Signal(sig) if other.overrides.contains(&sig)))
            });
            if covered {
                continue;
            }
            let slot = match meta.slot {
                Slot::Signal(signal) => signal as usize,
                Slot::Area(index) => SIGNALS + index,
            };
            kept.push((
                slot,
                Hit {
                    phrase: meta.phrase.as_str(),
                    weight: meta.weight,
                    at: *start,
                },
            ));
        }
        // Group by slot with a counting sort, keeping each slot's hits in text order.
        let slots = SIGNALS + self.areas.len();
        let mut starts = vec![0usize; slots + 1];
        for (slot, _) in &kept {
            if let Some(count) = starts.get_mut(slot + 1) {
                *count += 1;
            }
        }
        for slot in 0..slots {
            let before = starts.get(slot).copied().unwrap_or(0);
            if let Some(next) = starts.get_mut(slot + 1) {
                *next += before;
            }
        }
        let mut cursor = starts.clone();
        let mut grouped: Vec<Option<Hit<'a>>> = vec![None; kept.len()];
        for (slot, hit) in kept {
            if let Some(position) = cursor.get_mut(slot) {
                if let Some(place) = grouped.get_mut(*position) {
                    *place = Some(hit);
                }
                *position += 1;
            }
        }
        let mut scan = Scan {
            hits: grouped.into_iter().flatten().collect(),
            starts,
            area_names: &self.areas,
            signal_scores: Vec::new(),
            area_scores: Vec::new(),
        };
        scan.signal_scores = (0..SIGNALS)
            .map(|slot| distinct_weight(scan.slot_hits(slot)))
            .collect();
        scan.area_scores = (0..scan.area_names.len())
            .map(|area| distinct_weight(scan.slot_hits(SIGNALS + area)))
            .collect();
        scan
    }
}

/// Marks each cue whose pattern lies inside a longer pattern of the same slot, or of a group that
/// overrides its signal: the only matches the scan must check for containment. The automaton finds the
/// patterns inside each pattern, so this is one pass over the pattern texts.
fn mark_coverable(
    automaton: &PhraseAutomaton,
    texts: &[String],
    patterns: &mut [Vec<PatternMeta>],
) {
    let mut coverable: Vec<(usize, usize)> = Vec::new();
    for (outer, text) in texts.iter().enumerate() {
        for inner in overlapping(automaton, text)
            .map(|m| m.pattern().as_usize())
            .filter(|inner| *inner != outer)
        {
            let (Some(outer_metas), Some(inner_metas)) = (patterns.get(outer), patterns.get(inner))
            else {
                continue;
            };
            for (position, meta) in inner_metas.iter().enumerate() {
                let cancels = outer_metas.iter().any(|o| {
                    o.slot == meta.slot
                        || matches!(meta.slot, Slot::Signal(sig) if o.overrides.contains(&sig))
                });
                if cancels {
                    coverable.push((inner, position));
                }
            }
        }
    }
    for (inner, position) in coverable {
        if let Some(meta) = patterns
            .get_mut(inner)
            .and_then(|metas| metas.get_mut(position))
        {
            meta.coverable = true;
        }
    }
}

/// Every match of every pattern, overlapping ones included, in order of their end. (The automaton is
/// built for this standard, unanchored search, so the search cannot fail; if it did, nothing matches.)
fn overlapping<'a>(
    automaton: &'a PhraseAutomaton,
    haystack: &'a str,
) -> impl Iterator<Item = Match> + 'a {
    automaton
        .try_find_overlapping_iter(Input::new(haystack))
        .into_iter()
        .flatten()
}

impl<'a> Scan<'a> {
    /// The hits for one signal.
    fn slot_hits(&self, slot: usize) -> &[Hit<'a>] {
        match (self.starts.get(slot), self.starts.get(slot + 1)) {
            (Some(from), Some(to)) => self.hits.get(*from..*to).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The hits for one signal.
    pub fn hits(&self, signal: Signal) -> &[Hit<'a>] {
        self.slot_hits(signal as usize)
    }

    /// The summed weight of a signal's hits, each distinct phrase counted once.
    pub fn score(&self, signal: Signal) -> f32 {
        self.signal_scores
            .get(signal as usize)
            .copied()
            .unwrap_or(0.0)
    }

    /// Every area's score, in the policy's order of service areas.
    pub fn area_scores(&self) -> &[f32] {
        &self.area_scores
    }

    /// How many times a signal's phrases occur, repeats included.
    pub fn count(&self, signal: Signal) -> usize {
        self.hits(signal).len()
    }

    /// Whether a signal was found at all.
    pub fn has(&self, signal: Signal) -> bool {
        !self.hits(signal).is_empty()
    }

    /// The distinct phrases found for a signal, for evidence.
    pub fn phrases(&self, signal: Signal) -> Vec<String> {
        distinct_phrases(self.hits(signal))
    }

    /// The service area with the highest score (ties to the first by name), if any cue matched.
    pub fn best_area(&self) -> Option<(&'a str, f32)> {
        let mut best: Option<(&'a str, f32)> = None;
        for (area, score) in self
            .area_names
            .iter()
            .zip(&self.area_scores)
            .filter(|(_, score)| **score > 0.0)
        {
            if best.is_none_or(|(_, top)| *score > top) {
                best = Some((area.as_str(), *score));
            }
        }
        best
    }

    /// The distinct phrases found for one area, for evidence.
    pub fn area_phrases(&self, area: &str) -> Vec<String> {
        self.area_names
            .iter()
            .position(|name| name == area)
            .map_or_else(Vec::new, |index| {
                distinct_phrases(self.slot_hits(SIGNALS + index))
            })
    }

    /// The score of one area.
    pub fn area_score(&self, area: &str) -> f32 {
        self.area_names
            .iter()
            .position(|name| name == area)
            .and_then(|index| self.area_scores.get(index))
            .copied()
            .unwrap_or(0.0)
    }
}

fn distinct_weight(hits: &[Hit<'_>]) -> f32 {
    let mut seen: Vec<&str> = Vec::with_capacity(hits.len());
    let mut total = 0.0;
    for hit in hits {
        if !seen.contains(&hit.phrase) {
            seen.push(hit.phrase);
            total += hit.weight;
        }
    }
    total
}

fn distinct_phrases(hits: &[Hit<'_>]) -> Vec<String> {
    let mut phrases: Vec<String> = Vec::new();
    for hit in hits {
        if !phrases.iter().any(|p| p == hit.phrase) {
            phrases.push(hit.phrase.to_string());
        }
    }
    phrases
}

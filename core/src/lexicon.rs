//! The phrase cues, compiled once into one Aho-Corasick automaton, and the scan of a message for them.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use serde::{Deserialize, Serialize};

use crate::policy::{PolicyProblem, ServiceAreaSpec};
use crate::text::normalise;

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
    /// Every signal, in declaration order.
    pub const ALL: [Signal; SIGNALS] = [Signal::ComplaintIntent, Signal::NotComplaint, Signal::Dissatisfaction, Signal::PriorContact, Signal::Delay, Signal::StaffConduct, Signal::ServiceFailure, Signal::Praise, Signal::Sarcasm, Signal::Courtesy, Signal::PolicyLevel, Signal::Suggestion, Signal::GeneralAudience, Signal::ReportIntent, Signal::FaultCondition, Signal::ServiceRequest, Signal::FoiRequest, Signal::SarRequest, Signal::InfoDissatisfaction, Signal::DataBreach, Signal::PaymentRequest, Signal::DamageLoss, Signal::StaffEmployment, Signal::AsResident, Signal::LegalStarted, Signal::LegalThreat, Signal::CourtDecided, Signal::OmbudsmanDecided, Signal::OmbudsmanMention, Signal::CourtMention, Signal::DecisionMade, Signal::AppealRoute, Signal::AppealDispute, Signal::RefusalDecision, Signal::Safeguarding, Signal::VulnerablePerson, Signal::OnBehalfExplicit, Signal::Relative, Signal::AlternativeFormat, Signal::RequestVerb, Signal::FluencyComplaint, Signal::FluencyIllegitimate, Signal::CouncillorSubject, Signal::CouncillorHelper, Signal::GovernorWriter, Signal::ChildrensStatutoryCriteria, Signal::Escalation, Signal::Negation, Signal::FirstPerson, Signal::PersonPraised, Signal::PersonalStake];
}

/// Number of signals.
pub const SIGNALS: usize = Signal::PersonalStake as usize + 1;

/// The cue file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconSource {
    /// Phrase groups for signals.
    pub cues: Vec<CueGroup>,
    /// Phrases that point at each service area.
    pub areas: BTreeMap<String, AreaCues>,
}

/// Phrases for one signal with one weight.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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

#[derive(Debug, Clone)]
struct PatternMeta {
    slot: Slot,
    weight: f32,
    overrides: Vec<Signal>,
    phrase: String,
}

/// The compiled cues.
#[derive(Debug, Clone)]
pub struct Lexicon {
    /// `None` only when compiling failed, which `Policy::load` reports as an error.
    automaton: Option<AhoCorasick>,
    /// For each distinct pattern, every cue that uses it (a phrase can serve a signal and an area).
    patterns: Vec<Vec<PatternMeta>>,
    /// The longest pattern in bytes: how far back a containing match can start.
    longest: usize,
    areas: Vec<String>,
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
    signals: Vec<Vec<Hit<'a>>>,
    areas: Vec<(&'a str, Vec<Hit<'a>>)>,
}

impl Lexicon {
    /// Compiles the cue file, reporting unknown areas and empty phrases into `problems`.
    pub fn compile(source: &LexiconSource, areas: &BTreeMap<String, ServiceAreaSpec>, problems: &mut Vec<PolicyProblem>) -> Lexicon {
        let mut patterns: Vec<(String, PatternMeta)> = Vec::new();
        let mut add = |phrase: &str, slot: Slot, weight: f32, overrides: &[Signal], field: String, problems: &mut Vec<PolicyProblem>| {
            let prefix = phrase.ends_with('*');
            let words = normalise(phrase.trim_end_matches('*'));
            if words.trim().is_empty() {
                problems.push(PolicyProblem { field, message: format!("phrase `{phrase}` has no words") });
                return;
            }
            // A leading space always, a trailing one unless the phrase ends in `*`: whole words only.
            let pattern = if prefix { words.trim_end().to_string() } else { words };
            patterns.push((pattern, PatternMeta { slot, weight, overrides: overrides.to_vec(), phrase: phrase.to_string() }));
        };
        for (index, group) in source.cues.iter().enumerate() {
            for phrase in &group.phrases {
                add(phrase, Slot::Signal(group.signal), group.weight, &group.overrides, format!("cues[{index}].phrases"), problems);
            }
        }
        let names: Vec<String> = areas.keys().cloned().collect();
        for (area, cues) in &source.areas {
            match names.iter().position(|name| name == area) {
                Some(slot) => {
                    for phrase in &cues.phrases {
                        add(phrase, Slot::Area(slot), cues.weight, &[], format!("areas.{area}"), problems);
                    }
                }
                None => problems.push(PolicyProblem {
                    field: format!("areas.{area}"),
                    message: format!("no service area `{area}` in the policy's [service_areas]"),
                }),
            }
        }
        // One automaton pattern per distinct text, carrying every cue that uses it.
        let mut distinct: BTreeMap<String, Vec<PatternMeta>> = BTreeMap::new();
        for (pattern, meta) in patterns {
            distinct.entry(pattern).or_default().push(meta);
        }
        let longest = distinct.keys().map(String::len).max().unwrap_or(0);
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(distinct.keys());
        let automaton = match automaton {
            Ok(automaton) => Some(automaton),
            Err(err) => {
                problems.push(PolicyProblem { field: "cues".into(), message: format!("the phrases cannot be compiled: {err}") });
                None
            }
        };
        Lexicon { automaton, patterns: distinct.into_values().collect(), longest, areas: names }
    }

    /// Finds every cue in normalised text. A match inside a longer match of the same signal, or inside a
    /// match whose group overrides its signal, does not count.
    pub fn scan<'a>(&'a self, normalised: &str) -> Scan<'a> {
        let mut found: Vec<(usize, usize, &PatternMeta)> = Vec::new();
        for m in self.automaton.iter().flat_map(|automaton| automaton.find_overlapping_iter(normalised)) {
            for meta in self.patterns.get(m.pattern().as_usize()).into_iter().flatten() {
                found.push((m.start(), m.end(), meta));
            }
        }
        let mut scan = Scan { signals: vec![Vec::new(); SIGNALS], areas: self.areas.iter().map(|a| (a.as_str(), Vec::new())).collect() };
        // Sorted by start, a match's containers start at most `longest` bytes before it: only those
        // neighbours are checked, which keeps the scan linear in the number of matches.
        found.sort_unstable_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
        let longest = self.longest;
        for (index, (start, end, meta)) in found.iter().enumerate() {
            let window = found.get(..index).unwrap_or(&[]).iter().rev().take_while(|(s, _, _)| s + longest >= *start);
            let later_same_start = found.get(index + 1..).unwrap_or(&[]).iter().take_while(|(s, _, _)| s == start);
            let covered = window.chain(later_same_start).any(|(s, e, other)| {
                let contains = s <= start && e >= end && (e - s) > (end - start);
                contains && (other.slot == meta.slot || matches!(meta.slot, Slot::Signal(sig) if other.overrides.contains(&sig)))
            });
            if covered {
                continue;
            }
            let hit = Hit { phrase: meta.phrase.as_str(), weight: meta.weight, at: *start };
            match meta.slot {
                Slot::Signal(signal) => {
                    if let Some(list) = scan.signals.get_mut(signal as usize) {
                        list.push(hit);
                    }
                }
                Slot::Area(index) => {
                    if let Some((_, list)) = scan.areas.get_mut(index) {
                        list.push(hit);
                    }
                }
            }
        }
        scan
    }
}

impl<'a> Scan<'a> {
    /// The hits for one signal.
    pub fn hits(&self, signal: Signal) -> &[Hit<'a>] {
        self.signals.get(signal as usize).map_or(&[], Vec::as_slice)
    }

    /// The summed weight of a signal's hits, each distinct phrase counted once.
    pub fn score(&self, signal: Signal) -> f32 {
        distinct_weight(self.hits(signal))
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
        for (area, hits) in self.areas.iter().filter(|(_, hits)| !hits.is_empty()) {
            let score = distinct_weight(hits);
            if best.is_none_or(|(_, top)| score > top) {
                best = Some((area, score));
            }
        }
        best
    }

    /// The distinct phrases found for one area, for evidence.
    pub fn area_phrases(&self, area: &str) -> Vec<String> {
        self.areas.iter().find(|(name, _)| *name == area).map_or_else(Vec::new, |(_, hits)| distinct_phrases(hits))
    }

    /// The score of one area.
    pub fn area_score(&self, area: &str) -> f32 {
        self.areas.iter().find(|(name, _)| *name == area).map_or(0.0, |(_, hits)| distinct_weight(hits))
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

//! The classifier: phrase signals from the cue file, combined by the policy's rules into a kind, a
//! procedure, a service area, exclusions and cautions, each with its evidence.

use std::collections::BTreeSet;

use chrono::{Datelike, Months, NaiveDate};

use crate::lexicon::{Scan, Signal};
use crate::model::{Caution, Directorate, Evidence, Exclusion, Kind, Procedure, Submission};
use crate::policy::Policy;
use crate::text::prepare;

/// What the classifier decided, before routing and deadlines are attached.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The kind.
    pub kind: Kind,
    /// Confidence in the kind, 0 to 1.
    pub confidence: f32,
    /// Whether a person should check.
    pub needs_review: bool,
    /// The procedure, for feedback kinds.
    pub procedure: Option<Procedure>,
    /// The directorate.
    pub directorate: Option<Directorate>,
    /// The service area id.
    pub service_area: Option<String>,
    /// Exclusions found.
    pub exclusions: BTreeSet<Exclusion>,
    /// Cautions found.
    pub cautions: BTreeSet<Caution>,
    /// The evidence.
    pub evidence: Vec<Evidence>,
}

/// Below this confidence a person should check the kind.
const REVIEW_BELOW: f32 = 0.6;

/// Classifies a submission; `today` stands in for the receipt date when the submission has none.
pub fn classify(submission: &Submission, policy: &Policy, today: NaiveDate) -> Classification {
    let prepared = prepare(submission.subject.as_deref(), &submission.text);
    let scan = policy.lexicon.scan(&prepared.normalised);
    let mut evidence = Vec::new();
    let received = submission.received.map_or(today, |r| r.date_naive());

    let (kind, confidence) = decide_kind(
        &scan,
        prepared.quotes_history,
        prepared.normalised.len(),
        policy,
        &mut evidence,
    );
    let area = decide_area(submission, policy, &scan, &mut evidence);
    let form_area = submission.form.service_area.is_some();
    let procedure = decide_procedure(
        kind,
        &scan,
        policy,
        area.as_deref(),
        form_area,
        &mut evidence,
    );
    let directorate = decide_directorate(kind, procedure, policy, area.as_deref());
    let exclusions = decide_exclusions(
        kind,
        procedure,
        area.as_deref(),
        submission,
        &scan,
        &prepared.normalised,
        received,
        &mut evidence,
    );
    let cautions = decide_cautions(kind, procedure, submission, &scan, &mut evidence);
    let needs_review = confidence < REVIEW_BELOW;
    Classification {
        kind,
        confidence,
        needs_review,
        procedure,
        directorate,
        service_area: area,
        exclusions,
        cautions,
        evidence,
    }
}

fn note(evidence: &mut Vec<Evidence>, decision: &str, rule: &str, found: Vec<String>) {
    evidence.push(Evidence {
        decision: decision.to_string(),
        rule: rule.to_string(),
        found,
    });
}

fn phrases_of(scan: &Scan<'_>, signals: &[Signal]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for signal in signals {
        for phrase in scan.phrases(*signal) {
            if !found.contains(&phrase) {
                found.push(phrase);
            }
        }
    }
    found
}

/// Decides the kind with the learned kind model over the features, and records the strongest evidence.
fn decide_kind(
    scan: &Scan<'_>,
    quotes_history: bool,
    text_length: usize,
    policy: &Policy,
    evidence: &mut Vec<Evidence>,
) -> (Kind, f32) {
    let features = kind_features(scan, quotes_history, text_length);
    let cues_found = Signal::ALL.iter().any(|signal| {
        !matches!(signal, Signal::FirstPerson | Signal::Negation) && scan.has(*signal)
    });
    let prediction = match policy.kind_model.predict(&features) {
        Some(prediction) if cues_found || prediction.probability >= 0.5 => prediction,
        other => {
            // Nothing recognisable and no clear lean (or no model): a complaint, so no clock is missed.
            note(
                evidence,
                "kind",
                "no recognisable cue: treated as a complaint so its deadlines run, for review",
                Vec::new(),
            );
            return (
                Kind::Complaint,
                other.map_or(0.3, |p| p.probability.min(0.3)),
            );
        }
    };
    let rule = match prediction.label {
        Kind::Complaint => {
            "dissatisfaction with a service or with what the council did or did not do"
        }
        Kind::Compliment => "thanks or praise of people, outweighing any dissatisfaction",
        Kind::Comment => "a view on a policy or a service as a whole, or a suggestion",
        Kind::FaultReport => {
            "a first report of a fault or a first request for a service, with no sign it was reported before"
        }
        Kind::InformationRequest => {
            "a new request for information (FOI, EIR or subject access), not a complaint about one"
        }
        Kind::DamagesClaim => "asks for payment for loss or damage: a claim for the insurance team",
        Kind::StaffGrievance => {
            "a member of staff about their own employment: not a customer complaint"
        }
    };
    // The phrases behind the features that pushed hardest towards the chosen kind.
    let mut found = Vec::new();
    for feature in prediction.top_features.iter().take(4) {
        let signals = feature_signals(feature);
        for phrase in phrases_of(scan, signals) {
            if !found.contains(&phrase) {
                found.push(phrase);
            }
        }
        if feature == "quotes_history" {
            found.push("(quotes an earlier exchange)".into());
        }
    }
    note(evidence, "kind", rule, found);
    (prediction.label, prediction.probability)
}

/// The kind model's inputs: every signal's score, plus combined scores that encode the policy's
/// distinctions (a first report versus a repeated one, praise of people versus sarcasm, a view on policy
/// versus a personal grievance). Their names are `KIND_FEATURES`. Each is read as ln(1 + value): the first
/// cue of a kind weighs most, so a fresh message with one or two cues is not swamped by training messages
/// that carry many.
pub fn kind_features(scan: &Scan<'_>, quotes_history: bool, text_length: usize) -> Vec<f32> {
    use Signal::*;
    let s = |signal| scan.score(signal);
    let negations = scan.count(Negation).min(8) as f32;
    let history = if quotes_history { 1.0 } else { 0.0 };
    let not_complaint = if scan.has(NotComplaint) { 1.0 } else { 0.0 };
    let failure_story = s(PriorContact) >= 2.0 || s(ServiceFailure) >= 1.5 || s(Sarcasm) > 0.0;
    let praise = praise_score(scan, text_length);
    let first_time = s(PriorContact) < 1.0 && !quotes_history;
    let something_to_fix = scan.has(FaultCondition) || scan.has(ServiceRequest);
    let general = s(PolicyLevel).min(6.0) + s(Suggestion);
    let information = s(FoiRequest) + s(SarRequest);
    let information_complaint = s(InfoDissatisfaction) + s(DataBreach);
    let grounds = s(PriorContact) + s(StaffConduct) + 2.0 * history;
    let mut features: Vec<f32> = Signal::ALL
        .iter()
        .map(|signal| scan.score(*signal).ln_1p())
        .collect();
    features.extend(
        [
            history,
            negations,
            (scan.count(FirstPerson).min(20) as f32) / 4.0,
            (text_length.min(2000) as f32) / 500.0,
            // Praise of people, sincere praise, praise beside a failure story.
            if scan.has(PersonPraised) { praise } else { 0.0 },
            if failure_story { 0.0 } else { praise },
            if failure_story { praise } else { 0.0 },
            not_complaint,
            // A first report of something to fix; the same words after an earlier report.
            if something_to_fix && first_time {
                s(ReportIntent).min(6.0) + s(FaultCondition).min(4.5) + s(ServiceRequest)
            } else {
                0.0
            },
            if something_to_fix && !first_time {
                s(ReportIntent).min(6.0) + s(FaultCondition).min(4.5) + s(ServiceRequest)
            } else {
                0.0
            },
            // A view on policy with and without personal stake.
            if s(PersonalStake) == 0.0 {
                general
            } else {
                0.0
            },
            if s(PersonalStake) > 0.0 { general } else { 0.0 },
            // A new request for information versus a complaint about one.
            if information_complaint == 0.0 {
                information
            } else {
                0.0
            },
            if information_complaint > 0.0 {
                information + information_complaint
            } else {
                0.0
            },
            // A claim with and without other grounds for complaint.
            if scan.has(DamageLoss) && grounds < 2.0 {
                s(PaymentRequest)
            } else {
                0.0
            },
            if scan.has(DamageLoss) && grounds >= 2.0 {
                s(PaymentRequest)
            } else {
                0.0
            },
            // Employment vocabulary, unless the writer says they write as a resident.
            if scan.has(AsResident) {
                0.0
            } else {
                s(StaffEmployment)
            },
        ]
        .map(f32::ln_1p),
    );
    features
}

/// The kind features of a message, as the engine computes them (for training the kind model).
pub fn kind_features_of(subject: Option<&str>, text: &str, policy: &Policy) -> Vec<f32> {
    let prepared = prepare(subject, text);
    let scan = policy.lexicon.scan(&prepared.normalised);
    kind_features(&scan, prepared.quotes_history, prepared.normalised.len())
}

/// Names of the combined features, after one feature per signal.
pub const COMBINED_FEATURES: [&str; 17] = [
    "quotes_history",
    "negations",
    "first_person",
    "length",
    "praise_of_people",
    "sincere_praise",
    "praise_beside_failure",
    "not_complaint",
    "first_report",
    "repeated_report",
    "general_view",
    "general_view_with_personal_stake",
    "new_information_request",
    "information_complaint",
    "claim_without_grounds",
    "claim_with_grounds",
    "staff_employment_not_as_resident",
];

/// Every kind feature's name, in order.
pub fn kind_feature_names() -> Vec<String> {
    Signal::ALL
        .iter()
        .map(|s| s.name().to_string())
        .chain(COMBINED_FEATURES.iter().map(|s| (*s).to_string()))
        .collect()
}

/// The signals whose phrases explain a feature, for evidence.
fn feature_signals(feature: &str) -> &'static [Signal] {
    use Signal::*;
    match feature {
        "praise_of_people" | "sincere_praise" | "praise_beside_failure" => &[Praise],
        "not_complaint" => &[NotComplaint],
        "first_report" | "repeated_report" => &[ReportIntent, FaultCondition, ServiceRequest],
        "general_view" | "general_view_with_personal_stake" => &[PolicyLevel, Suggestion],
        "new_information_request" => &[FoiRequest, SarRequest],
        "information_complaint" => &[InfoDissatisfaction, DataBreach],
        "claim_without_grounds" | "claim_with_grounds" => &[PaymentRequest, DamageLoss],
        "staff_employment_not_as_resident" => &[StaffEmployment],
        name => Signal::ALL
            .iter()
            .position(|s| s.name() == name)
            .and_then(|i| Signal::ALL.get(i..=i))
            .unwrap_or(&[]),
    }
}

/// Praise, leaving out a plain "thanks" in the closing lines of a longer message: that is a sign-off.
fn praise_score(scan: &Scan<'_>, text_length: usize) -> f32 {
    let closing = text_length.saturating_sub(80);
    let mut seen: Vec<&str> = Vec::new();
    let mut total = 0.0;
    for hit in scan.hits(Signal::Praise) {
        let sign_off = hit.weight <= 1.0 && text_length > 200 && hit.at >= closing;
        if !sign_off && !seen.contains(&hit.phrase) {
            seen.push(hit.phrase);
            total += hit.weight;
        }
    }
    total
}

/// The service area: the form's answer, else the text (with a team mailbox's hint), else none.
fn decide_area(
    submission: &Submission,
    policy: &Policy,
    scan: &Scan<'_>,
    evidence: &mut Vec<Evidence>,
) -> Option<String> {
    let areas = &policy.document.service_areas;
    if let Some(area) = submission
        .form
        .service_area
        .as_deref()
        .filter(|a| areas.contains_key(*a) && *a != "other")
    {
        note(
            evidence,
            "service_area",
            "the form's service area answer",
            vec![format!("service_area = {area}")],
        );
        return Some(area.to_string());
    }
    let hint = submission.form.mailbox.as_deref().and_then(|mailbox| {
        let local = mailbox
            .split('@')
            .next()
            .unwrap_or(mailbox)
            .to_ascii_lowercase();
        policy.document.mailbox_hints.get(&local).cloned()
    });
    match (scan.best_area(), hint) {
        (Some((area, score)), hint) => {
            let hint_score = hint.as_deref().map_or(0.0, |h| scan.area_score(h) + 3.0);
            if let Some(hint) = hint.filter(|_| hint_score >= score) {
                note(
                    evidence,
                    "service_area",
                    "the team mailbox it was sent to",
                    vec![format!("mailbox hint = {hint}")],
                );
                return Some(hint);
            }
            note(
                evidence,
                "service_area",
                "the service words in the message",
                scan.area_phrases(area),
            );
            Some(area.to_string())
        }
        (None, Some(hint)) => {
            note(
                evidence,
                "service_area",
                "the team mailbox it was sent to",
                vec![format!("mailbox hint = {hint}")],
            );
            Some(hint)
        }
        (None, None) => None,
    }
}

/// The procedure: the policy's rules, then, where the council has a trained procedure model and the form
/// did not name a service area, the model (which sees the rules' answer among its features).
fn decide_procedure(
    kind: Kind,
    scan: &Scan<'_>,
    policy: &Policy,
    area: Option<&str>,
    form_area: bool,
    evidence: &mut Vec<Evidence>,
) -> Option<Procedure> {
    if !kind.is_feedback() {
        return None;
    }
    let (ruled, rule, found) = rule_procedure(kind, scan, policy, area, form_area);
    let learned = if form_area || !policy.procedure_model.is_trained() {
        None
    } else {
        policy
            .procedure_model
            .predict(&procedure_features(scan, kind, ruled))
    };
    match learned {
        Some(prediction) if prediction.label != ruled => {
            let mut phrases = Vec::new();
            for feature in prediction.top_features.iter().take(4) {
                let from_area = feature
                    .strip_prefix("area:")
                    .map(|a| scan.area_phrases(a))
                    .unwrap_or_default();
                for phrase in from_area
                    .into_iter()
                    .chain(phrases_of(scan, feature_signals(feature)))
                {
                    if !phrases.contains(&phrase) {
                        phrases.push(phrase);
                    }
                }
            }
            note(
                evidence,
                "procedure",
                "the service words and signals, weighed as in the labelled corpus, point to this procedure",
                phrases,
            );
            Some(prediction.label)
        }
        _ => {
            note(evidence, "procedure", rule, found);
            Some(ruled)
        }
    }
}

/// The procedure model's inputs: each service area's score, each signal's score, the kind, and the
/// procedure the rules chose.
pub fn procedure_features(scan: &Scan<'_>, kind: Kind, ruled: Procedure) -> Vec<f32> {
    // INVARIANT: the scan's areas are the policy's service areas in the same (BTreeMap) order.
    let areas = scan.area_scores().iter().map(|score| score.min(12.0));
    let signals = Signal::ALL
        .iter()
        .map(|signal| scan.score(*signal).min(12.0));
    let kinds = [Kind::Complaint, Kind::Comment, Kind::Compliment]
        .into_iter()
        .map(|k| if k == kind { 1.0 } else { 0.0 });
    let rules = Procedure::ALL
        .iter()
        .map(|p| if *p == ruled { 1.0 } else { 0.0 });
    areas.chain(signals).chain(kinds).chain(rules).collect()
}

/// The procedure model's inputs for a submission of a known kind (for training the procedure model).
pub fn procedure_features_of(submission: &Submission, policy: &Policy, kind: Kind) -> Vec<f32> {
    let prepared = prepare(submission.subject.as_deref(), &submission.text);
    let scan = policy.lexicon.scan(&prepared.normalised);
    let area = decide_area(submission, policy, &scan, &mut Vec::new());
    let form_area = submission.form.service_area.is_some();
    let (ruled, _, _) = rule_procedure(kind, &scan, policy, area.as_deref(), form_area);
    procedure_features(&scan, kind, ruled)
}

/// The procedure model's feature names for a policy document.
pub fn procedure_feature_names(document: &crate::policy::PolicyDocument) -> Vec<String> {
    let areas = document
        .service_areas
        .keys()
        .map(|area| format!("area:{area}"));
    let signals = Signal::ALL.iter().map(|s| s.name().to_string());
    let kinds = ["kind:complaint", "kind:comment", "kind:compliment"]
        .into_iter()
        .map(str::to_owned);
    let rules = Procedure::ALL
        .iter()
        .map(|p| format!("rule:{}", crate::policy::snake(p)));
    areas.chain(signals).chain(kinds).chain(rules).collect()
}

/// The procedure by the policy's rules, with the rule and the phrases behind it.
fn rule_procedure(
    kind: Kind,
    scan: &Scan<'_>,
    policy: &Policy,
    area: Option<&str>,
    form_area: bool,
) -> (Procedure, &'static str, Vec<String>) {
    use Signal::*;
    let s = |signal| scan.score(signal);
    let complaint = kind == Kind::Complaint;
    let decided =
        |procedure, rule: &'static str, found: Vec<String>, _: ()| (procedure, rule, found);
    let evidence = ();
    // An information-rights complaint needs the request or the personal data in view, not only words
    // like "withheld" or "redacted".
    let information_context = scan.has(FoiRequest)
        || scan.has(SarRequest)
        || matches!(area, Some("information_requests" | "data_protection"));
    let information_complaint =
        (s(InfoDissatisfaction) >= 3.0 && information_context) || s(DataBreach) >= 4.0;
    if complaint && information_complaint {
        let personal =
            s(SarRequest) + s(DataBreach) > s(FoiRequest) || area == Some("data_protection");
        return if personal {
            decided(
                Procedure::DataProtection,
                "a complaint about a subject access request or a data breach",
                phrases_of(scan, &[SarRequest, DataBreach, InfoDissatisfaction]),
                evidence,
            )
        } else {
            decided(
                Procedure::FoiReview,
                "unhappy with an FOI/EIR answer: an internal review",
                phrases_of(scan, &[FoiRequest, InfoDissatisfaction]),
                evidence,
            )
        };
    }
    if complaint && s(GovernorWriter) >= 3.0 {
        return decided(
            Procedure::Governor,
            "a governor about their treatment by the council",
            phrases_of(scan, &[GovernorWriter]),
            evidence,
        );
    }
    if complaint
        && s(CouncillorSubject) >= 3.0
        && (area.is_none() || area == Some("councillors") || s(CouncillorSubject) >= 6.0)
    {
        return decided(
            Procedure::CouncillorConduct,
            "about a county councillor's conduct",
            phrases_of(scan, &[CouncillorSubject]),
            evidence,
        );
    }
    if complaint && s(FluencyComplaint) >= 3.0 {
        return decided(
            Procedure::FluencyDuty,
            "about a member of staff's spoken English (fluency duty)",
            phrases_of(scan, &[FluencyComplaint]),
            evidence,
        );
    }
    // A refused place or refused transport has an appeal of its own, whatever else the message mentions.
    // The form's own service area answer wins over words in the text.
    let refusal = scan.has(RefusalDecision) || scan.has(AppealDispute);
    let text_decides = !form_area || matches!(area, Some("school_transport" | "school_admissions"));
    if complaint
        && refusal
        && text_decides
        && scan.area_score("school_transport") >= 3.0
        && area != Some("school_admissions")
    {
        return decided(
            Procedure::TransportAppeal,
            "a refused application for home to school transport: the transport appeal",
            phrases_of(scan, &[RefusalDecision, AppealDispute]),
            evidence,
        );
    }
    if complaint
        && refusal
        && text_decides
        && scan.area_score("school_admissions") >= 3.0
        && scan.area_score("special_educational_needs") < 3.0
    {
        return decided(
            Procedure::AdmissionsAppeal,
            "a refused school place: the admissions appeal",
            phrases_of(scan, &[RefusalDecision, AppealDispute]),
            evidence,
        );
    }
    let spec = area.and_then(|a| policy.document.service_areas.get(a));
    let procedure = spec.map_or(Procedure::Corporate, |spec| spec.procedure);
    match procedure {
        Procedure::ChildrensStatutory if !scan.has(ChildrensStatutoryCriteria) => decided(
            Procedure::Corporate,
            "children's services outside the four statutory areas: the corporate procedure",
            Vec::new(),
            evidence,
        ),
        Procedure::ChildrensStatutory => decided(
            procedure,
            "children in need, looked after children, special guardianship or adoption support: the Children Act procedure",
            phrases_of(scan, &[ChildrensStatutoryCriteria]),
            evidence,
        ),
        Procedure::Corporate => decided(
            procedure,
            "a council service without a procedure of its own",
            Vec::new(),
            evidence,
        ),
        // Appeals are for disputed refusals; other complaints about admissions or transport are corporate.
        Procedure::AdmissionsAppeal | Procedure::TransportAppeal
            if !scan.has(AppealDispute) && !scan.has(AppealRoute) =>
        {
            decided(
                Procedure::Corporate,
                "about the admissions or transport service, not a refusal to appeal: the corporate procedure",
                Vec::new(),
                evidence,
            )
        }
        other => decided(
            other,
            "the procedure of the service area",
            phrases_of(scan, &[AppealDispute, AppealRoute]),
            evidence,
        ),
    }
}

/// The directorate: information rights and staff matters sit with Strategic and Corporate Services,
/// the statutory procedures with their own directorates, everything else with the service's.
fn decide_directorate(
    kind: Kind,
    procedure: Option<Procedure>,
    policy: &Policy,
    area: Option<&str>,
) -> Option<Directorate> {
    if matches!(kind, Kind::InformationRequest | Kind::StaffGrievance) {
        return Some(Directorate::StrategicCorporateServices);
    }
    match procedure {
        Some(Procedure::CouncillorConduct) => None,
        Some(Procedure::FoiReview | Procedure::DataProtection) => {
            Some(Directorate::StrategicCorporateServices)
        }
        Some(Procedure::Governor) => Some(Directorate::ChildrenYoungPeopleEducation),
        Some(Procedure::AdultSocialCare) => Some(Directorate::AdultSocialCareHealth),
        Some(
            Procedure::ChildrensStatutory
            | Procedure::School
            | Procedure::AdmissionsAppeal
            | Procedure::TransportAppeal,
        ) => Some(Directorate::ChildrenYoungPeopleEducation),
        _ => area
            .and_then(|a| policy.document.service_areas.get(a))
            .and_then(|spec| spec.directorate),
    }
}

#[allow(clippy::too_many_arguments)]
fn decide_exclusions(
    kind: Kind,
    procedure: Option<Procedure>,
    area: Option<&str>,
    submission: &Submission,
    scan: &Scan<'_>,
    normalised: &str,
    received: NaiveDate,
    evidence: &mut Vec<Evidence>,
) -> BTreeSet<Exclusion> {
    use Signal::*;
    let mut exclusions = BTreeSet::new();
    let mut add = |exclusion, rule: &str, found: Vec<String>, evidence: &mut Vec<Evidence>| {
        exclusions.insert(exclusion);
        note(
            evidence,
            &format!("exclusion:{}", crate::policy::snake(&exclusion)),
            rule,
            found,
        );
    };
    match kind {
        Kind::StaffGrievance => add(
            Exclusion::StaffPersonnelMatter,
            "staff personnel matters are not customer complaints",
            phrases_of(scan, &[StaffEmployment]),
            evidence,
        ),
        Kind::DamagesClaim => add(
            Exclusion::CompensationClaim,
            "payment for loss or damage goes to the insurance team",
            phrases_of(scan, &[PaymentRequest]),
            evidence,
        ),
        Kind::Complaint
            if scan.score(PaymentRequest) >= 3.0
                && (scan.has(DamageLoss) || scan.phrases(PaymentRequest).len() >= 2) =>
        {
            add(
                Exclusion::CompensationClaim,
                "the complaint also asks for payment for loss or damage: that part goes to insurance",
                phrases_of(scan, &[PaymentRequest]),
                evidence,
            );
        }
        _ => {}
    }
    // The time limit and the alternative routes are about complaints; a claim or a staff grievance can still
    // be the subject of proceedings or an earlier decision (an employment tribunal's).
    if !matches!(
        kind,
        Kind::Complaint | Kind::DamagesClaim | Kind::StaffGrievance
    ) {
        return exclusions;
    }
    if submission.form.legal_action_started == Some(true) {
        add(
            Exclusion::LegalProceedingsStarted,
            "the form says legal action has started",
            vec!["legal_action_started = true".into()],
            evidence,
        );
    } else if scan.has(LegalStarted)
        || (scan.has(LegalWord)
            && scan.has(StartedVerb)
            && !scan.has(LegalThreat)
            && !scan.has(DecisionMade))
    {
        add(
            Exclusion::LegalProceedingsStarted,
            "legal proceedings have started (a threat alone would not exclude it)",
            phrases_of(scan, &[LegalStarted, LegalWord, StartedVerb]),
            evidence,
        );
    }
    // "The Ombudsman ... issued its final decision", "struck out by the judge": a court, tribunal or the
    // Ombudsman named beside a decision already made.
    let decided = scan.has(DecisionMade);
    if scan.has(CourtDecided) || (decided && scan.has(CourtMention)) {
        add(
            Exclusion::DecidedByCourtOrTribunal,
            "a court or tribunal has already decided it",
            phrases_of(scan, &[CourtDecided, CourtMention, DecisionMade]),
            evidence,
        );
    }
    if scan.has(OmbudsmanDecided) || (decided && scan.has(OmbudsmanMention)) {
        add(
            Exclusion::DecidedByOmbudsman,
            "the Ombudsman has already decided it",
            phrases_of(scan, &[OmbudsmanDecided, OmbudsmanMention, DecisionMade]),
            evidence,
        );
    }
    if kind != Kind::Complaint {
        return exclusions;
    }
    // Disputing the refusal itself (not how an appeal was run) has an appeal panel or the SEND tribunal.
    let refusal = scan.has(RefusalDecision) || scan.has(AppealDispute);
    let appeal_procedure = matches!(
        procedure,
        Some(Procedure::AdmissionsAppeal | Procedure::TransportAppeal)
    );
    let send_tribunal = area == Some("special_educational_needs") && refusal;
    if (appeal_procedure && refusal) || send_tribunal {
        add(
            Exclusion::AlternativeRoute,
            "an appeal panel or tribunal decides this",
            phrases_of(scan, &[RefusalDecision, AppealDispute, AppealRoute]),
            evidence,
        );
    }
    let aware = submission
        .form
        .aware_since
        .map(|d| (d, format!("aware_since = {d}")))
        .or_else(|| aware_from_text(normalised, received));
    if let Some((aware, found)) = aware
        && received
            .checked_sub_months(Months::new(12))
            .is_some_and(|limit| aware < limit)
    {
        add(
            Exclusion::OverTwelveMonths,
            "more than 12 months since the person became aware (discretion for mitigating circumstances)",
            vec![found],
            evidence,
        );
    }
    exclusions
}

fn decide_cautions(
    kind: Kind,
    procedure: Option<Procedure>,
    submission: &Submission,
    scan: &Scan<'_>,
    evidence: &mut Vec<Evidence>,
) -> BTreeSet<Caution> {
    use Signal::*;
    let mut cautions = BTreeSet::new();
    let mut add = |caution, rule: &str, found: Vec<String>, evidence: &mut Vec<Evidence>| {
        cautions.insert(caution);
        note(
            evidence,
            &format!("caution:{}", crate::policy::snake(&caution)),
            rule,
            found,
        );
    };
    // Harm described outright, or a word for harm beside a child or an adult who may be at risk (not an
    // injury that is the subject of a claim).
    let harm = scan.score(Safeguarding);
    let claim = kind == Kind::DamagesClaim;
    if harm >= 3.0 || (harm >= 1.0 && scan.has(VulnerablePerson) && !claim) {
        add(
            Caution::Safeguarding,
            "someone may be at risk of harm: safeguarding takes precedence",
            phrases_of(scan, &[Safeguarding, VulnerablePerson]),
            evidence,
        );
    }
    if submission.form.on_behalf == Some(true) {
        add(
            Caution::OnBehalfOfSomeone,
            "the form says this is on someone's behalf",
            vec!["on_behalf = true".into()],
            evidence,
        );
    } else if scan.has(OnBehalfExplicit)
        || (kind == Kind::Complaint
            && procedure == Some(Procedure::AdultSocialCare)
            && scan.has(Relative))
    {
        add(
            Caution::OnBehalfOfSomeone,
            "written for another adult: consent may be needed",
            phrases_of(scan, &[OnBehalfExplicit, Relative]),
            evidence,
        );
    }
    let format = scan.score(AlternativeFormat);
    if format >= 4.0 || (format >= 1.0 && scan.has(RequestVerb)) {
        add(
            Caution::AlternativeFormatRequested,
            "asks for another format or language",
            phrases_of(scan, &[AlternativeFormat]),
            evidence,
        );
    }
    if procedure == Some(Procedure::FluencyDuty) && scan.has(FluencyIllegitimate) {
        add(
            Caution::FluencyDutyNotLegitimate,
            "accent, manner, tone, origin or a private provider's staff are outside the fluency duty",
            phrases_of(scan, &[FluencyIllegitimate]),
            evidence,
        );
    }
    cautions
}

/// The earliest moment the text says the person knew of the issue ("two and a half years ago", "back in
/// the spring of 2024", "since early last year"), with the words it read.
fn aware_from_text(normalised: &str, received: NaiveDate) -> Option<(NaiveDate, String)> {
    // Only the few words before an anchor ("ago", "last year", a year such as "2023") can say when, so
    // only those windows are read, not the whole message.
    // One pass over the word starts: " ago ", " last year ", or a year such as " 2023 ".
    let bytes = normalised.as_bytes();
    let mut anchors: Vec<usize> = Vec::new();
    for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b' ') {
        let rest = bytes.get(i + 1..).unwrap_or(&[]);
        let year_like = rest.len() > 4
            && matches!(rest.get(..2), Some(b"19" | b"20"))
            && rest
                .get(2..4)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && rest.get(4) == Some(&b' ');
        if year_like || rest.starts_with(b"ago ") || rest.starts_with(b"last year ") {
            anchors.push(i);
        }
    }
    let mut earliest: Option<(NaiveDate, String)> = None;
    for anchor in anchors {
        let mut from = anchor.saturating_sub(60);
        while !normalised.is_char_boundary(from) {
            from -= 1;
        }
        let mut to = (anchor + 12).min(normalised.len());
        while !normalised.is_char_boundary(to) {
            to += 1;
        }
        let words: Vec<&str> = normalised
            .get(from..to)
            .unwrap_or("")
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect();
        if let Some(found) = aware_in_words(&words, received)
            && earliest.as_ref().is_none_or(|(d, _)| found.0 < *d)
        {
            earliest = Some(found);
        }
    }
    earliest
}

/// The earliest awareness date that a run of words states.
fn aware_in_words(words: &[&str], received: NaiveDate) -> Option<(NaiveDate, String)> {
    let at = |i: usize| words.get(i).copied().unwrap_or("");
    let phrase = |from: usize, to: usize| {
        words
            .get(from..=to.min(words.len().saturating_sub(1)))
            .map(|w| w.join(" "))
            .unwrap_or_default()
    };
    let mut earliest: Option<(NaiveDate, String)> = None;
    let mut consider = |date: NaiveDate, found: String| {
        if date <= received && earliest.as_ref().is_none_or(|(d, _)| date < *d) {
            earliest = Some((date, found));
        }
    };
    for (i, word) in words.iter().enumerate() {
        // "<n> [and a half] years|months ago", "over a year ago": the unit and the number a few words before "ago".
        if *word == "ago" {
            let start = i.saturating_sub(6);
            if let Some(unit_at) = (start..i)
                .rev()
                .find(|&k| matches!(at(k), "year" | "years" | "month" | "months"))
            {
                let per_unit = if at(unit_at).starts_with("year") {
                    12
                } else {
                    1
                };
                let half = (start..unit_at).any(|k| at(k) == "half");
                let beyond = (start..unit_at).any(|k| matches!(at(k), "over" | "than"));
                // The "a" of "and a half" is not the number.
                let count = (start..unit_at).rev().find_map(|k| {
                    if at(k) == "a" && at(k + 1) == "half" {
                        None
                    } else {
                        number(at(k))
                    }
                });
                if let Some(n) = count {
                    let months =
                        n * per_unit + if half { per_unit / 2 } else { 0 } + u32::from(beyond);
                    consider(received - Months::new(months), phrase(start, i));
                }
            }
        }
        // "since 2023", "back in the spring of 2024", "since March 2024", "in the autumn of 2023".
        if let Some(year) = year(word)
            && year < received.year()
        {
            let start = i.saturating_sub(5);
            let window = start..i;
            let anchored = window.clone().any(|k| matches!(at(k), "since" | "back"))
                || (window.clone().any(|k| at(k) == "in")
                    && window
                        .clone()
                        .any(|k| month(at(k)).is_some() || season(at(k)).is_some()));
            if anchored {
                let month = window
                    .clone()
                    .rev()
                    .find_map(|k| month(at(k)).or_else(|| season(at(k))))
                    .unwrap_or(12);
                if let Some(date) = NaiveDate::from_ymd_opt(year, month, 1) {
                    consider(date, phrase(start, i));
                }
            }
        }
        // "since early last year", "back in the summer last year".
        if *word == "year" && i > 0 && at(i - 1) == "last" {
            let start = i.saturating_sub(5);
            if (start..i).any(|k| matches!(at(k), "since" | "back")) {
                let month = (start..i).rev().find_map(|k| season(at(k))).unwrap_or(12);
                if let Some(date) = NaiveDate::from_ymd_opt(received.year() - 1, month, 1) {
                    consider(date, phrase(start, i));
                }
            }
        }
    }
    earliest
}

/// The month a season or part of a year starts in, for dating ("the spring of 2024" is March).
fn season(word: &str) -> Option<u32> {
    match word {
        "early" | "beginning" | "start" => Some(2),
        "spring" => Some(3),
        "summer" => Some(6),
        "autumn" | "fall" => Some(9),
        "late" | "end" => Some(11),
        "winter" => Some(12),
        _ => None,
    }
}

fn number(word: &str) -> Option<u32> {
    let n = match word {
        "a" | "one" => 1,
        "two" | "couple" => 2,
        "three" | "few" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "eighteen" => 18,
        "several" => 3,
        _ => return word.parse::<u32>().ok().filter(|n| *n > 0 && *n < 100),
    };
    Some(n)
}

fn year(word: &str) -> Option<i32> {
    word.parse::<i32>()
        .ok()
        .filter(|y| (1950..=2100).contains(y))
}

fn month(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .position(|m| *m == word || (word.len() == 3 && m.starts_with(word) && word != "may"))
        .and_then(|i| u32::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aware(text: &str) -> Option<NaiveDate> {
        let received = NaiveDate::from_ymd_opt(2026, 4, 15).unwrap();
        aware_from_text(&crate::text::normalise(text), received).map(|(date, _)| date)
    }

    #[test]
    fn spans_and_dates_in_the_text_say_when_the_person_became_aware() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(
            aware("It started two and a half years ago."),
            d(2023, 10, 15)
        );
        assert_eq!(aware("over a year ago"), d(2025, 3, 15));
        assert_eq!(aware("back in the spring of 2024 I paid"), d(2024, 3, 1));
        assert_eq!(aware("since March 2024"), d(2024, 3, 1));
        assert_eq!(
            aware("I've been asking since early last year"),
            d(2025, 2, 1)
        );
        assert_eq!(aware("eight months ago"), d(2025, 8, 15));
        // A period asked about, or a bare year, is not when the person became aware.
        assert_eq!(
            aware("the number of potholes for the last three years"),
            None
        );
        assert_eq!(aware("We adopted in 2021 and it was fine"), None);
    }
}

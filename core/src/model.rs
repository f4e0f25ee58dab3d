//! What goes into `assess` and what comes out of it.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Serialize, Serializer};

/// One piece of feedback as a form, an email or a member of staff gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The message as the person wrote it.
    pub text: String,
    /// An email subject or a form's title field.
    #[serde(default)]
    pub subject: Option<String>,
    /// How the feedback reached the council.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// When the council received it; the deadlines run from here.
    #[serde(default)]
    pub received: Option<DateTime<FixedOffset>>,
    /// Answers a form has already asked for.
    #[serde(default)]
    pub form: FormAnswers,
}

/// The optional answers a council's form asks alongside the message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormAnswers {
    /// A service area id from the policy (`roads_and_pavements`, `adult_social_care`, ...).
    #[serde(default)]
    pub service_area: Option<String>,
    /// The date the person became aware of the issue.
    #[serde(default)]
    pub aware_since: Option<NaiveDate>,
    /// The person writes for someone else.
    #[serde(default)]
    pub on_behalf: Option<bool>,
    /// Legal proceedings have been started on the matter.
    #[serde(default)]
    pub legal_action_started: Option<bool>,
    /// The mailbox (or team) the message came to, e.g. `adults`.
    #[serde(default)]
    pub mailbox: Option<String>,
}

/// How feedback reached the council.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Channel {
    Email,
    WebForm,
    Phone,
    Letter,
    SocialMedia,
    FaceToFace,
}

/// What kind of feedback a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Dissatisfaction with a service or with what the council did or did not do.
    Complaint,
    /// A general view on a policy or a service as a whole.
    Comment,
    /// Thanks or praise.
    Compliment,
    /// The first report of a fault or the first request for a service.
    FaultReport,
    /// A new FOI, EIR or subject access request.
    InformationRequest,
    /// A claim for payment for loss or damage (the insurance team).
    DamagesClaim,
    /// A staff member's personnel matter.
    StaffGrievance,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 7] = [
        Kind::Complaint,
        Kind::Comment,
        Kind::Compliment,
        Kind::FaultReport,
        Kind::InformationRequest,
        Kind::DamagesClaim,
        Kind::StaffGrievance,
    ];

    /// Whether the council's feedback procedures handle this kind (the others are redirected).
    pub fn is_feedback(self) -> bool {
        matches!(self, Kind::Complaint | Kind::Comment | Kind::Compliment)
    }
}

/// Which of the policy's procedures applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Procedure {
    Corporate,
    AdultSocialCare,
    ChildrensStatutory,
    School,
    AdmissionsAppeal,
    TransportAppeal,
    CouncillorConduct,
    Governor,
    FoiReview,
    DataProtection,
    FluencyDuty,
}

impl Procedure {
    /// Every procedure, in a fixed order.
    pub const ALL: [Procedure; 11] = [
        Procedure::Corporate,
        Procedure::AdultSocialCare,
        Procedure::ChildrensStatutory,
        Procedure::School,
        Procedure::AdmissionsAppeal,
        Procedure::TransportAppeal,
        Procedure::CouncillorConduct,
        Procedure::Governor,
        Procedure::FoiReview,
        Procedure::DataProtection,
        Procedure::FluencyDuty,
    ];
}

/// The council's directorates, for reporting and for corporate complaints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Directorate {
    StrategicCorporateServices,
    AdultSocialCareHealth,
    ChildrenYoungPeopleEducation,
    GrowthEnvironmentTransport,
}

impl Directorate {
    /// Every directorate, in a fixed order.
    pub const ALL: [Directorate; 4] = [
        Directorate::StrategicCorporateServices,
        Directorate::AdultSocialCareHealth,
        Directorate::ChildrenYoungPeopleEducation,
        Directorate::GrowthEnvironmentTransport,
    ];
}

/// A reason in the policy for not accepting something as a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Legal proceedings have started (not merely been threatened).
    LegalProceedingsStarted,
    /// A court or tribunal has already decided the issue.
    DecidedByCourtOrTribunal,
    /// The Ombudsman has already made a final decision.
    DecidedByOmbudsman,
    /// More than twelve months since the person became aware (discretion for mitigating circumstances).
    OverTwelveMonths,
    /// An appeal panel or tribunal is the right route.
    AlternativeRoute,
    /// A staff member's personnel issue.
    StaffPersonnelMatter,
    /// Payment for loss or damage: a claim for the insurance team.
    CompensationClaim,
}

impl Exclusion {
    /// Every exclusion, in a fixed order.
    pub const ALL: [Exclusion; 7] = [
        Exclusion::LegalProceedingsStarted,
        Exclusion::DecidedByCourtOrTribunal,
        Exclusion::DecidedByOmbudsman,
        Exclusion::OverTwelveMonths,
        Exclusion::AlternativeRoute,
        Exclusion::StaffPersonnelMatter,
        Exclusion::CompensationClaim,
    ];
}

/// Something that changes how a case is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Caution {
    /// Someone may be at risk: safeguarding takes precedence and may suspend the complaint.
    Safeguarding,
    /// Written for someone else: their consent may be needed.
    OnBehalfOfSomeone,
    /// Another format or language was asked for.
    AlternativeFormatRequested,
    /// About accent, dialect, manner, tone, origin or nationality, or a private provider's staff: not a
    /// legitimate fluency-duty complaint.
    FluencyDutyNotLegitimate,
}

impl Caution {
    /// Every caution, in a fixed order.
    pub const ALL: [Caution; 4] = [
        Caution::Safeguarding,
        Caution::OnBehalfOfSomeone,
        Caution::AlternativeFormatRequested,
        Caution::FluencyDutyNotLegitimate,
    ];
}

/// Why the engine decided something: the words or answers it saw and the rule that used them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Evidence {
    /// What the evidence supports, e.g. `kind`, `procedure`, `exclusion:over_twelve_months`.
    pub decision: String,
    /// The rule, in words.
    pub rule: String,
    /// The phrases or form answers that triggered it.
    pub found: Vec<String>,
}

/// The assessment of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// What kind of feedback this is.
    pub kind: Kind,
    /// Confidence in `kind`, from 0 to 1.
    pub confidence: f32,
    /// The engine is unsure: a person should check.
    pub needs_review: bool,
    /// The procedure that applies; `None` for kinds the complaints procedures do not handle.
    pub procedure: Option<Procedure>,
    /// The directorate of the service concerned, where one is identifiable.
    pub directorate: Option<Directorate>,
    /// The service area the engine matched, if any.
    pub service_area: Option<String>,
    /// Who handles it and where it goes next.
    pub route: Route,
    /// Reasons the policy would not accept this as a complaint.
    pub exclusions: BTreeSet<Exclusion>,
    /// Things that change the handling.
    pub cautions: BTreeSet<Caution>,
    /// Plain-English notes on each exclusion and caution, in the same order as the sets.
    pub advice: Vec<Advice>,
    /// Every clock of the chosen procedure.
    pub deadlines: Vec<Deadline>,
    /// The evidence behind every decision.
    pub evidence: Vec<Evidence>,
}

/// A plain-English note on an exclusion or caution, from the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    /// `exclusion:<name>` or `caution:<name>`.
    pub about: String,
    /// What the policy says to do.
    pub text: String,
}

/// Contact details of a team or outside body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The team's or body's name.
    pub name: String,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Telephone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Text relay number.
    #[serde(default)]
    pub text_relay: Option<String>,
    /// Text (SMS) number and how to use it.
    #[serde(default)]
    pub sms: Option<String>,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// Web address or online form.
    #[serde(default)]
    pub web: Option<String>,
    /// A note on how to use this contact.
    #[serde(default)]
    pub note: Option<String>,
}

/// Human-readable formats (JSON for a page, TOML) leave out the details a contact lacks; a compact one
/// (a compiled policy, whose fields are read by position) writes every field.
impl Serialize for Contact {
    fn serialize<S: Serializer>(&self, to: S) -> Result<S::Ok, S::Error> {
        let every_field = !to.is_human_readable();
        let details = [
            ("email", &self.email),
            ("phone", &self.phone),
            ("text_relay", &self.text_relay),
            ("sms", &self.sms),
            ("address", &self.address),
            ("web", &self.web),
            ("note", &self.note),
        ];
        let written = |value: &Option<String>| every_field || value.is_some();
        let len = 1 + details.iter().filter(|(_, value)| written(value)).count();
        let mut contact = to.serialize_struct("Contact", len)?;
        contact.serialize_field("name", &self.name)?;
        for (key, value) in details {
            if written(value) {
                contact.serialize_field(key, value)?;
            } else {
                contact.skip_field(key)?;
            }
        }
        contact.end()
    }
}

/// Where a matter goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The team that handles it.
    pub team: Contact,
    /// The corporate director to write to at the escalation stage, for corporate complaints.
    pub director: Option<Contact>,
    /// What happens next if the person stays dissatisfied, in words.
    pub next_stage: Option<String>,
    /// The outside body at the end of the procedure.
    pub outside_body: Option<Contact>,
    /// Other outside bodies that may apply (e.g. Ofsted for schools).
    pub also: Vec<Contact>,
}

/// What starts a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// The day the council received the matter.
    Receipt,
    /// The day the stage started (an escalation).
    StageStart,
    /// The day a request (e.g. for a review panel) was accepted.
    Acceptance,
    /// The day of an appeal hearing.
    Hearing,
    /// The day the person became aware of the issue.
    Awareness,
}

/// One clock of a procedure, with its date where its start is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The stage id, e.g. `stage_1`.
    pub stage: String,
    /// What is due, e.g. `acknowledge`, `full_reply`, `progress_update`.
    pub milestone: String,
    /// In words, for people.
    pub label: String,
    /// The clock: working days, calendar days or calendar months from `from`.
    pub period: Period,
    /// The longest the clock may be extended to (complex cases).
    pub extended_period: Option<Period>,
    /// What starts the clock.
    pub from: ClockStart,
    /// When the clock started, where known.
    pub starts: Option<NaiveDate>,
    /// The due date, where the start is known.
    pub due: Option<NaiveDate>,
    /// The latest date with the extension, where the start is known.
    pub due_extended: Option<NaiveDate>,
    /// Whether the clock repeats (progress updates) rather than ending.
    pub repeats: bool,
}

/// A length of time in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Period {
    /// England and Wales working days.
    WorkingDays(u32),
    /// Calendar days.
    CalendarDays(u32),
    /// Calendar months.
    CalendarMonths(u32),
}

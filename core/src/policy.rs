//! The council's policy as data: procedures, teams, clocks, service areas, and the phrase cues the
//! classifier reads. Kent's is embedded; a council can load its own, which is validated on load.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::calendar::{HolidayTable, WorkingCalendar};
use crate::lexicon::{Lexicon, LexiconSource};
use crate::linear::{KindModel, ProcedureModel};
use crate::model::{Caution, ClockStart, Contact, Directorate, Exclusion, Kind, Period, Procedure};

#[cfg(feature = "toml")]
const KENT_POLICY: &str = include_str!("../policy/kent.toml");
#[cfg(feature = "toml")]
const ENGLISH_CUES: &str = include_str!("../policy/cues-en.toml");
#[cfg(feature = "toml")]
const ENGLISH_KIND_MODEL: &str = include_str!("../policy/kind-model-en.toml");
#[cfg(feature = "toml")]
const KENT_PROCEDURE_MODEL: &str = include_str!("../policy/kent-procedure-model.toml");

/// One problem found in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyProblem {
    /// Where: the file and the dotted path of the field.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Loading a policy failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// The file is not valid TOML, or a field has the wrong type or name.
    #[error("`{file}` is not a valid policy file: {message}")]
    Syntax {
        /// Which file.
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file parsed but its content is inconsistent.
    #[error("the policy has {} problem(s): {}", .0.len(), .0.iter().map(|p| format!("`{}`: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<PolicyProblem>),
}

/// The policy document as written in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The council's name.
    pub council: String,
    /// Working-day settings.
    pub calendar: CalendarSettings,
    /// Teams that handle matters, by id.
    pub teams: BTreeMap<String, Contact>,
    /// Outside bodies (ombudsmen, regulators), by id.
    pub outside_bodies: BTreeMap<String, Contact>,
    /// The directorates and their corporate directors.
    pub directorates: BTreeMap<Directorate, DirectorateSpec>,
    /// Every procedure.
    pub procedures: BTreeMap<Procedure, ProcedureSpec>,
    /// Where the kinds that are not complaints go instead.
    pub redirects: BTreeMap<Kind, RedirectSpec>,
    /// Service areas a form can offer and the classifier recognises.
    pub service_areas: BTreeMap<String, ServiceAreaSpec>,
    /// What the policy says about each exclusion.
    pub exclusions: BTreeMap<Exclusion, String>,
    /// What the policy says about each caution.
    pub cautions: BTreeMap<Caution, String>,
    /// Mailboxes (local part or team id) that imply a service area.
    #[serde(default)]
    pub mailbox_hints: BTreeMap<String, String>,
}

/// Working-day settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    /// Messages received after this local time count from the next working day.
    #[serde(with = "crate::compact::time")]
    pub office_cutoff: NaiveTime,
    /// The council's own closure days.
    #[serde(default, with = "crate::compact::dates")]
    pub closure_days: Vec<NaiveDate>,
}

/// A directorate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorateSpec {
    /// Its name.
    pub name: String,
    /// Who to write to at the escalation stage.
    pub director: Contact,
}

/// One procedure: who handles it, its stages and clocks, and the outside body at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureSpec {
    /// Its name, for people.
    pub name: String,
    /// The team id that handles it.
    pub team: String,
    /// Teams by directorate, where a directorate has its own (e.g. children's complaints).
    #[serde(default)]
    pub team_by_directorate: BTreeMap<Directorate, String>,
    /// Teams by service area, before the directorate's (e.g. adult education stays with customer feedback).
    #[serde(default)]
    pub team_by_service_area: BTreeMap<String, String>,
    /// The outside body id at the end.
    #[serde(default)]
    pub outside_body: Option<String>,
    /// Other outside bodies that may apply.
    #[serde(default)]
    pub also: Vec<String>,
    /// The corporate director handles the escalation stage.
    #[serde(default)]
    pub escalate_to_director: bool,
    /// The stages in order.
    pub stages: Vec<StageSpec>,
    /// Clocks that run from something other than a stage (the complaint window).
    #[serde(default)]
    pub windows: Vec<ClockSpec>,
}

/// One stage of a procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Its id, e.g. `stage_1`.
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// What the person can do next if still dissatisfied.
    #[serde(default)]
    pub next: Option<String>,
    /// The clocks of this stage.
    #[serde(default)]
    pub clocks: Vec<ClockSpec>,
}

/// One clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// What is due, e.g. `acknowledge`.
    pub milestone: String,
    /// In words.
    pub label: String,
    /// How long.
    pub period: Period,
    /// The longest it may be extended to.
    #[serde(default)]
    pub extended: Option<Period>,
    /// What starts it.
    pub from: ClockStart,
    /// Whether it repeats.
    #[serde(default)]
    pub repeats: bool,
}

/// Where a kind that is not a complaint goes instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectSpec {
    /// The team id.
    pub team: String,
    /// Teams by service area, where one area has its own (e.g. subject access requests).
    #[serde(default)]
    pub team_by_service_area: BTreeMap<String, String>,
    /// What the person should do, in plain English.
    pub advice: String,
    /// Clocks that still apply (e.g. an acknowledgement).
    #[serde(default)]
    pub clocks: Vec<ClockSpec>,
}

/// A service area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAreaSpec {
    /// Its name, for a form's list.
    pub name: String,
    /// Its directorate, if any.
    #[serde(default)]
    pub directorate: Option<Directorate>,
    /// The procedure its complaints follow.
    pub procedure: Procedure,
    /// Offered on a form's service-area list.
    #[serde(default = "yes")]
    pub on_forms: bool,
}

fn yes() -> bool {
    true
}

/// A loaded, validated policy with its compiled phrase matcher and calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The document as loaded.
    pub document: PolicyDocument,
    /// The compiled cues.
    pub lexicon: Lexicon,
    /// The working-day calendar, with the council's closure days.
    pub calendar: WorkingCalendar,
    /// The learned weights that turn cue signals into a kind (English, any council).
    pub kind_model: KindModel,
    /// The learned weights that pick a procedure from the council's service areas and the signals; a
    /// council's own policy has none until trained on its corpus, and its rules decide alone.
    pub procedure_model: ProcedureModel,
}

/// Everything a policy is built from, parsed but not yet checked against each other: what a compiled
/// policy stores (postcard bytes), so that the browser needs neither a TOML parser nor the files.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PolicySources {
    document: PolicyDocument,
    cues: LexiconSource,
    /// Cues for an area the policy lacks are a problem (the cue file was written for this policy).
    strict_areas: bool,
    kind_model: KindModel,
    procedure_model: ProcedureModel,
    holidays: HolidayTable,
}

impl Policy {
    /// Kent County Council's policy, embedded, with its trained models.
    #[cfg(feature = "toml")]
    pub fn kent() -> Policy {
        // INVARIANT: the embedded files are validated by the `kent_policy_loads` test, so this cannot fail
        // in a tested build.
        #[expect(clippy::expect_used, reason = "embedded data, validated by a test")]
        PolicySources::parse(
            KENT_POLICY,
            ENGLISH_CUES,
            true,
            Some(ENGLISH_KIND_MODEL),
            Some(KENT_PROCEDURE_MODEL),
        )
        .and_then(PolicySources::build)
        .expect("the embedded Kent policy is valid")
    }

    /// Loads a policy file and a cue file, checking every reference between them.
    #[cfg(feature = "toml")]
    pub fn load(policy_toml: &str, cues_toml: &str) -> Result<Policy, PolicyError> {
        PolicySources::parse(policy_toml, cues_toml, true, Some(ENGLISH_KIND_MODEL), None)?.build()
    }

    /// Kent's policy with untrained models: what the trainer computes features with (so a stale model
    /// never stops its own retraining).
    #[cfg(feature = "toml")]
    pub fn kent_untrained() -> Result<Policy, PolicyError> {
        PolicySources::parse(KENT_POLICY, ENGLISH_CUES, true, None, None)?.build()
    }

    /// Loads a council's policy file with the embedded English cues.
    #[cfg(feature = "toml")]
    pub fn load_with_default_cues(policy_toml: &str) -> Result<Policy, PolicyError> {
        PolicySources::with_default_cues(policy_toml)?.build()
    }

    /// Compiles a council's policy file with the embedded English cues into compact bytes for
    /// [`Policy::from_compiled`], after checking it exactly as [`Policy::load_with_default_cues`] does.
    /// The same files always give the same bytes.
    #[cfg(feature = "toml")]
    pub fn compile_with_default_cues(policy_toml: &str) -> Result<Vec<u8>, PolicyError> {
        let sources = PolicySources::with_default_cues(policy_toml)?;
        let bytes = postcard::to_allocvec(&sources).map_err(|err| PolicyError::Syntax {
            file: "compiled policy".into(),
            message: err.to_string(),
        })?;
        sources.build()?;
        Ok(bytes)
    }

    /// A policy compiled by [`Policy::compile_with_default_cues`] (at build time, so that neither a
    /// TOML parser nor the checks of the references are needed where it is used). The phrase matcher
    /// is built here; bytes that do not decode are an error, never a panic.
    pub fn from_compiled(bytes: &[u8]) -> Result<Policy, PolicyError> {
        let sources: PolicySources =
            postcard::from_bytes(bytes).map_err(|err| PolicyError::Syntax {
                file: "compiled policy".into(),
                message: err.to_string(),
            })?;
        sources.assemble(Vec::new())
    }

    /// The embedded Kent policy file, as a starting point for another council's.
    #[cfg(feature = "toml")]
    pub fn kent_source() -> &'static str {
        KENT_POLICY
    }

    /// A team's contact details, by id.
    pub fn team(&self, id: &str) -> Option<&Contact> {
        self.document.teams.get(id)
    }

    /// A procedure's spec.
    pub fn procedure(&self, procedure: Procedure) -> Option<&ProcedureSpec> {
        self.document.procedures.get(&procedure)
    }
}

impl PolicySources {
    /// Parses the files; nothing is checked across them yet.
    #[cfg(feature = "toml")]
    fn parse(
        policy_toml: &str,
        cues_toml: &str,
        strict_areas: bool,
        kind_model: Option<&str>,
        procedure_model: Option<&str>,
    ) -> Result<PolicySources, PolicyError> {
        fn read<T: serde::de::DeserializeOwned>(
            file: &str,
            source: &str,
        ) -> Result<T, PolicyError> {
            toml::from_str(source).map_err(|err| PolicyError::Syntax {
                file: file.into(),
                message: err.to_string(),
            })
        }
        Ok(PolicySources {
            document: read("policy", policy_toml)?,
            cues: read("cues", cues_toml)?,
            strict_areas,
            kind_model: match kind_model {
                Some(source) => read("kind model", source)?,
                None => KindModel::untrained(),
            },
            procedure_model: match procedure_model {
                Some(source) => read("procedure model", source)?,
                None => ProcedureModel::untrained(),
            },
            holidays: WorkingCalendar::england_and_wales().to_table(),
        })
    }

    /// A council's policy file with the embedded English cues and kind model (and no procedure model).
    #[cfg(feature = "toml")]
    fn with_default_cues(policy_toml: &str) -> Result<PolicySources, PolicyError> {
        PolicySources::parse(
            policy_toml,
            ENGLISH_CUES,
            false,
            Some(ENGLISH_KIND_MODEL),
            None,
        )
    }

    /// Checks every reference between the parts, then builds the policy. Every problem is reported.
    #[cfg(feature = "toml")]
    fn build(self) -> Result<Policy, PolicyError> {
        let mut problems = self.document.problems();
        for message in self
            .kind_model
            .problems(&crate::classify::kind_feature_names())
        {
            problems.push(PolicyProblem {
                field: "kind model".into(),
                message,
            });
        }
        for message in self
            .procedure_model
            .problems(&crate::classify::procedure_feature_names(&self.document))
        {
            problems.push(PolicyProblem {
                field: "procedure model".into(),
                message,
            });
        }
        self.assemble(problems)
    }

    /// Compiles the phrase matcher and the calendar, adding their problems to those already found.
    /// Checking references is [`PolicySources::build`]'s: a compiled policy was checked when compiled.
    fn assemble(self, mut problems: Vec<PolicyProblem>) -> Result<Policy, PolicyError> {
        let PolicySources {
            document,
            cues,
            strict_areas,
            kind_model,
            procedure_model,
            holidays,
        } = self;
        let lexicon = Lexicon::compile(&cues, &document.service_areas, strict_areas, &mut problems);
        let calendar = match WorkingCalendar::from_table(holidays) {
            Ok(calendar) => calendar.with_closures(document.calendar.closure_days.iter().copied()),
            Err(err) => {
                problems.push(PolicyProblem {
                    field: "bank holidays".into(),
                    message: err.to_string(),
                });
                WorkingCalendar::from_rules_only()
            }
        };
        if !problems.is_empty() {
            return Err(PolicyError::Invalid(problems));
        }
        Ok(Policy {
            document,
            lexicon,
            calendar,
            kind_model,
            procedure_model,
        })
    }
}

#[cfg(feature = "toml")]
impl PolicyDocument {
    /// Every inconsistency in the document.
    fn problems(&self) -> Vec<PolicyProblem> {
        let mut problems = Vec::new();
        let mut problem =
            |field: String, message: String| problems.push(PolicyProblem { field, message });
        let team_exists = |id: &String| self.teams.contains_key(id);
        let body_exists = |id: &String| self.outside_bodies.contains_key(id);
        for procedure in Procedure::ALL {
            let key = snake(&procedure);
            let Some(spec) = self.procedures.get(&procedure) else {
                problem(
                    format!("procedures.{key}"),
                    "missing: every procedure needs an entry".into(),
                );
                continue;
            };
            if !team_exists(&spec.team) {
                problem(
                    format!("procedures.{key}.team"),
                    format!("no team `{}` in [teams]", spec.team),
                );
            }
            for (area, team) in &spec.team_by_service_area {
                if !team_exists(team) {
                    problem(
                        format!("procedures.{key}.team_by_service_area.{area}"),
                        format!("no team `{team}` in [teams]"),
                    );
                }
                if !self.service_areas.contains_key(area) {
                    problem(
                        format!("procedures.{key}.team_by_service_area.{area}"),
                        format!("no service area `{area}` in [service_areas]"),
                    );
                }
            }
            for (directorate, team) in &spec.team_by_directorate {
                if !team_exists(team) {
                    problem(
                        format!(
                            "procedures.{key}.team_by_directorate.{}",
                            snake(directorate)
                        ),
                        format!("no team `{team}` in [teams]"),
                    );
                }
            }
            for body in spec.outside_body.iter().chain(&spec.also) {
                if !body_exists(body) {
                    problem(
                        format!("procedures.{key}"),
                        format!("no outside body `{body}` in [outside_bodies]"),
                    );
                }
            }
            if spec.stages.is_empty() {
                problem(
                    format!("procedures.{key}.stages"),
                    "a procedure needs at least one stage".into(),
                );
            }
            for (index, stage) in spec.stages.iter().enumerate() {
                for clock in &stage.clocks {
                    check_clock(
                        clock,
                        &format!("procedures.{key}.stages[{index}]"),
                        &mut problem,
                    );
                }
            }
            for clock in &spec.windows {
                check_clock(clock, &format!("procedures.{key}.windows"), &mut problem);
            }
        }
        for kind in Kind::ALL.into_iter().filter(|k| !k.is_feedback()) {
            let key = snake(&kind);
            match self.redirects.get(&kind) {
                None => problem(
                    format!("redirects.{key}"),
                    "missing: every kind that is not feedback needs a redirect".into(),
                ),
                Some(redirect) => {
                    for team in std::iter::once(&redirect.team)
                        .chain(redirect.team_by_service_area.values())
                    {
                        if !team_exists(team) {
                            problem(
                                format!("redirects.{key}.team"),
                                format!("no team `{team}` in [teams]"),
                            );
                        }
                    }
                    for area in redirect.team_by_service_area.keys() {
                        if !self.service_areas.contains_key(area) {
                            problem(
                                format!("redirects.{key}.team_by_service_area"),
                                format!("no service area `{area}`"),
                            );
                        }
                    }
                }
            }
        }
        for exclusion in Exclusion::ALL
            .iter()
            .filter(|e| !self.exclusions.contains_key(e))
        {
            problem(
                format!("exclusions.{}", snake(exclusion)),
                "missing: say what the policy advises".into(),
            );
        }
        for caution in Caution::ALL
            .iter()
            .filter(|c| !self.cautions.contains_key(c))
        {
            problem(
                format!("cautions.{}", snake(caution)),
                "missing: say what the policy advises".into(),
            );
        }
        for directorate in Directorate::ALL
            .iter()
            .filter(|d| !self.directorates.contains_key(d))
        {
            problem(
                format!("directorates.{}", snake(directorate)),
                "missing: every directorate needs an entry".into(),
            );
        }
        for (mailbox, area) in &self.mailbox_hints {
            if !self.service_areas.contains_key(area) {
                problem(
                    format!("mailbox_hints.{mailbox}"),
                    format!("no service area `{area}`"),
                );
            }
        }
        problems
    }
}

#[cfg(feature = "toml")]
fn check_clock(clock: &ClockSpec, at: &str, problem: &mut impl FnMut(String, String)) {
    let length = |period: &Period| match period {
        Period::WorkingDays(n) | Period::CalendarDays(n) | Period::CalendarMonths(n) => *n,
    };
    // A year of working days (or days, or 36 months) is longer than any complaints clock; the bound also
    // keeps date arithmetic on a bad file from running for ever.
    let limit = |period: &Period| match period {
        Period::WorkingDays(_) => 260,
        Period::CalendarDays(_) => 366,
        Period::CalendarMonths(_) => 36,
    };
    for (name, period) in std::iter::once(("period", &clock.period))
        .chain(clock.extended.as_ref().map(|e| ("extended", e)))
    {
        if length(period) == 0 || length(period) > limit(period) {
            problem(
                format!("{at}.{}.{name}", clock.milestone),
                format!(
                    "a clock must be at least 1 and at most {} of its unit, not {}",
                    limit(period),
                    length(period)
                ),
            );
        }
    }
    if let Some(extended) = &clock.extended
        && (std::mem::discriminant(extended) != std::mem::discriminant(&clock.period)
            || length(extended) < length(&clock.period))
    {
        problem(
            format!("{at}.{}.extended", clock.milestone),
            "must be in the same unit as `period` and no shorter".into(),
        );
    }
}

/// The snake_case name serde gives a unit enum variant.
pub(crate) fn snake<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::from("?"),
    }
}

#[cfg(all(test, feature = "toml"))]
mod tests {
    use super::*;

    #[test]
    fn kent_policy_loads() {
        let policy = Policy::load(KENT_POLICY, ENGLISH_CUES).unwrap();
        assert_eq!(policy.document.procedures.len(), Procedure::ALL.len());
    }

    #[test]
    fn a_compiled_policy_is_the_policy_loaded_from_toml() {
        let with_closures = KENT_POLICY.replacen(
            "closure_days = []",
            "closure_days = [\"2026-12-24\", \"2027-01-04\"]",
            1,
        );
        assert_ne!(with_closures, KENT_POLICY);
        for source in [KENT_POLICY, with_closures.as_str()] {
            let bytes = Policy::compile_with_default_cues(source).unwrap();
            let compiled = Policy::from_compiled(&bytes).unwrap();
            assert_eq!(compiled, Policy::load_with_default_cues(source).unwrap());
            assert_eq!(Policy::compile_with_default_cues(source).unwrap(), bytes);
        }
    }

    #[test]
    fn compiled_bytes_that_do_not_decode_are_an_error() {
        let bytes = Policy::compile_with_default_cues(KENT_POLICY).unwrap();
        for broken in [&bytes[..bytes.len() / 2], &[0xff; 16][..], &[][..]] {
            let err = Policy::from_compiled(broken).unwrap_err();
            assert!(matches!(err, PolicyError::Syntax { .. }), "{err}");
        }
    }

    #[test]
    fn a_misspelt_key_names_the_field() {
        let broken = KENT_POLICY.replacen("office_cutoff", "ofice_cutoff", 1);
        let err = Policy::load(&broken, ENGLISH_CUES).unwrap_err().to_string();
        assert!(err.contains("ofice_cutoff"), "{err}");
    }

    #[test]
    fn a_dangling_team_reference_is_reported_with_every_other_problem() {
        let broken = KENT_POLICY
            .replacen("team = \"customer_feedback\"", "team = \"nobody\"", 1)
            .replacen("safeguarding = \"Someone may be at risk", "# removed \"", 1);
        let err = Policy::load(&broken, ENGLISH_CUES).unwrap_err();
        let PolicyError::Invalid(problems) = &err else {
            panic!("{err}")
        };
        assert!(
            problems.iter().any(|p| p.message.contains("`nobody`")),
            "{err}"
        );
        assert!(
            problems.iter().any(|p| p.field == "cautions.safeguarding"),
            "{err}"
        );
    }

    #[test]
    fn another_council_without_some_service_areas_loads_with_the_default_cues() {
        let section = "[service_areas.country_parks]\nname = \"Country parks and countryside\"\ndirectorate = \"growth_environment_transport\"\nprocedure = \"corporate\"\n";
        assert!(KENT_POLICY.contains(section));
        let other = KENT_POLICY.replacen(section, "", 1);
        let policy = Policy::load_with_default_cues(&other).unwrap();
        assert!(!policy.document.service_areas.contains_key("country_parks"));
        // A cue file written for this policy must match it, though.
        let err = Policy::load(&other, ENGLISH_CUES).unwrap_err().to_string();
        assert!(err.contains("country_parks"), "{err}");
    }

    #[test]
    fn a_clock_longer_than_any_complaints_clock_is_refused() {
        let broken = KENT_POLICY.replacen(
            "period = { working_days = 20 }",
            "period = { working_days = 4000000000 }",
            1,
        );
        let err = Policy::load(&broken, ENGLISH_CUES).unwrap_err().to_string();
        assert!(err.contains("at most 260"), "{err}");
    }
}

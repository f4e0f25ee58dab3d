//! feedback-wasm: the WebAssembly facade over `feedback-core` that council web forms embed.
//!
//! It only checks and converts: a JS object in, [`feedback_core::assess`] with the embedded Kent policy,
//! a plain JS object out. There is no policy logic here.
//!
//! # One way to fail
//!
//! Every export returns a result the page switches on, and never throws for bad input:
//!
//! ```text
//! { type: "success", ... }                          // the answer, under a named field
//! { type: "failure", errors: [{ message, help }] }  // every problem found, each with what to do
//! ```
//!
//! A Rust panic would reach the page as an `unreachable` trap, so nothing here may panic: input shapes,
//! types, lengths and dates are checked before the engine sees them (dates are kept to the years
//! [`MIN_YEAR`]..=[`MAX_YEAR`] so that no date arithmetic in the engine can overflow).
//!
//! Strings cross the boundary as UTF-8: an unpaired UTF-16 surrogate in a JS string becomes U+FFFD on the
//! way in (the rest of the text is assessed as usual).
//!
//! Feature flags: none.
#![warn(missing_docs)]

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use feedback_core::{
    Assessment, Channel, Contact, Directorate, FormAnswers, Policy, Procedure, Submission,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

mod input;

/// The longest message assessed, in characters (Unicode scalar values).
pub const MAX_TEXT_CHARS: usize = 100_000;
/// The longest subject assessed, in characters.
pub const MAX_SUBJECT_CHARS: usize = 1_000;
/// The earliest year a date may have.
pub const MIN_YEAR: i32 = 1900;
/// The latest year a date may have.
pub const MAX_YEAR: i32 = 2200;
/// The most working days `addWorkingDays` adds (about forty years).
pub const MAX_WORKING_DAYS: u32 = 10_000;

/// What a form gives `assess`: the message and the answers the form already asked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessInput {
    /// The message as the person wrote it.
    pub text: String,
    /// A subject or title field.
    #[serde(default)]
    pub subject: Option<String>,
    /// When the council received it, RFC 3339 (e.g. `2026-11-25T10:00:00Z`); the deadlines run from here.
    #[serde(default)]
    pub received: Option<String>,
    /// How it reached the council (`web_form`, `email`, ...).
    #[serde(default)]
    pub channel: Option<Channel>,
    /// A service area id from the policy; an empty string means not answered.
    #[serde(default)]
    pub service_area: Option<String>,
    /// The date the person became aware, `YYYY-MM-DD`; an empty string means not answered.
    #[serde(default)]
    pub aware_since: Option<String>,
    /// Written on someone else's behalf.
    #[serde(default)]
    pub on_behalf: Option<bool>,
    /// Legal proceedings have started on the matter.
    #[serde(default)]
    pub legal_action_started: Option<bool>,
}

/// The fields of [`AssessInput`], as JS spells them.
const INPUT_FIELDS: [&str; 8] = [
    "text",
    "subject",
    "received",
    "channel",
    "service_area",
    "aware_since",
    "on_behalf",
    "legal_action_started",
];

/// One problem with the input, for the page to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl Problem {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            help: help.into(),
        }
    }
}

/// A service area as a form lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceArea {
    /// The id `assess` takes as `service_area`.
    pub id: String,
    /// Its name, for the form's list.
    pub name: String,
    /// Its directorate, if any.
    pub directorate: Option<Directorate>,
    /// The procedure its complaints follow.
    pub procedure: Procedure,
    /// Whether the policy offers it on forms.
    pub on_forms: bool,
}

/// The policy's contact details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contacts<'a> {
    /// The council's name.
    pub council: &'a str,
    /// Teams, by id.
    pub teams: &'a BTreeMap<String, Contact>,
    /// Outside bodies (ombudsmen, regulators), by id.
    pub outside_bodies: &'a BTreeMap<String, Contact>,
}

/// A procedure as a page describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcedureSummary {
    /// Its name, for people.
    pub name: String,
    /// Its stages in order.
    pub stages: Vec<StageSummary>,
}

/// A stage as a page describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageSummary {
    /// Its id, e.g. `stage_1`.
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// What the person can do next if still dissatisfied.
    pub next: Option<String>,
}

/// Kent's policy with the shared English cues and kind model, parsed and checked from the TOML files at
/// build time (`build.rs`) into compact bytes.
const KENT_COMPILED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kent.policy"));

/// The embedded policy, loaded once. Loading goes through the fallible decoder so that a broken
/// embedded policy is a failure result, not a panic.
fn policy() -> Result<&'static Policy, Vec<Problem>> {
    static POLICY: OnceLock<Result<Policy, String>> = OnceLock::new();
    POLICY
        .get_or_init(|| Policy::from_compiled(KENT_COMPILED).map_err(|err| err.to_string()))
        .as_ref()
        .map_err(|err| {
            vec![Problem::new(
                format!("the embedded policy does not load: {err}"),
                "rebuild the module from a tested commit",
            )]
        })
}

fn parse_date(field: &str, value: &str) -> Result<NaiveDate, Problem> {
    let help = format!(
        "give `{field}` as a date written YYYY-MM-DD, between the years {MIN_YEAR} and {MAX_YEAR}"
    );
    match iso_date(value) {
        Some(date) if (MIN_YEAR..=MAX_YEAR).contains(&date.year()) => Ok(date),
        Some(_) => Err(Problem::new(
            format!(
                "`{field}` is `{}`, outside the years {MIN_YEAR} to {MAX_YEAR}",
                shorten(value)
            ),
            help,
        )),
        None => Err(Problem::new(
            format!("`{field}` is `{}`, not a date", shorten(value)),
            help,
        )),
    }
}

/// `YYYY-MM-DD` exactly, and a day that exists. Written out rather than with chrono's format parser,
/// which would add its whole strftime machinery to the module for this one shape.
fn iso_date(value: &str) -> Option<NaiveDate> {
    let mut parts = value.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

fn parse_received(value: &str) -> Result<DateTime<FixedOffset>, Problem> {
    let help = format!(
        "give `received` as an RFC 3339 time such as `2026-11-25T10:00:00Z`, between the years {MIN_YEAR} and {MAX_YEAR}"
    );
    match DateTime::parse_from_rfc3339(value) {
        Ok(time) if (MIN_YEAR..=MAX_YEAR).contains(&time.year()) => Ok(time),
        Ok(_) => Err(Problem::new(
            format!(
                "`received` is `{}`, outside the years {MIN_YEAR} to {MAX_YEAR}",
                shorten(value)
            ),
            help,
        )),
        Err(err) => Err(Problem::new(
            format!("`received` is `{}`, not a time: {err}", shorten(value)),
            help,
        )),
    }
}

/// Quotes at most 40 characters of user input in a message.
fn shorten(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

/// A form's empty answer is no answer.
fn answered(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Checks an input and builds the submission, collecting every problem.
pub fn submission(input: AssessInput, policy: &Policy) -> Result<Submission, Vec<Problem>> {
    let mut problems = Vec::new();
    let length = input.text.chars().count();
    if length > MAX_TEXT_CHARS {
        problems.push(Problem::new(
            format!("`text` is {length} characters long, over the limit of {MAX_TEXT_CHARS}"),
            format!("pass the first {MAX_TEXT_CHARS} characters: guidance does not need more"),
        ));
    }
    if let Some(subject) = &input.subject
        && subject.chars().count() > MAX_SUBJECT_CHARS
    {
        problems.push(Problem::new(
            format!("`subject` is over the limit of {MAX_SUBJECT_CHARS} characters"),
            "pass a shorter subject",
        ));
    }
    let received = answered(input.received)
        .map(|r| parse_received(&r))
        .transpose()
        .unwrap_or_else(|p| {
            problems.push(p);
            None
        });
    let aware_since = answered(input.aware_since)
        .map(|d| parse_date("aware_since", &d))
        .transpose()
        .unwrap_or_else(|p| {
            problems.push(p);
            None
        });
    let service_area = answered(input.service_area);
    if let Some(area) = &service_area
        && !policy.document.service_areas.contains_key(area)
    {
        problems.push(Problem::new(
            format!(
                "`service_area` is `{}`, which is not a service area of the policy",
                shorten(area)
            ),
            "use an `id` from `serviceAreas()`, or leave `service_area` out",
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Submission {
        text: input.text,
        subject: answered(input.subject),
        channel: input.channel,
        received,
        form: FormAnswers {
            service_area,
            aware_since,
            on_behalf: input.on_behalf,
            legal_action_started: input.legal_action_started,
            mailbox: None,
        },
    })
}

/// Checks `today` and assesses an input under the embedded policy.
pub fn assess_checked(input: AssessInput, today: Option<&str>) -> Result<Assessment, Vec<Problem>> {
    let policy = policy()?;
    let today = match today {
        Some(today) => parse_date("today", today),
        None => Err(Problem::new(
            "`today` is missing or not a string",
            "pass today's date as a string written YYYY-MM-DD",
        )),
    };
    let (submission, today) = match (submission(input, policy), today) {
        (Ok(submission), Ok(today)) => (submission, today),
        (submission, today) => {
            let mut problems = submission.err().unwrap_or_default();
            problems.extend(today.err());
            return Err(problems);
        }
    };
    Ok(feedback_core::assess(&submission, policy, today))
}

/// `start` plus `days` working days on the policy's calendar.
pub fn add_working_days_checked(
    start: Option<&str>,
    days: Option<f64>,
) -> Result<NaiveDate, Vec<Problem>> {
    let policy = policy()?;
    let start = start.map_or_else(|| Err(missing_date("start")), |s| parse_date("start", s));
    let days = days.and_then(whole_days).ok_or_else(|| {
        Problem::new(
            "`days` is not a whole number of days",
            format!("pass a whole number from 0 to {MAX_WORKING_DAYS}"),
        )
    });
    match (start, days) {
        (Ok(start), Ok(days)) => Ok(policy.calendar.add_working_days(start, days)),
        (start, days) => Err(start.err().into_iter().chain(days.err()).collect()),
    }
}

/// Working days after `from` up to and including `to`; negative when `to` is earlier.
pub fn working_days_between_checked(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<i64, Vec<Problem>> {
    let policy = policy()?;
    let from = from.map_or_else(|| Err(missing_date("from")), |d| parse_date("from", d));
    let to = to.map_or_else(|| Err(missing_date("to")), |d| parse_date("to", d));
    match (from, to) {
        (Ok(from), Ok(to)) => Ok(policy.calendar.working_days_between(from, to)),
        (from, to) => Err(from.err().into_iter().chain(to.err()).collect()),
    }
}

fn missing_date(field: &str) -> Problem {
    Problem::new(
        format!("`{field}` is missing or not a string"),
        format!("pass `{field}` as a date string written YYYY-MM-DD"),
    )
}

fn whole_days(days: f64) -> Option<u32> {
    let in_range = days.fract() == 0.0 && (0.0..=f64::from(MAX_WORKING_DAYS)).contains(&days);
    // INVARIANT: checked to be a whole number in 0..=MAX_WORKING_DAYS, so the cast is exact.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "range checked above"
    )]
    in_range.then_some(days as u32)
}

/// The service areas of the policy, in id order.
pub fn service_areas_checked() -> Result<Vec<ServiceArea>, Vec<Problem>> {
    Ok(policy()?
        .document
        .service_areas
        .iter()
        .map(|(id, spec)| ServiceArea {
            id: id.clone(),
            name: spec.name.clone(),
            directorate: spec.directorate,
            procedure: spec.procedure,
            on_forms: spec.on_forms,
        })
        .collect())
}

/// The policy's procedures by id, with their stages.
pub fn procedures_checked() -> Result<BTreeMap<Procedure, ProcedureSummary>, Vec<Problem>> {
    // Inserted one by one rather than collected: collecting sorts, and a sort adds its code to the module.
    let mut procedures = BTreeMap::new();
    for (id, spec) in &policy()?.document.procedures {
        let stages = spec
            .stages
            .iter()
            .map(|s| StageSummary {
                id: s.id.clone(),
                name: s.name.clone(),
                next: s.next.clone(),
            })
            .collect();
        procedures.insert(
            *id,
            ProcedureSummary {
                name: spec.name.clone(),
                stages,
            },
        );
    }
    Ok(procedures)
}

// --- The JS boundary: conversion only ---------------------------------------------------------------

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Answer<T> {
    Success(T),
    Failure { errors: Vec<Problem> },
}

#[derive(Serialize)]
struct AssessSuccess {
    assessment: Assessment,
}

#[derive(Serialize)]
struct DateSuccess {
    date: NaiveDate,
}

#[derive(Serialize)]
struct DaysSuccess {
    days: i64,
}

#[derive(Serialize)]
struct ContactsSuccess<'a> {
    contacts: Contacts<'a>,
}

#[derive(Serialize)]
struct ProceduresSuccess {
    procedures: BTreeMap<Procedure, ProcedureSummary>,
}

#[derive(Serialize)]
struct ServiceAreasSuccess {
    service_areas: Vec<ServiceArea>,
}

/// Converts an answer to a plain JS object (maps as objects, `None` as `null`).
///
/// Through a JSON string and `JSON.parse`: one string crossing and the engine's own JSON parser are
/// several times faster than building the objects one property at a time from wasm.
fn to_js<T: Serialize>(answer: Result<T, Vec<Problem>>) -> JsValue {
    let answer = match answer {
        Ok(value) => Answer::Success(value),
        Err(errors) => Answer::Failure { errors },
    };
    let json = serde_json::to_string(&answer).unwrap_or_else(|err| {
        let failure: Answer<()> = Answer::Failure {
            errors: vec![Problem::new(
                format!("the answer could not be converted for JavaScript: {err}"),
                "report this as a bug",
            )],
        };
        serde_json::to_string(&failure).unwrap_or_default()
    });
    js_sys::JSON::parse(&json).unwrap_or(JsValue::UNDEFINED)
}

fn from_js(input: JsValue) -> Result<AssessInput, Vec<Problem>> {
    if !input.is_object() || input.is_null() {
        return Err(vec![Problem::new(
            "the input is not an object",
            "pass an object such as `{ text: \"...\", service_area: \"libraries\" }`",
        )]);
    }
    // The reader reads only the keys it asks for, so a misspelt key from JS is caught here.
    let unknown: Vec<Problem> = js_sys::Object::keys(&js_sys::Object::from(input.clone()))
        .iter()
        .filter_map(|key| key.as_string())
        .filter(|key| !INPUT_FIELDS.contains(&key.as_str()))
        .map(|key| {
            Problem::new(
                format!("unknown field `{}` in the input", shorten(&key)),
                format!(
                    "check the spelling: the fields are {}",
                    INPUT_FIELDS.map(|f| format!("`{f}`")).join(", ")
                ),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    input::read(&input).map_err(|err| {
        vec![Problem::new(
            // `Error: ` as the messages have always read (serde-wasm-bindgen's errors were JS errors).
            format!("the input has the wrong shape: Error: {err}"),
            "pass `text` (a string) and any of `subject`, `received`, `channel`, `service_area`, `aware_since` (strings) and `on_behalf`, `legal_action_started` (booleans)",
        )]
    })
}

/// Assesses what a person has written so far. `input` is an [`AssessInput`]-shaped object; `today` is
/// `YYYY-MM-DD`. Returns `{type: "success", assessment}` or `{type: "failure", errors}`.
#[wasm_bindgen(js_name = assess, unchecked_return_type = "AssessResult")]
pub fn assess(
    #[wasm_bindgen(unchecked_param_type = "AssessInput")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] today: JsValue,
) -> JsValue {
    let today = today.as_string();
    to_js(
        from_js(input)
            .and_then(|input| assess_checked(input, today.as_deref()))
            .map(|assessment| AssessSuccess { assessment }),
    )
}

/// `start` (`YYYY-MM-DD`) plus `days` England and Wales working days, with the council's closure days.
/// Returns `{type: "success", date}` or `{type: "failure", errors}`.
#[wasm_bindgen(js_name = addWorkingDays, unchecked_return_type = "DateResult")]
pub fn add_working_days(
    #[wasm_bindgen(unchecked_param_type = "string")] start: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] days: JsValue,
) -> JsValue {
    to_js(
        add_working_days_checked(start.as_string().as_deref(), days.as_f64())
            .map(|date| DateSuccess { date }),
    )
}

/// Working days after `from` up to and including `to` (both `YYYY-MM-DD`); negative when `to` is earlier.
/// Returns `{type: "success", days}` or `{type: "failure", errors}`.
#[wasm_bindgen(js_name = workingDaysBetween, unchecked_return_type = "DaysResult")]
pub fn working_days_between(
    #[wasm_bindgen(unchecked_param_type = "string")] from: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] to: JsValue,
) -> JsValue {
    to_js(
        working_days_between_checked(from.as_string().as_deref(), to.as_string().as_deref())
            .map(|days| DaysSuccess { days }),
    )
}

/// The policy's teams and outside bodies with their contact details.
/// Returns `{type: "success", contacts}` or `{type: "failure", errors}`.
#[wasm_bindgen(js_name = contacts, unchecked_return_type = "ContactsResult")]
pub fn contacts() -> JsValue {
    to_js(policy().map(|policy| ContactsSuccess {
        contacts: Contacts {
            council: &policy.document.council,
            teams: &policy.document.teams,
            outside_bodies: &policy.document.outside_bodies,
        },
    }))
}

/// The policy's service areas, in id order; a form lists those with `on_forms`.
/// Returns `{type: "success", service_areas}` or `{type: "failure", errors}`.
#[wasm_bindgen(js_name = serviceAreas, unchecked_return_type = "ServiceAreasResult")]
pub fn service_areas() -> JsValue {
    to_js(service_areas_checked().map(|service_areas| ServiceAreasSuccess { service_areas }))
}

/// The policy's procedures by id, with the names of their stages, for a page to describe them.
/// Returns `{type: "success", procedures}` or `{type: "failure", errors}`.
#[wasm_bindgen(js_name = procedures, unchecked_return_type = "ProceduresResult")]
pub fn procedures() -> JsValue {
    to_js(procedures_checked().map(|procedures| ProceduresSuccess { procedures }))
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str) -> AssessInput {
        AssessInput {
            text: text.into(),
            ..AssessInput::default()
        }
    }

    #[test]
    fn the_embedded_compiled_policy_is_the_one_loaded_from_toml() {
        let loaded = Policy::load_with_default_cues(Policy::kent_source()).unwrap();
        let embedded = Policy::from_compiled(KENT_COMPILED).unwrap();
        assert_eq!(embedded, loaded);
        assert_eq!(
            Policy::compile_with_default_cues(Policy::kent_source()).unwrap(),
            KENT_COMPILED,
            "the build is deterministic and embeds the current files"
        );
    }

    #[test]
    fn a_good_input_is_assessed() {
        let assessment = assess_checked(
            input("Thank you to the library staff, they were so helpful"),
            Some("2026-11-25"),
        )
        .unwrap();
        assert!(!assessment.deadlines.is_empty() || !assessment.kind.is_feedback());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let bad = AssessInput {
            text: "x".repeat(MAX_TEXT_CHARS + 1),
            aware_since: Some("last tuesday".into()),
            received: Some("2026-13-01T00:00:00Z".into()),
            service_area: Some("potholes".into()),
            ..AssessInput::default()
        };
        let problems = assess_checked(bad, Some("25/11/2026")).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems.len(), 5, "{messages:?}");
        for field in [
            "`text`",
            "`aware_since`",
            "`received`",
            "`service_area`",
            "`today`",
        ] {
            assert!(
                messages.iter().any(|m| m.starts_with(field)),
                "{field} in {messages:?}"
            );
        }
        assert!(
            problems
                .iter()
                .all(|p| !p.help.is_empty() && !p.message.ends_with('.'))
        );
    }

    #[test]
    fn dates_outside_the_years_are_refused_before_the_engine_could_overflow() {
        for today in ["+262142-12-31", "0001-01-01", "2201-01-01", "1899-12-31"] {
            assert!(
                assess_checked(input("a complaint"), Some(today)).is_err(),
                "{today}"
            );
        }
        let far = AssessInput {
            aware_since: Some("9999-12-31".into()),
            ..input("a complaint")
        };
        assert!(assess_checked(far, Some("2026-11-25")).is_err());
        let late = AssessInput {
            received: Some("2200-12-31T23:59:59-23:59".into()),
            ..input("a complaint")
        };
        assert!(assess_checked(late, Some("2200-12-31")).is_ok());
        assert!(
            add_working_days_checked(Some("2200-12-31"), Some(f64::from(MAX_WORKING_DAYS))).is_ok()
        );
    }

    #[test]
    fn only_real_days_written_yyyy_mm_dd_are_dates() {
        assert_eq!(iso_date("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        for bad in [
            "2026-02-29",
            "2026-2-01",
            "2026-02-01-",
            "26-02-01",
            "2026/02/01",
            "+2026-02-01",
            "２０２６-02-01",
            "",
            "2026-02-1x",
        ] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn empty_form_answers_are_no_answers() {
        let blank = AssessInput {
            service_area: Some(String::new()),
            aware_since: Some(" ".into()),
            received: Some(String::new()),
            ..input("hello")
        };
        assert!(assess_checked(blank, Some("2026-11-25")).is_ok());
    }

    #[test]
    fn the_longest_text_and_unusual_scripts_are_assessed() {
        let long = "🙂 שלום عربي ".repeat(MAX_TEXT_CHARS / 12);
        assert!(long.chars().count() <= MAX_TEXT_CHARS);
        assert!(assess_checked(input(&long), Some("2026-11-25")).is_ok());
        assert!(assess_checked(input("\u{FFFD}\u{202E}\u{0}"), Some("2026-11-25")).is_ok());
    }

    /// A regression net for "a Rust panic must never reach the page": thousands of generated messages
    /// built from the words the engine reacts to (numbers, years, months, spans of time, cues), odd
    /// characters, and dates at the edges of the accepted years.
    #[test]
    fn generated_inputs_never_panic() {
        const WORDS: [&str; 40] = [
            "complaint",
            "pothole",
            "99",
            "0",
            "4294967295",
            "years",
            "year",
            "months",
            "ago",
            "since",
            "back",
            "in",
            "over",
            "than",
            "for",
            "march",
            "may",
            "2023",
            "1950",
            "2100",
            "2200",
            "1899",
            "foi",
            "court",
            "tribunal",
            "ombudsman",
            "insurance",
            "claim",
            "grievance",
            "school",
            "safeguarding",
            "not",
            "unhappy",
            "thank",
            "🙂",
            "\u{202E}",
            "'",
            "\u{FFFD}",
            "-",
            "",
        ];
        const DATES: [&str; 6] = [
            "1900-01-01",
            "1900-02-28",
            "2026-11-25",
            "2026-12-24",
            "2200-12-31",
            "2199-02-28",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap()
        };
        let areas = service_areas_checked().unwrap();
        for _ in 0..3_000 {
            let length = next(60);
            let text: Vec<&str> = (0..length).map(|_| WORDS[next(WORDS.len())]).collect();
            let input = AssessInput {
                text: text.join(" "),
                aware_since: (next(2) == 0).then(|| DATES[next(DATES.len())].to_string()),
                received: (next(3) == 0)
                    .then(|| format!("{}T23:59:59+14:00", DATES[next(DATES.len())])),
                service_area: (next(2) == 0).then(|| areas[next(areas.len())].id.clone()),
                on_behalf: [None, Some(true), Some(false)][next(3)],
                legal_action_started: [None, Some(true), Some(false)][next(3)],
                ..AssessInput::default()
            };
            let _ = assess_checked(input, Some(DATES[next(DATES.len())]));
        }
    }

    #[test]
    fn working_day_helpers_check_their_arguments() {
        assert_eq!(
            add_working_days_checked(Some("2026-12-24"), Some(1.0)).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 29).unwrap()
        );
        assert!(add_working_days_checked(Some("2026-12-24"), Some(1.5)).is_err());
        assert!(add_working_days_checked(Some("2026-12-24"), Some(-1.0)).is_err());
        assert!(add_working_days_checked(Some("2026-12-24"), Some(f64::NAN)).is_err());
        assert!(add_working_days_checked(None, None).unwrap_err().len() == 2);
        assert_eq!(
            working_days_between_checked(Some("2026-12-29"), Some("2026-12-24")).unwrap(),
            -1
        );
    }

    #[test]
    fn service_areas_are_the_policys() {
        let areas = service_areas_checked().unwrap();
        assert!(
            areas
                .iter()
                .any(|a| a.id == "adult_social_care" && a.on_forms)
        );
    }
}

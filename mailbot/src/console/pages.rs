//! The console's HTML pages. Templates are minijinja with HTML auto-escaping (every `.html` template),
//! so a subject or body full of markup shows as text; the Content-Security-Policy forbids script anyway.
//! The handlers only translate HTTP to [`crate::casework`] calls.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};
use feedback_core::{
    Channel, Directorate, Event, Exclusion, FormAnswers, Kind, Outcome, Procedure,
};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::Console;
use super::auth::Staff;
use crate::casework::{
    CaseworkError, Reclassification, Recorded, Retry, StateFilter, labels, parse_label,
};

/// The most cases a queue or list page shows (the page stays quick with a large store).
const PAGE_CASES: usize = 100;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("login.html", include_str!("templates/login.html")),
    ("error.html", include_str!("templates/error.html")),
    ("queue.html", include_str!("templates/queue.html")),
    (
        "review_form.html",
        include_str!("templates/review_form.html"),
    ),
    ("cases.html", include_str!("templates/cases.html")),
    ("case.html", include_str!("templates/case.html")),
    ("deadlines.html", include_str!("templates/deadlines.html")),
    ("quarantine.html", include_str!("templates/quarantine.html")),
    ("record.html", include_str!("templates/record.html")),
];

/// The console's templates, HTML auto-escaped.
pub fn templates() -> anyhow::Result<minijinja::Environment<'static>> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|err| anyhow::anyhow!("console template {name}: {err}"))?;
    }
    Ok(env)
}

fn render(console: &Console, status: StatusCode, name: &str, ctx: minijinja::Value) -> Response {
    match console
        .templates
        .get_template(name)
        .and_then(|t| t.render(ctx))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!("rendering {name}: {err:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be drawn",
            )
                .into_response()
        }
    }
}

/// The sign-in page.
pub fn login(console: &Console, status: StatusCode, error: Option<&str>) -> Response {
    render(console, status, "login.html", context! { error })
}

/// An error page for a refused or failed request (the error's words, never a store dump).
fn failure(console: &Console, staff: &Staff, err: &anyhow::Error, back: &str) -> Response {
    let (status, heading) = match err.downcast_ref::<CaseworkError>() {
        Some(CaseworkError::NoCase(_) | CaseworkError::NoQuarantine(_)) => {
            (StatusCode::NOT_FOUND, "Not found")
        }
        Some(CaseworkError::Refused(_)) => (StatusCode::CONFLICT, "Not done"),
        None => {
            tracing::error!("console: {err:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong")
        }
    };
    render(
        console,
        status,
        "error.html",
        context! { staff, heading, error => format!("{err:#}"), back },
    )
}

/// Back to the case page with a done message, or the error page.
fn to_case(
    console: &Console,
    staff: &Staff,
    reference: &str,
    result: anyhow::Result<&'static str>,
) -> Response {
    match result {
        Ok(done) => Redirect::to(&format!("/cases/{reference}?done={done}")).into_response(),
        Err(err) => failure(console, staff, &err, &format!("/cases/{reference}")),
    }
}

fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

/// The values a reviewer may choose.
#[derive(Debug, Serialize)]
struct Choices {
    kinds: Vec<String>,
    procedures: Vec<String>,
    directorates: Vec<String>,
    exclusions: Vec<String>,
}

fn choices() -> Choices {
    Choices {
        kinds: labels(&Kind::ALL),
        procedures: labels(&Procedure::ALL),
        directorates: labels(&Directorate::ALL),
        exclusions: labels(&Exclusion::ALL),
    }
}

/// A message shown after a redirect (fixed words chosen by a code: nothing from the URL is echoed).
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn done_message(done: &Done) -> Option<&'static str> {
    Some(match done.done.as_deref()? {
        "confirmed" => "Classification confirmed.",
        "corrected" => "Correction saved.",
        "acted" => "Action recorded.",
        "noted" => "Note added.",
        "recorded" => "Feedback recorded as a case.",
        "retried" => "The message is a case now.",
        _ => return None,
    })
}

/// GET /: the review queue.
pub async fn queue(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Response {
    match console.casework.review_queue() {
        Ok(mut cases) => {
            let total = cases.len();
            cases.truncate(PAGE_CASES);
            render(
                &console,
                StatusCode::OK,
                "queue.html",
                context! { staff, cases, total, choices => choices(), message => done_message(&done) },
            )
        }
        Err(err) => failure(&console, &staff, &err, "/"),
    }
}

/// The case list's filter.
#[derive(Debug, Deserialize)]
pub struct CasesQuery {
    state: Option<String>,
}

/// GET /cases
pub async fn cases(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Query(query): Query<CasesQuery>,
) -> Response {
    let state = query.state.unwrap_or_else(|| "open".into());
    let filter = match state.parse::<StateFilter>() {
        Ok(filter) => filter,
        Err(why) => {
            return failure(
                &console,
                &staff,
                &CaseworkError::Refused(why).into(),
                "/cases",
            );
        }
    };
    let states = [
        "open",
        "all",
        "received",
        "acknowledged",
        "responded",
        "referred",
        "closed",
    ];
    match console.casework.cases(filter) {
        Ok(mut cases) => {
            let total = cases.len();
            cases.truncate(PAGE_CASES);
            render(
                &console,
                StatusCode::OK,
                "cases.html",
                context! { staff, cases, total, state, states },
            )
        }
        Err(err) => failure(&console, &staff, &err, "/"),
    }
}

/// GET /cases/{reference}
pub async fn case(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Path(reference): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let work = &console.casework;
    let loaded = work.case(&reference).and_then(|case| {
        let acknowledgement = work.store().outbox_entry(&reference)?;
        Ok((work.messages(&reference)?, acknowledgement, case))
    });
    match loaded {
        Ok((messages, acknowledgement, case)) => {
            let policy = work.policy();
            let stage = case.state.stage_id(policy).to_string();
            let outside_body = case
                .state
                .procedure
                .and_then(|p| policy.procedure(p))
                .and_then(|spec| spec.outside_body.clone())
                .and_then(|id| policy.document.outside_bodies.get(&id))
                .map(|body| body.name.clone());
            let clocks = work.clocks(&case, Local::now().date_naive());
            render(
                &console,
                StatusCode::OK,
                "case.html",
                context! {
                    staff, case, messages, acknowledgement, clocks, stage, outside_body,
                    choices => choices(), message => done_message(&done)
                },
            )
        }
        Err(err) => failure(&console, &staff, &err, "/cases"),
    }
}

fn field<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn optional<T: for<'de> Deserialize<'de>>(text: &str) -> Result<Option<T>, String> {
    if text == "none" || text.is_empty() {
        Ok(None)
    } else {
        parse_label(text).map(Some)
    }
}

/// The correction a review form asks for.
fn reclassification(form: &[(String, String)]) -> Result<Reclassification, String> {
    let mut change = Reclassification {
        kind: field(form, "kind").map(parse_label).transpose()?,
        procedure: field(form, "procedure").map(optional).transpose()?,
        directorate: field(form, "directorate").map(optional).transpose()?,
        exclusions: None,
    };
    let exclusions = form
        .iter()
        .filter(|(key, _)| key == "exclusion")
        .map(|(_, value)| parse_label::<Exclusion>(value))
        .collect::<Result<BTreeSet<Exclusion>, String>>()?;
    change.exclusions = Some(exclusions);
    Ok(change)
}

/// POST /cases/{reference}/review: `action=confirm`, or `action=correct` with kind, procedure,
/// directorate and `exclusion` (repeated).
pub async fn review(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Path(reference): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = staff.check_csrf(field(&form, "csrf").unwrap_or_default()) {
        return refused.into_response();
    }
    let work = &console.casework;
    let result = match field(&form, "action") {
        Some("confirm") => work
            .confirm(&reference, &staff.name, now())
            .map(|_| "confirmed"),
        Some("correct") => match reclassification(&form) {
            Ok(change) => work
                .correct(&reference, &change, &staff.name, now())
                .map(|_| "corrected"),
            Err(why) => Err(CaseworkError::Refused(why).into()),
        },
        _ => Err(CaseworkError::Refused("choose confirm or correct".into()).into()),
    };
    to_case(&console, &staff, &reference, result)
}

/// A lifecycle action form.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
    outcome: Option<String>,
}

/// The lifecycle event an action form asks for.
pub fn event(action: &str, outcome: Option<&str>) -> Result<Event, String> {
    Ok(match action {
        "respond" => Event::Respond {
            outcome: parse_label::<Outcome>(outcome.unwrap_or("")).map_err(|_| {
                "a response needs its outcome: upheld, partly_upheld, not_upheld or no_finding"
                    .to_string()
            })?,
        },
        "escalate" => Event::Escalate,
        "refer" => Event::Refer,
        "close" => Event::Close,
        "acknowledge" => Event::Acknowledge,
        other => {
            return Err(format!(
                "`{other}` is not an action: respond, escalate, refer, close or acknowledge"
            ));
        }
    })
}

/// POST /cases/{reference}/action
pub async fn action(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Path(reference): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(refused) = staff.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let result = event(&form.action, form.outcome.as_deref())
        .map_err(|why| anyhow::Error::new(CaseworkError::Refused(why)))
        .and_then(|event| console.casework.act(&reference, event, &staff.name, now()))
        .and_then(|moved| {
            moved
                .map(|_| "acted")
                .map_err(|refused| CaseworkError::Refused(refused.to_string()).into())
        });
    to_case(&console, &staff, &reference, result)
}

/// A note form.
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    csrf: String,
    text: String,
}

/// POST /cases/{reference}/note
pub async fn note(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Path(reference): Path<String>,
    Form(form): Form<NoteForm>,
) -> Response {
    if let Err(refused) = staff.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let result = console
        .casework
        .add_note(&reference, &form.text, &staff.name, now())
        .map(|_| "noted");
    to_case(&console, &staff, &reference, result)
}

/// A titled list of the deadlines page.
#[derive(Debug, Serialize)]
struct Section<'v> {
    id: &'static str,
    title: &'static str,
    items: &'v [crate::casework::DueCase],
}

/// GET /deadlines
pub async fn deadlines(State(console): State<Arc<Console>>, staff: Staff) -> Response {
    let today = Local::now().date_naive();
    match console.casework.due(today) {
        Ok(view) => {
            let sections = [
                Section {
                    id: "overdue",
                    title: "Overdue",
                    items: &view.overdue,
                },
                Section {
                    id: "due-today",
                    title: "Due today",
                    items: &view.due_today,
                },
                Section {
                    id: "due-this-week",
                    title: "Due this week",
                    items: &view.due_this_week,
                },
                Section {
                    id: "acknowledgements-at-risk",
                    title: "Acknowledgements at risk",
                    items: &view.acknowledgements_at_risk,
                },
                Section {
                    id: "updates-owed",
                    title: "Complex cases owing a four-weekly update",
                    items: &view.updates_owed,
                },
            ];
            render(
                &console,
                StatusCode::OK,
                "deadlines.html",
                context! { staff, today, sections },
            )
        }
        Err(err) => failure(&console, &staff, &err, "/"),
    }
}

/// GET /quarantine
pub async fn quarantine(State(console): State<Arc<Console>>, staff: Staff) -> Response {
    match console.casework.store().quarantined() {
        Ok(records) => render(
            &console,
            StatusCode::OK,
            "quarantine.html",
            context! { staff, records },
        ),
        Err(err) => failure(&console, &staff, &err, "/"),
    }
}

/// POST /quarantine/{id}/retry
pub async fn retry(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<super::auth::CsrfForm>,
) -> Response {
    if let Err(refused) = staff.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    match console
        .casework
        .retry_quarantine(&id, Local::now().date_naive())
    {
        Ok(Retry::Ingested { reference }) => {
            Redirect::to(&format!("/cases/{reference}?done=retried")).into_response()
        }
        Ok(Retry::StillQuarantined { reason }) => failure(
            &console,
            &staff,
            &CaseworkError::Refused(format!(
                "`{id}` still cannot be read and stays in quarantine: {reason}"
            ))
            .into(),
            "/quarantine",
        ),
        Err(err) => failure(&console, &staff, &err, "/quarantine"),
    }
}

/// The channels staff record from.
const STAFF_CHANNELS: [Channel; 4] = [
    Channel::Phone,
    Channel::Letter,
    Channel::FaceToFace,
    Channel::SocialMedia,
];

/// GET /record
pub async fn record_page(State(console): State<Arc<Console>>, staff: Staff) -> Response {
    let service_areas: Vec<&String> = console
        .casework
        .policy()
        .document
        .service_areas
        .keys()
        .collect();
    render(
        &console,
        StatusCode::OK,
        "record.html",
        context! { staff, channels => labels(&STAFF_CHANNELS), service_areas },
    )
}

/// The record form.
#[derive(Debug, Deserialize)]
pub struct RecordForm {
    csrf: String,
    channel: String,
    text: String,
    #[serde(default)]
    received: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    service_area: String,
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn recorded(form: &RecordForm) -> Result<Recorded, String> {
    let channel: Channel = parse_label(&form.channel)?;
    if !STAFF_CHANNELS.contains(&channel) {
        return Err(format!(
            "`{}` is not recorded here: choose phone, letter, face_to_face or social_media",
            form.channel
        ));
    }
    let received = match non_empty(&form.received) {
        None => now(),
        Some(text) => NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|naive| Local.from_local_datetime(&naive).earliest())
            .map(|local| local.fixed_offset())
            .ok_or_else(|| format!("`{text}` is not a date and time (YYYY-MM-DDTHH:MM)"))?,
    };
    Ok(Recorded {
        channel,
        text: form.text.clone(),
        subject: non_empty(&form.subject),
        name: non_empty(&form.name),
        email: non_empty(&form.email),
        answers: FormAnswers {
            service_area: non_empty(&form.service_area),
            ..FormAnswers::default()
        },
        received,
    })
}

/// POST /record
pub async fn record(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Form(form): Form<RecordForm>,
) -> Response {
    if let Err(refused) = staff.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let result = recorded(&form)
        .map_err(|why| anyhow::Error::new(CaseworkError::Refused(why)))
        .and_then(|recorded| console.casework.record(&recorded, Some(&staff.name)));
    match result {
        Ok(reference) => Redirect::to(&format!("/cases/{reference}?done=recorded")).into_response(),
        Err(err) => failure(&console, &staff, &err, "/record"),
    }
}

/// GET /static/console.css
pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("templates/console.css"),
    )
        .into_response()
}

/// The monitoring report's period and format (`/report?from=2026-04-01&to=2027-03-31&format=csv`).
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    format: Option<String>,
}

/// GET /report: the policy's monitoring report for a period (default: this year so far) as a page a
/// committee can read, or as CSV or JSON.
pub async fn report(
    State(console): State<Arc<Console>>,
    staff: Staff,
    Query(query): Query<ReportQuery>,
) -> Response {
    let today = Local::now().date_naive();
    let to = query.to.unwrap_or(today);
    let from = query
        .from
        .or_else(|| chrono::NaiveDate::from_yo_opt(chrono::Datelike::year(&to), 1))
        .unwrap_or(to);
    if to < from {
        let why = format!("the period ends ({to}) before it starts ({from})");
        return failure(
            &console,
            &staff,
            &CaseworkError::Refused(why).into(),
            "/report",
        );
    }
    let store = console.casework.store();
    let built = match (store.cases(), store.outbox()) {
        (Ok(cases), Ok(outbox)) => {
            crate::report::build(&cases, &outbox, console.casework.policy(), from, to, today)
        }
        (Err(err), _) | (_, Err(err)) => return failure(&console, &staff, &err, "/"),
    };
    let rendered = match query.format.as_deref().unwrap_or("html") {
        "csv" => crate::report::to_csv(&built).map(|csv| ("text/csv; charset=utf-8", csv)),
        "json" => serde_json::to_string_pretty(&built)
            .map(|json| ("application/json", json))
            .map_err(anyhow::Error::from),
        "html" => crate::report::render_html(&built).map(|html| ("text/html; charset=utf-8", html)),
        other => {
            let why = format!("`{other}` is not a report format: html, csv or json");
            return failure(
                &console,
                &staff,
                &CaseworkError::Refused(why).into(),
                "/report",
            );
        }
    };
    match rendered {
        Ok((content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ],
            body,
        )
            .into_response(),
        Err(err) => failure(&console, &staff, &err, "/"),
    }
}

//! JSON: the staff API (behind sign-in) and the public web-form endpoint.
//!
//! `POST /api/cases` takes a council web form's submission from a browser on an allowed origin
//! (`form_origins`): CORS preflight is answered for those origins only, the body is size limited, each
//! client address is rate limited, and a body of the wrong shape gets a JSON error saying what is wrong.
//! Answers are `{"type": "success", ...}` or `{"type": "failure", "errors": [{"message", "help"}]}`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Local;
use feedback_core::{Channel, FormAnswers};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::Console;
use super::auth::Staff;
use crate::casework::{CaseworkError, Recorded, StateFilter, label};

fn failure(status: StatusCode, message: &str, help: &str) -> Response {
    (
        status,
        Json(json!({"type": "failure", "errors": [{"message": message, "help": help}]})),
    )
        .into_response()
}

fn casework_failure(err: &anyhow::Error) -> Response {
    match err.downcast_ref::<CaseworkError>() {
        Some(e @ (CaseworkError::NoCase(_) | CaseworkError::NoQuarantine(_))) => {
            failure(StatusCode::NOT_FOUND, &e.to_string(), "check the reference")
        }
        Some(e @ CaseworkError::Refused(_)) => failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            &e.to_string(),
            "correct the request and send it again",
        ),
        None => {
            tracing::error!("api: {err:#}");
            failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the case store failed",
                "try again later",
            )
        }
    }
}

/// The list's filter.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
}

/// GET /api/cases (staff): the cases, newest first.
pub async fn list(
    State(console): State<Arc<Console>>,
    _staff: Staff,
    Query(query): Query<ListQuery>,
) -> Response {
    let filter = match query
        .state
        .as_deref()
        .unwrap_or("all")
        .parse::<StateFilter>()
    {
        Ok(filter) => filter,
        Err(why) => return failure(StatusCode::BAD_REQUEST, &why, "use ?state=open"),
    };
    match console.casework.cases(filter) {
        Ok(cases) => Json(json!({"type": "success", "cases": cases})).into_response(),
        Err(err) => casework_failure(&err),
    }
}

/// GET /api/cases/{reference} (staff): the case with its messages.
pub async fn show(
    State(console): State<Arc<Console>>,
    _staff: Staff,
    Path(reference): Path<String>,
) -> Response {
    let work = &console.casework;
    match work
        .case(&reference)
        .and_then(|case| Ok((work.messages(&reference)?, case)))
    {
        Ok((messages, case)) => {
            Json(json!({"type": "success", "case": case, "messages": messages})).into_response()
        }
        Err(err) => casework_failure(&err),
    }
}

/// What a web form sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebForm {
    /// What the person wrote.
    pub text: String,
    /// A title, if the form has one.
    #[serde(default)]
    pub subject: Option<String>,
    /// Their name.
    #[serde(default)]
    pub name: Option<String>,
    /// Their email address, for the acknowledgement.
    #[serde(default)]
    pub email: Option<String>,
    /// The service area the form asked for.
    #[serde(default)]
    pub service_area: Option<String>,
    /// The day the person became aware of the matter, if the form asked.
    #[serde(default)]
    pub aware_since: Option<chrono::NaiveDate>,
    /// The person writes for someone else, if the form asked.
    #[serde(default)]
    pub on_behalf: Option<bool>,
    /// Legal proceedings have started, if the form asked.
    #[serde(default)]
    pub legal_action_started: Option<bool>,
    /// Equalities monitoring answers, if the form has them: stored apart from the case, never shown
    /// with it (see `Store::put_equalities`).
    #[serde(default)]
    pub equalities: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The request's Origin if it is on the allow-list.
fn allowed_origin<'h>(console: &Console, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    console
        .config
        .form_origins
        .iter()
        .any(|allowed| allowed == text)
        .then_some(origin)
}

fn with_cors(mut response: Response, origin: &HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// OPTIONS /api/cases: CORS preflight, for allowed origins only.
pub async fn preflight(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(origin) = allowed_origin(&console, &headers) else {
        return failure(
            StatusCode::FORBIDDEN,
            "this origin may not post feedback here",
            "add the form's origin to `form_origins` in the config",
        );
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    with_cors(response, origin)
}

/// The most of an oversized body read (and dropped) before answering 413: a client still sending when
/// the connection closes would get a reset instead of the answer.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// The body as JSON: `application/json`, at most `limit` bytes.
async fn json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<serde_json::Value, (StatusCode, String)> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            (
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {err}"),
            )
        })?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            bytes.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > limit {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over the limit of {limit} bytes"),
        ));
    }
    if !json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected a request with `Content-Type: application/json`".into(),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|err| {
        (
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {err}"),
        )
    })
}

/// The form from a JSON value: an object of the right fields only (serde would take an array too).
fn parse(value: serde_json::Value) -> Result<WebForm, String> {
    if !value.is_object() {
        return Err(format!(
            "the body is a JSON {}, not an object",
            match value {
                serde_json::Value::Array(_) => "array",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Number(_) => "number",
                serde_json::Value::Bool(_) => "boolean",
                _ => "null",
            }
        ));
    }
    let form: WebForm = serde_json::from_value(value).map_err(|err| err.to_string())?;
    check(&form)?;
    Ok(form)
}

fn check(form: &WebForm) -> Result<(), String> {
    if form.text.trim().is_empty() {
        return Err("`text` is empty: send what the person wrote".into());
    }
    if let Some(email) = &form.email {
        let at = email.find('@');
        if email.len() > 254
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
            || at.is_none_or(|at| at == 0 || at + 1 >= email.len())
        {
            return Err(format!("`email` `{email}` is not an email address"));
        }
    }
    for (field, value) in [("subject", &form.subject), ("name", &form.name)] {
        if value.as_ref().is_some_and(|v| v.len() > 1000) {
            return Err(format!("`{field}` is over 1000 bytes"));
        }
    }
    Ok(())
}

/// POST /api/cases (public): a web form's submission becomes a `web_form` case; answers
/// `{"type": "success", "reference", "kind", "procedure", "acknowledge_by"}` with 201.
pub async fn web_form(
    State(console): State<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(origin) = allowed_origin(&console, &headers).cloned() else {
        return failure(
            StatusCode::FORBIDDEN,
            "this origin may not post feedback here",
            "add the form's origin to `form_origins` in the config",
        );
    };
    let response = if !console.auth.forms.allow(peer.ip()) {
        let mut response = failure(
            StatusCode::TOO_MANY_REQUESTS,
            "too many submissions from this address",
            "wait a minute and send it again",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        response
    } else {
        match json_body(&headers, body, console.config.form_max_bytes).await {
            Err((status, message)) => failure(
                status,
                &message,
                "send a JSON object {\"text\": \"...\"} with optional \"subject\", \"name\", \"email\" and \"service_area\", as Content-Type: application/json",
            ),
            Ok(value) => match parse(value) {
                Err(why) => failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &why,
                    "correct the form and send it again",
                ),
                Ok(form) => create(&console, form),
            },
        }
    };
    with_cors(response, &origin)
}

fn create(console: &Console, form: WebForm) -> Response {
    let recorded = Recorded {
        channel: Channel::WebForm,
        text: form.text,
        subject: form.subject,
        name: form.name,
        email: form.email,
        answers: FormAnswers {
            service_area: form.service_area,
            aware_since: form.aware_since,
            on_behalf: form.on_behalf,
            legal_action_started: form.legal_action_started,
            mailbox: None,
        },
        received: Local::now().fixed_offset(),
    };
    let work = &console.casework;
    match work.record(&recorded, None).and_then(|reference| {
        if let Some(equalities) = form.equalities.filter(|answers| !answers.is_empty()) {
            work.store()
                .put_equalities(&reference, &serde_json::Value::Object(equalities))?;
        }
        work.case(&reference)
    }) {
        Ok(case) => {
            let acknowledge_by = case
                .assessment
                .deadlines
                .iter()
                .find(|d| matches!(d.milestone.as_str(), "acknowledge" | "contact"))
                .and_then(|d| d.due);
            (
                StatusCode::CREATED,
                Json(json!({
                    "type": "success",
                    "reference": case.reference,
                    "kind": label(&case.assessment.kind),
                    "procedure": label(&case.assessment.procedure),
                    "acknowledge_by": acknowledge_by,
                })),
            )
                .into_response()
        }
        Err(err) => casework_failure(&err),
    }
}

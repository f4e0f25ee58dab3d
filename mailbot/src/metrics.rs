//! What an operator watches: Prometheus counters and gauges (`GET /metrics`) and a health check
//! (`GET /healthz`), served by `mailbot run` on the loopback address in the config's `[metrics]`.
//!
//! Counters count events since the process started (messages ingested, quarantined, duplicates,
//! acknowledgements sent and failed, IMAP reconnects). Gauges are read from the store at each scrape
//! (cases by status and procedure, outbox entries by status, cases past a deadline), so they are right
//! after a restart too. [`router`] is self-contained: the admin console may mount it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use feedback_core::{Policy, Status};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::ingest::Outcome;
use crate::store::{CaseRecord, OutboxStatus, Store};

type Labels = Vec<(String, String)>;

/// Where a mailbox task is, for `/healthz` and the `mailbot_mailbox_up` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxState {
    /// Started, not yet connected.
    Starting,
    /// Connected and logged in.
    Connected,
    /// Its session failed; waiting to reconnect.
    Retrying,
    /// The task has ended.
    Stopped,
}

/// The daemon's counters, gauges and health, shared by its tasks and the HTTP server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    store: Store,
    policy: Policy,
    ingested: Counter,
    quarantined: Counter,
    duplicates: Counter,
    acknowledgements_sent: Counter,
    acknowledgements_failed: Counter,
    reconnects: Family<Labels, Counter>,
    mailbox_up: Family<Labels, Gauge>,
    cases: Family<Labels, Gauge>,
    outbox: Family<Labels, Gauge>,
    deadline_breaches: Gauge,
    mailboxes: Mutex<BTreeMap<String, MailboxState>>,
}

impl Metrics {
    /// Metrics reading their gauges from `store` (stage ids from `policy`).
    pub fn new(store: Store, policy: Policy) -> Metrics {
        let mut registry = Registry::with_prefix("mailbot");
        let metrics = Metrics {
            registry: Registry::default(),
            store,
            policy,
            ingested: Counter::default(),
            quarantined: Counter::default(),
            duplicates: Counter::default(),
            acknowledgements_sent: Counter::default(),
            acknowledgements_failed: Counter::default(),
            reconnects: Family::default(),
            mailbox_up: Family::default(),
            cases: Family::default(),
            outbox: Family::default(),
            deadline_breaches: Gauge::default(),
            mailboxes: Mutex::new(BTreeMap::new()),
        };
        for (name, help, counter) in [
            (
                "messages_ingested",
                "Messages stored as a new case, a reply or an escalation",
                &metrics.ingested,
            ),
            (
                "messages_quarantined",
                "Messages kept raw in quarantine (unreadable or over the size limit)",
                &metrics.quarantined,
            ),
            (
                "messages_duplicate",
                "Messages fetched again that were already stored",
                &metrics.duplicates,
            ),
            (
                "acknowledgements_sent",
                "Acknowledgements sent",
                &metrics.acknowledgements_sent,
            ),
            (
                "acknowledgements_failed",
                "Acknowledgement sends that failed",
                &metrics.acknowledgements_failed,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "imap_reconnects",
            "IMAP sessions that ended in an error and were retried, by mailbox",
            metrics.reconnects.clone(),
        );
        for (name, help, family) in [
            (
                "mailbox_up",
                "1 while the mailbox is connected, 0 while it is not",
                &metrics.mailbox_up,
            ),
            (
                "cases",
                "Cases in the store, by status and procedure",
                &metrics.cases,
            ),
            (
                "outbox_entries",
                "Acknowledgement outbox entries, by status",
                &metrics.outbox,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "deadline_breaches",
            "Open cases past a due date of their current stage that is not yet met",
            metrics.deadline_breaches.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts a batch's outcomes (called once per ingested batch).
    pub fn record_outcomes(&self, outcomes: &[Outcome]) {
        for outcome in outcomes {
            match outcome {
                Outcome::NewCase(_) | Outcome::AddedToCase(_) | Outcome::Escalated(_) => {
                    self.ingested.inc();
                }
                Outcome::Quarantined(_) => {
                    self.quarantined.inc();
                }
                Outcome::Duplicate(_) => {
                    self.duplicates.inc();
                }
            }
        }
    }

    /// Counts an acknowledgement sent (`true`) or a send that failed (`false`).
    pub fn record_acknowledgement(&self, sent: bool) {
        if sent {
            self.acknowledgements_sent.inc();
        } else {
            self.acknowledgements_failed.inc();
        }
    }

    /// Records where a mailbox task is; [`MailboxState::Retrying`] also counts a reconnect.
    pub fn set_mailbox_state(&self, mailbox: &str, state: MailboxState) {
        let labels = vec![("mailbox".to_string(), mailbox.to_string())];
        if state == MailboxState::Retrying {
            self.reconnects.get_or_create(&labels).inc();
        }
        self.mailbox_up
            .get_or_create(&labels)
            .set(i64::from(state == MailboxState::Connected));
        if let Ok(mut mailboxes) = self.mailboxes.lock() {
            mailboxes.insert(mailbox.to_string(), state);
        }
    }

    /// The health report: the store readable, every mailbox task running.
    pub fn health(&self) -> Health {
        let store = match self.store.schema_version() {
            Ok(_) => "ok".to_string(),
            Err(err) => format!("{err:#}"),
        };
        let mailboxes = self.mailboxes.lock().map(|m| m.clone()).unwrap_or_default();
        let healthy = store == "ok"
            && mailboxes
                .values()
                .all(|state| *state != MailboxState::Stopped);
        Health {
            status: if healthy { "ok" } else { "failing" },
            store,
            mailboxes,
        }
    }

    /// Reads the gauges from the store, then renders everything in the Prometheus (OpenMetrics) text
    /// format. `today` decides which deadlines have passed.
    pub fn render(&self, today: NaiveDate) -> anyhow::Result<String> {
        let cases = self
            .store
            .cases()
            .context("reading the cases for metrics")?;
        let mut by_state: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut breaches = 0i64;
        for case in &cases {
            let status = label(&case.state.status);
            let procedure = case
                .state
                .procedure
                .map_or_else(|| "none".to_string(), |p| label(&p));
            *by_state.entry((status, procedure)).or_default() += 1;
            breaches += i64::from(past_deadline(case, &self.policy, today));
        }
        self.cases.clear();
        for ((status, procedure), count) in by_state {
            self.cases
                .get_or_create(&vec![
                    ("status".to_string(), status),
                    ("procedure".to_string(), procedure),
                ])
                .set(count);
        }
        self.deadline_breaches.set(breaches);
        let mut by_status: BTreeMap<&str, i64> = BTreeMap::new();
        for entry in self
            .store
            .outbox()
            .context("reading the outbox for metrics")?
        {
            let status = match entry.status {
                OutboxStatus::Pending => "pending",
                OutboxStatus::Suppressed { .. } => "suppressed",
                OutboxStatus::Sent { .. } => "sent",
                OutboxStatus::Sending { .. } => "sending",
                OutboxStatus::Failed {
                    permanent: true, ..
                } => "failed_permanent",
                OutboxStatus::Failed { .. } => "failed_retrying",
            };
            *by_status.entry(status).or_default() += 1;
        }
        self.outbox.clear();
        for (status, count) in by_status {
            self.outbox
                .get_or_create(&vec![("status".to_string(), status.to_string())])
                .set(count);
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).context("encoding the metrics")?;
        Ok(text)
    }
}

/// A value's serde name (`acknowledged`, `corporate`).
fn label<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// Whether an open case has a deadline of its current stage that passed before `today` and is not met:
/// any while it awaits its acknowledgement (`received`), any but the acknowledgement once acknowledged;
/// none once the stage's response is sent. Repeating clocks (progress updates) are not breaches.
pub fn past_deadline(case: &CaseRecord, policy: &Policy, today: NaiveDate) -> bool {
    let status = case.state.status;
    if !matches!(status, Status::Received | Status::Acknowledged) {
        return false;
    }
    let stage = case.state.stage_id(policy);
    case.assessment.deadlines.iter().any(|deadline| {
        deadline.stage == stage
            && !deadline.repeats
            && !(status == Status::Acknowledged && deadline.milestone == "acknowledge")
            && deadline.due.is_some_and(|due| due < today)
    })
}

/// What `/healthz` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `ok`, or `failing` (the store cannot be read, or a mailbox task has ended).
    pub status: &'static str,
    /// `ok` or the store's error.
    pub store: String,
    /// Each mailbox task's state.
    pub mailboxes: BTreeMap<String, MailboxState>,
}

/// `GET /healthz` (200 when healthy, else 503, with a JSON [`Health`]) and `GET /metrics`.
pub fn router(metrics: Arc<Metrics>) -> axum::Router {
    let for_health = Arc::clone(&metrics);
    axum::Router::new()
        .route(
            "/healthz",
            axum::routing::get(move || async move {
                let metrics = Arc::clone(&for_health);
                let health = tokio::task::spawn_blocking(move || metrics.health()).await;
                match health {
                    Ok(health) => {
                        let code = if health.status == "ok" {
                            StatusCode::OK
                        } else {
                            StatusCode::SERVICE_UNAVAILABLE
                        };
                        let body = serde_json::to_string(&health).unwrap_or_default();
                        (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
                    }
                    Err(err) => failure(&err.to_string()),
                }
            }),
        )
        .route(
            "/metrics",
            axum::routing::get(move || async move {
                let metrics = Arc::clone(&metrics);
                let rendered = tokio::task::spawn_blocking(move || {
                    metrics.render(chrono::Local::now().date_naive())
                })
                .await;
                match rendered {
                    Ok(Ok(text)) => (
                        StatusCode::OK,
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Ok(Err(err)) => failure(&format!("{err:#}")),
                    Err(err) => failure(&err.to_string()),
                }
            }),
        )
}

fn failure(why: &str) -> Response {
    tracing::error!("metrics: {why}");
    (StatusCode::INTERNAL_SERVER_ERROR, why.to_string()).into_response()
}

/// Binds `listen` (an error if it cannot) and serves [`router`] on it until `cancel` fires.
pub async fn serve(
    listen: SocketAddr,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for metrics on {listen}"))?;
    tracing::info!(%listen, "serving /metrics and /healthz");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, router(metrics))
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(err) = served {
            tracing::error!("the metrics server stopped: {err}");
        }
    }))
}

//! The feedback team's web console (axum), served by `mailbot serve` and by `mailbot run` when the config
//! has an `[admin]` section.
//!
//! - [`auth`]: staff sign-in (argon2 hashes from the config), server-side sessions, CSRF tokens, rate
//!   limits; without a session every page is the sign-in page and every API answer a 401.
//! - [`pages`]: the HTML pages (minijinja templates, HTML auto-escaped): review queue, cases, case page
//!   with lifecycle actions and notes, deadlines, quarantine, recording feedback from other channels.
//! - [`api`]: JSON for staff (behind sign-in) and the public web-form endpoint `POST /api/cases`
//!   (origin allow-list, CORS preflight, size and rate limits).
//!
//! Every page goes out with a Content-Security-Policy that allows no script at all, so nothing in a
//! message (which is escaped anyway) can run.

pub mod api;
pub mod auth;
pub mod pages;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::casework::Casework;

/// The `[admin]` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Where the console listens (default `127.0.0.1:8088`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Must be `true` to listen on anything but a loopback address (put TLS in front of it).
    #[serde(default)]
    pub allow_non_loopback: bool,
    /// Plain HTTP on loopback: session cookies without `Secure` (a browser on the same machine, or
    /// tests). Refused with a non-loopback `listen`.
    #[serde(default)]
    pub insecure_http_on_loopback: bool,
    /// Staff who may sign in (`[[admin.user]]`).
    #[serde(default, rename = "user")]
    pub users: Vec<UserConfig>,
    /// Web pages (`scheme://host[:port]`) whose forms may post to `/api/cases`.
    #[serde(default)]
    pub form_origins: Vec<String>,
    /// The largest web-form body accepted, in bytes.
    #[serde(default = "default_form_max_bytes")]
    pub form_max_bytes: usize,
    /// Web-form posts accepted per client address per minute.
    #[serde(default = "default_form_per_minute")]
    pub form_requests_per_minute: u32,
    /// Sign-in attempts accepted per client address per minute.
    #[serde(default = "default_login_per_minute")]
    pub login_attempts_per_minute: u32,
    /// How long a session lasts without being used, in minutes.
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u64,
}

/// A member of staff (`[[admin.user]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The sign-in name, also recorded as `by` on what they change.
    pub name: String,
    /// An argon2 PHC string (`mailbot hash-password` makes one).
    pub password_hash: String,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8088))
}
fn default_form_max_bytes() -> usize {
    32 * 1024
}
fn default_form_per_minute() -> u32 {
    10
}
fn default_login_per_minute() -> u32 {
    5
}
fn default_session_minutes() -> u64 {
    8 * 60
}

impl AdminConfig {
    /// Every problem, as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let loopback = self.listen.ip().is_loopback();
        if !loopback && !self.allow_non_loopback {
            out.push(("listen".into(), format!("`{}` is not a loopback address: set `allow_non_loopback = true` to serve the console beyond this machine (behind TLS)", self.listen)));
        }
        if self.insecure_http_on_loopback && !loopback {
            out.push(("insecure_http_on_loopback".into(), "is only allowed with a loopback `listen`: cookies without `Secure` must not cross a network".into()));
        }
        if self.users.is_empty() {
            out.push((
                "user".into(),
                "no `[[admin.user]]`: add one (`mailbot hash-password` makes the hash)".into(),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (index, user) in self.users.iter().enumerate() {
            let place = format!("user[{index}]");
            if user.name.trim().is_empty() || user.name.len() > 64 {
                out.push((place.clone(), "`name` must be 1 to 64 characters".into()));
            }
            if !names.insert(user.name.as_str()) {
                out.push((place.clone(), format!("`{}` is listed twice", user.name)));
            }
            if let Err(err) = argon2::PasswordHash::new(&user.password_hash) {
                out.push((
                    format!("{place}.password_hash"),
                    format!("is not an argon2 hash ({err}): make one with `mailbot hash-password`"),
                ));
            }
        }
        for (index, origin) in self.form_origins.iter().enumerate() {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && origin.split("://").nth(1).is_some_and(|rest| {
                    !rest.is_empty() && !rest.contains('/') && !rest.contains('*')
                });
            if !ok {
                out.push((
                    format!("form_origins[{index}]"),
                    format!("`{origin}` must be `https://host[:port]` with no path or wildcard"),
                ));
            }
        }
        if self.form_max_bytes == 0 || self.form_max_bytes > 1024 * 1024 {
            out.push((
                "form_max_bytes".into(),
                "must be between 1 and 1048576".into(),
            ));
        }
        for (field, value) in [
            ("form_requests_per_minute", self.form_requests_per_minute),
            ("login_attempts_per_minute", self.login_attempts_per_minute),
        ] {
            if value == 0 {
                out.push((field.into(), "must be more than 0".into()));
            }
        }
        if self.session_minutes == 0 {
            out.push(("session_minutes".into(), "must be more than 0".into()));
        }
        out
    }

    /// Whether session cookies carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        !(self.insecure_http_on_loopback && self.listen.ip().is_loopback())
    }
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Console {
    /// The operations over the store.
    pub casework: Arc<Casework>,
    /// The `[admin]` section.
    pub config: AdminConfig,
    /// Sessions and rate limits.
    pub auth: auth::Auth,
    templates: minijinja::Environment<'static>,
}

impl Console {
    /// A console over `casework`.
    pub fn new(config: AdminConfig, casework: Arc<Casework>) -> anyhow::Result<Console> {
        Ok(Console {
            auth: auth::Auth::new(&config)?,
            templates: pages::templates()?,
            casework,
            config,
        })
    }
}

/// The console's routes.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/", get(pages::queue))
        .route("/cases", get(pages::cases))
        .route("/cases/{reference}", get(pages::case))
        .route("/cases/{reference}/review", post(pages::review))
        .route("/cases/{reference}/action", post(pages::action))
        .route("/cases/{reference}/note", post(pages::note))
        .route("/deadlines", get(pages::deadlines))
        .route("/quarantine", get(pages::quarantine))
        .route("/quarantine/{id}/retry", post(pages::retry))
        .route("/record", get(pages::record_page).post(pages::record))
        .route("/report", get(pages::report))
        .route("/static/console.css", get(pages::stylesheet))
        .route(
            "/api/cases",
            get(api::list).post(api::web_form).options(api::preflight),
        )
        .route("/api/cases/{reference}", get(api::show))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

/// Headers on every response: no script, no framing, no sniffing, no caching of case data.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        // A page that sets its own policy (the monitoring report's inline styles) keeps it.
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Binds the console's address (refusing a config with problems).
pub async fn bind(config: &AdminConfig) -> anyhow::Result<tokio::net::TcpListener> {
    let problems = config.problems();
    if let Some((field, message)) = problems.first() {
        anyhow::bail!("admin.{field}: {message}");
    }
    tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {} for the admin console", config.listen))
}

/// Serves the console on `listener` until `cancel` fires.
pub async fn serve(
    listener: tokio::net::TcpListener,
    console: Arc<Console>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let address = listener
        .local_addr()
        .context("reading the console's address")?;
    tracing::info!(%address, "admin console listening");
    axum::serve(
        listener,
        router(console).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(cancel.cancelled_owned())
    .await
    .context("serving the admin console")
}

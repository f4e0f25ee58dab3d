//! Staff sign-in: argon2 password hashes from the config, server-side sessions in memory (a restart
//! signs everyone out), a CSRF token per session checked in constant time on every POST, and per-address
//! rate limits for sign-in attempts and web-form posts.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{AdminConfig, Console, pages};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "fd_session";

/// Hashes a password for `[[admin.user]]` (argon2id, random salt).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("hashing the password: {err}"))
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signed-in member of staff: what a handler gets from the session cookie.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Staff {
    /// The user name.
    pub name: String,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
}

impl Staff {
    /// Checks a form's CSRF token against the session's, in constant time.
    pub fn check_csrf(&self, token: &str) -> Result<(), CsrfRefused> {
        if bool::from(token.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(CsrfRefused)
        }
    }
}

/// A POST whose CSRF token is missing or wrong: 403, nothing done.
#[derive(Debug, Clone, Copy)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            "the form's security token is missing or out of date: reload the page and try again",
        )
            .into_response()
    }
}

#[derive(Debug)]
struct Session {
    staff: Staff,
    last_used: Instant,
}

/// A fixed-window counter per client address.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    hits: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimit {
    /// A limit of `per_minute` per address.
    pub fn new(per_minute: u32) -> Self {
        RateLimit {
            per_minute,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip`; `false` when it is over the limit.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let Ok(mut hits) = self.hits.lock() else {
            return false;
        };
        if hits.len() > 10_000 {
            hits.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = hits.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.per_minute
    }
}

/// Users, sessions and rate limits.
#[derive(Debug)]
pub struct Auth {
    users: HashMap<String, String>,
    sessions: Mutex<HashMap<String, Session>>,
    idle: Duration,
    secure: bool,
    /// Sign-in attempts.
    pub logins: RateLimit,
    /// Web-form posts.
    pub forms: RateLimit,
    /// Verified against when the user name is unknown, so that a wrong name takes as long as a wrong
    /// password.
    decoy: String,
}

impl Auth {
    /// From the `[admin]` section.
    pub fn new(config: &AdminConfig) -> anyhow::Result<Auth> {
        Ok(Auth {
            users: config
                .users
                .iter()
                .map(|u| (u.name.clone(), u.password_hash.clone()))
                .collect(),
            sessions: Mutex::new(HashMap::new()),
            idle: Duration::from_secs(config.session_minutes.saturating_mul(60)),
            secure: config.secure_cookies(),
            logins: RateLimit::new(config.login_attempts_per_minute),
            forms: RateLimit::new(config.form_requests_per_minute),
            decoy: hash_password(&random_token())?,
        })
    }

    fn session(&self, id: &str) -> Option<Staff> {
        let mut sessions = self.sessions.lock().ok()?;
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.last_used) < self.idle);
        let session = sessions.get_mut(id)?;
        session.last_used = now;
        Some(session.staff.clone())
    }

    fn start(&self, name: &str) -> Option<String> {
        let id = random_token();
        let staff = Staff {
            name: name.to_string(),
            csrf: random_token(),
        };
        self.sessions.lock().ok()?.insert(
            id.clone(),
            Session {
                staff,
                last_used: Instant::now(),
            },
        );
        Some(id)
    }

    fn end(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }

    fn cookie(&self, value: &str, max_age: u64) -> String {
        format!(
            "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
            if self.secure { "; Secure" } else { "" }
        )
    }
}

/// The value of a cookie in the request.
fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl FromRequestParts<Arc<Console>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(staff) =
            cookie_value(&parts.headers, SESSION_COOKIE).and_then(|id| console.auth.session(id))
        {
            return Ok(staff);
        }
        Err(if parts.uri.path().starts_with("/api/") {
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "type": "failure",
                    "errors": [{"message": "sign in first", "help": "sign in to the console at /login"}]
                })),
            )
                .into_response()
        } else {
            Redirect::to("/login").into_response()
        })
    }
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
}

/// GET /login
pub async fn login_page(State(console): State<Arc<Console>>) -> Response {
    pages::login(&console, StatusCode::OK, None)
}

/// POST /login
pub async fn login(
    State(console): State<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    if !console.auth.logins.allow(peer.ip()) {
        return pages::login(
            &console,
            StatusCode::TOO_MANY_REQUESTS,
            Some("too many sign-in attempts: wait a minute and try again"),
        );
    }
    let hash = console
        .auth
        .users
        .get(&form.user)
        .cloned()
        .unwrap_or_else(|| console.auth.decoy.clone());
    let known = console.auth.users.contains_key(&form.user);
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || verify(&password, &hash))
        .await
        .unwrap_or(false);
    if !(known && verified) {
        tracing::info!(user = %form.user, ip = %peer.ip(), "failed console sign-in");
        return pages::login(
            &console,
            StatusCode::UNAUTHORIZED,
            Some("wrong user name or password"),
        );
    }
    let Some(id) = console.auth.start(&form.user) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot start a session").into_response();
    };
    tracing::info!(user = %form.user, "console sign-in");
    (
        [(
            header::SET_COOKIE,
            console
                .auth
                .cookie(&id, console.config.session_minutes.saturating_mul(60)),
        )],
        Redirect::to("/"),
    )
        .into_response()
}

/// A form carrying only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The token.
    pub csrf: String,
}

/// POST /logout
pub async fn logout(
    State(console): State<Arc<Console>>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = staff.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE) {
        console.auth.end(id);
    }
    (
        [(header::SET_COOKIE, console.auth.cookie("", 0))],
        Redirect::to("/login"),
    )
        .into_response()
}

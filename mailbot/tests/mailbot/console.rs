//! The admin console over real HTTP: a real store in a temp dir, the axum app on a loopback port, and a
//! plain HTTP client (ureq) that keeps the session cookie by hand.

use std::sync::Arc;

use chrono::DateTime;
use feedback_core::{Channel, Kind, Policy, Status};
use mailbot::casework::{Casework, Recorded, Retry};
use mailbot::console::{self, AdminConfig, Console, UserConfig};
use mailbot::ingest::Ingestor;
use mailbot::store::{OutboxStatus, QuarantineRecord, ReviewField, Store};
use tokio_util::sync::CancellationToken;

use crate::util::{email, new_case, raw, settings, store_path, today};

const PASSWORD: &str = "correct horse battery staple";
const ORIGIN: &str = "https://forms.kent.example";

fn password_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| console::auth::hash_password(PASSWORD).unwrap())
        .clone()
}

fn admin_config() -> AdminConfig {
    let source = format!(
        "listen = \"127.0.0.1:0\"\ninsecure_http_on_loopback = true\nform_origins = [\"{ORIGIN}\"]\nform_max_bytes = 4096\nform_requests_per_minute = 5\nlogin_attempts_per_minute = 4\n[[user]]\nname = \"alice\"\npassword_hash = \"{}\"\n",
        password_hash()
    );
    toml::from_str(&source).unwrap()
}

/// A console serving a temp store.
pub struct Running {
    _dir: tempfile::TempDir,
    pub base: String,
    pub casework: Arc<Casework>,
    cancel: CancellationToken,
    _runtime: tokio::runtime::Runtime,
    agent: ureq::Agent,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A response read whole.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }
}

fn read(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.unwrap();
    Reply {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

impl Running {
    pub fn start(config: AdminConfig) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(store_path(dir.path())).unwrap();
        let casework = Arc::new(Casework::new(Ingestor::new(
            store,
            Policy::kent(),
            settings(),
        )));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(console::bind(&config)).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let console = Arc::new(Console::new(config, Arc::clone(&casework)).unwrap());
        let cancel = CancellationToken::new();
        runtime.spawn(console::serve(listener, console, cancel.clone()));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Running {
            _dir: dir,
            base,
            casework,
            cancel,
            _runtime: runtime,
            agent,
        }
    }

    pub fn new() -> Running {
        Running::start(admin_config())
    }

    pub fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        read(request.call())
    }

    pub fn post_form(&self, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        read(request.send_form(fields.iter().copied()))
    }

    pub fn post_json(&self, origin: Option<&str>, content_type: &str, body: &str) -> Reply {
        let mut request = self
            .agent
            .post(format!("{}/api/cases", self.base))
            .header("Content-Type", content_type);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        read(request.send(body))
    }

    pub fn preflight(&self, origin: &str) -> Reply {
        read(
            self.agent
                .options(format!("{}/api/cases", self.base))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "content-type")
                .call(),
        )
    }

    /// Signs in; returns the `Cookie` header value.
    pub fn sign_in(&self) -> String {
        let reply = self.post_form("/login", None, &[("user", "alice"), ("password", PASSWORD)]);
        assert_eq!(reply.status, 303, "{}", reply.body);
        let cookie = reply.header("set-cookie").unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// The CSRF token in a page's forms.
    pub fn csrf(&self, cookie: &str) -> String {
        let page = self.get("/", Some(cookie));
        let at = page.body.find("name=\"csrf\" value=\"").unwrap() + 19;
        page.body[at..at + 64].to_string()
    }

    /// Signs in; the cookie and the session's CSRF token.
    pub fn staff(&self) -> (String, String) {
        let cookie = self.sign_in();
        let csrf = self.csrf(&cookie);
        (cookie, csrf)
    }

    /// A complaint about a pothole, ingested; its case reference.
    pub fn complaint(&self) -> String {
        self.ingest(
            1,
            "Pothole",
            "I complained twice about the pothole on Station Road and nothing was done. I am unhappy.",
        )
    }

    /// Ingests an email as the mailbox `county-hall`; its case reference.
    pub fn ingest(&self, uid: u32, subject: &str, body: &str) -> String {
        let ingestor = Ingestor::new(self.casework.store().clone(), Policy::kent(), settings());
        let bytes = email(
            "Resident <resident@example.org>",
            subject,
            &format!("m{uid}@example.org"),
            &[],
            body,
        );
        new_case(
            &ingestor
                .ingest_batch(vec![raw("county-hall", uid, bytes)], today())
                .unwrap()[0],
        )
    }
}

// ---- sign-in ----

#[test]
fn without_a_session_pages_send_to_sign_in_and_the_api_answers_401() {
    let desk = Running::new();
    let reference = desk.ingest(1, "Secret subject 7731", "The pothole was ignored twice");
    for path in [
        "/",
        "/cases",
        &format!("/cases/{reference}"),
        "/deadlines",
        "/quarantine",
        "/record",
        "/report",
    ] {
        let reply = desk.get(path, None);
        assert_eq!(reply.status, 303, "{path}");
        assert_eq!(reply.header("location"), Some("/login"), "{path}");
        assert!(!reply.body.contains("7731"));
    }
    for path in ["/api/cases".to_string(), format!("/api/cases/{reference}")] {
        let reply = desk.get(&path, None);
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.json()["type"], "failure");
        assert!(!reply.body.contains("7731"));
    }
    // A made-up session is no session.
    let reply = desk.get("/api/cases", Some("fd_session=00ff"));
    assert_eq!(reply.status, 401);
    // Posting without a session changes nothing.
    let reply = desk.post_form(
        &format!("/cases/{reference}/review"),
        None,
        &[("csrf", "x"), ("action", "confirm")],
    );
    assert_eq!(reply.status, 303);
    assert!(desk.casework.case(&reference).unwrap().review.is_none());
    // The sign-in page itself is served, with the strict CSP.
    let login = desk.get("/login", None);
    assert_eq!(login.status, 200);
    assert!(
        login
            .body
            .contains("<form method=\"post\" action=\"/login\"")
    );
    assert!(
        login
            .header("content-security-policy")
            .unwrap()
            .starts_with("default-src 'none'")
    );
}

#[test]
fn a_wrong_password_or_user_is_refused_and_attempts_are_rate_limited() {
    let desk = Running::new();
    let wrong = desk.post_form("/login", None, &[("user", "alice"), ("password", "guess")]);
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    assert!(wrong.body.contains("wrong user name or password"));
    let nobody = desk.post_form(
        "/login",
        None,
        &[("user", "mallory"), ("password", PASSWORD)],
    );
    assert_eq!(nobody.status, 401);
    // The right password works while under the limit (4 a minute) ...
    let cookie = desk.sign_in();
    assert_eq!(desk.get("/", Some(&cookie)).status, 200);
    let fourth = desk.post_form("/login", None, &[("user", "alice"), ("password", "guess")]);
    assert_eq!(fourth.status, 401);
    // ... and not over it.
    let limited = desk.post_form("/login", None, &[("user", "alice"), ("password", "guess")]);
    assert_eq!(limited.status, 429);
    let limited = desk.post_form("/login", None, &[("user", "alice"), ("password", PASSWORD)]);
    assert_eq!(limited.status, 429);
    assert!(limited.header("set-cookie").is_none());
}

#[test]
fn session_cookies_are_http_only_strict_and_secure_unless_loopback_http_is_asked_for() {
    let desk = Running::new();
    let reply = desk.post_form("/login", None, &[("user", "alice"), ("password", PASSWORD)]);
    let cookie = reply.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"));

    let mut config = admin_config();
    config.insecure_http_on_loopback = false;
    let secure = Running::start(config);
    let reply = secure.post_form("/login", None, &[("user", "alice"), ("password", PASSWORD)]);
    assert!(reply.header("set-cookie").unwrap().contains("; Secure"));
}

#[test]
fn signing_out_ends_the_session() {
    let desk = Running::new();
    let (cookie, csrf) = desk.staff();
    let reply = desk.post_form("/logout", Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(reply.status, 303);
    assert_eq!(desk.get("/api/cases", Some(&cookie)).status, 401);
}

#[test]
fn the_config_refuses_a_public_address_unless_asked_and_insecure_cookies_off_loopback() {
    let mut config = admin_config();
    config.listen = "0.0.0.0:8088".parse().unwrap();
    let problems = config.problems();
    assert!(problems.iter().any(|(f, _)| f == "listen"), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|(f, _)| f == "insecure_http_on_loopback")
    );
    config.allow_non_loopback = true;
    config.insecure_http_on_loopback = false;
    assert!(config.problems().is_empty());
    config.users = vec![UserConfig {
        name: "bob".into(),
        password_hash: "plaintext".into(),
    }];
    config.form_origins = vec!["https://x.example/form".into(), "*".into()];
    let problems = config.problems();
    assert!(problems.iter().any(|(f, _)| f == "user[0].password_hash"));
    assert!(problems.iter().any(|(f, _)| f == "form_origins[0]"));
    assert!(problems.iter().any(|(f, _)| f == "form_origins[1]"));
}

// ---- review ----

#[test]
fn a_post_without_the_right_csrf_token_is_refused() {
    let desk = Running::new();
    let reference = desk.ingest(
        1,
        "Pothole",
        "The pothole on Station Road was ignored twice",
    );
    let cookie = desk.sign_in();
    for token in ["", "0000", &"a".repeat(64)] {
        let reply = desk.post_form(
            &format!("/cases/{reference}/review"),
            Some(&cookie),
            &[("csrf", token), ("action", "confirm")],
        );
        assert_eq!(reply.status, 403, "token {token:?}");
    }
    let reply = desk.post_form(
        &format!("/cases/{reference}/action"),
        Some(&cookie),
        &[("csrf", "nope"), ("action", "close")],
    );
    assert_eq!(reply.status, 403);
    let case = desk.casework.case(&reference).unwrap();
    assert!(case.review.is_none());
    assert!(case.state.is_open());
}

#[test]
fn the_queue_puts_unsure_cases_first_and_confirming_takes_a_case_off_it() {
    let desk = Running::new();
    let sure = desk.ingest(
        1,
        "Complaint about bin collection",
        "I want to make a formal complaint: my bin has been missed again, the third time this month, and nobody replied to my last two complaints.",
    );
    let unsure = desk.ingest(2, "Hello", "zzz qqq");
    assert!(desk.casework.case(&unsure).unwrap().assessment.needs_review);
    let cookie = desk.sign_in();
    let page = desk.get("/", Some(&cookie));
    assert_eq!(page.status, 200);
    let (at_unsure, at_sure) = (
        page.body
            .find(&format!("data-reference=\"{unsure}\""))
            .unwrap(),
        page.body
            .find(&format!("data-reference=\"{sure}\""))
            .unwrap(),
    );
    assert!(at_unsure < at_sure, "needs_review first");
    assert!(page.body.contains("Evidence"));

    let csrf = desk.csrf(&cookie);
    let reply = desk.post_form(
        &format!("/cases/{sure}/review"),
        Some(&cookie),
        &[("csrf", &csrf), ("action", "confirm")],
    );
    assert_eq!(reply.status, 303);
    let case = desk.casework.case(&sure).unwrap();
    assert_eq!(case.review.as_ref().unwrap().by, "alice");
    assert!(case.corrections.is_empty());
    assert_eq!(case.history.last().unwrap().by.as_deref(), Some("alice"));
    let page = desk.get("/", Some(&cookie));
    assert!(!page.body.contains(&format!("data-reference=\"{sure}\"")));
}

#[test]
fn a_correction_records_from_to_by_and_rederives_the_assessment() {
    let desk = Running::new();
    let reference = desk.complaint();
    let before = desk.casework.case(&reference).unwrap();
    assert_eq!(before.assessment.kind, Kind::Complaint);
    let (cookie, csrf) = desk.staff();
    let reply = desk.post_form(
        &format!("/cases/{reference}/review"),
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("action", "correct"),
            ("kind", "comment"),
            ("procedure", "corporate"),
            ("directorate", "none"),
            ("exclusion", "alternative_route"),
        ],
    );
    assert_eq!(reply.status, 303, "{}", reply.body);
    let case = desk.casework.case(&reference).unwrap();
    assert_eq!(case.assessment.kind, Kind::Comment);
    assert!(!case.assessment.needs_review);
    let kind = case
        .corrections
        .iter()
        .find(|c| c.field == ReviewField::Kind)
        .unwrap();
    assert_eq!(
        (kind.from.as_str(), kind.to.as_str(), kind.by.as_str()),
        ("complaint", "comment", "alice")
    );
    assert!(
        case.corrections
            .iter()
            .any(|c| c.field == ReviewField::Exclusions && c.to == "alternative_route")
    );
    // A comment keeps only its acknowledgement clock.
    assert!(
        case.assessment
            .deadlines
            .iter()
            .all(|d| d.milestone == "acknowledge")
    );
    assert!(case.review.is_some());
    assert!(
        case.history
            .last()
            .unwrap()
            .note
            .contains("kind complaint -> comment")
    );
    // A bad value is refused with its words, and changes nothing.
    let reply = desk.post_form(
        &format!("/cases/{reference}/review"),
        Some(&cookie),
        &[("csrf", &csrf), ("action", "correct"), ("kind", "grumble")],
    );
    assert_eq!(reply.status, 409);
    assert!(reply.body.contains("`grumble` is not a known value"));
}

#[test]
fn changing_the_procedure_moves_the_case_to_the_new_procedures_first_stage() {
    let desk = Running::new();
    let reference = desk.complaint();
    let (cookie, csrf) = desk.staff();
    let reply = desk.post_form(
        &format!("/cases/{reference}/review"),
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("action", "correct"),
            ("kind", "complaint"),
            ("procedure", "adult_social_care"),
        ],
    );
    assert_eq!(reply.status, 303, "{}", reply.body);
    let case = desk.casework.case(&reference).unwrap();
    assert_eq!(
        case.state.procedure,
        Some(feedback_core::Procedure::AdultSocialCare)
    );
    assert_eq!(case.state.stage, 0);
    assert!(
        case.assessment
            .deadlines
            .iter()
            .any(|d| d.milestone == "contact")
    );
}

// ---- the case page and lifecycle ----

#[test]
fn lifecycle_actions_move_the_case_and_record_who() {
    let desk = Running::new();
    let reference = desk.complaint();
    let (cookie, csrf) = desk.staff();
    let act = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        desk.post_form(&format!("/cases/{reference}/action"), Some(&cookie), &all)
    };
    // Escalating before the response is refused, with the lifecycle's words.
    let refused = act(&[("action", "escalate")]);
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .body
            .contains("escalated once its response has been sent")
    );
    assert_eq!(
        desk.casework.case(&reference).unwrap().state.status,
        Status::Received
    );
    // A response needs an outcome.
    assert_eq!(act(&[("action", "respond")]).status, 409);
    assert_eq!(
        act(&[("action", "respond"), ("outcome", "partly_upheld")]).status,
        303
    );
    let case = desk.casework.case(&reference).unwrap();
    assert_eq!(case.state.status, Status::Responded);
    assert_eq!(
        case.state.outcome,
        Some(feedback_core::Outcome::PartlyUpheld)
    );
    assert_eq!(act(&[("action", "escalate")]).status, 303);
    assert_eq!(desk.casework.case(&reference).unwrap().state.stage, 1);
    assert_eq!(
        act(&[("action", "respond"), ("outcome", "not_upheld")]).status,
        303
    );
    assert_eq!(act(&[("action", "refer")]).status, 303);
    assert_eq!(
        desk.casework.case(&reference).unwrap().state.status,
        Status::Referred
    );
    assert_eq!(act(&[("action", "close")]).status, 303);
    let case = desk.casework.case(&reference).unwrap();
    assert!(!case.state.is_open());
    let by_alice = case
        .history
        .iter()
        .filter(|h| h.by.as_deref() == Some("alice") && h.event.is_some())
        .count();
    assert_eq!(by_alice, 5);
    // The audit trail shows who.
    let page = desk.get(&format!("/cases/{reference}"), Some(&cookie));
    assert!(page.body.contains("<td>alice</td>"));
    assert!(page.body.contains("closed"));
}

#[test]
fn notes_are_kept_escaped_and_the_case_page_shows_clocks_and_attachments() {
    let desk = Running::new();
    let body = "--b\r\nContent-Type: text/plain\r\n\r\nI complained twice about the pothole and nothing was done.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"photo<b>.pdf\"\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
    let ingestor = Ingestor::new(desk.casework.store().clone(), Policy::kent(), settings());
    let bytes = email(
        "Resident <resident@example.org>",
        "Pothole",
        "att@example.org",
        &[
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed; boundary=\"b\"",
        ],
        body,
    );
    let reference = new_case(
        &ingestor
            .ingest_batch(vec![raw("county-hall", 9, bytes)], today())
            .unwrap()[0],
    );
    let (cookie, csrf) = desk.staff();
    let reply = desk.post_form(
        &format!("/cases/{reference}/note"),
        Some(&cookie),
        &[("csrf", &csrf), ("text", "Rang back <b>twice</b>")],
    );
    assert_eq!(reply.status, 303);
    let page = desk.get(&format!("/cases/{reference}"), Some(&cookie));
    assert!(
        page.body
            .contains("Rang back &lt;b&gt;twice&lt;&#x2f;b&gt;")
    );
    let attachments = &page.body[page.body.find("class=\"attachments\"").unwrap()..];
    assert!(
        attachments.contains("photo&lt;b&gt;.pdf · application&#x2f;pdf"),
        "{}",
        &attachments[..300]
    );
    assert!(page.body.contains("Working days left"));
    assert!(page.body.contains("Full reply"));
    let case = desk.casework.case(&reference).unwrap();
    assert_eq!(case.notes[0].by, "alice");
}

#[test]
fn an_email_full_of_script_and_markup_is_shown_as_text() {
    let desk = Running::new();
    let subject = "</title><script>alert(1)</script><img src=x onerror=alert(2)>";
    let body = "Complaint: <script>alert(3)</script> <iframe src=\"javascript:alert(4)\"></iframe> <a href=\"javascript:alert(5)\">x</a> \"quoted\" 'single' & amp";
    let reference = desk.ingest(1, subject, body);
    let cookie = desk.sign_in();
    for path in [format!("/cases/{reference}"), "/".into(), "/cases".into()] {
        let page = desk.get(&path, Some(&cookie));
        assert_eq!(page.status, 200);
        for raw in ["<script", "<img", "<iframe", "href=\"javascript:"] {
            assert!(
                !page.body.to_lowercase().contains(raw),
                "{path} carries {raw}"
            );
        }
        assert!(
            page.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
        );
        assert_eq!(page.body.matches("</title>").count(), 1);
    }
}

// ---- other channels, quarantine ----

#[test]
fn staff_record_a_phone_call_as_a_case_assessed_by_the_core() {
    let desk = Running::new();
    let (cookie, csrf) = desk.staff();
    let reply = desk.post_form(
        "/record",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("channel", "phone"),
            ("received", "2026-11-24T11:30"),
            ("name", "Pat Resident"),
            ("subject", "Phone call"),
            (
                "text",
                "Caller is unhappy that the pothole on Station Road was reported twice and ignored.",
            ),
        ],
    );
    assert_eq!(reply.status, 303, "{}", reply.body);
    let reference = reply
        .header("location")
        .unwrap()
        .trim_start_matches("/cases/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let case = desk.casework.case(&reference).unwrap();
    assert_eq!(case.channel, Channel::Phone);
    assert_eq!(case.assessment.kind, Kind::Complaint);
    assert_eq!(case.opened_on.to_string(), "2026-11-24");
    assert!(matches!(
        desk.casework
            .store()
            .outbox_entry(&reference)
            .unwrap()
            .unwrap()
            .status,
        OutboxStatus::Suppressed { .. }
    ));
    assert!(
        case.history
            .iter()
            .any(|h| h.by.as_deref() == Some("alice") && h.note.contains("phone"))
    );
    // Email is not recorded by hand, and an empty text is refused.
    for (channel, text) in [("email", "hello"), ("phone", "  ")] {
        let reply = desk.post_form(
            "/record",
            Some(&cookie),
            &[("csrf", &csrf), ("channel", channel), ("text", text)],
        );
        assert_eq!(reply.status, 409, "{channel}");
    }
}

#[test]
fn a_quarantined_message_is_retried_and_stays_if_it_still_cannot_be_read() {
    let desk = Running::new();
    let store = desk.casework.store();
    let record = |uid| QuarantineRecord {
        id: String::new(),
        source: Some(mailbot::store::MessageSource {
            mailbox: "county-hall".into(),
            uidvalidity: 1,
            uid,
        }),
        received: Some(DateTime::parse_from_rfc3339("2026-11-24T10:00:00+00:00").unwrap()),
        quarantined_on: today(),
        reason: "an old parser failed".into(),
        size: 10,
    };
    let unreadable = store.put_quarantine(&record(1), b"   \r\n").unwrap();
    let readable = store
        .put_quarantine(
            &record(2),
            &email(
                "a@example.org",
                "Pothole",
                "q2@example.org",
                &[],
                "I complained twice about the pothole and nothing was done.",
            ),
        )
        .unwrap();
    let cookie = desk.sign_in();
    let page = desk.get("/quarantine", Some(&cookie));
    assert!(page.body.contains("an old parser failed"));
    let csrf = desk.csrf(&cookie);
    let still = desk.post_form(
        &format!("/quarantine/{}/retry", unreadable.locator().id()),
        Some(&cookie),
        &[("csrf", &csrf)],
    );
    assert_eq!(still.status, 409);
    assert!(still.body.contains("stays in quarantine"));
    let done = desk.post_form(
        &format!("/quarantine/{}/retry", readable.locator().id()),
        Some(&cookie),
        &[("csrf", &csrf)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let remaining = store.quarantined().unwrap();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].id, unreadable.locator().id());
    assert_eq!(store.case_count(), 1);
    // The message's identity now points at its case: fetching it again is a duplicate.
    let locator = store.locate("county-hall", 1, 2).unwrap().unwrap();
    assert!(!locator.is_quarantine());
    let again = desk
        .casework
        .retry_quarantine(readable.locator().id(), today())
        .unwrap_err();
    assert!(again.to_string().contains("no quarantined message"));
    assert!(matches!(
        desk.casework
            .retry_quarantine(unreadable.locator().id(), today())
            .unwrap(),
        Retry::StillQuarantined { .. }
    ));
}

// ---- the web-form endpoint ----

#[test]
fn a_web_form_from_an_allowed_origin_becomes_a_case() {
    let desk = Running::new();
    let reply = desk.post_json(
        Some(ORIGIN),
        "application/json",
        r#"{"text": "I am unhappy: the pothole on Station Road was reported twice and ignored.", "subject": "Pothole", "name": "Pat", "email": "pat@example.org"}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("access-control-allow-origin"), Some(ORIGIN));
    let json = reply.json();
    assert_eq!(json["type"], "success");
    assert_eq!(json["kind"], "complaint");
    let reference = json["reference"].as_str().unwrap();
    assert!(reference.starts_with("KCC-"));
    assert!(json["acknowledge_by"].is_string());
    let case = desk.casework.case(reference).unwrap();
    assert_eq!(case.channel, Channel::WebForm);
    let entry = desk
        .casework
        .store()
        .outbox_entry(reference)
        .unwrap()
        .unwrap();
    assert_eq!(entry.status, OutboxStatus::Pending);
    assert_eq!(entry.recipient.as_deref(), Some("pat@example.org"));
}

#[test]
fn a_web_forms_answers_are_assessed_and_its_equalities_data_kept_apart() {
    let desk = Running::new();
    let reply = desk.post_json(
        Some(ORIGIN),
        "application/json",
        r#"{"text": "The council has not dealt with my mother's care assessment and I am unhappy about it.", "email": "pat@example.org", "service_area": "adult_social_care", "aware_since": "2020-01-06", "on_behalf": true, "legal_action_started": true, "equalities": {"age": "65-74", "ethnicity": "prefer not to say"}}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reference = reply.json()["reference"].as_str().unwrap().to_string();
    let case = desk.casework.case(&reference).unwrap();
    let exclusions = serde_json::to_string(&case.assessment.exclusions).unwrap();
    assert!(exclusions.contains("over_twelve_months"), "{exclusions}");
    assert!(
        exclusions.contains("legal_proceedings_started"),
        "{exclusions}"
    );
    let cautions = serde_json::to_string(&case.assessment.cautions).unwrap();
    assert!(cautions.contains("on_behalf_of_someone"), "{cautions}");
    let kept = desk
        .casework
        .store()
        .equalities(&reference)
        .unwrap()
        .unwrap();
    assert_eq!(kept["age"], "65-74");
    let (cookie, _) = desk.staff();
    let shown = desk.get(&format!("/api/cases/{reference}"), Some(&cookie));
    assert_eq!(shown.status, 200);
    assert!(
        !shown.body.contains("65-74"),
        "equalities data stays out of the case"
    );
}

#[test]
fn the_web_form_endpoint_refuses_other_origins_and_answers_preflight_for_allowed_ones_only() {
    let desk = Running::new();
    let body = r#"{"text": "hello"}"#;
    for origin in [
        Some("https://evil.example"),
        Some("https://forms.kent.example.evil.example"),
        None,
    ] {
        let reply = desk.post_json(origin, "application/json", body);
        assert_eq!(reply.status, 403, "{origin:?}");
        assert!(reply.header("access-control-allow-origin").is_none());
        assert_eq!(reply.json()["type"], "failure");
    }
    assert_eq!(desk.casework.store().case_count(), 0);
    let allowed = desk.preflight(ORIGIN);
    assert_eq!(allowed.status, 204);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(allowed.header("access-control-allow-methods"), Some("POST"));
    let refused = desk.preflight("https://evil.example");
    assert_eq!(refused.status, 403);
    assert!(refused.header("access-control-allow-origin").is_none());
}

#[test]
fn a_web_form_body_of_the_wrong_shape_gets_a_clear_json_error() {
    let mut config = admin_config();
    config.form_requests_per_minute = 100;
    let desk = Running::start(config);
    let cases: &[(&str, &str, u16, &str)] = &[
        ("application/json", "not json", 400, "expected"),
        ("application/json", "{}", 422, "missing field `text`"),
        ("application/json", r#"{"text": 42}"#, 422, "invalid type"),
        ("application/json", r#"["text"]"#, 422, "not an object"),
        (
            "application/json",
            r#"{"text": "x", "ssn": "1"}"#,
            422,
            "unknown field `ssn`",
        ),
        (
            "application/json",
            r#"{"text": "   "}"#,
            422,
            "`text` is empty",
        ),
        (
            "application/json",
            r#"{"text": "x", "email": "not an address"}"#,
            422,
            "not an email address",
        ),
        ("text/plain", r#"{"text": "x"}"#, 415, "Content-Type"),
    ];
    for (content_type, body, status, words) in cases {
        let reply = desk.post_json(Some(ORIGIN), content_type, body);
        assert_eq!(reply.status, *status, "{body}: {}", reply.body);
        let json = reply.json();
        assert_eq!(json["type"], "failure", "{body}");
        let message = json["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
        assert!(json["errors"][0]["help"].as_str().unwrap().contains("JSON") || *status == 422);
        assert_eq!(reply.header("access-control-allow-origin"), Some(ORIGIN));
    }
    let big = format!(r#"{{"text": "{}"}}"#, "a".repeat(5000));
    let reply = desk.post_json(Some(ORIGIN), "application/json", &big);
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["type"], "failure");
    assert_eq!(desk.casework.store().case_count(), 0);
}

#[test]
fn web_form_posts_are_rate_limited_per_address() {
    let desk = Running::new();
    let body = r#"{"text": "Thank you to the library staff, they were brilliant."}"#;
    for _ in 0..5 {
        assert_eq!(
            desk.post_json(Some(ORIGIN), "application/json", body)
                .status,
            201
        );
    }
    let limited = desk.post_json(Some(ORIGIN), "application/json", body);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(desk.casework.store().case_count(), 5);
}

// ---- the deadlines view ----

#[test]
fn the_deadlines_view_sorts_clocks_into_overdue_today_this_week_and_acknowledgements_at_risk() {
    let desk = Running::new();
    let received = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
    let record = |when: &str, channel: Channel, email: Option<&str>| {
        desk.casework
            .record(
                &Recorded {
                    channel,
                    text:
                        "I am unhappy: the pothole on Station Road was reported twice and ignored."
                            .into(),
                    subject: Some("Pothole".into()),
                    name: None,
                    email: email.map(str::to_string),
                    answers: Default::default(),
                    received: received(when),
                },
                Some("alice"),
            )
            .unwrap()
    };
    // Received Monday 2 November 2026: the acknowledgement (3 working days) was due on the 5th, the
    // full reply (20) on 30 November.
    let old = record(
        "2026-11-02T10:00:00+00:00",
        Channel::WebForm,
        Some("a@example.org"),
    );
    // Received Tuesday 24 November: acknowledgement due Friday 27th.
    let new = record("2026-11-24T10:00:00+00:00", Channel::Phone, None);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let view = desk.casework.due(today).unwrap();
    let refs = |list: &[mailbot::casework::DueCase]| {
        list.iter()
            .map(|d| format!("{} {}", d.reference, d.clock.milestone))
            .collect::<Vec<_>>()
    };
    assert_eq!(refs(&view.overdue), vec![format!("{old} acknowledge")]);
    assert_eq!(
        refs(&view.due_this_week),
        vec![format!("{new} acknowledge")]
    );
    // Only the web form's acknowledgement is in the outbox; the phone call's is staff's to give.
    assert_eq!(
        refs(&view.acknowledgements_at_risk),
        vec![format!("{old} acknowledge")]
    );
    assert!(view.due_today.is_empty());
    // On the 30th the old case's full reply is due today; four weeks after receipt its update is owed.
    let view = desk
        .casework
        .due(chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap())
        .unwrap();
    assert_eq!(refs(&view.due_today), vec![format!("{old} full_reply")]);
    assert_eq!(
        refs(&view.updates_owed),
        vec![format!("{old} progress_update")]
    );
    // The page lists them.
    let cookie = desk.sign_in();
    let page = desk.get("/deadlines", Some(&cookie));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Acknowledgements at risk"));
}

#[test]
fn the_monitoring_report_is_served_as_a_page_csv_and_json() {
    let desk = Running::new();
    desk.ingest(
        1,
        "Pothole again",
        "I reported the pothole in March and it is still not fixed",
    );
    let (cookie, _) = desk.staff();
    let year = chrono::Datelike::year(&chrono::Local::now().date_naive());
    let period = format!("from={year}-01-01&to={year}-12-31");
    let page = desk.get(&format!("/report?{period}"), Some(&cookie));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<svg"), "the page has its charts");
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.starts_with("default-src 'none'") && !policy.contains("script"));
    let csv = desk.get(&format!("/report?{period}&format=csv"), Some(&cookie));
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let json = desk.get(&format!("/report?{period}&format=json"), Some(&cookie));
    assert_eq!(json.json()["from"], format!("{year}-01-01"));
    let refused = desk.get(
        &format!("/report?from={year}-12-31&to={year}-01-01"),
        Some(&cookie),
    );
    assert_eq!(refused.status, 409);
}

#[test]
fn the_case_page_says_whether_the_acknowledgement_went_and_why_not() {
    let desk = Running::new();
    let reference = desk.ingest(
        1,
        "Pothole",
        "I reported the pothole twice and nothing was done",
    );
    let (cookie, _) = desk.staff();
    let page = desk.get(&format!("/cases/{reference}"), Some(&cookie));
    assert!(
        page.body.contains("Waiting to be sent to"),
        "a new case's acknowledgement is pending"
    );
    desk.casework
        .store()
        .set_outbox_status(
            &reference,
            OutboxStatus::Failed {
                at: DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").unwrap(),
                reason: "550 5.1.1 <x@y>: Recipient address rejected".into(),
                permanent: true,
                attempts: 1,
                next_attempt: None,
            },
        )
        .unwrap();
    let page = desk.get(&format!("/cases/{reference}"), Some(&cookie));
    assert!(page.body.contains("Not sent: refused."), "{}", page.body);
    assert!(
        page.body
            .contains("550 5.1.1 &lt;x@y&gt;: Recipient address rejected")
    );
}

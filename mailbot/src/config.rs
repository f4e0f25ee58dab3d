//! The daemon's configuration file (TOML): where the store lives, the size limits, and the mailboxes to
//! watch. `examples/mailbot.toml` is a commented example.
//!
//! Loading collects every problem in the file (not just the first) so that `mailbot check-config` can say
//! exactly what is wrong; `mailbot run` refuses a file with any problem. Secrets are never held here: a
//! mailbox names where its secret comes from (an environment variable, a file or a token command) and
//! [`SecretSource::resolve`] reads it when connecting, into a [`Secret`] whose `Debug` is redacted.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// IMAP servers drop an idle client after 30 minutes (RFC 3501 says at least 30); re-IDLE before that.
const MAX_IDLE: Duration = Duration::from_secs(29 * 60);

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The sled store directory.
    pub store: PathBuf,
    /// The prefix of case references (`KCC` gives `KCC-2026-000123`).
    #[serde(default = "default_prefix")]
    pub reference_prefix: String,
    /// A message larger than this is kept as a quarantine record, not made a case.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Attachments are recorded by name, type and size; their bytes are kept up to this size.
    #[serde(default = "default_max_attachment_bytes_kept")]
    pub max_attachment_bytes_kept: usize,
    /// Messages fetched, ingested (one flush) and marked together.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long one IDLE lasts before it is renewed, in seconds (under 29 minutes).
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Wait for new mail with IDLE where the server has it (else, or when false, poll).
    #[serde(default = "yes")]
    pub use_idle: bool,
    /// How often a server without IDLE is polled, in seconds.
    #[serde(default = "default_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// The first reconnection delay after an error, in milliseconds; it doubles up to `backoff_max_secs`,
    /// with jitter.
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,
    /// The longest reconnection delay, in seconds.
    #[serde(default = "default_backoff_max_secs")]
    pub backoff_max_secs: u64,
    /// Network timeout for connecting, logging in and each command, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The mailboxes to watch, one task each.
    #[serde(default, rename = "mailbox")]
    pub mailboxes: Vec<MailboxConfig>,
    /// Where acknowledgements are sent from (`[smtp]`); without it none are sent.
    #[serde(default)]
    pub smtp: Option<crate::smtp::SmtpConfig>,
    /// How long closed cases are kept (`[retention]`).
    #[serde(default)]
    pub retention: Retention,
    /// The `/metrics` and `/healthz` endpoint (`[metrics]`); none when not given.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The web console (`[admin]`); served by `mailbot run` when present.
    #[serde(default)]
    pub admin: Option<crate::console::AdminConfig>,
}

/// Data retention (`[retention]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// `mailbot purge` removes cases closed more than this many days ago (e.g. 2190, six years).
    pub closed_cases_days: Option<u32>,
}

/// Where `mailbot run` serves `/metrics` and `/healthz` (`[metrics]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// A loopback address and port, e.g. `127.0.0.1:9187`; not served when not given.
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
}

/// One watched mailbox (`[[mailbox]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// A short name for logs (`county-hall`); unique in the file.
    pub name: String,
    /// The IMAP server's host name or address.
    pub host: String,
    /// The IMAP port (default 993 for implicit TLS, 143 otherwise).
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is protected.
    pub tls: TlsMode,
    /// The name the server's certificate must carry (default: `host`).
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// PEM file of CA certificates to trust instead of the system's (a council's or a test CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The login name.
    pub user: String,
    /// How to authenticate.
    #[serde(default)]
    pub auth: AuthMethod,
    /// The environment variable that holds the password (LOGIN).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The file that holds the password (LOGIN); surrounding whitespace is ignored.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// The command (program and arguments, no shell) that prints an OAuth2 access token (XOAUTH2).
    #[serde(default)]
    pub token_command: Option<Vec<String>>,
    /// The folder to watch.
    #[serde(default = "default_folder")]
    pub folder: String,
    /// What to do with a message once its case is durable.
    #[serde(default)]
    pub processed: ProcessedAction,
    /// The keyword set on processed messages (`processed = "flag"`).
    #[serde(default = "default_keyword")]
    pub keyword: String,
    /// The folder processed messages move to (`processed = "move"`).
    #[serde(default)]
    pub move_to: Option<String>,
    /// The service area a message to this mailbox implies (`adult_social_care` for the adults mailbox).
    #[serde(default)]
    pub route_hint: Option<String>,
}

/// How a mailbox connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS, usually port 993).
    Implicit,
    /// Plain IMAP upgraded with STARTTLS before login (usually port 143).
    Starttls,
    /// No TLS at all: only to a loopback address, and only when asked for by this name.
    PlainLoopback,
}

/// How a mailbox authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// IMAP LOGIN with a password.
    #[default]
    Login,
    /// SASL XOAUTH2 with an access token from `token_command` (Microsoft 365, Gmail).
    Xoauth2,
}

/// What happens to a message on the server once its case is durable. Never a delete: processed mail stays
/// on the server so a reconcile pass can re-ingest whatever a lost write dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessedAction {
    /// Set `keyword` on it.
    #[default]
    Flag,
    /// Move it to `move_to`.
    Move,
}

fn default_prefix() -> String {
    "KCC".into()
}
fn default_max_message_bytes() -> usize {
    25 * 1024 * 1024
}
fn default_max_attachment_bytes_kept() -> usize {
    10 * 1024 * 1024
}
fn default_batch_size() -> usize {
    500
}
fn default_idle_timeout_secs() -> u64 {
    25 * 60
}
fn yes() -> bool {
    true
}
fn default_poll_interval_secs() -> u64 {
    60
}
fn default_backoff_initial_ms() -> u64 {
    500
}
fn default_backoff_max_secs() -> u64 {
    300
}
fn default_timeout_secs() -> u64 {
    60
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_keyword() -> String {
    "$FeedbackDesk".into()
}

/// Every problem found in a configuration file, each naming where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblems {
    /// The file.
    pub file: PathBuf,
    /// `(where, what is wrong)` pairs.
    pub problems: Vec<(String, String)>,
}

impl fmt::Display for ConfigProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "{}: {count} problem{}",
            self.file.display(),
            if count == 1 { "" } else { "s" }
        )?;
        for (place, message) in &self.problems {
            if place.is_empty() {
                write!(f, "\n  - {message}")?;
            } else {
                write!(f, "\n  - {place}: {message}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigProblems {}

/// What a check of the secrets and files a config names may look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// The file alone.
    SyntaxOnly,
    /// Also the environment and file system: secret variables set, secret and CA files readable.
    Environment,
}

impl Config {
    /// Reads, parses and validates a file: every problem, or the config.
    pub fn load(
        path: &Path,
        service_areas: Option<&BTreeSet<String>>,
        checks: Checks,
    ) -> Result<Config, ConfigProblems> {
        let source = std::fs::read_to_string(path).map_err(|err| ConfigProblems {
            file: path.to_path_buf(),
            problems: vec![(String::new(), format!("cannot read it: {err}"))],
        })?;
        Config::parse(&source, service_areas, checks).map_err(|problems| ConfigProblems {
            file: path.to_path_buf(),
            problems,
        })
    }

    /// Parses and validates a config's text; `service_areas` (the policy's service area ids and mailbox
    /// hint names) checks the route hints.
    pub fn parse(
        source: &str,
        service_areas: Option<&BTreeSet<String>>,
        checks: Checks,
    ) -> Result<Config, Vec<(String, String)>> {
        let config: Config = toml::from_str(source).map_err(|err| {
            let message = err.message().to_string();
            let place = err
                .span()
                .map(|span| format!("line {}", line_of(source, span.start)))
                .unwrap_or_default();
            vec![(place, message)]
        })?;
        let problems = config.problems(service_areas, checks);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// Every problem in an already parsed config.
    pub fn problems(
        &self,
        service_areas: Option<&BTreeSet<String>>,
        checks: Checks,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut problem = |place: String, message: String| out.push((place, message));
        if self.store.as_os_str().is_empty() {
            problem("store".into(), "is empty: give the store directory".into());
        }
        if self.reference_prefix.is_empty()
            || self.reference_prefix.len() > 12
            || !self
                .reference_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            problem(
                "reference_prefix".into(),
                format!(
                    "`{}` must be 1 to 12 ASCII letters or digits (e.g. `KCC`)",
                    self.reference_prefix
                ),
            );
        }
        if self.max_message_bytes == 0 {
            problem("max_message_bytes".into(), "must be more than 0".into());
        }
        if self.batch_size == 0 || self.batch_size > 10_000 {
            problem(
                "batch_size".into(),
                format!("{} must be between 1 and 10000", self.batch_size),
            );
        }
        if self.idle_timeout_secs == 0 || Duration::from_secs(self.idle_timeout_secs) >= MAX_IDLE {
            problem(
                "idle_timeout_secs".into(),
                format!(
                    "{} must be more than 0 and under {} (29 minutes): servers drop idle clients at 30",
                    self.idle_timeout_secs,
                    MAX_IDLE.as_secs()
                ),
            );
        }
        if self.poll_interval_secs == 0 {
            problem("poll_interval_secs".into(), "must be more than 0".into());
        }
        if self.backoff_initial_ms == 0 {
            problem("backoff_initial_ms".into(), "must be more than 0".into());
        }
        if self.backoff_max_secs == 0
            || self.backoff_max_secs.saturating_mul(1000) < self.backoff_initial_ms
        {
            problem(
                "backoff_max_secs".into(),
                "must be more than 0 and not below backoff_initial_ms".into(),
            );
        }
        if self.timeout_secs == 0 {
            problem("timeout_secs".into(), "must be more than 0".into());
        }
        if let Some(listen) = self.metrics.listen
            && !listen.ip().is_loopback()
        {
            problem(
                "metrics.listen".into(),
                format!(
                    "`{listen}` is not a loopback address: serve metrics on 127.0.0.1 or [::1] and let a local Prometheus agent or a reverse proxy with access control reach them"
                ),
            );
        }
        if self.retention.closed_cases_days == Some(0) {
            problem(
                "retention.closed_cases_days".into(),
                "must be more than 0 (leave it out to keep closed cases until purged by date)"
                    .into(),
            );
        }
        if self.mailboxes.is_empty() {
            problem(
                "mailbox".into(),
                "no `[[mailbox]]` is configured: add at least one".into(),
            );
        }
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (index, mailbox) in self.mailboxes.iter().enumerate() {
            let place = format!("mailbox[{index}] ({})", mailbox.name);
            if !names.insert(mailbox.name.as_str()) {
                problem(
                    place.clone(),
                    format!(
                        "the name `{}` is used twice: give each mailbox its own",
                        mailbox.name
                    ),
                );
            }
            if !ids.insert(mailbox.location()) {
                problem(
                    place.clone(),
                    format!("`{}` is configured twice", mailbox.location()),
                );
            }
            for (field, message) in mailbox.problems(service_areas, checks) {
                problem(format!("{place}.{field}"), message);
            }
        }
        if let Some(smtp) = &self.smtp {
            for (field, message) in smtp.problems(self, checks) {
                problem(format!("smtp.{field}"), message);
            }
        }
        if let Some(admin) = &self.admin {
            for (field, message) in admin.problems() {
                problem(format!("admin.{field}"), message);
            }
        }
        out
    }

    /// The reconnection backoff bounds.
    pub fn backoff(&self) -> (Duration, Duration) {
        (
            Duration::from_millis(self.backoff_initial_ms),
            Duration::from_secs(self.backoff_max_secs),
        )
    }
}

fn line_of(source: &str, offset: usize) -> usize {
    source
        .get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

/// Whether `host` is a loopback address (or `localhost`), where plain IMAP may be allowed.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// An IMAP atom usable as a keyword: no specials, not a system flag.
fn valid_keyword(keyword: &str) -> bool {
    !keyword.is_empty()
        && keyword.len() <= 64
        && !keyword.starts_with('\\')
        && keyword
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b))
}

impl MailboxConfig {
    /// The mailbox's identity in the store: its `name`. Message identity is this plus UIDVALIDITY and UID,
    /// so renaming a mailbox makes its messages look new (the Message-ID check still catches them).
    pub fn id(&self) -> String {
        self.name.clone()
    }

    /// Where the mailbox is: `user@host/folder` (two entries must not watch the same folder).
    pub fn location(&self) -> String {
        format!(
            "{}@{}/{}",
            self.user,
            self.host.to_ascii_lowercase(),
            self.folder
        )
    }

    /// The route hint handed to the ingestor: the configured one, else the mailbox name (the policy's
    /// `mailbox_hints` map names such as `adults` to a service area).
    pub fn effective_route_hint(&self) -> String {
        self.route_hint.clone().unwrap_or_else(|| self.name.clone())
    }

    /// The port, defaulted from the TLS mode.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 993,
            TlsMode::Starttls | TlsMode::PlainLoopback => 143,
        })
    }

    /// The name checked against the server certificate.
    pub fn server_name(&self) -> &str {
        self.tls_server_name.as_deref().unwrap_or(&self.host)
    }

    /// Where the secret comes from. Only valid on a config without problems.
    pub fn secret_source(&self) -> anyhow::Result<SecretSource> {
        match (
            self.auth,
            &self.secret_env,
            &self.secret_file,
            &self.token_command,
        ) {
            (AuthMethod::Login, Some(var), None, None) => Ok(SecretSource::Env(var.clone())),
            (AuthMethod::Login, None, Some(file), None) => Ok(SecretSource::File(file.clone())),
            (AuthMethod::Xoauth2, None, None, Some(command)) => {
                Ok(SecretSource::Command(command.clone()))
            }
            _ => anyhow::bail!(
                "mailbox `{}`: the secret settings do not match its auth method",
                self.name
            ),
        }
    }

    fn problems(
        &self,
        service_areas: Option<&BTreeSet<String>>,
        checks: Checks,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut problem = |field: &str, message: String| out.push((field.to_string(), message));
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            problem(
                "name",
                format!(
                    "`{}` must be non-empty ASCII letters, digits, `-`, `_` or `.`",
                    self.name
                ),
            );
        }
        if self.host.is_empty() || self.host.contains(char::is_whitespace) {
            problem("host", format!("`{}` is not a host name", self.host));
        }
        if self.port == Some(0) {
            problem("port", "0 is not a port".into());
        }
        if self.tls == TlsMode::PlainLoopback && !is_loopback(&self.host) {
            problem(
                "tls",
                format!(
                    "`plain-loopback` is only allowed to a loopback host, not `{}`: use `implicit` or `starttls`",
                    self.host
                ),
            );
        }
        if self.tls == TlsMode::PlainLoopback
            && (self.ca_file.is_some() || self.tls_server_name.is_some())
        {
            problem(
                "tls",
                "`plain-loopback` uses no TLS: remove `ca_file` and `tls_server_name`".into(),
            );
        }
        if self.user.is_empty() {
            problem("user", "is empty".into());
        }
        match self.auth {
            AuthMethod::Login => {
                match (&self.secret_env, &self.secret_file) {
                    (None, None) => problem(
                        "secret_env",
                        "give `secret_env` or `secret_file` for LOGIN".into(),
                    ),
                    (Some(_), Some(_)) => problem(
                        "secret_file",
                        "give only one of `secret_env` and `secret_file`".into(),
                    ),
                    _ => {}
                }
                if self.token_command.is_some() {
                    problem(
                        "token_command",
                        "is for `auth = \"xoauth2\"`; LOGIN takes `secret_env` or `secret_file`"
                            .into(),
                    );
                }
            }
            AuthMethod::Xoauth2 => {
                match &self.token_command {
                    None => problem(
                        "token_command",
                        "`auth = \"xoauth2\"` needs a `token_command` that prints the access token"
                            .into(),
                    ),
                    Some(command) if command.first().is_none_or(|program| program.is_empty()) => {
                        problem(
                            "token_command",
                            "is empty: give the program and its arguments".into(),
                        );
                    }
                    Some(_) => {}
                }
                if self.secret_env.is_some() || self.secret_file.is_some() {
                    problem("secret_env", "XOAUTH2 takes its token from `token_command`: remove `secret_env`/`secret_file`".into());
                }
            }
        }
        if self.folder.is_empty() {
            problem("folder", "is empty".into());
        }
        match self.processed {
            ProcessedAction::Flag => {
                if !valid_keyword(&self.keyword) {
                    problem(
                        "keyword",
                        format!(
                            "`{}` is not a valid IMAP keyword (an atom such as `$FeedbackDesk`)",
                            self.keyword
                        ),
                    );
                }
                if self.move_to.is_some() {
                    problem("move_to", "is only used with `processed = \"move\"`".into());
                }
            }
            ProcessedAction::Move => match &self.move_to {
                None => problem(
                    "move_to",
                    "`processed = \"move\"` needs the folder to move to".into(),
                ),
                Some(folder) if folder.is_empty() => problem("move_to", "is empty".into()),
                Some(folder) if *folder == self.folder => {
                    problem(
                        "move_to",
                        format!("`{folder}` is the watched folder itself: give another folder"),
                    );
                }
                Some(_) => {}
            },
        }
        if let (Some(hint), Some(areas)) = (&self.route_hint, service_areas)
            && !areas.contains(hint)
        {
            let known: Vec<&str> = areas.iter().map(String::as_str).collect();
            problem(
                "route_hint",
                format!(
                    "`{hint}` is not a service area or mailbox hint of the policy (one of: {})",
                    known.join(", ")
                ),
            );
        }
        if checks == Checks::Environment {
            if let Some(var) = &self.secret_env {
                match std::env::var_os(var) {
                    None => problem(
                        "secret_env",
                        format!("the environment variable `{var}` is not set"),
                    ),
                    Some(value) if value.is_empty() => problem(
                        "secret_env",
                        format!("the environment variable `{var}` is empty"),
                    ),
                    Some(_) => {}
                }
            }
            if let Some(file) = &self.secret_file {
                match std::fs::read_to_string(file) {
                    Err(err) => problem(
                        "secret_file",
                        format!("cannot read `{}`: {err}", file.display()),
                    ),
                    Ok(text) if text.trim().is_empty() => {
                        problem("secret_file", format!("`{}` is empty", file.display()))
                    }
                    Ok(_) => {}
                }
            }
            if let Some(program) = self
                .token_command
                .as_ref()
                .and_then(|command| command.first())
                && !program.is_empty()
                && !program_exists(program)
            {
                problem(
                    "token_command",
                    format!("`{program}` is not an executable file (nor found on PATH)"),
                );
            }
            if let Some(file) = &self.ca_file
                && let Err(err) = crate::imap::load_ca_file(file)
            {
                problem("ca_file", format!("{err:#}"));
            }
        }
        out
    }
}

/// Whether `program` names an executable file, directly (with a `/`) or on PATH.
fn program_exists(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        std::fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| executable(&dir.join(program)))
    })
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::Implicit => "implicit TLS",
            TlsMode::Starttls => "STARTTLS",
            TlsMode::PlainLoopback => "plain, loopback",
        })
    }
}

/// A password or token: `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where a mailbox's secret comes from; read afresh at every login, so a rotated secret is picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (whitespace around the value ignored).
    File(PathBuf),
    /// A command printing a token on its standard output.
    Command(Vec<String>),
}

impl SecretSource {
    /// Reads the secret. Errors name the source, never the value.
    pub async fn resolve(&self, timeout: Duration) -> anyhow::Result<Secret> {
        let value = match self {
            SecretSource::Env(var) => std::env::var(var)
                .with_context(|| format!("reading the secret from environment variable `{var}`"))?,
            SecretSource::File(path) => tokio::fs::read_to_string(path)
                .await
                .with_context(|| format!("reading the secret file {}", path.display()))?
                .trim()
                .to_string(),
            SecretSource::Command(command) => {
                let (program, args) = command
                    .split_first()
                    .context("the token command is empty")?;
                let output = tokio::time::timeout(
                    timeout,
                    tokio::process::Command::new(program)
                        .args(args)
                        .stdin(std::process::Stdio::null())
                        .kill_on_drop(true)
                        .output(),
                )
                .await
                .with_context(|| {
                    format!("the token command `{program}` did not finish in {timeout:?}")
                })?
                .with_context(|| format!("running the token command `{program}`"))?;
                if !output.status.success() {
                    anyhow::bail!("the token command `{program}` failed ({})", output.status);
                }
                String::from_utf8(output.stdout)
                    .with_context(|| format!("the token command `{program}` printed non-UTF-8"))?
                    .trim()
                    .to_string()
            }
        };
        if value.is_empty() {
            anyhow::bail!("the secret from {} is empty", self.describe());
        }
        Ok(Secret(value))
    }

    fn describe(&self) -> String {
        match self {
            SecretSource::Env(var) => format!("environment variable `{var}`"),
            SecretSource::File(path) => format!("file {}", path.display()),
            SecretSource::Command(command) => format!(
                "token command `{}`",
                command.first().map_or("", String::as_str)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
store = "/tmp/store"
[[mailbox]]
name = "county-hall"
host = "127.0.0.1"
port = 10143
tls = "plain-loopback"
user = "county.hall@kent.example"
secret_env = "PATH"
"#;

    #[test]
    fn a_minimal_config_loads_with_defaults() {
        let config = Config::parse(GOOD, None, Checks::Environment).unwrap();
        let mailbox = &config.mailboxes[0];
        assert_eq!(mailbox.folder, "INBOX");
        assert_eq!(mailbox.keyword, "$FeedbackDesk");
        assert_eq!(mailbox.processed, ProcessedAction::Flag);
        assert_eq!(mailbox.id(), "county-hall");
        assert_eq!(
            mailbox.location(),
            "county.hall@kent.example@127.0.0.1/INBOX"
        );
        assert_eq!(config.batch_size, 500);
        assert_eq!(
            mailbox.secret_source().unwrap(),
            SecretSource::Env("PATH".into())
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let source = GOOD.replace("secret_env", "secret_envv");
        let problems = Config::parse(&source, None, Checks::SyntaxOnly).unwrap_err();
        assert!(
            problems[0].1.contains("unknown field `secret_envv`"),
            "{problems:?}"
        );
        assert_eq!(problems[0].0, "line 9");
    }

    #[test]
    fn every_problem_is_listed() {
        let source = r#"
store = "/tmp/store"
reference_prefix = "K C C"
idle_timeout_secs = 1800
[[mailbox]]
name = "a"
host = "imap.example.org"
tls = "plain-loopback"
user = "u"
auth = "xoauth2"
secret_env = "X"
processed = "move"
route_hint = "nowhere"
[[mailbox]]
name = "a"
host = "imap.example.org"
tls = "implicit"
user = "u"
secret_file = "/nonexistent/secret"
ca_file = "/nonexistent/ca.pem"
"#;
        let areas: BTreeSet<String> = ["adult_social_care".to_string()].into();
        let problems = Config::parse(source, Some(&areas), Checks::Environment).unwrap_err();
        let text: Vec<String> = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect();
        let joined = text.join("\n");
        for needle in [
            "reference_prefix",
            "idle_timeout_secs",
            "mailbox[0] (a).tls: `plain-loopback` is only allowed to a loopback host",
            "mailbox[0] (a).token_command",
            "mailbox[0] (a).secret_env: XOAUTH2",
            "mailbox[0] (a).move_to",
            "mailbox[0] (a).route_hint: `nowhere`",
            "mailbox[1] (a): the name `a` is used twice",
            "mailbox[1] (a): `u@imap.example.org/INBOX` is configured twice",
            "mailbox[1] (a).secret_file: cannot read",
            "mailbox[1] (a).ca_file",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in\n{joined}");
        }
    }

    #[test]
    fn a_missing_token_command_is_a_problem() {
        let source = GOOD.replace(
            "secret_env = \"PATH\"",
            "auth = \"xoauth2\"\ntoken_command = [\"/nonexistent/get-token\"]",
        );
        let problems = Config::parse(&source, None, Checks::Environment).unwrap_err();
        assert!(
            problems[0].1.contains("is not an executable file"),
            "{problems:?}"
        );
        let source = GOOD.replace(
            "secret_env = \"PATH\"",
            "auth = \"xoauth2\"\ntoken_command = [\"sh\", \"-c\", \"echo token\"]",
        );
        Config::parse(&source, None, Checks::Environment).unwrap();
    }

    #[tokio::test]
    async fn a_token_command_supplies_the_token() {
        let source =
            SecretSource::Command(vec!["sh".into(), "-c".into(), "echo '  tok-123 '".into()]);
        let secret = source.resolve(Duration::from_secs(10)).await.unwrap();
        assert_eq!(secret.expose(), "tok-123");
        let failing = SecretSource::Command(vec!["false".into()]);
        assert!(failing.resolve(Duration::from_secs(10)).await.is_err());
    }

    #[test]
    fn plain_is_only_for_loopback() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("imap.example.org"));
    }

    #[test]
    fn secrets_are_redacted() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
    }

    #[test]
    fn keywords_are_atoms() {
        assert!(valid_keyword("$FeedbackDesk"));
        assert!(!valid_keyword("\\Seen"));
        assert!(!valid_keyword("two words"));
        assert!(!valid_keyword("a(b"));
    }
}

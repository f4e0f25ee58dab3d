//! The `[smtp]` section of the configuration and the SMTP client (lettre) the acknowledgements go out
//! through: implicit TLS, STARTTLS, or plain only to a loopback host when asked for by name; PLAIN or
//! LOGIN with a password, XOAUTH2 with a token from a command, or no authentication.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::config::{Checks, Config, SecretSource, TlsMode, is_loopback};

/// How the sender authenticates to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpAuth {
    /// PLAIN or LOGIN (whichever the server offers) with a password from `secret_env`/`secret_file`.
    #[default]
    Password,
    /// SASL XOAUTH2 with an access token printed by `token_command` (Microsoft 365, Gmail).
    Xoauth2,
    /// None (a relay that accepts the council's host by address).
    None,
}

/// The `[smtp]` section: where acknowledgements are sent from and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The SMTP server's host name or address.
    pub host: String,
    /// The port (default 465 for implicit TLS, 587 for STARTTLS, 25 for plain).
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is protected (`implicit`, `starttls`, `plain-loopback`).
    pub tls: TlsMode,
    /// The name the server's certificate must carry (default: `host`).
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// PEM file of CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The login name (not with `auth = "none"`).
    #[serde(default)]
    pub user: Option<String>,
    /// How to authenticate.
    #[serde(default)]
    pub auth: SmtpAuth,
    /// The environment variable holding the password.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The file holding the password.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// The command (program and arguments) printing an OAuth2 access token.
    #[serde(default)]
    pub token_command: Option<Vec<String>>,
    /// The From address per mailbox name; a mailbox not listed sends from its login name when that is
    /// an address.
    #[serde(default)]
    pub from: BTreeMap<String, String>,
    /// The display name of the From address (default: the policy's council name).
    #[serde(default)]
    pub from_name: Option<String>,
    /// A directory of templates replacing the embedded defaults file by file.
    #[serde(default)]
    pub templates: Option<PathBuf>,
    /// The council's own domains: nothing is acknowledged to an address there (nor in a subdomain).
    #[serde(default)]
    pub own_domains: Vec<String>,
    /// The most acknowledgements to one address in 24 hours; later ones are suppressed.
    #[serde(default = "default_max_per_sender")]
    pub max_per_sender_per_day: u32,
    /// The first retry delay after a temporary failure, in seconds; it doubles up to `retry_max_secs`.
    #[serde(default = "default_retry_initial_secs")]
    pub retry_initial_secs: u64,
    /// The longest retry delay, in seconds.
    #[serde(default = "default_retry_max_secs")]
    pub retry_max_secs: u64,
    /// Network timeout of each SMTP command, in seconds.
    #[serde(default = "default_smtp_timeout_secs")]
    pub timeout_secs: u64,
    /// The name given in EHLO (default: this machine's host name).
    #[serde(default)]
    pub hello_name: Option<String>,
    /// Where each mailbox's daily digest goes (mailbox name -> a team address that is not itself a
    /// watched mailbox); no digest for a mailbox not listed.
    #[serde(default)]
    pub digest_to: BTreeMap<String, String>,
    /// The hour (server local time, 0 to 23) from which the day's digest is sent.
    #[serde(default = "default_digest_hour")]
    pub digest_hour: u32,
}

fn default_digest_hour() -> u32 {
    7
}

fn default_max_per_sender() -> u32 {
    5
}
fn default_retry_initial_secs() -> u64 {
    30
}
fn default_retry_max_secs() -> u64 {
    3600
}
fn default_smtp_timeout_secs() -> u64 {
    30
}

impl SmtpConfig {
    /// The port, defaulted from the TLS mode.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
            TlsMode::PlainLoopback => 25,
        })
    }

    /// The settings in one line for `check-config` (no secret).
    pub fn describe(&self) -> String {
        let auth = match (self.auth, &self.user) {
            (SmtpAuth::None, _) => "no authentication".to_string(),
            (SmtpAuth::Password, user) => format!("password as {}", user.as_deref().unwrap_or("?")),
            (SmtpAuth::Xoauth2, user) => format!("XOAUTH2 as {}", user.as_deref().unwrap_or("?")),
        };
        format!(
            "{}:{} ({}), {auth}, templates {}, at most {} a day per sender{}",
            self.host,
            self.port(),
            self.tls,
            self.templates
                .as_ref()
                .map_or_else(|| "built in".to_string(), |d| d.display().to_string()),
            self.max_per_sender_per_day,
            if self.digest_to.is_empty() {
                String::new()
            } else {
                format!(", daily digest at {}:00", self.digest_hour)
            }
        )
    }

    /// The retry delays: first and longest.
    pub fn retry(&self) -> (Duration, Duration) {
        (
            Duration::from_secs(self.retry_initial_secs),
            Duration::from_secs(self.retry_max_secs),
        )
    }

    /// Where the secret comes from (`None` for `auth = "none"`). Only valid on a config without problems.
    pub fn secret_source(&self) -> anyhow::Result<Option<SecretSource>> {
        Ok(
            match (
                self.auth,
                &self.secret_env,
                &self.secret_file,
                &self.token_command,
            ) {
                (SmtpAuth::None, None, None, None) => None,
                (SmtpAuth::Password, Some(var), None, None) => Some(SecretSource::Env(var.clone())),
                (SmtpAuth::Password, None, Some(file), None) => {
                    Some(SecretSource::File(file.clone()))
                }
                (SmtpAuth::Xoauth2, None, None, Some(command)) => {
                    Some(SecretSource::Command(command.clone()))
                }
                _ => anyhow::bail!("[smtp]: the secret settings do not match its auth method"),
            },
        )
    }

    /// The From address of each configured mailbox, by mailbox name (a mailbox without one is left out,
    /// and is a problem of the config).
    pub fn from_addresses(&self, config: &Config) -> BTreeMap<String, Address> {
        config
            .mailboxes
            .iter()
            .filter_map(|mailbox| {
                let text = self.from.get(&mailbox.name).unwrap_or(&mailbox.user);
                text.parse::<Address>()
                    .ok()
                    .map(|address| (mailbox.name.clone(), address))
            })
            .collect()
    }

    /// The council's own addresses (every From address and mailbox login that is an address), lower case.
    pub fn own_addresses(&self, config: &Config) -> BTreeSet<String> {
        self.from_addresses(config)
            .values()
            .map(|a| a.to_string().to_lowercase())
            .chain(
                config
                    .mailboxes
                    .iter()
                    .filter(|m| m.user.contains('@'))
                    .map(|m| m.user.to_lowercase()),
            )
            .collect()
    }

    /// Every problem of the section (`(field, message)`).
    pub fn problems(&self, config: &Config, checks: Checks) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut problem = |field: &str, message: String| out.push((field.to_string(), message));
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
        let secrets = [
            self.secret_env.is_some(),
            self.secret_file.is_some(),
            self.token_command.is_some(),
        ];
        let wanted = match self.auth {
            SmtpAuth::Password => "exactly one of `secret_env` and `secret_file`",
            SmtpAuth::Xoauth2 => "`token_command` (and no `secret_env`/`secret_file`)",
            SmtpAuth::None => "no `secret_env`, `secret_file` or `token_command`",
        };
        let fits = match self.auth {
            SmtpAuth::Password => {
                secrets == [true, false, false] || secrets == [false, true, false]
            }
            SmtpAuth::Xoauth2 => secrets == [false, false, true],
            SmtpAuth::None => secrets == [false, false, false],
        };
        if !fits {
            problem("auth", format!("this auth method takes {wanted}"));
        }
        match (&self.user, self.auth) {
            (None, SmtpAuth::Password | SmtpAuth::Xoauth2) => {
                problem("user", "give the login name".into())
            }
            (Some(_), SmtpAuth::None) => problem("user", "`auth = \"none\"` takes no user".into()),
            _ => {}
        }
        if self
            .token_command
            .as_ref()
            .is_some_and(|c| c.first().is_none_or(String::is_empty))
        {
            problem(
                "token_command",
                "is empty: give the program and its arguments".into(),
            );
        }
        for name in self.from.keys() {
            if !config.mailboxes.iter().any(|m| &m.name == name) {
                problem("from", format!("`{name}` is not a configured mailbox"));
            }
        }
        for mailbox in &config.mailboxes {
            let text = self.from.get(&mailbox.name).unwrap_or(&mailbox.user);
            if text.parse::<Address>().is_err() {
                problem(
                    "from",
                    format!(
                        "mailbox `{}` has no From address (`{text}` is not an address): add `{} = \"feedback@council.example\"` under `[smtp.from]`",
                        mailbox.name, mailbox.name
                    ),
                );
            }
        }
        for (name, to) in &self.digest_to {
            if !config.mailboxes.iter().any(|m| &m.name == name) {
                problem("digest_to", format!("`{name}` is not a configured mailbox"));
            }
            if to.parse::<Address>().is_err() {
                problem("digest_to", format!("`{to}` is not an address"));
            } else if config
                .mailboxes
                .iter()
                .any(|m| m.user.eq_ignore_ascii_case(to))
            {
                problem(
                    "digest_to",
                    format!(
                        "`{to}` is a watched mailbox: its digest would become a case; give the team's own address"
                    ),
                );
            }
        }
        if self.digest_hour > 23 {
            problem(
                "digest_hour",
                format!("{} is not an hour (0 to 23)", self.digest_hour),
            );
        }
        for domain in &self.own_domains {
            if domain.is_empty() || domain.contains(['@', ' ']) {
                problem("own_domains", format!("`{domain}` is not a domain"));
            }
        }
        if self.max_per_sender_per_day == 0 {
            problem(
                "max_per_sender_per_day",
                "must be more than 0 (remove `[smtp]` to send nothing)".into(),
            );
        }
        if self.retry_initial_secs == 0 || self.retry_max_secs < self.retry_initial_secs {
            problem(
                "retry_initial_secs",
                "must be more than 0 and not above `retry_max_secs`".into(),
            );
        }
        if self.timeout_secs == 0 {
            problem("timeout_secs", "must be more than 0".into());
        }
        if checks == Checks::Environment {
            if let Some(file) = &self.ca_file
                && let Err(err) = crate::imap::load_ca_file(file)
            {
                problem("ca_file", format!("{err:#}"));
            }
            if let Err(err) = crate::templates::Templates::load(self.templates.as_deref()) {
                problem("templates", format!("{err:#}"));
            }
            match self.secret_source() {
                Ok(Some(SecretSource::Env(var)))
                    if std::env::var_os(&var).is_none_or(|v| v.is_empty()) =>
                {
                    problem(
                        "secret_env",
                        format!("the environment variable `{var}` is not set or empty"),
                    );
                }
                Ok(Some(SecretSource::File(path)))
                    if std::fs::read_to_string(&path).map_or(true, |t| t.trim().is_empty()) =>
                {
                    problem(
                        "secret_file",
                        format!("cannot read `{}`, or it is empty", path.display()),
                    );
                }
                _ => {}
            }
        }
        out
    }

    /// An SMTP transport for one pass of the sender (the secret is read afresh, so a rotated password
    /// or a new token is picked up).
    pub async fn transport(&self) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let timeout = Duration::from_secs(self.timeout_secs);
        let server_name = self
            .tls_server_name
            .clone()
            .unwrap_or_else(|| self.host.clone());
        let tls = || -> anyhow::Result<TlsParameters> {
            let mut builder = TlsParameters::builder(server_name.clone());
            if let Some(file) = &self.ca_file {
                builder = builder.certificate_store(CertificateStore::None);
                for der in crate::imap::load_ca_file(file)? {
                    let cert = Certificate::from_der(der.to_vec())
                        .with_context(|| format!("a certificate in {}", file.display()))?;
                    builder = builder.add_root_certificate(cert);
                }
            }
            builder.build_rustls().context("setting up TLS for SMTP")
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port())
            .timeout(Some(timeout))
            .tls(match self.tls {
                TlsMode::Implicit => Tls::Wrapper(tls()?),
                TlsMode::Starttls => Tls::Required(tls()?),
                TlsMode::PlainLoopback => Tls::None,
            });
        if let Some(name) = &self.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        if let Some(source) = self.secret_source()? {
            let secret = source.resolve(timeout).await?;
            let user = self.user.clone().unwrap_or_default();
            builder = builder
                .credentials(Credentials::new(user, secret.expose().to_string()))
                .authentication(match self.auth {
                    SmtpAuth::Xoauth2 => vec![Mechanism::Xoauth2],
                    SmtpAuth::Password | SmtpAuth::None => {
                        vec![Mechanism::Plain, Mechanism::Login]
                    }
                });
        }
        Ok(builder.build())
    }
}

/// How an SMTP attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The server accepted the message.
    Accepted,
    /// The server refused it for good (5xx): do not retry.
    Permanent(String),
    /// Anything else (connection refused, timeout, 4xx): retry later.
    Temporary(String),
}

/// Sends one message and sorts the outcome.
pub async fn deliver(transport: &AsyncSmtpTransport<Tokio1Executor>, message: Message) -> Delivery {
    match transport.send(message).await {
        Ok(_) => Delivery::Accepted,
        Err(err) if err.is_permanent() => Delivery::Permanent(format!("{err:#}")),
        Err(err) => Delivery::Temporary(format!("{err:#}")),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Checks, Config};

    const MAILBOXES: &str = r#"
store = "/tmp/store"
[[mailbox]]
name = "county-hall"
host = "127.0.0.1"
tls = "plain-loopback"
user = "county.hall@kent.example"
secret_env = "PATH"
[[mailbox]]
name = "adults"
host = "127.0.0.1"
tls = "plain-loopback"
user = "adults-login"
secret_env = "PATH"
"#;

    fn problems(smtp: &str) -> String {
        let source = format!("{MAILBOXES}[smtp]\n{smtp}");
        match Config::parse(&source, None, Checks::SyntaxOnly) {
            Ok(_) => String::new(),
            Err(problems) => problems
                .iter()
                .map(|(place, message)| format!("{place}: {message}\n"))
                .collect(),
        }
    }

    #[test]
    fn every_smtp_problem_is_listed() {
        let found = problems(
            "host = \"smtp.kent.example\"\ntls = \"plain-loopback\"\nauth = \"password\"\n\
             digest_to = { county-hall = \"county.hall@kent.example\", nowhere = \"x@y.example\" }\n\
             digest_hour = 24\nmax_per_sender_per_day = 0\nfrom = { ghost = \"a@b.example\" }\n",
        );
        for needle in [
            "smtp.tls: `plain-loopback` is only allowed to a loopback host",
            "smtp.auth: this auth method takes exactly one of `secret_env` and `secret_file`",
            "smtp.user: give the login name",
            "smtp.from: `ghost` is not a configured mailbox",
            "smtp.from: mailbox `adults` has no From address",
            "smtp.digest_to: `nowhere` is not a configured mailbox",
            "smtp.digest_to: `county.hall@kent.example` is a watched mailbox",
            "smtp.digest_hour: 24 is not an hour",
            "smtp.max_per_sender_per_day: must be more than 0",
        ] {
            assert!(found.contains(needle), "missing {needle:?} in\n{found}");
        }
    }

    #[test]
    fn a_good_section_loads_with_defaults() {
        let found = problems(
            "host = \"smtp.kent.example\"\ntls = \"starttls\"\nuser = \"county.hall@kent.example\"\n\
             secret_env = \"PATH\"\nfrom = { adults = \"adults@kent.example\" }\n",
        );
        assert_eq!(found, "");
        let source = format!(
            "{MAILBOXES}[smtp]\nhost = \"smtp.kent.example\"\ntls = \"implicit\"\nauth = \"none\"\nfrom = {{ adults = \"adults@kent.example\" }}\n"
        );
        let config = Config::parse(&source, None, Checks::SyntaxOnly).unwrap();
        let smtp = config.smtp.as_ref().unwrap();
        assert_eq!(smtp.port(), 465);
        assert_eq!(smtp.max_per_sender_per_day, 5);
        assert!(smtp.secret_source().unwrap().is_none());
        let from = smtp.from_addresses(&config);
        assert_eq!(from["adults"].to_string(), "adults@kent.example");
        assert_eq!(from["county-hall"].to_string(), "county.hall@kent.example");
        assert!(smtp.own_addresses(&config).contains("adults@kent.example"));
    }
}

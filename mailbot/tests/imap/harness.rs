//! Test helpers: a private Dovecot + Postfix per test (scripts/mailserver), IMAP and SMTP clients to seed
//! mail, configs, and the `mailbot` binary.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mailbot::config::{Checks, Config};
use mailbot::store::Store;

pub const PASSWORD: &str = "Pw-7q2ZrX";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mailserver")
}

/// Four ports nobody listens on now (held together so they differ).
fn free_ports() -> [u16; 4] {
    let listeners: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    [ports[0], ports[1], ports[2], ports[3]]
}

/// A running test mail server, stopped (and its directory removed) when dropped, also on failure.
pub struct MailServer {
    pub env: BTreeMap<String, String>,
    dir: tempfile::TempDir,
}

impl MailServer {
    pub fn start() -> MailServer {
        // Short path: Dovecot's unix sockets live below it.
        let dir = tempfile::Builder::new()
            .prefix("mbt")
            .tempdir_in("/tmp")
            .unwrap();
        let [imap, imaps, smtp, submission] = free_ports();
        let mut env = BTreeMap::new();
        env.insert(
            "MAILSERVER_DIR".to_string(),
            dir.path().display().to_string(),
        );
        env.insert("MAILSERVER_IMAP_PORT".to_string(), imap.to_string());
        env.insert("MAILSERVER_IMAPS_PORT".to_string(), imaps.to_string());
        env.insert("MAILSERVER_SMTP_PORT".to_string(), smtp.to_string());
        env.insert(
            "MAILSERVER_SUBMISSION_PORT".to_string(),
            submission.to_string(),
        );
        env.insert("MAILSERVER_PASSWORD".to_string(), PASSWORD.to_string());
        let server = MailServer { env, dir };
        server.run_script("start");
        server
    }

    fn run_script(&self, command: &str) {
        let output = Command::new(script())
            .arg(command)
            .envs(&self.env)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "scripts/mailserver {command} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn stop(&self) {
        self.run_script("stop");
    }

    pub fn restart(&self) {
        self.run_script("start");
    }

    /// Lets Dovecot accept XOAUTH2, the token checked as the user's password (Dovecot hands the token to
    /// its passdb): enough to test the client side of XOAUTH2 without an OAuth2 server.
    pub fn enable_xoauth2(&self) {
        let conf = self.dir.path().join("dovecot/dovecot.conf");
        let text = std::fs::read_to_string(&conf).unwrap();
        assert!(text.contains("auth_mechanisms = plain login\n"));
        std::fs::write(
            &conf,
            text.replace(
                "auth_mechanisms = plain login\n",
                "auth_mechanisms = plain login xoauth2\n",
            ),
        )
        .unwrap();
        let pid = std::fs::read_to_string(self.dir.path().join("run/master.pid")).unwrap();
        assert!(
            Command::new("kill")
                .arg("-HUP")
                .arg(pid.trim())
                .status()
                .unwrap()
                .success()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    pub fn port(&self, name: &str) -> u16 {
        self.env[&format!("MAILSERVER_{name}_PORT")]
            .parse()
            .unwrap()
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ssl/ca.crt")
    }

    /// The Maildir of a user (created, owned by vmail, if missing).
    pub fn maildir(&self, user: &str) -> PathBuf {
        let maildir = self.dir.path().join("mail").join(user).join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let status = Command::new("chown")
            .arg("-R")
            .arg("vmail:vmail")
            .arg(self.dir.path().join("mail").join(user))
            .status()
            .unwrap();
        assert!(status.success());
        maildir
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .envs(&self.env)
            .stdin(Stdio::null())
            .output();
    }
}

/// A test's own directory: config, secret file, store.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("mbw")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::write(dir.path().join("secret"), format!("{PASSWORD}\n")).unwrap();
        Workspace { dir }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn secret_path(&self) -> PathBuf {
        self.dir.path().join("secret")
    }

    /// Writes a config with the given `[[mailbox]]` bodies (each without the secret line) and extra
    /// top-level lines; returns its path.
    pub fn config(&self, top: &str, mailboxes: &[String]) -> PathBuf {
        let mut text = format!("store = \"{}\"\n{top}\n", self.store_path().display());
        for mailbox in mailboxes {
            text.push_str(&format!(
                "\n[[mailbox]]\nsecret_file = \"{}\"\n{mailbox}\n",
                self.secret_path().display()
            ));
        }
        let path = self.dir.path().join("mailbot.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn open_store(&self) -> Store {
        Store::open(self.store_path()).unwrap()
    }
}

/// A plain-loopback `[[mailbox]]` body for `user` (`county.hall` → `county.hall@kent.example`; a full
/// address as it is).
pub fn plain_mailbox(server: &MailServer, name: &str, user: &str, extra: &str) -> String {
    let user = if user.contains('@') {
        user.to_string()
    } else {
        format!("{user}@kent.example")
    };
    format!(
        "name = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain-loopback\"\nuser = \"{user}\"\n{extra}",
        server.port("IMAP")
    )
}

/// An IMAP session for seeding and checking, through mailbot's own client (plain, on loopback).
pub fn with_imap<T>(
    server: &MailServer,
    user: &str,
    f: impl AsyncFnOnce(&mut mailbot::imap::Session) -> T,
) -> T {
    let workspace = Workspace::new();
    let path = workspace.config("", &[plain_mailbox(server, "seed", user, "")]);
    let config = Config::load(&path, None, Checks::Environment).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut session = mailbot::imap::connect(&config.mailboxes[0], Duration::from_secs(30))
            .await
            .unwrap();
        let out = f(&mut session).await;
        let _ = session.logout().await;
        out
    })
}

/// APPENDs messages to a folder (creating it if needed).
pub fn append(server: &MailServer, user: &str, folder: &str, messages: &[Vec<u8>]) {
    with_imap(server, user, async |session| {
        if folder != "INBOX" {
            let _ = session.create(folder).await;
        }
        for message in messages {
            session.append(folder, None, None, message).await.unwrap();
        }
    });
}

/// (messages in the folder, messages with the keyword).
pub fn count(server: &MailServer, user: &str, folder: &str, keyword: &str) -> (usize, usize) {
    with_imap(server, user, async |session| {
        mailbot::imap::count_flagged(session, folder, keyword, Duration::from_secs(30))
            .await
            .unwrap()
    })
}

/// A small resident's email, CRLF line endings.
pub fn email(tag: &str, index: usize, subject: &str, body: &str) -> Vec<u8> {
    email_with(tag, index, subject, body, "")
}

pub fn email_with(
    tag: &str,
    index: usize,
    subject: &str,
    body: &str,
    extra_headers: &str,
) -> Vec<u8> {
    format!(
        "From: Alice Resident <alice@residents.example>\r\nTo: county.hall@kent.example\r\nSubject: {subject}\r\n\
         Date: Mon, 16 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{tag}-{index}@residents.example>\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A complaint of about 2 KB with a distinct Message-ID.
pub fn complaint(tag: &str, index: usize) -> Vec<u8> {
    let body = format!(
        "I want to complain about message {index}. The pothole outside number {index} has been reported three times \
         and nobody has come to fix it. {}\r\nRegards, Alice",
        "It damaged my car and I am very unhappy with how this has been handled. ".repeat(22)
    );
    email(tag, index, &format!("Complaint {index}"), &body)
}

/// Sends one message through Postfix's SMTP port.
pub fn smtp_send(server: &MailServer, from: &str, to: &str, message: &[u8]) {
    let stream = TcpStream::connect(("127.0.0.1", server.port("SMTP"))).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let expect = |code: &str, reader: &mut BufReader<TcpStream>| loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(
            line.starts_with(code),
            "SMTP: expected {code}, got {line:?}"
        );
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    };
    expect("220", &mut reader);
    for (command, code) in [
        ("EHLO test.example".to_string(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        expect(code, &mut reader);
    }
    let text = String::from_utf8_lossy(message).replace("\r\n.", "\r\n..");
    writer.write_all(text.as_bytes()).unwrap();
    if !text.ends_with("\r\n") {
        writer.write_all(b"\r\n").unwrap();
    }
    writer.write_all(b".\r\n").unwrap();
    expect("250", &mut reader);
    writer.write_all(b"QUIT\r\n").unwrap();
}

pub fn mailbot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailbot"));
    command.env("RUST_LOG", "info").stdin(Stdio::null());
    command
}

/// Runs `mailbot ARGS` to the end.
pub fn run_mailbot(args: &[&str]) -> Output {
    mailbot().args(args).output().unwrap()
}

/// A running `mailbot`, killed if the test fails before it ends it.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn spawn_mailbot(args: &[&str], log: &Path) -> Daemon {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Daemon(
        mailbot()
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// SIGTERM, then wait (SIGKILL after 10 s).
pub fn terminate(daemon: &mut Daemon) {
    let child = &mut daemon.0;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `check` until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes messages straight into a Maildir (fast seeding for big backlogs).
pub fn seed_maildir(server: &MailServer, user: &str, messages: impl IntoIterator<Item = Vec<u8>>) {
    let maildir = server.maildir(&format!("{user}@kent.example"));
    for (index, message) in messages.into_iter().enumerate() {
        let name = format!("1763000000.M{index}P1.seed,S={}:2,", message.len());
        std::fs::write(maildir.join("cur").join(name), message).unwrap();
    }
    let status = Command::new("chown")
        .arg("-R")
        .arg("vmail:vmail")
        .arg(&maildir)
        .status()
        .unwrap();
    assert!(status.success());
}

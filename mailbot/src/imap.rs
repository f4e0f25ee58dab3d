//! One IMAP session for one configured mailbox: connect (implicit TLS, STARTTLS, or plain on loopback),
//! log in (LOGIN or XOAUTH2), select, fetch what is not yet processed, hand each batch to the ingestor,
//! mark the batch on the server, and wait for more with IDLE (or by polling).
//!
//! The session is passed by value and only returned on success: any error drops the connection and the
//! daemon reconnects (see [`crate::daemon`]).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_imap::types::{Fetch, UnsolicitedResponse};
use futures::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::{AuthMethod, Config, MailboxConfig, ProcessedAction, SecretSource, TlsMode};
use crate::ingest::{Ingestor, Outcome, RawMessage, ReadMessage};
use crate::metrics::Metrics;
use crate::store::Cursor;

/// The byte stream under a session: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

/// A logged-in IMAP session.
pub type Session = async_imap::Session<Box<dyn Io>>;

/// Reads a PEM file of CA certificates (at least one).
pub fn load_ca_file(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read the CA file `{}`", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("the CA file `{}` is not valid PEM", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("the CA file `{}` holds no certificate", path.display());
    }
    Ok(certs)
}

/// The system's trusted CAs: `SSL_CERT_FILE`, else the usual bundle paths.
fn system_roots() -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let candidates: Vec<std::path::PathBuf> = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
            ]
            .into_iter()
            .map(std::path::PathBuf::from),
        )
        .collect();
    for path in &candidates {
        if path.exists() {
            return load_ca_file(path);
        }
    }
    anyhow::bail!(
        "no system CA bundle found (tried {candidates:?}): set `ca_file` or SSL_CERT_FILE"
    )
}

fn tls_connector(mailbox: &MailboxConfig) -> anyhow::Result<tokio_rustls::TlsConnector> {
    let certs = match &mailbox.ca_file {
        Some(path) => load_ca_file(path)?,
        None => system_roots()?,
    };
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        anyhow::bail!("no usable CA certificate to trust");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn tls_wrap(mailbox: &MailboxConfig, tcp: TcpStream) -> anyhow::Result<Box<dyn Io>> {
    let connector = tls_connector(mailbox)?;
    let name = ServerName::try_from(mailbox.server_name().to_string())
        .with_context(|| format!("`{}` is not a valid TLS server name", mailbox.server_name()))?;
    let tls = connector
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS handshake with {}", mailbox.host))?;
    Ok(Box::new(tls))
}

async fn read_greeting<T: Io>(client: &mut async_imap::Client<T>) -> anyhow::Result<()> {
    use async_imap::imap_proto::{Response, Status};
    let greeting = client
        .read_response()
        .await
        .context("reading the server greeting")?
        .context("the server closed the connection before its greeting")?;
    if let Response::Data {
        status: Status::Bye,
        ..
    } = greeting.parsed()
    {
        anyhow::bail!("the server refused the connection (BYE in its greeting)");
    }
    Ok(())
}

/// XOAUTH2 (RFC 7628 style, as Microsoft and Google use it): the first response carries the token; an
/// error challenge gets an empty response so the server can finish with NO.
struct XOAuth2 {
    initial: Option<String>,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        self.initial.take().unwrap_or_default()
    }
}

/// The XOAUTH2 initial client response for `user` and `token`.
pub fn xoauth2_response(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// Connects and logs in. The secret is read here, used once and dropped.
pub async fn connect(mailbox: &MailboxConfig, timeout: Duration) -> anyhow::Result<Session> {
    let address = format!("{}:{}", mailbox.host, mailbox.port());
    let tcp = tokio::time::timeout(
        timeout,
        TcpStream::connect((mailbox.host.as_str(), mailbox.port())),
    )
    .await
    .with_context(|| format!("connecting to {address}: timed out"))?
    .with_context(|| format!("connecting to {address}"))?;
    tcp.set_nodelay(true).context("setting TCP_NODELAY")?;
    let setup = async {
        let client = match mailbox.tls {
            TlsMode::Implicit => {
                let mut client = async_imap::Client::new(tls_wrap(mailbox, tcp).await?);
                read_greeting(&mut client).await?;
                client
            }
            TlsMode::Starttls => {
                let mut plain = async_imap::Client::new(tcp);
                read_greeting(&mut plain).await?;
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .context("STARTTLS")?;
                async_imap::Client::new(tls_wrap(mailbox, plain.into_inner()).await?)
            }
            TlsMode::PlainLoopback => {
                let mut client = async_imap::Client::new(Box::new(tcp) as Box<dyn Io>);
                read_greeting(&mut client).await?;
                client
            }
        };
        let source = mailbox.secret_source()?;
        let secret = source
            .resolve(timeout)
            .await
            .with_context(|| format!("reading the secret of mailbox `{}`", mailbox.name))?;
        let session = match mailbox.auth {
            AuthMethod::Login => client
                .login(&mailbox.user, secret.expose())
                .await
                .map_err(|(err, _)| err),
            AuthMethod::Xoauth2 => {
                let initial = Some(xoauth2_response(&mailbox.user, secret.expose()));
                client
                    .authenticate("XOAUTH2", XOAuth2 { initial })
                    .await
                    .map_err(|(err, _)| err)
            }
        }
        .with_context(|| format!("logging in to {address} as `{}`", mailbox.user))?;
        anyhow::Ok(session)
    };
    let session = tokio::time::timeout(timeout, setup)
        .await
        .with_context(|| format!("setting up the session with {address}: timed out"))??;
    Ok(session)
}

/// What the session learnt when it selected the folder.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The server announces new mail while idle.
    pub idle: bool,
    /// The server has UID MOVE.
    pub moves: bool,
}

/// Everything a mailbox task needs, shared by its sessions.
pub struct MailboxContext {
    /// The mailbox's configuration.
    pub mailbox: MailboxConfig,
    /// The global settings (batch size, timeouts).
    pub config: Arc<Config>,
    /// The ingestor, shared by every mailbox task. Mailboxes ingest in parallel: the store checks for
    /// duplicates inside the transaction that writes, so two tasks racing on one message make one case.
    pub ingestor: Arc<Ingestor>,
    /// Counts what is ingested (and the daemon's reconnects).
    pub metrics: Arc<Metrics>,
}

impl MailboxContext {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs)
    }
}

async fn with_timeout<T>(
    timeout: Duration,
    what: &str,
    fut: impl Future<Output = async_imap::error::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(timeout, fut)
        .await
        .with_context(|| format!("{what}: timed out after {timeout:?}"))?
        .with_context(|| what.to_string())
}

/// Selects the folder and checks its UIDVALIDITY against the store's cursor (resetting the cursor when
/// it changed: every UID the store knows for the folder now means nothing).
pub async fn select(session: &mut Session, context: &MailboxContext) -> anyhow::Result<Selected> {
    let timeout = context.timeout();
    let capabilities = with_timeout(timeout, "CAPABILITY", session.capabilities()).await?;
    let idle = capabilities.has_str("IDLE");
    let moves = capabilities.has_str("MOVE");
    let mailbox = &context.mailbox;
    ensure_move_target(session, context).await;
    let selected = with_timeout(
        timeout,
        &format!("SELECT {}", mailbox.folder),
        session.select(&mailbox.folder),
    )
    .await?;
    let uidvalidity = selected
        .uid_validity
        .with_context(|| format!("the server gave no UIDVALIDITY for `{}`", mailbox.folder))?;
    if mailbox.processed == ProcessedAction::Flag
        && !selected.permanent_flags.iter().any(|flag| match flag {
            async_imap::types::Flag::MayCreate => true,
            async_imap::types::Flag::Custom(name) => name.as_ref() == mailbox.keyword,
            _ => false,
        })
    {
        // The flag would not stick: only the cursor would stop re-reading (duplicates are still caught).
        warn!(mailbox = %mailbox.name, keyword = %mailbox.keyword, "the server does not keep this keyword on `{}`: use `processed = \"move\"`", mailbox.folder);
    }
    let id = mailbox.id();
    let store = context.ingestor.store();
    let fresh = Cursor {
        uidvalidity,
        last_uid: 0,
    };
    match store.cursor(&id).context("reading the mailbox cursor")? {
        Some(cursor) if cursor.uidvalidity == uidvalidity => {}
        Some(cursor) => {
            warn!(mailbox = %mailbox.name, old = cursor.uidvalidity, new = uidvalidity, last_uid = cursor.last_uid, "UIDVALIDITY changed: starting the folder over (duplicates are recognised by Message-ID)");
            store
                .set_cursor(&id, fresh)
                .context("resetting the mailbox cursor")?;
        }
        None => store
            .set_cursor(&id, fresh)
            .context("creating the mailbox cursor")?,
    }
    Ok(Selected {
        uidvalidity,
        idle,
        moves,
    })
}

/// Creates the `move_to` folder if the mailbox moves processed mail. Creating a folder that exists fails
/// harmlessly; a real problem shows at the first move.
async fn ensure_move_target(session: &mut Session, context: &MailboxContext) {
    let mailbox = &context.mailbox;
    if mailbox.processed == ProcessedAction::Move
        && let Some(target) = &mailbox.move_to
        && let Err(err) = with_timeout(context.timeout(), "CREATE", session.create(target)).await
    {
        debug!(mailbox = %mailbox.name, "CREATE {target}: {err:#}");
    }
}

/// A compact IMAP sequence set (`1:5,7,9:10`) for sorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut iter = uids.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while let Some(&next) = iter.peek() {
            if Some(next) == end.checked_add(1) {
                end = next;
                iter.next();
            } else {
                break;
            }
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
    }
    out
}

async fn search(session: &mut Session, timeout: Duration, query: &str) -> anyhow::Result<Vec<u32>> {
    let found = with_timeout(
        timeout,
        &format!("UID SEARCH {query}"),
        session.uid_search(query),
    )
    .await?;
    let mut uids: Vec<u32> = found.into_iter().collect();
    uids.sort_unstable();
    Ok(uids)
}

/// UIDs in the folder that are not processed yet, above the cursor, in order.
async fn unprocessed(
    session: &mut Session,
    context: &MailboxContext,
    after: u32,
) -> anyhow::Result<Vec<u32>> {
    let first = after.saturating_add(1);
    let query = match context.mailbox.processed {
        ProcessedAction::Flag => format!("UID {first}:* UNKEYWORD {}", context.mailbox.keyword),
        ProcessedAction::Move => format!("UID {first}:*"),
    };
    let mut uids = search(session, context.timeout(), &query).await?;
    // `n:*` always matches the highest UID, even below n.
    uids.retain(|&uid| uid > after);
    Ok(uids)
}

/// Fetches one batch. A message the server does not return (expunged meanwhile) is left out.
async fn fetch_batch(
    session: &mut Session,
    context: &MailboxContext,
    mailbox_id: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> anyhow::Result<Vec<RawMessage>> {
    let timeout = context.timeout();
    let set = uid_set(uids);
    // A message over the limit is fetched only up to one byte past it: enough for the ingestor to
    // quarantine it as too large without holding (say) 30 MB per message in a batch.
    let limit = context.config.max_message_bytes.saturating_add(1);
    let query = format!("(UID INTERNALDATE BODY.PEEK[]<0.{limit}>)");
    let mut stream = with_timeout(timeout, "UID FETCH", session.uid_fetch(&set, &query)).await?;
    let mut messages = Vec::with_capacity(uids.len());
    loop {
        let next = tokio::time::timeout(timeout, stream.next())
            .await
            .context("UID FETCH: timed out waiting for the server")?;
        let Some(fetch) = next else { break };
        let fetch: Fetch = fetch.context("UID FETCH")?;
        let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) else {
            // An unsolicited FETCH (a flag change) rides along; it is not one of ours.
            continue;
        };
        if uids.binary_search(&uid).is_err() {
            continue;
        }
        messages.push(RawMessage {
            mailbox: mailbox_id.to_string(),
            uidvalidity,
            uid,
            bytes: body.to_vec(),
            internal_date: fetch.internal_date(),
            route_hint: Some(context.mailbox.effective_route_hint()),
        });
    }
    Ok(messages)
}

/// Marks a batch processed on the server. INVARIANT: called only after its store stage returned Ok for
/// exactly these UIDs, so the cases are durable before the server forgets the messages are new.
async fn mark_processed(
    session: &mut Session,
    context: &MailboxContext,
    selected: &Selected,
    uids: &[u32],
) -> anyhow::Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    let timeout = context.timeout();
    let set = uid_set(uids);
    match context.mailbox.processed {
        ProcessedAction::Flag => {
            let query = format!("+FLAGS.SILENT ({})", context.mailbox.keyword);
            let stream =
                with_timeout(timeout, "UID STORE", session.uid_store(&set, &query)).await?;
            let results: Vec<_> = tokio::time::timeout(timeout, stream.collect::<Vec<_>>())
                .await
                .context("UID STORE: timed out")?;
            for result in results {
                result.context("UID STORE")?;
            }
        }
        ProcessedAction::Move => {
            let target = context
                .mailbox
                .move_to
                .as_deref()
                .context("no `move_to` folder")?;
            if selected.moves {
                with_timeout(timeout, "UID MOVE", session.uid_mv(&set, target)).await?;
            } else {
                // Without MOVE: copy, then mark the originals deleted and expunge just them.
                with_timeout(timeout, "UID COPY", session.uid_copy(&set, target)).await?;
                let stream = with_timeout(
                    timeout,
                    "UID STORE",
                    session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)"),
                )
                .await?;
                let results: Vec<_> = tokio::time::timeout(timeout, stream.collect::<Vec<_>>())
                    .await
                    .context("UID STORE: timed out")?;
                for result in results {
                    result.context("UID STORE")?;
                }
                let expunged =
                    with_timeout(timeout, "UID EXPUNGE", session.uid_expunge(&set)).await?;
                let _: Vec<_> = tokio::time::timeout(timeout, expunged.collect::<Vec<_>>())
                    .await
                    .context("UID EXPUNGE: timed out")?;
            }
        }
    }
    Ok(())
}

/// Counts of what a pass did, for logs and `--once`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Messages fetched and ingested.
    pub messages: usize,
    /// New cases.
    pub new_cases: usize,
    /// Replies added to a case.
    pub added: usize,
    /// Escalations.
    pub escalated: usize,
    /// Already stored.
    pub duplicates: usize,
    /// Quarantined.
    pub quarantined: usize,
}

impl Tally {
    /// Counts a batch's outcomes.
    pub fn add(&mut self, outcomes: &[Outcome]) {
        self.messages += outcomes.len();
        for outcome in outcomes {
            match outcome {
                Outcome::NewCase(_) => self.new_cases += 1,
                Outcome::AddedToCase(_) => self.added += 1,
                Outcome::Escalated(_) => self.escalated += 1,
                Outcome::Duplicate(_) => self.duplicates += 1,
                Outcome::Quarantined(_) => self.quarantined += 1,
            }
        }
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: Tally) {
        self.messages += other.messages;
        self.new_cases += other.new_cases;
        self.added += other.added;
        self.escalated += other.escalated;
        self.duplicates += other.duplicates;
        self.quarantined += other.quarantined;
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} messages: {} new cases, {} replies, {} escalations, {} duplicates, {} quarantined",
            self.messages,
            self.new_cases,
            self.added,
            self.escalated,
            self.duplicates,
            self.quarantined
        )
    }
}

/// The store stage's task for one batch, with the UIDs it was fetched for.
type Storing = (
    tokio::task::JoinHandle<anyhow::Result<Vec<Outcome>>>,
    Vec<u32>,
);

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

fn spawn_ingest(
    context: &MailboxContext,
    messages: Vec<RawMessage>,
) -> tokio::task::JoinHandle<anyhow::Result<Vec<Outcome>>> {
    let ingestor = Arc::clone(&context.ingestor);
    let metrics = Arc::clone(&context.metrics);
    tokio::task::spawn_blocking(move || {
        let outcomes = ingestor.ingest_batch(messages, today())?;
        // Every ingested batch passes here (reconcile) or through spawn_store (fetch): count it.
        metrics.record_outcomes(&outcomes);
        Ok(outcomes)
    })
}

/// Below this many messages a batch is read on one thread.
const SPLIT_READS_FROM: usize = 32;

/// The read stage (parse and assess, no store) of one batch, in the background: the batch is split in
/// as many parts as there are cores, each read on the blocking pool (whose threads are reused: a thread
/// per batch would cost a malloc arena each), and the parts joined in order.
fn spawn_read(
    context: &MailboxContext,
    messages: Vec<RawMessage>,
) -> tokio::task::JoinHandle<anyhow::Result<Vec<ReadMessage>>> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let parts = if messages.len() < SPLIT_READS_FROM {
        1
    } else {
        cores
    };
    let per_part = messages.len().div_ceil(parts).max(1);
    let total = messages.len();
    let mut rest = messages.into_iter();
    let mut handles = Vec::with_capacity(parts);
    loop {
        let part: Vec<RawMessage> = rest.by_ref().take(per_part).collect();
        if part.is_empty() {
            break;
        }
        let ingestor = Arc::clone(&context.ingestor);
        handles.push(tokio::task::spawn_blocking(move || {
            ingestor.read_batch(part, today())
        }));
    }
    tokio::spawn(async move {
        let mut read = Vec::with_capacity(total);
        for handle in handles {
            read.extend(handle.await.context("a read task failed")?);
        }
        Ok(read)
    })
}

/// The store stage of one read batch, in the background; its UIDs go with it.
async fn spawn_store(
    context: &MailboxContext,
    reading: tokio::task::JoinHandle<anyhow::Result<Vec<ReadMessage>>>,
) -> anyhow::Result<Storing> {
    let read = reading
        .await
        .context("the read task failed")?
        .context("reading a batch")?;
    let uids: Vec<u32> = read.iter().map(ReadMessage::uid).collect();
    let ingestor = Arc::clone(&context.ingestor);
    let metrics = Arc::clone(&context.metrics);
    let handle = tokio::task::spawn_blocking(move || {
        let outcomes = ingestor.store_batch(read, today())?;
        metrics.record_outcomes(&outcomes);
        Ok(outcomes)
    });
    Ok((handle, uids))
}

async fn join_ingest(
    handle: tokio::task::JoinHandle<anyhow::Result<Vec<Outcome>>>,
) -> anyhow::Result<Vec<Outcome>> {
    handle
        .await
        .context("the ingest task failed")?
        .context("ingesting a batch")
}

/// Fetches and ingests everything not yet processed, batch by batch, until a search finds nothing new.
/// A three-stage pipeline: while batch n+2 is fetched, batch n+1 is parsed and assessed (on every
/// core) and batch n is stored and flushed; so at most three batches are in memory, whatever the
/// backlog. Batches are stored in order, and a batch is marked (and the cursor moved) only once its
/// store stage returned Ok.
pub async fn fetch_new(
    session: &mut Session,
    context: &MailboxContext,
    selected: &Selected,
    cancel: &CancellationToken,
) -> anyhow::Result<Tally> {
    let id = context.mailbox.id();
    let mut tally = Tally::default();
    loop {
        let after = match context
            .ingestor
            .store()
            .cursor(&id)
            .context("reading the mailbox cursor")?
        {
            Some(cursor) if cursor.uidvalidity == selected.uidvalidity => cursor.last_uid,
            _ => 0,
        };
        let uids = unprocessed(session, context, after).await?;
        if uids.is_empty() {
            return Ok(tally);
        }
        let started = Instant::now();
        let mut pass = Tally::default();
        let mut reading = None;
        let mut storing: Option<Storing> = None;
        let result = async {
            let mut chunks = uids.chunks(context.config.batch_size);
            loop {
                let chunk = if cancel.is_cancelled() {
                    None
                } else {
                    chunks.next()
                };
                let messages = match chunk {
                    Some(chunk) => {
                        fetch_batch(session, context, &id, selected.uidvalidity, chunk).await?
                    }
                    None => Vec::new(),
                };
                if chunk.is_none() && reading.is_none() && storing.is_none() {
                    break;
                }
                if let Some((handle, done)) = storing.take() {
                    finish_batch(session, context, selected, &id, handle, &done, &mut pass).await?;
                }
                if let Some(handle) = reading.take() {
                    storing = Some(spawn_store(context, handle).await?);
                }
                if !messages.is_empty() {
                    reading = Some(spawn_read(context, messages));
                }
            }
            anyhow::Ok(())
        }
        .await;
        if let Some((handle, _)) = storing.take() {
            // INVARIANT: never leave a store stage running when the session goes: the next session would
            // ingest the same messages concurrently. Its result is not marked; the next pass sees them as
            // duplicates and marks them then. (A read stage touches no store: it may be dropped.)
            let _ = handle.await;
        }
        result?;
        let seconds = started.elapsed().as_secs_f64();
        info!(mailbox = %context.mailbox.name, rate = format!("{:.0}/s", pass.messages as f64 / seconds.max(1e-9)), "ingested {pass}");
        tally.merge(pass);
        if cancel.is_cancelled() {
            return Ok(tally);
        }
    }
}

async fn finish_batch(
    session: &mut Session,
    context: &MailboxContext,
    selected: &Selected,
    id: &str,
    handle: tokio::task::JoinHandle<anyhow::Result<Vec<Outcome>>>,
    uids: &[u32],
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let outcomes = join_ingest(handle).await?;
    for outcome in &outcomes {
        match outcome {
            Outcome::Quarantined(reason) => {
                warn!(mailbox = %context.mailbox.name, "quarantined a message: {reason}")
            }
            other => debug!(mailbox = %context.mailbox.name, "{other:?}"),
        }
    }
    tally.add(&outcomes);
    mark_processed(session, context, selected, uids).await?;
    if let Some(&last) = uids.iter().max() {
        context
            .ingestor
            .store()
            .set_cursor(
                id,
                Cursor {
                    uidvalidity: selected.uidvalidity,
                    last_uid: last,
                },
            )
            .context("moving the mailbox cursor")?;
    }
    Ok(())
}

/// Re-ingests processed messages (flagged, or moved to `move_to`) that the store does not know: sled's
/// flush does not force the drive's cache, so a power cut can lose cases whose messages were marked.
pub async fn reconcile(session: &mut Session, context: &MailboxContext) -> anyhow::Result<Tally> {
    let timeout = context.timeout();
    let mailbox = &context.mailbox;
    let (folder, query) = match mailbox.processed {
        ProcessedAction::Flag => (
            mailbox.folder.clone(),
            format!("KEYWORD {}", mailbox.keyword),
        ),
        ProcessedAction::Move => (
            mailbox.move_to.clone().context("no `move_to` folder")?,
            "ALL".to_string(),
        ),
    };
    ensure_move_target(session, context).await;
    let selected = with_timeout(
        timeout,
        &format!("SELECT {folder}"),
        session.select(&folder),
    )
    .await?;
    let uidvalidity = selected
        .uid_validity
        .with_context(|| format!("the server gave no UIDVALIDITY for `{folder}`"))?;
    let id = match mailbox.processed {
        ProcessedAction::Flag => mailbox.id(),
        ProcessedAction::Move => format!("{}/{folder}", mailbox.id()),
    };
    let uids = search(session, timeout, &query).await?;
    let ingestor = Arc::clone(&context.ingestor);
    let check_id = id.clone();
    let missing: Vec<u32> = tokio::task::spawn_blocking(move || {
        let mut missing = Vec::new();
        for uid in uids {
            if !ingestor.knows(&check_id, uidvalidity, uid)? {
                missing.push(uid);
            }
        }
        anyhow::Ok(missing)
    })
    .await
    .context("the reconcile check failed")??;
    let mut tally = Tally::default();
    if missing.is_empty() {
        debug!(mailbox = %mailbox.name, "reconcile: the store knows every processed message");
        return Ok(tally);
    }
    warn!(mailbox = %mailbox.name, count = missing.len(), "reconcile: processed messages missing from the store; re-ingesting them");
    for chunk in missing.chunks(context.config.batch_size) {
        let messages = fetch_batch(session, context, &id, uidvalidity, chunk).await?;
        let outcomes = join_ingest(spawn_ingest(context, messages)).await?;
        tally.add(&outcomes);
    }
    info!(mailbox = %mailbox.name, "reconcile: {tally}");
    Ok(tally)
}

/// How a wait for new mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Something may have arrived (or the IDLE or poll interval ran out): fetch again.
    Fetch,
    /// Shutdown was asked for.
    Shutdown,
}

/// Waits for new mail: IDLE up to the configured timeout where the server has it, else sleep for the
/// poll interval. Returns the session for the fresh fetch that must follow.
pub async fn wait_for_mail(
    session: Session,
    context: &MailboxContext,
    selected: &Selected,
    cancel: &CancellationToken,
) -> anyhow::Result<(Session, Wake)> {
    let mut session = session;
    // An EXISTS that arrived during our last commands went to the unsolicited channel, not to IDLE: look
    // there first, or that message would wait for the next IDLE timeout.
    let unsolicited = session.unsolicited_responses.clone();
    let drain_has_news = move || {
        let mut news = false;
        while let Ok(response) = unsolicited.try_recv() {
            news |= matches!(
                response,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            );
        }
        news
    };
    if drain_has_news() {
        return Ok((session, Wake::Fetch));
    }
    if !selected.idle || !context.config.use_idle {
        let interval = Duration::from_secs(context.config.poll_interval_secs);
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = cancel.cancelled() => return Ok((session, Wake::Shutdown)),
        }
        with_timeout(context.timeout(), "NOOP", session.noop()).await?;
        return Ok((session, Wake::Fetch));
    }
    let mut handle = session.idle();
    tokio::time::timeout(context.timeout(), handle.init())
        .await
        .context("IDLE: timed out")?
        .context("IDLE")?;
    let wake = if drain_has_news() {
        Wake::Fetch
    } else {
        let idle_timeout = Duration::from_secs(context.config.idle_timeout_secs);
        let (wait, stop) = handle.wait_with_timeout(idle_timeout);
        // async-imap's timeout restarts with every server keepalive (`* OK Still here`), so it may never
        // fire: bound the whole IDLE too, so it is renewed before the server's 30 minutes in any case.
        let result = tokio::select! {
            result = tokio::time::timeout(idle_timeout, wait) => Some(result),
            () = cancel.cancelled() => None,
        };
        drop(stop);
        match result {
            None => Wake::Shutdown,
            Some(Err(_elapsed)) => {
                debug!(mailbox = %context.mailbox.name, "IDLE renewed after {idle_timeout:?}");
                Wake::Fetch
            }
            Some(Ok(result)) => {
                let response = result.context("IDLE")?;
                debug!(mailbox = %context.mailbox.name, "IDLE ended: {}", idle_kind(&response));
                Wake::Fetch
            }
        }
    };
    let session = tokio::time::timeout(context.timeout(), handle.done())
        .await
        .context("IDLE DONE: timed out")?
        .context("IDLE DONE")?;
    Ok((session, wake))
}

fn idle_kind(response: &async_imap::extensions::idle::IdleResponse) -> &'static str {
    match response {
        async_imap::extensions::idle::IdleResponse::ManualInterrupt => "interrupted",
        async_imap::extensions::idle::IdleResponse::Timeout => "timeout",
        async_imap::extensions::idle::IdleResponse::NewData(_) => "new data",
    }
}

/// A bare `UID FETCH 1:* (BODY.PEEK[])` of a folder, counting messages and bytes: the yardstick the
/// ingestion benchmark compares itself with.
pub async fn bare_fetch(
    mailbox: &MailboxConfig,
    timeout: Duration,
) -> anyhow::Result<(usize, usize, Duration)> {
    let mut session = connect(mailbox, timeout).await?;
    with_timeout(timeout, "SELECT", session.select(&mailbox.folder)).await?;
    let started = Instant::now();
    let mut count = 0usize;
    let mut bytes = 0usize;
    {
        let mut stream = with_timeout(
            timeout,
            "UID FETCH",
            session.uid_fetch("1:*", "(UID BODY.PEEK[])"),
        )
        .await?;
        while let Some(fetch) = stream.next().await {
            let fetch = fetch.context("UID FETCH")?;
            if let Some(body) = fetch.body() {
                count += 1;
                bytes += body.len();
            }
        }
    }
    let elapsed = started.elapsed();
    let _ = session.logout().await;
    Ok((count, bytes, elapsed))
}

/// Counts UIDs per keyword state, for tests and `check` tools: (all, with the keyword).
pub async fn count_flagged(
    session: &mut Session,
    folder: &str,
    keyword: &str,
    timeout: Duration,
) -> anyhow::Result<(usize, usize)> {
    with_timeout(timeout, "SELECT", session.select(folder)).await?;
    let all = search(session, timeout, "ALL").await?.len();
    let flagged = search(session, timeout, &format!("KEYWORD {keyword}"))
        .await?
        .len();
    Ok((all, flagged))
}

/// The display form of a `SecretSource` never carries the secret; kept here so logs of a connection
/// failure can say where the secret came from.
pub fn describe_auth(mailbox: &MailboxConfig) -> String {
    match mailbox.secret_source() {
        Ok(SecretSource::Env(var)) => format!("LOGIN, secret from ${var}"),
        Ok(SecretSource::File(path)) => format!("LOGIN, secret from {}", path.display()),
        Ok(SecretSource::Command(_)) => "XOAUTH2, token from a command".to_string(),
        Err(_) => "misconfigured".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }

    #[test]
    fn xoauth2_response_has_the_sasl_shape() {
        assert_eq!(
            xoauth2_response("a@b", "tok"),
            "user=a@b\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn xoauth2_answers_an_error_challenge_with_nothing() {
        use async_imap::Authenticator;
        let mut auth = XOAuth2 {
            initial: Some("first".into()),
        };
        assert_eq!(auth.process(b""), "first");
        assert_eq!(auth.process(b"{\"status\":\"401\"}"), "");
    }
}

//! The daemon: one task per configured mailbox, each with its own IMAP session, reconnecting on its own.
//!
//! An error in one mailbox drops that mailbox's session and retries it after a jittered exponential
//! backoff; the other mailboxes go on. Shutdown (Ctrl-C, SIGTERM) cancels a token every task watches.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::imap::{self, MailboxContext, Tally, Wake};
use crate::ingest::Ingestor;
use crate::metrics::{MailboxState, Metrics};

/// What the daemon is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Watch the mailboxes until shutdown.
    Run,
    /// Reconcile, ingest what is there, and stop.
    Once,
    /// Only the reconcile pass: re-ingest processed messages the store lacks.
    Reconcile,
}

/// Runs every mailbox in `mode`, counting into `metrics`. In `Run` mode it returns after `cancel` fires;
/// in the other modes when every mailbox is done, with an error if any mailbox failed.
pub async fn run(
    config: Config,
    ingestor: Ingestor,
    mode: Mode,
    cancel: CancellationToken,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Tally> {
    let sender = match mode {
        Mode::Run | Mode::Once => crate::outbox::Sender::new(
            &config,
            ingestor.store().clone(),
            ingestor.policy().clone(),
        )?,
        Mode::Reconcile => None,
    };
    if sender.is_none() && mode != Mode::Reconcile {
        info!("no [smtp] section: acknowledgements stay in the outbox, unsent");
    }
    let (sender, sender_task) = match (mode, sender) {
        (Mode::Run, Some(sender)) => (None, Some(tokio::spawn(sender.run(cancel.clone())))),
        (_, sender) => (sender, None),
    };
    let config = Arc::new(config);
    let ingestor = Arc::new(ingestor);
    let mut tasks = tokio::task::JoinSet::new();
    for mailbox in &config.mailboxes {
        let context = MailboxContext {
            mailbox: mailbox.clone(),
            config: Arc::clone(&config),
            ingestor: Arc::clone(&ingestor),
            metrics: Arc::clone(&metrics),
        };
        let cancel = cancel.clone();
        let name = mailbox.name.clone();
        tasks.spawn(async move {
            let result = match mode {
                Mode::Run => mailbox_loop(&context, &cancel).await,
                Mode::Once | Mode::Reconcile => one_shot(&context, mode, &cancel).await,
            };
            (name, result)
        });
    }
    let mut total = Tally::default();
    let mut failed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(tally))) => total.merge(tally),
            Ok((name, Err(err))) => {
                error!(mailbox = %name, "{err:#}");
                failed.push(name);
            }
            Err(err) => {
                error!("a mailbox task failed: {err}");
                failed.push("(unknown)".into());
            }
        }
    }
    if let Some(task) = sender_task
        && let Err(err) = task.await
    {
        error!("the acknowledgement sender failed: {err}");
    }
    // `--once`: acknowledge what this run ingested (and anything else due) before exiting.
    if let Some(sender) = sender {
        sender.drain().await.context("sending acknowledgements")?;
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "mailbox{} failed: {}",
            if failed.len() == 1 { "" } else { "es" },
            failed.join(", ")
        );
    }
    Ok(total)
}

/// The delay before reconnection attempt `n` (0-based): `initial * 2^n`, capped, times a random factor in
/// [0.5, 1.5) so mailboxes that failed together do not retry together.
pub fn backoff_delay(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let base = initial
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(max);
    base.mul_f64(rand::rng().random_range(0.5..1.5))
}

/// Watches one mailbox until shutdown, reconnecting after every error.
async fn mailbox_loop(
    context: &MailboxContext,
    cancel: &CancellationToken,
) -> anyhow::Result<Tally> {
    let (initial, max) = context.config.backoff();
    let mut attempt = 0u32;
    let mut reconciled = false;
    context
        .metrics
        .set_mailbox_state(&context.mailbox.name, MailboxState::Starting);
    let mut total = Tally::default();
    while !cancel.is_cancelled() {
        let mut healthy = false;
        match session(context, cancel, &mut reconciled, &mut healthy, &mut total).await {
            Ok(()) => break,
            Err(err) => {
                if healthy {
                    attempt = 0;
                }
                let delay = backoff_delay(initial, max, attempt);
                attempt = attempt.saturating_add(1);
                context
                    .metrics
                    .set_mailbox_state(&context.mailbox.name, MailboxState::Retrying);
                warn!(mailbox = %context.mailbox.name, retry_in = ?delay, "session ended: {err:#}");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = cancel.cancelled() => break,
                }
            }
        }
    }
    context
        .metrics
        .set_mailbox_state(&context.mailbox.name, MailboxState::Stopped);
    info!(mailbox = %context.mailbox.name, "stopped; {total}");
    Ok(total)
}

/// One session: connect, reconcile once per process, select, then fetch and wait, until shutdown (Ok) or
/// an error (the session is dropped).
async fn session(
    context: &MailboxContext,
    cancel: &CancellationToken,
    reconciled: &mut bool,
    healthy: &mut bool,
    total: &mut Tally,
) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(context.config.timeout_secs);
    let mailbox = &context.mailbox;
    let mut session = tokio::select! {
        session = imap::connect(mailbox, timeout) => session?,
        () = cancel.cancelled() => return Ok(()),
    };
    info!(mailbox = %mailbox.name, host = %mailbox.host, port = mailbox.port(), tls = %mailbox.tls, auth = %imap::describe_auth(mailbox), "connected");
    context
        .metrics
        .set_mailbox_state(&mailbox.name, MailboxState::Connected);
    if !*reconciled {
        let tally = imap::reconcile(&mut session, context)
            .await
            .context("reconcile")?;
        total.merge(tally);
        *reconciled = true;
    }
    let selected = imap::select(&mut session, context).await?;
    if !selected.idle || !context.config.use_idle {
        info!(mailbox = %mailbox.name, "not using IDLE: polling every {} s", context.config.poll_interval_secs);
    }
    loop {
        let tally = imap::fetch_new(&mut session, context, &selected, cancel).await?;
        total.merge(tally);
        *healthy = true;
        if cancel.is_cancelled() {
            break;
        }
        let (back, wake) = imap::wait_for_mail(session, context, &selected, cancel).await?;
        session = back;
        if wake == Wake::Shutdown {
            break;
        }
    }
    // Best effort: the server drops the connection anyway.
    let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
    Ok(())
}

/// `--once` and `reconcile`: a few attempts, then the result.
async fn one_shot(
    context: &MailboxContext,
    mode: Mode,
    cancel: &CancellationToken,
) -> anyhow::Result<Tally> {
    const ATTEMPTS: u32 = 3;
    let (initial, max) = context.config.backoff();
    let mut attempt = 0;
    loop {
        let result = one_pass(context, mode, cancel).await;
        match result {
            Ok(tally) => {
                info!(mailbox = %context.mailbox.name, "done; {tally}");
                return Ok(tally);
            }
            Err(err) if attempt + 1 < ATTEMPTS && !cancel.is_cancelled() => {
                let delay = backoff_delay(initial, max, attempt);
                warn!(mailbox = %context.mailbox.name, retry_in = ?delay, "{err:#}");
                attempt += 1;
                tokio::time::sleep(delay).await;
            }
            Err(err) => return Err(err),
        }
    }
}

async fn one_pass(
    context: &MailboxContext,
    mode: Mode,
    cancel: &CancellationToken,
) -> anyhow::Result<Tally> {
    let timeout = Duration::from_secs(context.config.timeout_secs);
    let mut session = imap::connect(&context.mailbox, timeout).await?;
    let mut tally = imap::reconcile(&mut session, context)
        .await
        .context("reconcile")?;
    if mode == Mode::Once {
        let selected = imap::select(&mut session, context).await?;
        tally.merge(imap::fetch_new(&mut session, context, &selected, cancel).await?);
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
    Ok(tally)
}

/// Cancels `cancel` on Ctrl-C or SIGTERM.
pub fn cancel_on_signals(cancel: CancellationToken) -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => info!("Ctrl-C: shutting down"),
            _ = term.recv() => info!("SIGTERM: shutting down"),
        }
        cancel.cancel();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for attempt in 0..40 {
            let delay = backoff_delay(initial, max, attempt);
            let base = initial
                .saturating_mul(2u32.saturating_pow(attempt.min(20)))
                .min(max);
            assert!(
                delay >= base.mul_f64(0.5) && delay < base.mul_f64(1.5),
                "{attempt}: {delay:?}"
            );
        }
        assert!(backoff_delay(initial, max, 30) <= Duration::from_secs(3));
    }
}

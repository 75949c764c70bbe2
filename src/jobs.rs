//! Scheduled jobs: the ticker that runs, on every node, the use cases that come due by
//! themselves. Each is one idempotent step over due rows, claimed with a conditional UPDATE,
//! so several nodes may run it at the same moment and each row is handled once. Due times
//! live in the database as UTC instants; tokio-cron-scheduler is only a UTC ticker (it keeps
//! a time-zone job's offset from creation, so DST would shift it).
//!
//! - **no-show release** ([`service::checkin::release_no_shows`]): confirmed bookings not
//!   checked in by start + the resource's `no_show_grace_minutes` become `no_show` (ledger
//!   entry each), and the waitlist of the resource is offered the freed time;
//! - **automatic check-out** ([`service::checkin::auto_check_out`]): a session still open at
//!   the booking's end + the check-out grace is closed as `automatic` at that instant, with
//!   the overstay recorded;
//! - **reminders** ([`service::notify::queue_reminders`]): confirmed bookings starting within
//!   the reminder lead get an in-app notification and, with an SMTP relay configured, an
//!   e-mail through the outbox;
//! - **checkpoints** ([`service::log::scheduled`]): the Merkle log's head is signed when the
//!   log grew and the newest checkpoint is older than `LABINN_CHECKPOINT_MINUTES` (60);
//! - **outbox** ([`service::notify::deliver_webhooks`], [`service::notify::deliver_mail`]):
//!   webhooks of access events and reminder e-mail are delivered, retried with backoff.

use crate::clock::Clock;
use crate::service::{self, Services};
use std::time::Duration;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub no_shows: usize,
    pub checked_out: usize,
    pub reminders: usize,
    pub delivered: usize,
    pub mailed: usize,
    /// Space-days built into the reports' roll-up.
    pub rollup_days: usize,
    /// Checkpoints of the Merkle log signed (0 or 1).
    pub checkpoints: usize,
}

/// One run of every job at `now`. Each job's failure is logged and the others still run.
pub async fn run_once(svc: &Services, client: &reqwest::Client, now: i64) -> Report {
    let mut r = Report::default();
    match service::checkin::release_no_shows(svc, now).await {
        Ok(n) => r.no_shows = n,
        Err(e) => tracing::error!(error = %e, "no-show job failed"),
    }
    match service::checkin::auto_check_out(svc, now).await {
        Ok(n) => r.checked_out = n,
        Err(e) => tracing::error!(error = %e, "check-out job failed"),
    }
    if svc.config.report_rollup {
        match service::rollup::step(svc, now, service::rollup::STEP_DAYS).await {
            Ok(step) => r.rollup_days = step.days,
            Err(e) => tracing::error!(error = %e, "roll-up job failed"),
        }
    }
    let every = i64::try_from(svc.config.checkpoint_every.as_millis()).unwrap_or(i64::MAX);
    match service::log::scheduled(svc, now, every).await {
        Ok(signed) => r.checkpoints = usize::from(signed),
        Err(e) => tracing::error!(error = %e, "checkpoint job failed"),
    }
    match service::notify::queue_reminders(svc, now).await {
        Ok(n) => r.reminders = n,
        Err(e) => tracing::error!(error = %e, "reminder job failed"),
    }
    match service::notify::deliver_webhooks(svc, client, now).await {
        Ok(n) => r.delivered = n,
        Err(e) => tracing::error!(error = %e, "outbox job failed"),
    }
    match service::notify::deliver_mail(svc, now).await {
        Ok(n) => r.mailed = n,
        Err(e) => tracing::error!(error = %e, "mail job failed"),
    }
    let m = &crate::metrics::METRICS;
    for (job, rows) in [
        ("no_shows", r.no_shows),
        ("check_out", r.checked_out),
        ("reminders", r.reminders),
        ("webhooks", r.delivered),
        ("mail", r.mailed),
        ("rollup", r.rollup_days),
        ("checkpoints", r.checkpoints),
    ] {
        m.job_ran(job, u64::try_from(rows).unwrap_or(0), now);
    }
    r
}

/// Starts the ticker (every `interval`) and the outbox sender, which also wakes at once when
/// an access event is queued. Returns the scheduler, to be shut down with the node.
///
/// # Errors
/// When the scheduler cannot start.
pub async fn start(
    svc: std::sync::Arc<Services>,
    clock: Clock,
    interval: Duration,
) -> anyhow::Result<tokio_cron_scheduler::JobScheduler> {
    let client = reqwest::Client::new();
    let sched = tokio_cron_scheduler::JobScheduler::new().await?;
    let (s, c, k) = (svc.clone(), client.clone(), clock.clone());
    sched
        .add(tokio_cron_scheduler::Job::new_repeated_async(interval, move |_id, _lock| {
            let (s, c, k) = (s.clone(), c.clone(), k.clone());
            Box::pin(async move {
                let r = run_once(&s, &c, k.now_ms()).await;
                tracing::debug!(?r, "jobs ran");
            })
        })?)
        .await?;
    sched.start().await?;
    if svc.config.webhook.is_some() {
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(Duration::from_secs(1), svc.events.outbox_bell.notified()).await;
                if let Err(e) = service::notify::deliver_webhooks(&svc, &client, clock.now_ms()).await {
                    tracing::error!(error = %e, "outbox delivery failed");
                }
            }
        });
    }
    Ok(sched)
}

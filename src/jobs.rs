//! Scheduled jobs. Each is one idempotent step over due rows, claimed with a conditional
//! UPDATE, so several nodes may run it at the same moment and each row is handled once.
//! Due times live in the database as UTC instants; tokio-cron-scheduler is only a UTC
//! ticker (it keeps a time-zone job's offset from creation, so DST would shift it).
//!
//! - **no-show release**: confirmed bookings not checked in by start + the resource's
//!   `no_show_grace_minutes` become `no_show` (ledger entry each), and the waitlist of
//!   the resource is offered the freed time;
//! - **automatic check-out**: a session still open at the booking's end + the check-out
//!   grace is closed as `automatic` at that instant, with the overstay recorded;
//! - **reminders**: confirmed bookings starting within the reminder lead get an in-app
//!   notification and, with an SMTP relay configured, an e-mail through the outbox;
//! - **outbox**: webhooks of access events are delivered, retried with backoff.

use crate::http::AppState;
use crate::store::checkin::Actor;
use std::collections::BTreeSet;
use std::time::Duration;

/// Rows per transaction: big enough to be quick, small enough not to hold the writer long.
const BATCH: i64 = 500;
/// Webhook attempts before giving up.
const MAX_ATTEMPTS: i64 = 10;

/// When a failed delivery comes due again: after 2^attempts seconds, at most an hour;
/// `None` (give up) after [`MAX_ATTEMPTS`].
fn retry_at(attempts: i64, now: i64) -> Option<i64> {
    (attempts < MAX_ATTEMPTS).then(|| now + 1000 * (1i64 << attempts.clamp(0, 12)).min(3600))
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub no_shows: usize,
    pub checked_out: usize,
    pub reminders: usize,
    pub delivered: usize,
    pub mailed: usize,
}

/// Marks every due no-show, then offers the freed time to the waitlists.
///
/// # Errors
/// Database errors.
pub async fn release_no_shows(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let mut total = 0;
    let mut resources = BTreeSet::new();
    loop {
        let batch = state.db.release_no_shows(now, BATCH).await?;
        total += batch.len();
        resources.extend(batch.iter().map(|r| r.resource_id.clone()));
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    for r in &resources {
        crate::http::api::waitlist::promote(state, r).await;
    }
    if total > 0 {
        tracing::info!(no_shows = total, resources = resources.len(), "released no-shows");
    }
    Ok(total)
}

/// Closes sessions still open at their booking's end + grace.
///
/// # Errors
/// Database errors.
pub async fn auto_check_out(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let grace = state.config.checkout_grace_minutes * 60_000;
    let actor = Actor { how: "automatic", kiosk_id: None, operator_id: None, note: Some("no check-out scanned") };
    let mut total = 0;
    loop {
        let due = state.db.overdue_check_outs(now, grace, BATCH).await?;
        for (booking, ends_at) in &due {
            if let Some(s) = state.db.check_out(booking, &actor, ends_at + grace, now).await? {
                total += 1;
                if let Ok(b) = state.db.booking(booking).await {
                    crate::http::api::kiosk::announce(state, &b, &s, false, now).await;
                }
            }
        }
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    if total > 0 {
        tracing::info!(checked_out = total, "closed sessions automatically");
    }
    Ok(total)
}

/// Queues reminders for bookings starting within the lead time.
///
/// # Errors
/// Database errors.
pub async fn reminders(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let lead = state.config.reminder_lead_minutes * 60_000;
    let mut total = 0;
    loop {
        let n = state.db.queue_reminders(now, lead, BATCH, state.config.smtp.is_some()).await?.len();
        total += n;
        if (n as i64) < BATCH {
            break;
        }
    }
    Ok(total)
}

/// Delivers due webhooks; a failure comes due again after 2^attempts seconds (at most an hour).
///
/// # Errors
/// Database errors.
pub async fn deliver_outbox(state: &AppState, client: &reqwest::Client, now: i64) -> anyhow::Result<usize> {
    let Some((url, key)) = &state.config.webhook else { return Ok(0) };
    let mut delivered = 0;
    for m in state.db.claim_outbox("webhook", now, 60_000, 100).await? {
        let signature =
            format!("sha256={}", crate::domain::checkin::hmac_sha256_hex(key.0.as_bytes(), m.payload.as_bytes()));
        let result = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-labinn-signature", signature)
            .header("x-labinn-delivery", &m.id)
            .body(m.payload.clone())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let error = match result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("HTTP {}", r.status())),
            Err(e) => Some(e.to_string()),
        };
        let retry = retry_at(m.attempts, now);
        if error.is_none() {
            delivered += 1;
        } else {
            tracing::warn!(delivery = %m.id, attempts = m.attempts, error = ?error, "webhook delivery failed");
        }
        state.db.outbox_done(&m.id, now, error.as_deref(), retry).await?;
    }
    Ok(delivered)
}

/// Sends due reminder e-mail through the SMTP relay; a failure comes due again like a webhook.
///
/// # Errors
/// Database errors.
pub async fn deliver_mail(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let Some((host, port, from)) = &state.config.smtp else { return Ok(0) };
    let mut sent = 0;
    for m in state.db.claim_outbox("reminder", now, 120_000, 50).await? {
        let result = async {
            let p: serde_json::Value = serde_json::from_str(&m.payload)?;
            let account = m.account_id.as_deref().ok_or_else(|| anyhow::anyhow!("a reminder without an account"))?;
            let to = state.db.account(account).await?.email;
            let tz: chrono_tz::Tz = p["timezone"].as_str().unwrap_or("UTC").parse().unwrap_or(chrono_tz::UTC);
            let start = chrono::DateTime::parse_from_rfc3339(p["starts_at"].as_str().unwrap_or_default())?;
            let local = start.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
            let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            let subject = format!("预约提醒 Reminder: {} {} {local}", text("resource_zh"), text("unit"));
            let body = format!(
                "您预约的 {zh} {unit} 将于 {local}（{tz}）开始。\n到场后请在签到机出示二维码，或输入签到码 {code}。\n\n\
                 Your booking of {en} {unit} starts at {local} ({tz}).\nShow its QR code at the kiosk, or type the code {code}.\n",
                zh = text("resource_zh"),
                en = text("resource_en"),
                unit = text("unit"),
                code = text("short_code"),
            );
            crate::mail::send(host, *port, &crate::mail::Message { from, to: &to, subject: &subject, body: &body }).await?;
            anyhow::Ok(())
        }
        .await;
        let retry = retry_at(m.attempts, now);
        match &result {
            Ok(()) => sent += 1,
            Err(e) => tracing::warn!(message = %m.id, attempts = m.attempts, error = %e, "reminder e-mail failed"),
        }
        let error = result.err().map(|e| e.to_string());
        state.db.outbox_done(&m.id, now, error.as_deref(), retry).await?;
    }
    Ok(sent)
}

/// One run of every job at `now`. Each job's failure is logged and the others still run.
pub async fn run_once(state: &AppState, client: &reqwest::Client, now: i64) -> Report {
    let mut r = Report::default();
    match release_no_shows(state, now).await {
        Ok(n) => r.no_shows = n,
        Err(e) => tracing::error!(error = %e, "no-show job failed"),
    }
    match auto_check_out(state, now).await {
        Ok(n) => r.checked_out = n,
        Err(e) => tracing::error!(error = %e, "check-out job failed"),
    }
    match reminders(state, now).await {
        Ok(n) => r.reminders = n,
        Err(e) => tracing::error!(error = %e, "reminder job failed"),
    }
    match deliver_outbox(state, client, now).await {
        Ok(n) => r.delivered = n,
        Err(e) => tracing::error!(error = %e, "outbox job failed"),
    }
    match deliver_mail(state, now).await {
        Ok(n) => r.mailed = n,
        Err(e) => tracing::error!(error = %e, "mail job failed"),
    }
    r
}

/// Starts the ticker (every `interval`) and the outbox sender, which also wakes at once when
/// an access event is queued. Returns the scheduler, to be shut down with the node.
///
/// # Errors
/// When the scheduler cannot start.
pub async fn start(state: AppState, interval: Duration) -> anyhow::Result<tokio_cron_scheduler::JobScheduler> {
    let client = reqwest::Client::new();
    let sched = tokio_cron_scheduler::JobScheduler::new().await?;
    let (s, c) = (state.clone(), client.clone());
    sched
        .add(tokio_cron_scheduler::Job::new_repeated_async(interval, move |_id, _lock| {
            let (s, c) = (s.clone(), c.clone());
            Box::pin(async move {
                let now = s.clock.now_ms();
                let r = run_once(&s, &c, now).await;
                tracing::debug!(?r, "jobs ran");
            })
        })?)
        .await?;
    sched.start().await?;
    if state.config.webhook.is_some() {
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(Duration::from_secs(1), state.events.outbox_bell.notified()).await;
                if let Err(e) = deliver_outbox(&state, &client, state.clock.now_ms()).await {
                    tracing::error!(error = %e, "outbox delivery failed");
                }
            }
        });
    }
    Ok(sched)
}

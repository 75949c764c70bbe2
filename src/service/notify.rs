//! What makers are told and what leaves the node: in-app notifications (a waitlist booking,
//! an operator's change to a booking, reminders), reminder e-mail and access-event webhooks,
//! both delivered from the outbox and retried with backoff.

use super::powers::Identity;
use super::{ServiceResult, Services};
use crate::domain::calendar::{Span, Zone};
use crate::domain::interval::Interval;
use crate::store::bookings::BookingRow;
use crate::store::waitlist::NotificationRow;
use serde_json::json;
use std::time::Duration;

use super::JOB_BATCH as BATCH;
/// Delivery attempts before giving up.
const MAX_ATTEMPTS: i64 = 10;

/// When a failed delivery comes due again: after 2^attempts seconds, at most an hour;
/// `None` (give up) after [`MAX_ATTEMPTS`].
pub fn retry_at(attempts: i64, now: i64) -> Option<i64> {
    (attempts < MAX_ATTEMPTS).then(|| now + 1000 * (1i64 << attempts.clamp(0, 12)).min(3600))
}

/// What a notification says about a booking: its id, resource, unit, time and status.
pub fn booking_payload(b: &BookingRow) -> serde_json::Value {
    let zone = Zone::parse("tz", &b.timezone).unwrap_or_default();
    let when = Interval::new(b.starts_at, b.ends_at).map(|i| Span::new(zone, i)).ok();
    json!({ "booking_id": b.id, "resource": b.resource_name_en, "resource_zh": b.resource_name_zh,
            "unit": b.unit_label, "when": when, "timezone": b.timezone, "status": b.status })
}

/// Tells a booking's maker what someone else (`by`) did to it (`booking_cancelled`,
/// `booking_moved`, `booking_approved`, `booking_declined`), with the reason given and how
/// many bookings it covered (a series); a maker's own change tells no one. The change itself
/// is already committed: a notification that cannot be written is logged, not turned into an
/// error.
pub async fn tell_maker(
    svc: &Services,
    by: &crate::domain::ids::AccountId,
    b: &BookingRow,
    kind: &str,
    reason: Option<&str>,
    bookings: usize,
    now: i64,
) {
    if &b.account_id == by {
        return;
    }
    let mut payload = booking_payload(b);
    payload["reason"] = json!(reason);
    payload["bookings"] = json!(bookings);
    if let Err(e) = svc.db.notify(&b.account_id, kind, &payload, now).await {
        tracing::error!(booking = %b.id, error = ?e, kind, "cannot notify the maker");
    }
}

/// The signed-in maker's notifications, newest first.
///
/// # Errors
/// Store errors.
pub async fn mine(svc: &Services, who: &Identity) -> ServiceResult<Vec<NotificationRow>> {
    Ok(svc.db.notifications_of(who.id()).await?)
}

/// Queues reminders for bookings starting within the configured lead time: an in-app
/// notification each and, with an SMTP relay configured, an e-mail through the outbox.
/// Returns how many.
///
/// # Errors
/// Store errors.
pub async fn queue_reminders(svc: &Services, now: i64) -> ServiceResult<usize> {
    let lead = svc.config.reminder_lead_minutes * 60_000;
    let mut total = 0;
    loop {
        let n = svc.db.queue_reminders(now, lead, BATCH, svc.config.smtp.is_some()).await?.len();
        total += n;
        if (n as i64) < BATCH {
            break;
        }
    }
    Ok(total)
}

/// Delivers due webhooks; a failure comes due again after 2^attempts seconds (at most an
/// hour). Returns how many were delivered.
///
/// # Errors
/// Store errors.
pub async fn deliver_webhooks(svc: &Services, client: &reqwest::Client, now: i64) -> ServiceResult<usize> {
    let Some((url, key)) = &svc.config.webhook else { return Ok(0) };
    let mut delivered = 0;
    for m in svc.db.claim_outbox("webhook", now, 60_000, 100).await? {
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
        svc.db.outbox_done(&m.id, now, error.as_deref(), retry).await?;
    }
    Ok(delivered)
}

/// Sends due reminder e-mail and password-reset links through the SMTP relay; a failure
/// comes due again like a webhook. Returns how many were sent.
///
/// # Errors
/// Store errors.
pub async fn deliver_mail(svc: &Services, now: i64) -> ServiceResult<usize> {
    Ok(deliver(svc, "reminder", now, reminder_mail).await? + deliver(svc, "password_reset", now, reset_mail).await?)
}

/// A reminder's subject and body, in Chinese and English.
fn reminder_mail(p: &serde_json::Value) -> anyhow::Result<(String, String)> {
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
    Ok((subject, body))
}

/// A password-reset link's subject and body, in Chinese and English.
fn reset_mail(p: &serde_json::Value) -> anyhow::Result<(String, String)> {
    let link = p["link"].as_str().unwrap_or_default();
    let body = format!(
        "请在一小时内打开下面的链接设置新密码（只能使用一次）：\n{link}\n如果不是你本人操作，请忽略这封邮件。\n\n\
         Open this link within an hour to set a new password (it works once):\n{link}\n\
         If you did not ask for it, ignore this e-mail.\n"
    );
    Ok(("重置密码 Reset your labinn password".to_owned(), body))
}

/// Sends the due mail of one outbox `kind` to each message's account, written by `compose`
/// from its payload. Returns how many were sent.
async fn deliver(
    svc: &Services,
    kind: &str,
    now: i64,
    compose: fn(&serde_json::Value) -> anyhow::Result<(String, String)>,
) -> ServiceResult<usize> {
    let Some((host, port, from)) = &svc.config.smtp else { return Ok(0) };
    let mut sent = 0;
    for m in svc.db.claim_outbox(kind, now, 120_000, 50).await? {
        let result = async {
            let p: serde_json::Value = serde_json::from_str(&m.payload)?;
            let account = m.account_id.as_ref().ok_or_else(|| anyhow::anyhow!("{kind} mail without an account"))?;
            let to = svc.db.account(account).await?.email;
            let (subject, body) = compose(&p)?;
            crate::mail::send(host, *port, &crate::mail::Message { from, to: &to, subject: &subject, body: &body })
                .await?;
            anyhow::Ok(())
        }
        .await;
        let retry = retry_at(m.attempts, now);
        match &result {
            Ok(()) => sent += 1,
            Err(e) => tracing::warn!(message = %m.id, kind, attempts = m.attempts, error = %e, "e-mail failed"),
        }
        let error = result.err().map(|e| e.to_string());
        svc.db.outbox_done(&m.id, now, error.as_deref(), retry).await?;
    }
    Ok(sent)
}

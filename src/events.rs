//! Access events for door controllers and tool power relays.
//!
//! Each granted check-in or check-out is published, after its transaction commits:
//! - to MQTT topic `labinn/{space slug}/{unit id}/access` (QoS 1, not retained), through
//!   one long-lived rumqttc connection that reconnects by itself;
//! - to a webhook, through the outbox (so a receiver that is down gets it later): `POST`
//!   with `X-Labinn-Signature: sha256=<hex HMAC-SHA256 of the body>`, retried with backoff.

use crate::store::Db;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// The JSON that door controllers receive.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessEvent {
    /// `check_in` (release the door or power the tool) or `check_out` (lock / cut power).
    pub action: String,
    pub space: String,
    pub unit: String,
    pub unit_label: String,
    pub resource: String,
    pub maker: String,
    pub booking: String,
    pub session: String,
    /// RFC 3339 UTC: when the booking ends (check-in only).
    pub until: Option<String>,
    /// RFC 3339 UTC.
    pub at: String,
    /// `kiosk`, `operator`, `walk_up` or `automatic`.
    pub by: String,
}

impl AccessEvent {
    pub fn topic(&self) -> String {
        format!("labinn/{}/{}/access", self.space, self.unit)
    }
}

/// Where events go. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    mqtt: Option<mpsc::Sender<(String, Vec<u8>)>>,
    webhook: bool,
    /// Wakes the outbox sender at once instead of at its next tick.
    pub outbox_bell: Arc<Notify>,
}

impl Events {
    /// No MQTT, no webhook.
    pub fn none() -> Self {
        Self { mqtt: None, webhook: false, outbox_bell: Arc::new(Notify::new()) }
    }

    /// Starts the MQTT connection (if configured). Must run inside the runtime.
    pub fn start(mqtt: Option<(String, u16)>, webhook: bool) -> Self {
        let mqtt = mqtt.map(|(host, port)| {
            let (tx, mut rx) = mpsc::channel::<(String, Vec<u8>)>(1024);
            let mut options =
                rumqttc::MqttOptions::new(format!("labinn-{}", &crate::store::new_id()[24..]), host.clone(), port);
            options.set_keep_alive(Duration::from_secs(30));
            let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1024);
            tokio::spawn(async move {
                let mut down = false;
                loop {
                    match eventloop.poll().await {
                        Ok(_) => {
                            if down {
                                tracing::info!(%host, port, "MQTT broker reachable again");
                                down = false;
                            }
                        }
                        Err(e) => {
                            if !down {
                                tracing::warn!(%host, port, error = %e, "MQTT broker unreachable; retrying every second");
                                down = true;
                            }
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            });
            tokio::spawn(async move {
                while let Some((topic, payload)) = rx.recv().await {
                    if let Err(e) = client.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload).await {
                        tracing::warn!(error = %e, "MQTT publish failed");
                    }
                }
            });
            tx
        });
        Self { mqtt, webhook, outbox_bell: Arc::new(Notify::new()) }
    }

    /// Publishes an event that has been committed.
    pub async fn publish(&self, db: &Db, event: &AccessEvent, now: i64) {
        let body = match serde_json::to_vec(event) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "access event does not serialise");
                return;
            }
        };
        if let Some(tx) = &self.mqtt
            && tx.try_send((event.topic(), body.clone())).is_err()
        {
            tracing::warn!(topic = %event.topic(), "MQTT queue full or closed; event dropped");
        }
        if self.webhook {
            let text = String::from_utf8_lossy(&body);
            match db.enqueue(None, "webhook", &text, now, now).await {
                Ok(()) => self.outbox_bell.notify_one(),
                Err(e) => tracing::error!(error = %e, "cannot queue the webhook for an access event"),
            }
        }
    }
}

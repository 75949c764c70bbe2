//! The application as a value: build it from a [`Config`] (connect, migrate, bind), ask
//! it for its port, then run it until a shutdown signal. Tests bind port 0.

use crate::clock::Clock;
use crate::config::Config;
use crate::http;
use crate::store::Db;
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: http::AppState,
    db: Db,
    config: Arc<Config>,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    ///
    /// # Errors
    /// When the database cannot be reached or migrated, or the address cannot be bound;
    /// the message names which (with any password redacted).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`Application::build`] with a chosen clock.
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let db = Db::connect(&config).await?;
        db.migrate().await.with_context(|| format!("cannot migrate {}", config.database.redacted()))?;
        // The Merkle log's tree of entries appended before it (or by an older node).
        db.extend_tree().await.context("cannot build the Merkle log's tree")?;
        db.listen_for_login_changes();
        let listener =
            TcpListener::bind(config.bind).await.with_context(|| format!("cannot listen on {}", config.bind))?;
        let secret = checkin_secret(&config, &db).await?;
        let events = crate::events::Events::start(config.mqtt.clone(), config.webhook.is_some());
        let config = Arc::new(config);
        let svc = crate::service::Services::new(db.clone(), config.clone(), secret, events);
        // The log's signing key: generated on first start, or the configured one recorded.
        crate::service::log::signer(&svc, clock.now_ms()).await.map_err(|e| anyhow::anyhow!("log key: {e}"))?;
        let (router, state) = http::router(svc, clock);
        Ok(Self { listener, router, state, db, config })
    }

    /// The state the handlers share; its `svc` is what tests run jobs and seed data through.
    pub fn state(&self) -> &http::AppState {
        &self.state
    }

    /// The use cases this node serves (the demo is seeded through them).
    pub fn services(&self) -> &crate::service::Services {
        &self.state.svc
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish (up to the
    /// configured grace period) and closes the database.
    ///
    /// # Errors
    /// I/O errors of the listener.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        let graceful = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = stopping_tx.send(true);
        };
        let grace = self.config.shutdown_grace;
        // The jobs start beside the listener, so that they never delay readiness.
        let scheduler = self.config.job_interval.map(|every| {
            let (svc, clock) = (self.state.svc.clone(), self.state.clock.clone());
            tokio::spawn(async move {
                crate::jobs::start(svc, clock, every).await.inspect_err(|e| {
                    tracing::error!(error = %e, "cannot start the scheduled jobs");
                })
            })
        });
        // The peer's address is what the per-address limits count by.
        let app = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(graceful);
        let result = tokio::select! {
            r = serve => r,
            () = async move {
                let _ = stopping_rx.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; stopping anyway");
                Ok(())
            }
        };
        // Stopping the jobs and closing the pool wait for whatever still holds a connection:
        // bounded too, so that a stuck request never keeps the node up.
        let db = self.db.clone();
        let tidy = async move {
            if let Some(handle) = scheduler
                && let Ok(Ok(mut s)) = handle.await
            {
                let _ = s.shutdown().await;
            }
            db.close().await;
        };
        if tokio::time::timeout(CLOSE_DEADLINE, tidy).await.is_err() {
            tracing::warn!("the jobs or the database did not stop in time; stopping anyway");
        }
        result
    }
}

/// How long stopping the jobs and closing the database may take after serving has ended.
const CLOSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// How long the runtime waits for blocking work still running (a password hash, a report's
/// read) once the node has stopped: the process ends after it, whatever is in flight.
pub const BLOCKING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// The key of check-in codes: configured, or generated once and kept where every node finds
/// it (next to the SQLite file; in the `settings` table on PostgreSQL, first writer wins).
pub async fn checkin_secret(config: &Config, db: &Db) -> anyhow::Result<crate::domain::checkin::Secret> {
    use crate::domain::checkin::Secret;
    if let Some(s) = &config.checkin_secret {
        return Secret::new(s.0.as_bytes().to_vec()).map_err(anyhow::Error::msg);
    }
    let fresh = || -> anyhow::Result<String> { Ok(crate::auth::to_hex(&crate::auth::random_bytes::<32>()?)) };
    let hex = match &config.database {
        crate::config::DatabaseTarget::Sqlite(path) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let file = dir.join("checkin-secret");
            match std::fs::read_to_string(&file) {
                Ok(text) => text.trim().to_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let hex = fresh()?;
                    write_private(&file, &hex).with_context(|| format!("cannot write {}", file.display()))?;
                    tracing::info!(file = %file.display(), "generated the check-in secret");
                    hex
                }
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
            }
        }
        crate::config::DatabaseTarget::Postgres(_) => db.setting_or_insert("checkin_secret", &fresh()?).await?,
    };
    Secret::new(hex.into_bytes()).map_err(anyhow::Error::msg)
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

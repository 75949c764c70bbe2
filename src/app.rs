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
        let listener =
            TcpListener::bind(config.bind).await.with_context(|| format!("cannot listen on {}", config.bind))?;
        let config = Arc::new(config);
        let router = http::router(db.clone(), config.clone(), clock);
        Ok(Self { listener, router, db, config })
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
        let serve = axum::serve(self.listener, self.router).with_graceful_shutdown(graceful);
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
        self.db.close().await;
        result
    }
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

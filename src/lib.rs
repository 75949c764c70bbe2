//! labinn: booking, QR check-in and metered-use evidence for a district's maker spaces.
//!
//! Layers, from the inside out: [`domain`] (pure rules), [`store`] (SQL on SQLite or
//! PostgreSQL), [`http`] (axum handlers, thin), [`app`] (wiring and lifecycle).
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod demo_history;
pub mod domain;
pub mod events;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod service;
pub mod store;
pub mod telemetry;

//! labinn: booking, QR check-in and metered-use evidence for a district's maker spaces.
//!
//! Layers, from the inside out: [`domain`] (pure rules), [`store`] (SQL on SQLite or
//! PostgreSQL), [`service`] (the use cases, and the powers they take), then the adapters that
//! call the service: [`http`] (the JSON API and the pages, thin), [`jobs`], the CLI and
//! [`demo`]; [`app`] wires them and runs the node. ARCHITECTURE.md has who may import whom.
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
pub mod metrics;
pub mod service;
pub mod store;
pub mod telemetry;

//! labinn's integration tests: one binary, every test on the backend selected by
//! `TEST_DATABASE_URL` (SQLite when unset).

mod api;
mod helpers;
mod maker_pages;
mod merkle_log;

mod auth;
mod availability;
mod bookings;
mod browser;
mod catalog;
mod checkin;
mod cli;
mod consoles;
mod demo;
mod durability;
mod errors;
mod evidence;
mod hardening;
mod insight_pages;
mod organisations;
mod pages;
mod powers;
mod registers;
mod reports;
mod roles;
mod rollup;
mod store;
mod system;

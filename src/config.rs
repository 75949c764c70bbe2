//! Configuration: defaults, then an optional `labinn.toml`, then `LABINN_*` environment
//! variables, then command-line flags. Validated once at start into [`Config`].
//!
//! Flags and environment variables are read by clap (a flag wins over its variable); the
//! file fills whatever neither gave; the defaults fill the rest.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line, for production log pipelines.
    Json,
}

/// Every setting, as an optional override. Used both for flags/env (clap) and for the file
/// (serde); `None` means "not given at this layer".
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "LABINN_BIND", global = true)]
    pub bind: Option<SocketAddr>,
    /// postgres://… to use PostgreSQL; sqlite://PATH for a SQLite file [default: SQLite at DATA_DIR/labinn.db]
    #[arg(long, env = "LABINN_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded database and generated secrets [default: ./labinn-data]
    #[arg(long, env = "LABINN_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "LABINN_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Log filter in tracing's EnvFilter syntax [default: info]
    #[arg(long, env = "LABINN_LOG", global = true)]
    pub log: Option<String>,
    /// Largest accepted request body in bytes [default: 262144]
    #[arg(long, env = "LABINN_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// Seconds a request may take before it is answered 408 [default: 30]
    #[arg(long, env = "LABINN_REQUEST_TIMEOUT_SECS", global = true)]
    pub request_timeout_secs: Option<u64>,
    /// Seconds that shutdown waits for requests in flight [default: 20]
    #[arg(long, env = "LABINN_SHUTDOWN_GRACE_SECS", global = true)]
    pub shutdown_grace_secs: Option<u64>,
    /// Most database connections of this node (PostgreSQL; SQLite reads) [default: 16]
    #[arg(long, env = "LABINN_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// Hours a login stays valid [default: 720]
    #[arg(long, env = "LABINN_SESSION_TTL_HOURS", global = true)]
    pub session_ttl_hours: Option<u64>,
    /// Mark the session cookie Secure (set when served over HTTPS) [default: false]
    #[arg(long, env = "LABINN_COOKIE_SECURE", global = true)]
    pub cookie_secure: Option<bool>,
    /// The address makers reach this server at, for links in e-mail (password reset) [default: http://BIND]
    #[arg(long, env = "LABINN_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Argon2id memory cost in KiB [default: 19456]
    #[arg(long, env = "LABINN_ARGON2_MEMORY_KIB", global = true)]
    pub argon2_memory_kib: Option<u32>,
    /// Argon2id iterations [default: 2]
    #[arg(long, env = "LABINN_ARGON2_ITERATIONS", global = true)]
    pub argon2_iterations: Option<u32>,
    /// Serve `POST /_bench/insert` (one row through the write path), for the benchmarks only [default: false]
    #[arg(long, env = "LABINN_BENCH_ENDPOINTS", global = true, hide = true)]
    pub bench_endpoints: Option<bool>,
    /// Secret behind check-in codes, at least 32 characters [default: generated once, kept in DATA_DIR (SQLite) or the database (PostgreSQL)]
    #[arg(long, env = "LABINN_CHECKIN_SECRET", global = true, hide_env_values = true)]
    pub checkin_secret: Option<String>,
    /// The Merkle log's signing key, as Go's note package writes it (PRIVATE+KEY+NAME+ID+KEY) [default: generated once, kept in the database]
    #[arg(long, env = "LABINN_LOG_KEY", global = true, hide_env_values = true)]
    pub log_key: Option<String>,
    /// The origin line of the log's checkpoints, and the name of a key generated for it [default: labinn.local/ledger]
    #[arg(long, env = "LABINN_LOG_ORIGIN", global = true)]
    pub log_origin: Option<String>,
    /// Minutes between the scheduled checkpoints of the log, when it grew [default: 60]
    #[arg(long, env = "LABINN_CHECKPOINT_MINUTES", global = true)]
    pub checkpoint_minutes: Option<u32>,
    /// Publish access events to this MQTT broker, e.g. mqtt://127.0.0.1:1883 [default: off]
    #[arg(long, env = "LABINN_MQTT_URL", global = true)]
    pub mqtt_url: Option<String>,
    /// POST access events to this http:// URL, signed with HMAC-SHA256 [default: off]
    #[arg(long, env = "LABINN_WEBHOOK_URL", global = true)]
    pub webhook_url: Option<String>,
    /// Key of the webhook signature (X-Labinn-Signature), at least 16 characters; required with webhook_url
    #[arg(long, env = "LABINN_WEBHOOK_SECRET", global = true, hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Seconds between runs of the scheduled jobs (no-show, check-out, reminders, outbox); 0 turns them off [default: 60]
    #[arg(long, env = "LABINN_JOB_INTERVAL_SECS", global = true)]
    pub job_interval_secs: Option<u64>,
    /// Minutes after a booking's end before an open session is closed automatically [default: 15]
    #[arg(long, env = "LABINN_CHECKOUT_GRACE_MINUTES", global = true)]
    pub checkout_grace_minutes: Option<i64>,
    /// Send reminder e-mail through this SMTP relay, e.g. smtp://127.0.0.1:25 (plain SMTP; no TLS or login) [default: off]
    #[arg(long, env = "LABINN_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// The From address of reminder e-mail [default: labinn@localhost]
    #[arg(long, env = "LABINN_SMTP_FROM", global = true)]
    pub smtp_from: Option<String>,
    /// Minutes before a booking's start that its reminder is sent [default: 60]
    #[arg(long, env = "LABINN_REMINDER_LEAD_MINUTES", global = true)]
    pub reminder_lead_minutes: Option<i64>,
    /// Failed sign-ins in a row to one account before each further one makes it wait (1 s, doubling) [default: 5]
    #[arg(long, env = "LABINN_SIGNIN_FREE_FAILURES", global = true)]
    pub signin_free_failures: Option<u32>,
    /// The longest an account waits after failed sign-ins, in seconds; an operator can lift it [default: 900]
    #[arg(long, env = "LABINN_SIGNIN_LOCK_MAX_SECS", global = true)]
    pub signin_lock_max_secs: Option<u64>,
    /// Failed sign-ins and kiosk pairings from one client address per 10 minutes [default: 50]
    #[arg(long, env = "LABINN_ADDRESS_FAILURES_PER_10MIN", global = true)]
    pub address_failures_per_10min: Option<u32>,
    /// Registrations from one client address per hour [default: 20]
    #[arg(long, env = "LABINN_REGISTRATIONS_PER_HOUR", global = true)]
    pub registrations_per_hour: Option<u32>,
    /// Refused scans (unknown, forged, wrong-space codes) of one kiosk per minute [default: 30]
    #[arg(long, env = "LABINN_KIOSK_REFUSALS_PER_MINUTE", global = true)]
    pub kiosk_refusals_per_minute: Option<u32>,
    /// Take the client address from the last X-Forwarded-For entry (behind one reverse proxy) [default: false]
    #[arg(long, env = "LABINN_TRUST_FORWARDED_FOR", global = true)]
    pub trust_forwarded_for: Option<bool>,
    /// Serve reports from the per-day roll-up where it is exact, and keep it built in the scheduled jobs [default: true]
    #[arg(long, env = "LABINN_REPORT_ROLLUP", global = true)]
    pub report_rollup: Option<bool>,
}

impl Settings {
    /// `self` where given, otherwise `lower`.
    fn or(self, lower: Settings) -> Settings {
        Settings {
            bind: self.bind.or(lower.bind),
            database_url: self.database_url.or(lower.database_url),
            data_dir: self.data_dir.or(lower.data_dir),
            log_format: self.log_format.or(lower.log_format),
            log: self.log.or(lower.log),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            request_timeout_secs: self.request_timeout_secs.or(lower.request_timeout_secs),
            shutdown_grace_secs: self.shutdown_grace_secs.or(lower.shutdown_grace_secs),
            db_max_connections: self.db_max_connections.or(lower.db_max_connections),
            session_ttl_hours: self.session_ttl_hours.or(lower.session_ttl_hours),
            cookie_secure: self.cookie_secure.or(lower.cookie_secure),
            public_url: self.public_url.or(lower.public_url),
            argon2_memory_kib: self.argon2_memory_kib.or(lower.argon2_memory_kib),
            argon2_iterations: self.argon2_iterations.or(lower.argon2_iterations),
            bench_endpoints: self.bench_endpoints.or(lower.bench_endpoints),
            checkin_secret: self.checkin_secret.or(lower.checkin_secret),
            log_key: self.log_key.or(lower.log_key),
            log_origin: self.log_origin.or(lower.log_origin),
            checkpoint_minutes: self.checkpoint_minutes.or(lower.checkpoint_minutes),
            mqtt_url: self.mqtt_url.or(lower.mqtt_url),
            webhook_url: self.webhook_url.or(lower.webhook_url),
            webhook_secret: self.webhook_secret.or(lower.webhook_secret),
            job_interval_secs: self.job_interval_secs.or(lower.job_interval_secs),
            checkout_grace_minutes: self.checkout_grace_minutes.or(lower.checkout_grace_minutes),
            reminder_lead_minutes: self.reminder_lead_minutes.or(lower.reminder_lead_minutes),
            smtp_url: self.smtp_url.or(lower.smtp_url),
            smtp_from: self.smtp_from.or(lower.smtp_from),
            signin_free_failures: self.signin_free_failures.or(lower.signin_free_failures),
            signin_lock_max_secs: self.signin_lock_max_secs.or(lower.signin_lock_max_secs),
            address_failures_per_10min: self.address_failures_per_10min.or(lower.address_failures_per_10min),
            registrations_per_hour: self.registrations_per_hour.or(lower.registrations_per_hour),
            kiosk_refusals_per_minute: self.kiosk_refusals_per_minute.or(lower.kiosk_refusals_per_minute),
            trust_forwarded_for: self.trust_forwarded_for.or(lower.trust_forwarded_for),
            report_rollup: self.report_rollup.or(lower.report_rollup),
        }
    }
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An embedded SQLite file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL URL; may carry a password, so it is never printed whole.
    Postgres(String),
}

impl DatabaseTarget {
    /// The target with any password replaced by `***`, safe for logs and errors.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseTarget::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseTarget::Postgres(url) => redact_url(url),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseTarget::Sqlite(_) => "sqlite",
            DatabaseTarget::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Hides the password of `scheme://user:password@host/...` and any `password=` parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..].find('/').map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let redacted: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{head}{}", redacted.join("&"));
    }
    out
}

/// Cost of password hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

/// The validated configuration of one node.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: DatabaseTarget,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    pub db_max_connections: u32,
    pub session_ttl: Duration,
    pub cookie_secure: bool,
    /// Where makers reach this server (no trailing slash): the links in e-mail use it, never
    /// a request's `Host` (which anyone can set).
    pub public_url: String,
    pub hash_cost: HashCost,
    pub bench_endpoints: bool,
    pub checkin_secret: Option<SecretString>,
    /// The log's signing key (`PRIVATE+KEY+…`), when configured rather than generated.
    pub log_key: Option<SecretString>,
    /// The origin of the log's checkpoints.
    pub log_origin: String,
    /// Between the scheduled checkpoints of the log.
    pub checkpoint_every: Duration,
    /// (host, port) of the MQTT broker.
    pub mqtt: Option<(String, u16)>,
    /// (URL, signing key)
    pub webhook: Option<(String, SecretString)>,
    /// `None`: no scheduled jobs on this node.
    pub job_interval: Option<Duration>,
    pub checkout_grace_minutes: i64,
    pub reminder_lead_minutes: i64,
    /// (host, port, From address) of the SMTP relay for reminders.
    pub smtp: Option<(String, u16, String)>,
    pub throttle: Throttle,
    /// The client address is the last `X-Forwarded-For` entry (behind one reverse proxy).
    pub trust_forwarded_for: bool,
    /// Reports use the per-day roll-up where it is exact (see `service::rollup`).
    pub report_rollup: bool,
}

/// The limits on abuse (see the README's security section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failed sign-ins in a row to one account.
    pub signin: crate::domain::throttle::Backoff,
    /// Failed sign-ins and pairings from one client address.
    pub address_failures: crate::domain::throttle::Limit,
    /// Registrations from one client address.
    pub registrations: crate::domain::throttle::Limit,
    /// Refused scans of one kiosk.
    pub kiosk_refusals: crate::domain::throttle::Limit,
}

/// A secret setting: its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(pub String);

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why the configuration could not be used. Each message is one line that names the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is malformed: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

impl Config {
    /// Builds the configuration from the layers. `file` is the path given with `--config`
    /// (then it must exist); without it, `./labinn.toml` is read if present.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file or the setting at fault.
    pub fn load(flags_and_env: Settings, file: Option<&Path>) -> Result<Config, ConfigError> {
        let from_file = match file {
            Some(p) => read_file(p)?,
            None => {
                let default = Path::new("labinn.toml");
                if default.exists() { read_file(default)? } else { Settings::default() }
            }
        };
        Config::from_settings(flags_and_env.or(from_file))
    }

    /// Applies defaults and validates.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the setting.
    pub fn from_settings(s: Settings) -> Result<Config, ConfigError> {
        let data_dir = s.data_dir.unwrap_or_else(|| PathBuf::from("labinn-data"));
        let database = match s.database_url.as_deref().map(str::trim) {
            None | Some("") => DatabaseTarget::Sqlite(data_dir.join("labinn.db")),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseTarget::Postgres(url.to_owned())
            }
            Some(url) if url.starts_with("sqlite://") || url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() {
                    return Err(invalid(
                        "database_url",
                        "sqlite URL needs a file path, e.g. sqlite://labinn-data/labinn.db",
                    ));
                }
                DatabaseTarget::Sqlite(PathBuf::from(path))
            }
            Some(url) => {
                return Err(invalid(
                    "database_url",
                    format!("{} is neither postgres://… nor sqlite://…", redact_url(url)),
                ));
            }
        };
        let max_body_bytes = s.max_body_bytes.unwrap_or(256 * 1024);
        if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(invalid("max_body_bytes", "must be between 1024 and 67108864"));
        }
        let request_timeout_secs = s.request_timeout_secs.unwrap_or(30);
        if request_timeout_secs == 0 {
            return Err(invalid("request_timeout_secs", "must be at least 1"));
        }
        let db_max_connections = s.db_max_connections.unwrap_or(16);
        if db_max_connections == 0 {
            return Err(invalid("db_max_connections", "must be at least 1"));
        }
        let session_ttl_hours = s.session_ttl_hours.unwrap_or(720);
        if session_ttl_hours == 0 {
            return Err(invalid("session_ttl_hours", "must be at least 1"));
        }
        let bind = s.bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url = match s.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.trim_end_matches('/').to_owned(),
            Some(u) => return Err(invalid("public_url", format!("{u:?} must start with http:// or https://"))),
            None => format!("http://{bind}"),
        };
        let hash_cost = HashCost {
            memory_kib: s.argon2_memory_kib.unwrap_or(19 * 1024),
            iterations: s.argon2_iterations.unwrap_or(2),
        };
        if hash_cost.memory_kib < 8 || hash_cost.iterations == 0 {
            return Err(invalid("argon2_memory_kib/argon2_iterations", "memory must be ≥ 8 KiB and iterations ≥ 1"));
        }
        let log_filter = s.log.unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(invalid("log", format!("{log_filter:?} is not a valid log filter")));
        }
        if let Some(secret) = &s.checkin_secret
            && secret.len() < 32
        {
            return Err(invalid("checkin_secret", "must have at least 32 characters"));
        }
        let smtp = match s.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => {
                let rest = url
                    .strip_prefix("smtp://")
                    .ok_or_else(|| invalid("smtp_url", format!("{} must look like smtp://host:25", redact_url(url))))?;
                let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
                    Some((h, p)) => {
                        (h.to_owned(), p.parse::<u16>().map_err(|_| invalid("smtp_url", format!("bad port {p:?}")))?)
                    }
                    None => (rest.trim_end_matches('/').to_owned(), 25),
                };
                let from = s.smtp_from.clone().unwrap_or_else(|| "labinn@localhost".to_owned());
                if host.is_empty() || !from.contains('@') {
                    return Err(invalid("smtp_url/smtp_from", "needs a host, and a From address with an @"));
                }
                Some((host, port, from))
            }
        };
        let mqtt = match s.mqtt_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => {
                let rest = url.strip_prefix("mqtt://").or_else(|| url.strip_prefix("tcp://")).ok_or_else(|| {
                    invalid("mqtt_url", format!("{} must look like mqtt://host:1883", redact_url(url)))
                })?;
                let rest = rest.split('/').next().unwrap_or_default();
                let (host, port) = match rest.rsplit_once(':') {
                    Some((h, p)) => {
                        (h.to_owned(), p.parse::<u16>().map_err(|_| invalid("mqtt_url", format!("bad port {p:?}")))?)
                    }
                    None => (rest.to_owned(), 1883),
                };
                if host.is_empty() {
                    return Err(invalid("mqtt_url", "needs a host, e.g. mqtt://127.0.0.1:1883"));
                }
                Some((host, port))
            }
        };
        let webhook = match (s.webhook_url.as_deref().map(str::trim).filter(|u| !u.is_empty()), s.webhook_secret) {
            (None, _) => None,
            (Some(url), _) if !url.starts_with("http://") => {
                return Err(invalid(
                    "webhook_url",
                    "must be an http:// URL (put a TLS-terminating proxy in front of an https receiver)",
                ));
            }
            (Some(_), None) => return Err(invalid("webhook_secret", "is required when webhook_url is set")),
            (Some(_), Some(k)) if k.len() < 16 => {
                return Err(invalid("webhook_secret", "must have at least 16 characters"));
            }
            (Some(url), Some(k)) => Some((url.to_owned(), SecretString(k))),
        };
        let job_interval = match s.job_interval_secs.unwrap_or(60) {
            0 => None,
            n => Some(Duration::from_secs(n)),
        };
        let checkout_grace_minutes = s.checkout_grace_minutes.unwrap_or(15);
        let reminder_lead_minutes = s.reminder_lead_minutes.unwrap_or(60);
        if !(0..=24 * 60).contains(&checkout_grace_minutes) || !(0..=7 * 24 * 60).contains(&reminder_lead_minutes) {
            return Err(invalid(
                "checkout_grace_minutes/reminder_lead_minutes",
                "grace must be 0–1440 and lead 0–10080 minutes",
            ));
        }
        use crate::domain::throttle::{Backoff, Limit};
        let at_least_one = |name: &'static str, v: Option<u32>, default: u32| match v.unwrap_or(default) {
            0 => Err(invalid(name, "must be at least 1")),
            n => Ok(n),
        };
        let lock_max_secs = s.signin_lock_max_secs.unwrap_or(900);
        if !(1..=7 * 86_400).contains(&lock_max_secs) {
            return Err(invalid("signin_lock_max_secs", "must be between 1 and 604800 (a week)"));
        }
        let throttle = Throttle {
            signin: Backoff {
                free: s.signin_free_failures.unwrap_or(5),
                base_ms: 1_000,
                max_ms: i64::try_from(lock_max_secs * 1_000).unwrap_or(i64::MAX),
            },
            address_failures: Limit {
                max: at_least_one("address_failures_per_10min", s.address_failures_per_10min, 50)?,
                window_ms: 600_000,
            },
            registrations: Limit {
                max: at_least_one("registrations_per_hour", s.registrations_per_hour, 20)?,
                window_ms: 3_600_000,
            },
            kiosk_refusals: Limit {
                max: at_least_one("kiosk_refusals_per_minute", s.kiosk_refusals_per_minute, 30)?,
                window_ms: 60_000,
            },
        };
        let log_origin = s.log_origin.unwrap_or_else(|| "labinn.local/ledger".to_owned());
        if log_origin.is_empty() || log_origin.contains('+') || log_origin.chars().any(char::is_whitespace) {
            return Err(invalid(
                "log_origin",
                "must be a name without '+' or spaces, such as labinn.example.org/ledger",
            ));
        }
        if let Some(k) = &s.log_key
            && let Err(e) = crate::domain::checkpoint::Signer::parse(k)
        {
            return Err(invalid("log_key", e.to_string()));
        }
        Ok(Config {
            throttle,
            trust_forwarded_for: s.trust_forwarded_for.unwrap_or(false),
            report_rollup: s.report_rollup.unwrap_or(true),
            smtp,
            checkin_secret: s.checkin_secret.map(SecretString),
            log_key: s.log_key.map(SecretString),
            log_origin,
            checkpoint_every: Duration::from_secs(
                60 * u64::from(at_least_one("checkpoint_minutes", s.checkpoint_minutes, 60)?),
            ),
            mqtt,
            webhook,
            job_interval,
            checkout_grace_minutes,
            reminder_lead_minutes,
            bind,
            database,
            data_dir,
            log_format: s.log_format.unwrap_or_default(),
            log_filter,
            max_body_bytes,
            request_timeout: Duration::from_secs(request_timeout_secs),
            shutdown_grace: Duration::from_secs(s.shutdown_grace_secs.unwrap_or(20)),
            db_max_connections,
            session_ttl: Duration::from_secs(session_ttl_hours * 3600),
            cookie_secure: s.cookie_secure.unwrap_or(false),
            public_url,
            hash_cost,
            bench_endpoints: s.bench_endpoints.unwrap_or(false),
        })
    }
}

fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, message: message.into() }
}

fn read_file(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::Malformed {
        path: path.to_owned(),
        // toml's message spans several lines (with a caret); keep the process's one line.
        message: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_database_urls_are_redacted() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/labinn"), "postgres://app:***@db:5432/labinn");
        assert_eq!(redact_url("postgres://db/labinn?user=a&password=x"), "postgres://db/labinn?user=a&password=***");
        assert_eq!(redact_url("postgres://app@db/labinn"), "postgres://app@db/labinn");
    }

    #[test]
    fn a_flag_beats_the_file_and_the_file_beats_the_default() {
        let file = Settings { max_body_bytes: Some(4096), request_timeout_secs: Some(5), ..Default::default() };
        let flags = Settings { request_timeout_secs: Some(9), ..Default::default() };
        let c = Config::from_settings(flags.or(file)).unwrap();
        assert_eq!(c.max_body_bytes, 4096);
        assert_eq!(c.request_timeout, Duration::from_secs(9));
        assert_eq!(c.bind.port(), 8080);
        assert_eq!(c.database, DatabaseTarget::Sqlite(PathBuf::from("labinn-data/labinn.db")));
    }

    #[test]
    fn an_unknown_database_scheme_is_refused_without_leaking_the_password() {
        let s = Settings { database_url: Some("mysql://u:pw@h/db".into()), ..Default::default() };
        let e = Config::from_settings(s).unwrap_err().to_string();
        assert!(e.contains("database_url") && !e.contains("pw@"), "{e}");
    }
}

//! The `labinn` command: a thin supervisor over the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use labinn::app::{Application, shutdown_signal};
use labinn::clock::Clock;
use labinn::config::{Config, Settings};
use labinn::store::Db;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: under booking load, malloc and free were about a sixth
/// of the server's CPU samples, spread over the runtime's threads and the SQLite writer;
/// with mimalloc the server made about 8 % more bookings a second in paired runs
/// (BENCHMARKS.md). Built without eager arena commit (`.cargo/config.toml`), so an idle node
/// stays small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "labinn", version, about = "Booking, check-in and metered-use evidence for maker spaces")]
struct Cli {
    /// Configuration file [default: ./labinn.toml if it exists]
    #[arg(long, env = "LABINN_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrates the database first)
    Serve {
        /// Seed demo accounts and data, and print the demo logins
        #[arg(long)]
        demo: bool,
    },
    /// Apply the embedded database migrations, then exit
    Migrate,
    /// Recompute the evidence ledger's hash chain and check sessions and released bookings
    /// against it; exits 1 naming the first entry or row that was altered, inserted or removed
    VerifyLedger,
    /// Administer accounts
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an admin account (or give an existing account the admin role)
    Create {
        #[arg(long)]
        email: String,
        /// At least 10 characters
        #[arg(long, env = "LABINN_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Admin")]
        display_name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.settings.clone(), cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("labinn: error: {e}");
            return ExitCode::from(2);
        }
    };
    labinn::telemetry::init(config.log_format, &config.log_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("labinn: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("labinn: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The whole error chain on one line ("cannot connect to database …: Connection refused"),
/// leaving out a cause whose text its parent already printed (sqlx errors do that).
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let db = Db::connect(&config).await?;
            db.migrate().await.with_context(|| format!("cannot migrate {}", config.database.redacted()))?;
            let v = db.applied_schema_version().await?.unwrap_or(0);
            tracing::info!(database = %config.database.redacted(), schema_version = v, "migrations applied");
            println!("labinn: {} is at schema version {v}", config.database.redacted());
            db.close().await;
            Ok(())
        }
        Command::VerifyLedger => {
            let db = Db::connect(&config).await?;
            let verdict = labinn::service::checkin::verify_ledger(&db).await?;
            db.close().await;
            match verdict {
                Ok((count, head)) => {
                    println!("labinn: ledger intact: {count} entries, head {head}");
                    Ok(())
                }
                Err(why) => {
                    eprintln!("labinn: ledger BROKEN: {why}");
                    std::process::exit(1);
                }
            }
        }
        Command::Admin { command: AdminCommand::Create { email, password, display_name } } => {
            admin_create(config, &email, &password, &display_name).await
        }
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let database = config.database.redacted();
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    if demo {
        let logins =
            labinn::demo::seed(app.services(), Clock::system().now_ms()).await.context("cannot seed the demo")?;
        // The banner must not take the server down if stdout is closed (a pipe whose
        // reader went away), so write errors are ignored.
        use std::io::Write;
        let mut banner = format!("\n  labinn demo is running at http://{addr}\n");
        banner.push_str(&format!("  API document: http://{addr}/api/v1/openapi.json\n"));
        banner.push_str(&format!("  Makers' check-in codes: http://{addr}/me    Kiosk: http://{addr}/kiosk\n"));
        banner.push_str("  Demo logins (POST /api/v1/auth/login):\n");
        for l in &logins {
            banner.push_str(&format!("    {:<9} {:<22} {}\n", l.role, l.email, l.password));
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{banner}").and_then(|()| out.flush());
    }
    tracing::info!(%addr, %database, version = env!("CARGO_PKG_VERSION"), "labinn is listening");
    if !demo {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "labinn: listening on http://{addr}").and_then(|()| out.flush());
    }
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn admin_create(config: Config, email: &str, password: &str, display_name: &str) -> anyhow::Result<()> {
    let admin = match labinn::service::accounts::NewAdmin::parse(email, password, display_name) {
        Ok(a) => a,
        Err(e) => {
            let fields = e.details.as_ref().and_then(|d| d["fields"].as_array().cloned()).unwrap_or_default();
            let list: Vec<String> = fields
                .iter()
                .map(|f| format!("{} {}", f["field"].as_str().unwrap_or(""), f["message"].as_str().unwrap_or("")))
                .collect();
            anyhow::bail!("invalid input: {}", list.join("; "))
        }
    };
    let db = Db::connect(&config).await?;
    db.migrate().await.with_context(|| format!("cannot migrate {}", config.database.redacted()))?;
    let hasher = labinn::auth::Hasher::new(config.hash_cost);
    let made = labinn::service::accounts::ensure_admin(&db, &hasher, &admin, Clock::system().now_ms()).await;
    db.close().await;
    let account = made?;
    println!("labinn: {} is an admin (account {})", account.email, account.id);
    Ok(())
}

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
    /// Write a space's utilization report (the same file as the API's), then exit
    Report {
        /// The space's slug
        #[arg(long)]
        space: String,
        /// First and last local dates, both included (2026-01-01)
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "resource")]
        by: String,
        #[arg(long, default_value = "month")]
        bucket: String,
        /// csv, xlsx (every grouping) or json
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long, default_value = "zh")]
        lang: String,
        /// Where to write it
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Write a space's evidence pack for a scheme (ZIP or JSON), then exit
    Evidence {
        #[arg(long)]
        space: String,
        /// The scheme's id or the SHA-256 of its file
        #[arg(long)]
        scheme: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// zip, json or html (a printable page)
        #[arg(long, default_value = "zip")]
        format: String,
        /// The language of the html page: zh or en
        #[arg(long, default_value = "zh")]
        lang: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Check an evidence pack (pack.json or the ZIP) against the database: recompute it and
    /// name every difference (a row changed or removed since, a changed scheme); exits 1 if any
    ///
    /// With --checkpoints, no database at all: the pack's signed checkpoint, the inclusion of
    /// every cited entry, and that the log only grew since each checkpoint the district kept
    VerifyPack {
        /// The pack: its ZIP or its pack.json
        file: std::path::PathBuf,
        /// The district's copies (the export of GET /api/v1/district/checkpoints, as its ZIP
        /// or unpacked into a directory): check offline, without the database
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
    },
    /// Retire the Merkle log's signing key and generate a new one (its first checkpoint is
    /// signed by both); old checkpoints stay verifiable with the old key, which stays listed
    RotateLogKey,
    /// The reports' per-day roll-up: `build` it up to two days ago (what the scheduled jobs do
    /// a step at a time), or show its `status`
    Rollup {
        #[command(subcommand)]
        command: RollupCommand,
    },
    /// Administer accounts
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RollupCommand {
    /// Build every space's roll-up until it has caught up, then exit
    Build,
    /// Each space's roll-up: days built, stored parts, dirty marks
    Status,
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
    let result = runtime.block_on(run(cli.command, config));
    // Dropping the runtime would wait for every blocking task still running, however long.
    runtime.shutdown_timeout(labinn::app::BLOCKING_DEADLINE);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("labinn: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The files of the district's copies: a ZIP (the export as downloaded) or a directory
/// (searched two levels deep), as (name, text).
fn read_copies(path: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if path.is_file() {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).context("--checkpoints: not a ZIP")?;
        for i in 0..zip.len() {
            let mut f = zip.by_index(i)?;
            let mut text = String::new();
            std::io::Read::read_to_string(&mut f, &mut text)?;
            out.push((f.name()?.into_owned(), text));
        }
        return Ok(out);
    }
    let mut dirs = vec![(path.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let p = entry?.path();
            if p.is_dir() {
                if depth < 2 {
                    dirs.push((p, depth + 1));
                }
            } else if p.extension().is_some_and(|e| e == "checkpoint") || p.file_name().is_some_and(|n| n == "keys.txt")
            {
                let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
                out.push((p.display().to_string(), text));
            }
        }
    }
    Ok(out)
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
            let leaves = db.extend_tree().await.context("cannot build the Merkle log's tree")?;
            if leaves > 0 {
                println!("labinn: built the Merkle log's tree of {leaves} earlier entries");
            }
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
        Command::Report { space, from, to, by, bucket, format, lang, out } => {
            let svc = offline(&config).await?;
            let q = labinn::service::reports::UtilizationQuery { from, to, bucket: Some(bucket), by: Some(by.clone()) };
            let now = Clock::system().now_ms();
            let bytes = match format.as_str() {
                "xlsx" => {
                    let all = labinn::service::reports::utilization_of_space(
                        &svc,
                        &space,
                        &q,
                        labinn::domain::report::GroupBy::ALL,
                        now,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                    labinn::service::exports::utilization_xlsx(&all, &lang).map_err(|e| anyhow::anyhow!(e.message))?
                }
                "csv" | "json" => {
                    let by = labinn::domain::report::GroupBy::from_db(&by).ok_or_else(|| {
                        anyhow::anyhow!("--by must be space, resource, unit, kind, organisation or maker")
                    })?;
                    let u = labinn::service::reports::utilization_of_space(&svc, &space, &q, &[by], now)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message))?
                        .remove(0);
                    if format == "csv" {
                        labinn::service::exports::utilization_csv(&u, &lang).map_err(|e| anyhow::anyhow!(e.message))?
                    } else {
                        serde_json::to_vec_pretty(&u.report)?
                    }
                }
                _ => anyhow::bail!("--format must be csv, xlsx or json"),
            };
            std::fs::write(&out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
            svc.db.close().await;
            println!("labinn: wrote {}", out.display());
            Ok(())
        }
        Command::Evidence { space, scheme, from, to, format, lang, out } => {
            if !["zip", "json", "html"].contains(&format.as_str()) {
                anyhow::bail!("--format must be zip, json or html");
            }
            if !["zh", "en"].contains(&lang.as_str()) {
                anyhow::bail!("--lang must be zh or en");
            }
            let svc = offline(&config).await?;
            let pack =
                labinn::service::evidence::pack_of_space(&svc, &space, &scheme, &from, &to, Clock::system().now_ms())
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
            let bytes = match format.as_str() {
                "zip" => labinn::service::evidence::pack_zip(&pack).map_err(|e| anyhow::anyhow!(e.message))?,
                "json" => serde_json::to_vec_pretty(&pack)?,
                _ => labinn::service::pack_page::pack_html(&pack, &lang)
                    .map_err(|e| anyhow::anyhow!(e.message))?
                    .into_bytes(),
            };
            std::fs::write(&out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
            svc.db.close().await;
            println!(
                "labinn: wrote {} ({} met, {} not met, {} attested only)",
                out.display(),
                pack.met,
                pack.not_met,
                pack.attested_only
            );
            Ok(())
        }
        Command::VerifyPack { file, checkpoints } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let (json, mut report) = labinn::service::log::open_pack_file(&bytes).map_err(anyhow::Error::msg)?;
            if let Some(dir) = checkpoints {
                let files = read_copies(&dir)?;
                let copies = labinn::service::log::DistrictCopies::from_files(&files).map_err(anyhow::Error::msg)?;
                let offline = labinn::service::log::verify_offline(&json, &copies);
                report.held.extend(offline.held);
                report.problems.extend(offline.problems);
                report.notes.extend(offline.notes);
                for h in &report.held {
                    println!("labinn: holds: {h}");
                }
                for n in &report.notes {
                    println!("labinn: not checked: {n}");
                }
                if report.problems.is_empty() {
                    println!("labinn: pack holds offline: signed, every cited entry in the log, the log only grew");
                    return Ok(());
                }
                for p in &report.problems {
                    eprintln!("labinn: pack differs: {p}");
                }
                std::process::exit(1);
            }
            let svc = offline(&config).await?;
            let mut differences: Vec<String> = report.problems;
            differences.extend(
                labinn::service::evidence::verify_pack(&svc, &json)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?
                    .into_iter()
                    .map(|d| d.what),
            );
            svc.db.close().await;
            if differences.is_empty() {
                println!("labinn: pack holds: every cited row and value is as the database has it");
                Ok(())
            } else {
                for d in &differences {
                    eprintln!("labinn: pack differs: {d}");
                }
                std::process::exit(1);
            }
        }
        Command::RotateLogKey => {
            let svc = offline(&config).await?;
            let (key, signed) = labinn::service::log::rotate(&svc, Clock::system().now_ms())
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            svc.db.close().await;
            println!("labinn: the log now signs with {}", key.vkey);
            println!(
                "labinn: its first checkpoint ({} entries) is signed by the old key too:\n{}",
                signed.size, signed.note
            );
            Ok(())
        }
        Command::Rollup { command } => {
            let svc = offline(&config).await?;
            if matches!(command, RollupCommand::Build) {
                let started = std::time::Instant::now();
                let days = labinn::service::rollup::build_all(&svc, Clock::system().now_ms())
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                println!("labinn: roll-up built: {days} space-days in {:.1} s", started.elapsed().as_secs_f64());
            }
            for (s, rows, marks) in svc.db.rollup_states().await? {
                let day = labinn::service::rollup::day_of_number;
                println!(
                    "labinn: space {}: days {} to {} built (generation {}), {rows} stored parts, {marks} dirty marks",
                    s.space_id,
                    day(s.from_day),
                    day(s.until_day).pred_opt().unwrap_or(day(s.until_day)),
                    s.generation
                );
            }
            svc.db.close().await;
            Ok(())
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
        banner.push_str(&format!("  Book and see your codes: http://{addr}/signin    Kiosk: http://{addr}/kiosk\n"));
        banner.push_str("  Demo logins (on the sign-in page, or POST /api/v1/auth/login):\n");
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

/// The service layer for a one-off command that reads: the database, migrated to this
/// build's schema.
async fn offline(config: &Config) -> anyhow::Result<labinn::service::Services> {
    let db = Db::connect(config).await?;
    db.migrate().await.with_context(|| format!("cannot migrate {}", config.database.redacted()))?;
    labinn::service::Services::offline(db, std::sync::Arc::new(config.clone()))
}

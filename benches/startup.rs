//! Start-up and idle memory of the real binary on an empty SQLite database.
//!
//! `cargo bench --bench startup` runs `labinn serve` (release build) on a fresh data
//! directory RUNS times, measures the time from spawning the process to the first
//! `GET /readyz` that answers 200, and reads the resident memory (VmRSS) of the idle
//! process two seconds after it became ready. Prints p50/p90/max.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 20;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn readyz(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    // `cargo bench` passes --bench; this harness takes no options.
    // LABINN_BENCH_BIN: another build's binary, to compare two builds in one sitting.
    let bin = std::env::var_os("LABINN_BENCH_BIN")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_labinn")), std::path::PathBuf::from);
    let mut ready_ms = Vec::with_capacity(RUNS);
    let mut rss_mib = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let started = Instant::now();
        let mut child = Command::new(&bin)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--log", "warn"])
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("LABINN_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn labinn");
        while !readyz(port) {
            assert!(started.elapsed() < Duration::from_secs(30), "labinn did not become ready");
            std::thread::sleep(Duration::from_micros(500));
        }
        ready_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(2));
        rss_mib.push(rss_kib(child.id()) as f64 / 1024.0);
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
    }
    ready_ms.sort_by(f64::total_cmp);
    rss_mib.sort_by(f64::total_cmp);
    println!("labinn start-up on an empty SQLite database, {RUNS} runs");
    println!(
        "  spawn -> /readyz 200: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        percentile(&ready_ms, 0.5),
        percentile(&ready_ms, 0.9),
        ready_ms[RUNS - 1]
    );
    println!("  idle RSS 2 s after ready: p50 {:.1} MiB, max {:.1} MiB", percentile(&rss_mib, 0.5), rss_mib[RUNS - 1]);
}

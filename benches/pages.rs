//! The maker pages on the demo: `cargo bench --bench pages` starts the release `labinn serve
//! --demo` on SQLite and then on PostgreSQL (as the other benches pick them), follows every
//! same-origin link from `/` signed out and then signed in as the demo maker (one page of
//! each kind: the same path with other ids is the same kind), and for each kind of page:
//!
//! - **time to first byte**: `LABINN_BENCH_SAMPLES` (default 50) GETs one at a time, from
//!   sending the request to having the response's headers; p50, p99 and the max;
//! - **weight**: the HTML plus every same-origin image, script and stylesheet it loads (the
//!   pages load no font), in bytes.
//!
//! It prints one line per kind and the worst p99 and weight against the targets (p99 ≤ 20 ms
//! on SQLite, ≤ 100 KB).

mod common;

use common::pct;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

/// A page's kind: its path with ids (long or digit-heavy segments) as `{}`, and its query's
/// names.
fn kind(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<&str> = p
        .split('/')
        .map(|s| if s.len() >= 20 || s.chars().filter(char::is_ascii_digit).count() >= 4 { "{}" } else { s })
        .collect();
    let mut names: Vec<&str> = q.split('&').filter_map(|kv| kv.split('=').next()).filter(|k| !k.is_empty()).collect();
    names.sort_unstable();
    names.dedup();
    format!("{}?{}", segments.join("/"), names.join("&"))
}

fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&")
}

/// The values of `attr="…"` in `html` that are paths of this site.
fn local(html: &str, attr: &str) -> Vec<String> {
    html.split(&format!("{attr}=\""))
        .skip(1)
        .map(|p| unescape(p.split('"').next().unwrap_or("")))
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .collect()
}

struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Client {
    async fn get(&self, path: &str) -> (u16, Option<String>, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if !self.cookie.is_empty() {
            req = req.header("cookie", &self.cookie);
        }
        let res = req.send().await.expect("the node answers");
        let status = res.status().as_u16();
        let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        let html = if res.headers().get("content-type").is_some_and(|c| c.to_str().unwrap().starts_with("text/html")) {
            res.text().await.unwrap()
        } else {
            let _ = res.bytes().await;
            String::new()
        };
        (status, location, html)
    }

    /// One page of each kind, reached from `/` by links (redirects followed).
    async fn crawl(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut kinds = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from(["/".to_owned()]);
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) || seen.len() > 2_000 {
                continue;
            }
            let (status, location, html) = self.get(&path).await;
            if let Some(to) = location.filter(|_| (300..400).contains(&status)) {
                queue.push_back(to);
                continue;
            }
            if status != 200 || html.is_empty() {
                continue;
            }
            if kinds.insert(kind(&path)) {
                out.push(path.clone());
            }
            let base = path.split('?').next().unwrap().to_owned();
            for href in html.split("href=\"").skip(1).map(|h| unescape(h.split('"').next().unwrap_or(""))) {
                let next = if href.starts_with('/') && !href.starts_with("//") {
                    href
                } else if href.starts_with('?') {
                    format!("{base}{href}")
                } else {
                    continue;
                };
                let next = next.split('#').next().unwrap().to_owned();
                if !kinds.contains(&kind(&next)) && !seen.contains(&next) {
                    queue.push_back(next);
                }
            }
        }
        out
    }

    /// The page and what it loads, in bytes.
    async fn weight(&self, path: &str) -> usize {
        let (_, _, html) = self.get(path).await;
        let mut total = html.len();
        let mut assets: BTreeSet<String> = local(&html, "src").into_iter().collect();
        if html.contains("rel=\"icon\"") {
            assets.insert("/favicon.svg".into());
        }
        for a in html.split("<link").skip(1).filter(|l| l.contains("stylesheet")) {
            assets.extend(local(a, "href").into_iter().take(1));
        }
        for a in assets {
            let mut req = self.http.get(format!("{}{a}", self.base));
            if !self.cookie.is_empty() {
                req = req.header("cookie", &self.cookie);
            }
            total += req.send().await.unwrap().bytes().await.unwrap().len();
        }
        total
    }

    /// Time to first byte of `samples` GETs, in ms, sorted.
    async fn ttfb(&self, path: &str, samples: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(samples);
        for _ in 0..samples {
            let mut req = self.http.get(format!("{}{path}", self.base));
            if !self.cookie.is_empty() {
                req = req.header("cookie", &self.cookie);
            }
            let t = Instant::now();
            let res = req.send().await.unwrap();
            out.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(res.status().as_u16() < 400, "{path}: {}", res.status());
            let _ = res.bytes().await;
        }
        out.sort_by(f64::total_cmp);
        out
    }
}

async fn measure(label: &'static str, url: String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (mut node, base) = common::start_node(&url, &["--demo", "--data-dir", &data], &[]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let samples: usize = std::env::var("LABINN_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    println!("\n[{label}] {base}, {samples} samples a page, CPU probe {:.0} ms", common::cpu_probe_ms());

    let mut client = Client { http: http.clone(), base: base.clone(), cookie: String::new() };
    let mut pages: Vec<(&str, String)> = client.crawl().await.into_iter().map(|p| ("out", p)).collect();
    // Sign in as the demo maker.
    let res = http
        .post(format!("{base}/signin"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=maker%40labinn.demo&password=demo-maker-2026&next=%2Fme")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "the demo maker signs in");
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    client.cookie = cookie.clone();
    pages.extend(client.crawl().await.into_iter().map(|p| ("in", p)));

    let (mut worst_p99, mut heaviest) = ((0.0_f64, String::new()), (0_usize, String::new()));
    let mut lines = BTreeMap::new();
    for (who, path) in &pages {
        client.cookie = if *who == "in" { cookie.clone() } else { String::new() };
        let t = client.ttfb(path, samples).await;
        let w = client.weight(path).await;
        let (p50, p99, max) = (pct(&t, 0.5), pct(&t, 0.99), t[t.len() - 1]);
        if p99 > worst_p99.0 {
            worst_p99 = (p99, format!("{who} {path}"));
        }
        if w > heaviest.0 {
            heaviest = (w, format!("{who} {path}"));
        }
        lines.insert(
            format!("{who} {}", kind(path)),
            format!("p50 {p50:6.2} ms  p99 {p99:6.2} ms  max {max:6.2} ms  {:6.1} KB", w as f64 / 1024.0),
        );
    }
    for (k, v) in &lines {
        println!("  {k:<60} {v}");
    }
    println!(
        "[{label}] {} kinds of page; worst p99 {:.2} ms ({}) against 20 ms; heaviest {:.1} KB ({}) against 100 KB",
        pages.len(),
        worst_p99.0,
        worst_p99.1,
        heaviest.0 as f64 / 1024.0,
        heaviest.1
    );
    let _ = node.kill();
    let _ = node.wait();
}

#[tokio::main]
async fn main() {
    common::on_both_backends("pages", measure).await;
}

//! What a node counts for Prometheus (`GET /metrics`, the OpenMetrics text format): request
//! latency by route, bookings made, scans decided, job runs, throttled requests and
//! expansions that hit their budget. One set per process, like every Prometheus client's
//! default registry: nodes are told apart by the scrape target, not by a label.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's pattern (`/api/v1/bookings/{id}`), never the raw path.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BookingLabels {
    pub kind: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScanLabels {
    /// `check_in`, `check_out`, `attend` or `deny`.
    pub decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the node.
pub struct Metrics {
    registry: Registry,
    /// Seconds from the request's arrival to its answer, by method, route and status.
    pub requests: Histograms<RequestLabels>,
    /// Requests answered 429, by route.
    pub throttled: Family<RouteLabels, Counter>,
    /// Bookings written, by kind and the status they were written with.
    pub bookings: Family<BookingLabels, Counter>,
    /// Kiosk scans, by decision.
    pub scans: Family<ScanLabels, Counter>,
    /// Runs of each scheduled job, and the rows each run changed.
    pub job_runs: Family<JobLabels, Counter>,
    pub job_rows: Family<JobLabels, Counter>,
    /// When each job last ran (Unix seconds): its lag is `time() - this`.
    pub job_last_run: Family<JobLabels, Gauge<f64, AtomicU64>>,
    /// Rule expansions refused for producing more occurrences than their budget.
    pub expansion_budget_hits: Counter,
}

fn latency() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("labinn");
        let requests: Histograms<RequestLabels> = Family::new_with_constructor(latency);
        registry.register("http_request_duration_seconds", "Time to answer a request", requests.clone());
        let throttled = Family::<RouteLabels, Counter>::default();
        registry.register("throttled_requests", "Requests refused with 429", throttled.clone());
        let bookings = Family::<BookingLabels, Counter>::default();
        registry.register("bookings", "Bookings written", bookings.clone());
        let scans = Family::<ScanLabels, Counter>::default();
        registry.register("scans", "Kiosk scans decided", scans.clone());
        let job_runs = Family::<JobLabels, Counter>::default();
        registry.register("job_runs", "Runs of the scheduled jobs", job_runs.clone());
        let job_rows = Family::<JobLabels, Counter>::default();
        registry.register("job_rows", "Rows the scheduled jobs changed", job_rows.clone());
        let job_last_run = Family::<JobLabels, Gauge<f64, AtomicU64>>::default();
        registry.register("job_last_run_timestamp_seconds", "When each job last ran", job_last_run.clone());
        let expansion_budget_hits = Counter::default();
        registry.register(
            "expansion_budget_hits",
            "Rule expansions refused for too many occurrences",
            expansion_budget_hits.clone(),
        );
        Metrics {
            registry,
            requests,
            throttled,
            bookings,
            scans,
            job_runs,
            job_rows,
            job_last_run,
            expansion_budget_hits,
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Counts a booking written.
    pub fn booked(&self, kind: &str, status: &str) {
        self.bookings.get_or_create(&BookingLabels { kind: kind.to_owned(), status: status.to_owned() }).inc();
    }

    /// Counts a run of `job` at `now_ms` that changed `rows`.
    pub fn job_ran(&self, job: &str, rows: u64, now_ms: i64) {
        let l = JobLabels { job: job.to_owned() };
        self.job_runs.get_or_create(&l).inc();
        self.job_rows.get_or_create(&l).inc_by(rows);
        #[allow(clippy::cast_precision_loss)]
        self.job_last_run.get_or_create(&l).set(now_ms as f64 / 1_000.0);
    }
}

/// The node's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

//! Utilization: what the metered record says a space was used for. Pure roll-ups over
//! facts passed in (units with their open time, bookings, metered sessions); the service
//! reads the facts, this module counts them.
//!
//! Every figure is defined once, here next to the code that computes it, and in the
//! README's glossary ("Report figures"). Durations are summed in integer milliseconds and
//! only turned into hours (3 decimals) and ratios (4 decimals, half away from zero) at the
//! end, so that the same facts always give the same digits.
//!
//! Time rules: the period and its buckets are whole local days in the space's zone (a DST
//! day is 23 or 25 hours long); every interval is clipped to each bucket it overlaps, so a
//! session or stay that crosses midnight, a bucket's end or the period's end counts in each
//! part, and a multi-day booking counts on every day it covers. Counts of events (bookings,
//! no-shows, cancellations, sessions) go to the bucket in which the booking or session
//! starts.

use super::booking::{BookingKind, BookingStatus};
use super::calendar::{local_day, local_to_utc, utc_to_local};
use super::ids::{AccountId, BookingId, ResourceId, UnitId};
use super::interval::{Interval, Millis, normalize};
use super::policy::ResourceKind;
use crate::domain::calendar::DAY_MS;
use chrono::{Datelike, Duration, NaiveDate, Timelike};
use chrono_tz::Tz;
use serde::Serialize;
// Ids are hashed many times per report (every session into every bucket's set of makers): FxHash,
// not SipHash, which took a sixth of a space-year roll-up. No hash here faces untrusted keys
// chosen to collide: the keys are ids the database made.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// The longest period one report covers, in days (two years and a leap day).
pub const MAX_REPORT_DAYS: i64 = 731;

/// A broadband seat counts as used on a local day when its metered sessions on that day add
/// up to at least this long.
pub const SEAT_DAY_MIN_USE_MS: i64 = 60 * 60_000;

/// A cancellation is late when it comes less than this long before the booking's start.
pub const LATE_CANCELLATION_MS: i64 = 24 * 3_600_000;

const HOUR_MS: i64 = 3_600_000;

text_enum! {
    /// How a report's period is cut.
    pub enum BucketSize {
        Day => "day",
        /// ISO weeks, Monday to Sunday.
        Week => "week",
        Month => "month",
        Quarter => "quarter",
        Year => "year",
    }
}

text_enum! {
    /// What a report's rows are per.
    pub enum GroupBy {
        /// The whole space (one group).
        Space => "space",
        Resource => "resource",
        Unit => "unit",
        /// The kind of resource (tool, lab facility, inn room, broadband seat).
        Kind => "kind",
        /// The organisation a booking was made for (no open hours: an organisation has none).
        Organisation => "organisation",
        /// The maker who booked (no open hours).
        Maker => "maker",
    }
}

impl GroupBy {
    /// Whether the groups own units, so that open hours and the ratios over them mean
    /// something (organisations and makers do not own units).
    pub fn has_open_time(self) -> bool {
        !matches!(self, GroupBy::Organisation | GroupBy::Maker)
    }
}

/// A report's period: whole local days `first..=last` in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub zone: Tz,
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// `[start of first, end of last)` in UTC.
    pub interval: Interval,
}

/// Why a period cannot be reported on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("the period ends before it starts")]
    Reversed,
    #[error("the period is {days} days long; at most {MAX_REPORT_DAYS} are allowed")]
    TooLong { days: i64 },
}

impl Period {
    /// The local days `first..=last` of `zone`.
    ///
    /// # Errors
    /// [`PeriodError`].
    pub fn new(zone: Tz, first: NaiveDate, last: NaiveDate) -> Result<Self, PeriodError> {
        if last < first {
            return Err(PeriodError::Reversed);
        }
        let days = (last - first).num_days() + 1;
        if days > MAX_REPORT_DAYS {
            return Err(PeriodError::TooLong { days });
        }
        let start = local_day(zone, first).start();
        let end = local_day(zone, last).end();
        Ok(Self { zone, first, last, interval: Interval::new(start, end).expect("whole days") })
    }

    /// The local days of the period, in order, as UTC intervals.
    pub fn days(&self) -> Vec<(NaiveDate, Interval)> {
        self.first.iter_days().take_while(|d| *d <= self.last).map(|d| (d, local_day(self.zone, d))).collect()
    }
}

/// One bucket of a period: whole local days, clipped to the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// `2026-03-29`, `2026-W13`, `2026-03`, `2026-Q1`, `2026`; `total` for the whole period.
    pub label: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
    #[serde(skip)]
    pub interval: Interval,
}

fn bucket_start(size: BucketSize, d: NaiveDate) -> NaiveDate {
    let ymd = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("valid date");
    match size {
        BucketSize::Day => d,
        BucketSize::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        BucketSize::Month => ymd(d.year(), d.month(), 1),
        BucketSize::Quarter => ymd(d.year(), (d.month0() / 3) * 3 + 1, 1),
        BucketSize::Year => ymd(d.year(), 1, 1),
    }
}

fn next_bucket_start(size: BucketSize, start: NaiveDate) -> NaiveDate {
    match size {
        BucketSize::Day => start + Duration::days(1),
        BucketSize::Week => start + Duration::days(7),
        BucketSize::Month => start.checked_add_months(chrono::Months::new(1)).expect("in range"),
        BucketSize::Quarter => start.checked_add_months(chrono::Months::new(3)).expect("in range"),
        BucketSize::Year => start.checked_add_months(chrono::Months::new(12)).expect("in range"),
    }
}

fn bucket_label(size: BucketSize, start: NaiveDate) -> String {
    match size {
        BucketSize::Day => start.format("%Y-%m-%d").to_string(),
        BucketSize::Week => {
            let w = start.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        BucketSize::Month => start.format("%Y-%m").to_string(),
        BucketSize::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
        BucketSize::Year => start.year().to_string(),
    }
}

/// The buckets of `period`: calendar days, ISO weeks, months, quarters or years in the
/// period's zone, the first and last clipped to the period.
pub fn buckets(period: &Period, size: BucketSize) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut start = bucket_start(size, period.first);
    while start <= period.last {
        let next = next_bucket_start(size, start);
        let first = start.max(period.first);
        let last = (next - Duration::days(1)).min(period.last);
        let interval = Interval::new(local_day(period.zone, first).start(), local_day(period.zone, last).end())
            .expect("whole days");
        out.push(Bucket { label: bucket_label(size, start), first, last, interval });
        start = next;
    }
    out
}

/// The bucket of the whole period.
pub fn whole(period: &Period) -> Bucket {
    Bucket { label: "total".into(), first: period.first, last: period.last, interval: period.interval }
}

/// A unit and the time it was open for booking within the period.
#[derive(Debug, Clone)]
pub struct UnitFacts {
    pub unit: UnitId,
    pub resource: ResourceId,
    pub kind: ResourceKind,
    /// Opening hours minus closures (of the space, the resource and the unit), within the
    /// unit's life (created, not yet retired), clipped to the period. Normalized.
    pub open: Vec<Interval>,
    /// The recorded price per night, in minor units, for inn rooms priced per night.
    pub night_price_minor: Option<i64>,
}

/// A booking as the report sees it.
#[derive(Debug, Clone)]
pub struct BookingFacts {
    pub id: BookingId,
    pub unit: UnitId,
    pub account: AccountId,
    pub organisation: Option<String>,
    pub kind: BookingKind,
    pub status: BookingStatus,
    /// `[starts_at, ends_at)`: the booked time, without buffers.
    pub span: Interval,
    pub cancelled_at: Option<Millis>,
    /// It has a metered session (of positive length, started before the report's `now`).
    pub has_session: bool,
}

impl BookingFacts {
    /// Held: the booking kept its unit for its time. Confirmed, checked in, completed, or a
    /// no-show (it held the unit until released). Pending, declined and cancelled bookings
    /// are not held.
    pub fn held(&self) -> bool {
        held(self.status)
    }

    /// Booked ahead: held, and not a walk-up. A walk-up is use without a booking made
    /// before (the kiosk books the unit as the maker arrives): it counts as a session and in
    /// the walk-up share, never in booked hours or the booking counts.
    pub fn booked_ahead(&self) -> bool {
        self.held() && self.kind != BookingKind::WalkUp
    }
}

/// Whether a booking of this status held its unit for its time (see [`BookingFacts::held`]).
pub fn held(status: BookingStatus) -> bool {
    matches!(
        status,
        BookingStatus::Confirmed | BookingStatus::CheckedIn | BookingStatus::Completed | BookingStatus::NoShow
    )
}

/// A metered session as the report sees it.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub id: String,
    pub booking: Option<BookingId>,
    pub unit: UnitId,
    pub account: AccountId,
    /// The organisation of its booking.
    pub organisation: Option<String>,
    /// `[started_at, ended_at)`; an open session runs to the report's `now`.
    pub span: Interval,
    /// Opened by a walk-up (a personal code at a kiosk, not a booking made before).
    pub walk_up: bool,
    /// Its booking's booked time, when it has a booking booked ahead
    /// ([`BookingFacts::booked_ahead`]).
    pub booked: Option<Interval>,
}

/// Everything one report counts, for one space.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub units: Vec<UnitFacts>,
    pub bookings: Vec<BookingFacts>,
    pub sessions: Vec<SessionFacts>,
    /// Each maker's first metered session in this space, ever.
    pub first_session: HashMap<AccountId, Millis>,
    /// Makers verified at the time of the report.
    pub verified: HashSet<AccountId>,
    /// The starts of the sessions still open as of the report's `now` (the roll-up builds no
    /// day that one of them runs across).
    pub open_since: Vec<Millis>,
}

/// The figures of one group in one bucket. `None` where a ratio has no denominator, or
/// where the grouping has no open time (organisations, makers).
#[derive(Debug, Clone, PartialEq, Serialize, Default, utoipa::ToSchema)]
pub struct Figures {
    /// Open hours: the units' open time in the bucket (opening rules minus closures, per
    /// unit, while the unit exists), summed over units.
    pub open_hours: Option<f64>,
    /// Booked hours: the booked time (start to end, no buffers) of bookings booked ahead
    /// (held, not walk-ups) in the bucket, summed over bookings.
    pub booked_hours: f64,
    /// Used hours: metered session time (check-in to check-out; an open session to now)
    /// in the bucket, summed over sessions, whether or not the space was open.
    pub used_hours: f64,
    /// Utilization: the part of each unit's open time during which it was in a metered
    /// session, summed over units, ÷ open hours. At most 1.
    pub utilization: Option<f64>,
    /// Booked share: the part of each unit's open time covered by bookings booked ahead,
    /// summed over units, ÷ open hours. At most 1.
    pub booked_share: Option<f64>,
    /// Show rate: the part of the booked time (bookings booked ahead) spent in their own
    /// metered sessions ÷ booked hours. At most 1.
    pub show_rate: Option<f64>,
    /// Bookings: bookings booked ahead (held, not walk-ups) that start in the bucket.
    pub bookings: u64,
    /// Checked in: those of them with at least one metered session (of positive length,
    /// started before the report's `now`), wherever the session lies.
    pub checked_in: u64,
    /// Check-in rate: checked in ÷ bookings.
    pub check_in_rate: Option<f64>,
    /// No-shows: bookings starting in the bucket that were released as no-shows.
    pub no_shows: u64,
    /// No-show rate: no-shows ÷ bookings.
    pub no_show_rate: Option<f64>,
    /// Cancellations: bookings starting in the bucket that were cancelled (by the maker or
    /// an operator; declined requests are not cancellations).
    pub cancellations: u64,
    /// Late cancellations: those cancelled less than 24 hours before their start (or after).
    pub late_cancellations: u64,
    /// The median lead time of the cancellations, in hours (start minus the moment of
    /// cancelling; negative when cancelled after the start). The mean of the middle two
    /// when their number is even.
    pub cancellation_lead_hours_median: Option<f64>,
    /// Overstay hours: session time after its booking's booked end, in the bucket.
    pub overstay_hours: f64,
    /// Sessions: metered sessions that start in the bucket.
    pub sessions: u64,
    /// Walk-ups: those of them opened by a walk-up.
    pub walk_ups: u64,
    /// Walk-up share: walk-ups ÷ sessions.
    pub walk_up_share: Option<f64>,
    /// Makers served: distinct makers with metered time in the bucket.
    pub makers: u64,
    /// New makers: makers served whose first metered session in this space, ever, starts in
    /// the bucket. Returning makers are the others served.
    pub new_makers: u64,
    pub returning_makers: u64,
    /// Organisations served: distinct organisations of the bookings behind the sessions with
    /// metered time in the bucket.
    pub organisations: u64,
    /// Peak concurrent use: the most metered sessions open at one instant in the bucket.
    pub peak_concurrent: u64,
    /// Broadband seats only: seat-days open (a seat on a local day with any open time) and
    /// used (an open seat-day whose metered sessions that day add up to at least 60 minutes).
    pub seat_days_open: u64,
    pub seat_days_used: u64,
    /// Seat-day rate: seat-days used ÷ seat-days open.
    pub seat_day_rate: Option<f64>,
    /// Inn rooms only: room-nights available (the night that starts on a local date counts
    /// when the room is open in the last instant of that date) and occupied (an available
    /// room-night whose room has a metered session spanning the midnight that ends it).
    pub room_nights_available: u64,
    pub room_nights_occupied: u64,
    /// Occupancy: room-nights occupied ÷ available.
    pub occupancy: Option<f64>,
    /// Occupied room-nights whose session's maker is verified.
    pub nights_by_verified_makers: u64,
    /// Stays: held stay bookings that start in the bucket; their average length in nights
    /// (local dates from arrival to departure).
    pub stays: u64,
    pub average_stay_nights: Option<f64>,
    /// The value of the occupied room-nights at each room's recorded price per night, in
    /// minor units (fen).
    pub subsidised_value_minor: i64,
}

/// Hours, rounded to 3 decimals (3.6 s), from milliseconds.
pub fn hours(ms: i64) -> f64 {
    ratio_digits(i128::from(ms), i128::from(HOUR_MS), 1000)
}

/// `num ÷ den` rounded to 4 decimals, half away from zero; `None` when `den` is 0.
pub fn ratio(num: i64, den: i64) -> Option<f64> {
    (den != 0).then(|| ratio_digits(i128::from(num), i128::from(den), 10_000))
}

fn ratio_digits(num: i128, den: i128, scale: i128) -> f64 {
    let n = num * scale;
    let q = (2 * n.abs() + den.abs()) / (2 * den.abs());
    let signed = if (n < 0) != (den < 0) { -q } else { q };
    signed as f64 / scale as f64
}

/// The key a fact is grouped by, borrowed from the fact (no allocation per fact).
fn key_of<'a>(by: GroupBy, unit: &'a UnitFacts, account: Option<&'a AccountId>, org: Option<&'a str>) -> &'a str {
    match by {
        GroupBy::Space => "space",
        GroupBy::Resource => unit.resource.as_str(),
        GroupBy::Unit => unit.unit.as_str(),
        GroupBy::Kind => unit.kind.as_str(),
        GroupBy::Organisation => org.unwrap_or(""),
        GroupBy::Maker => account.map_or("", AccountId::as_str),
    }
}

/// One group's figures, bucket by bucket, and for the whole period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group's key: `space`, a resource or unit id, a kind, an organisation id (empty:
    /// bookings for no organisation), an account id.
    pub key: String,
    pub buckets: Vec<(Bucket, Figures)>,
    pub total: Figures,
    /// Used hours by local weekday (Monday first) and local hour, over the whole period.
    pub heatmap: [[f64; 24]; 7],
}

/// The report of one space: one [`GroupReport`] per group that has any unit or fact, and the
/// space as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub groups: Vec<GroupReport>,
    pub whole: GroupReport,
}

/// A maker in a [`DayPart`]: a canonical UUID (every account id labinn makes) as its 128 bits,
/// any other id as its text. Distinct makers are counted by unions of these over a bucket's
/// days: a number hashes and compares in one step where the id's 36 characters took a
/// quarter of a space-year report's time (decoding each into a string, hashing, comparing).
/// Exact either way: two keys are equal exactly when their ids are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MakerKey {
    Uuid(u128),
    Text(Box<str>),
}

impl MakerKey {
    pub fn of(id: &AccountId) -> Self {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        match uuid::Uuid::parse_str(id.as_str()) {
            Ok(u) if u.hyphenated().encode_lower(&mut buf) == id.as_str() => MakerKey::Uuid(u.as_u128()),
            _ => MakerKey::Text(id.as_str().into()),
        }
    }
}

/// What one group did on one local day: every figure's parts, kept apart so that any run of
/// days folds into any bucket exactly ([`fold`]). Durations are integer milliseconds of the
/// day (every interval clipped to it); counts go to the day on which the booking or session
/// starts. The roll-up stores these per space, resource and kind; a report made from stored
/// days and from raw facts gives the same digits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayPart {
    pub open_ms: i64,
    pub booked_ms: i64,
    pub used_ms: i64,
    /// Each unit's open time during which it was in a metered session, summed over units.
    pub used_open_ms: i64,
    /// Each unit's open time covered by bookings booked ahead, summed over units.
    pub booked_open_ms: i64,
    /// Session time within its own booking's booked time.
    pub shown_ms: i64,
    pub overstay_ms: i64,
    pub bookings: u64,
    pub checked_in: u64,
    pub no_shows: u64,
    pub cancellations: u64,
    pub late_cancellations: u64,
    /// Each cancellation's lead time (start minus the moment of cancelling), in order.
    pub cancel_leads_ms: Vec<i64>,
    pub sessions: u64,
    pub walk_ups: u64,
    /// Makers with metered time on the day, sorted, each once.
    pub makers: Vec<MakerKey>,
    /// Organisations of the bookings behind the sessions with metered time on the day.
    pub organisations: Vec<String>,
    /// The most metered sessions open at one instant of the day.
    pub peak_concurrent: u64,
    pub seat_days_open: u64,
    pub seat_days_used: u64,
    /// Room-nights that start on the day and are available.
    pub room_nights_available: u64,
    /// The occupied ones: the room and the maker of the session across the midnight that ends
    /// the night (whether they are verified, and the room's price, are read at report time).
    pub occupied_nights: Vec<(UnitId, AccountId)>,
    pub stays: u64,
    pub stay_nights: i64,
    /// Used milliseconds in each local hour of the day (a 25-hour day's repeated hour holds
    /// both; a 23-hour day's skipped hour holds none).
    pub hour_ms: [i64; 24],
}

/// Each group's day parts (sorted by key; one part per local day of the period) and the whole
/// space's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parts {
    pub groups: Vec<(String, Vec<DayPart>)>,
    pub whole: Vec<DayPart>,
}

/// Rolls `facts` up over `period`, cut into `size` buckets, per `by`. Sessions and bookings
/// whose unit is not in `facts.units` are ignored. The same as folding [`day_parts`].
pub fn utilization(facts: &Facts, period: &Period, size: BucketSize, by: GroupBy) -> Report {
    fold(&day_parts(facts, period, by), facts, period, size, by.has_open_time())
}

/// The parts of each group of `by`, and of the whole space, for every local day of `period`.
pub fn day_parts(facts: &Facts, period: &Period, by: GroupBy) -> Parts {
    let units: HashMap<&UnitId, &UnitFacts> = facts.units.iter().map(|u| (&u.unit, u)).collect();
    // Each unit, booking and session goes to its group once (its key looked up once).
    let mut index: HashMap<&str, usize> = HashMap::default();
    let mut groups: Vec<(&str, Selection<'_>)> = Vec::new();
    if by.has_open_time() {
        for u in &facts.units {
            let g = group_index(&mut index, &mut groups, key_of(by, u, None, None));
            groups[g].1.units.push(u);
        }
    }
    for b in &facts.bookings {
        if let Some(u) = units.get(&b.unit) {
            let g = group_index(&mut index, &mut groups, key_of(by, u, Some(&b.account), b.organisation.as_deref()));
            groups[g].1.bookings.push(b);
        }
    }
    for s in &facts.sessions {
        if let Some(u) = units.get(&s.unit) {
            let g = group_index(&mut index, &mut groups, key_of(by, u, Some(&s.account), s.organisation.as_deref()));
            groups[g].1.sessions.push(s);
        }
    }
    if !by.has_open_time() {
        // Groupings without open time (organisations, makers) see every unit.
        for (_, sel) in &mut groups {
            sel.units = facts.units.iter().collect();
        }
    }
    groups.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let days = period.days();
    let groups: Vec<(String, Vec<DayPart>)> = groups
        .into_iter()
        .map(|(k, sel)| (k.to_owned(), parts_per_day(&sel, period, &days, by.has_open_time())))
        .collect();
    // By space, the one group is the whole space: computed once.
    let whole = match (by, groups.as_slice()) {
        (GroupBy::Space, [(_, parts)]) => parts.clone(),
        _ => {
            let all = Selection {
                units: facts.units.iter().collect(),
                bookings: facts.bookings.iter().filter(|b| units.contains_key(&b.unit)).collect(),
                sessions: facts.sessions.iter().filter(|s| units.contains_key(&s.unit)).collect(),
            };
            parts_per_day(&all, period, &days, true)
        }
    };
    Parts { groups, whole }
}

/// The report of `parts` (one per local day of `period`, as [`day_parts`] makes them) cut into
/// `size` buckets. `facts` gives what is read at report time: the units (their recorded price
/// per night), each maker's first session and the verified makers.
pub fn fold(parts: &Parts, facts: &Facts, period: &Period, size: BucketSize, with_open: bool) -> Report {
    let bucket_list = buckets(period, size);
    let prices: HashMap<&UnitId, i64> =
        facts.units.iter().filter_map(|u| u.night_price_minor.map(|p| (&u.unit, p))).collect();
    let first: HashMap<MakerKey, Millis> = facts.first_session.iter().map(|(a, t)| (MakerKey::of(a), *t)).collect();
    let group = |key: &str, days: &[DayPart], with_open: bool| {
        let range = |b: &Bucket| {
            let a = usize::try_from((b.first - period.first).num_days()).unwrap_or(0);
            let z = usize::try_from((b.last - period.first).num_days() + 1).unwrap_or(0);
            &days[a.min(days.len())..z.min(days.len())]
        };
        let figures = |b: &Bucket| figures_of(range(b), b.interval.start(), with_open, facts, &prices, &first);
        let total_bucket = whole(period);
        GroupReport {
            key: key.to_owned(),
            buckets: bucket_list.iter().map(|b| (b.clone(), figures(b))).collect(),
            total: figures(&total_bucket),
            heatmap: heatmap_of(days, period),
        }
    };
    Report {
        groups: parts.groups.iter().map(|(k, days)| group(k, days, with_open)).collect(),
        whole: group("space", &parts.whole, true),
    }
}

/// The index in `groups` of the group with `key`, added when new.
fn group_index<'a>(
    index: &mut HashMap<&'a str, usize>,
    groups: &mut Vec<(&'a str, Selection<'a>)>,
    key: &'a str,
) -> usize {
    *index.entry(key).or_insert_with(|| {
        groups.push((key, Selection::default()));
        groups.len() - 1
    })
}

#[derive(Default)]
struct Selection<'a> {
    units: Vec<&'a UnitFacts>,
    bookings: Vec<&'a BookingFacts>,
    sessions: Vec<&'a SessionFacts>,
}

/// The indices of the days (in order, adjacent) that overlap `iv`.
fn days_over(days: &[Interval], iv: Interval) -> std::ops::Range<usize> {
    let a = days.partition_point(|d| d.end() <= iv.start());
    let b = days.partition_point(|d| d.start() < iv.end());
    a..b.max(a)
}

/// The index of the day containing instant `t`.
fn day_of(days: &[Interval], t: Millis) -> Option<usize> {
    let i = days.partition_point(|d| d.end() <= t);
    (i < days.len() && days[i].start() <= t).then_some(i)
}

/// Calls `add(day, ms)` with the milliseconds of `iv` in each day it overlaps.
fn split_days(days: &[Interval], iv: Interval, mut add: impl FnMut(usize, i64)) {
    for i in days_over(days, iv) {
        if let Some(x) = days[i].intersection(&iv) {
            add(i, x.duration_ms());
        }
    }
}

/// `a ∩ b` (both normalized) split over the days.
fn intersect_days(a: &[Interval], b: &[Interval], days: &[Interval], mut add: impl FnMut(usize, i64)) {
    // A merge walk.
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if let Some(x) = a[i].intersection(&b[j]) {
            split_days(days, x, &mut add);
        }
        if a[i].end() < b[j].end() {
            i += 1;
        } else {
            j += 1;
        }
    }
}

fn median_hours(mut v: Vec<i64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    let twice = if n % 2 == 1 { 2 * v[n / 2] } else { v[n / 2 - 1] + v[n / 2] };
    Some(ratio_digits(i128::from(twice), i128::from(2 * HOUR_MS), 1000))
}

/// One group's parts for each of `days` (the local days of `period`).
#[allow(clippy::too_many_lines)]
fn parts_per_day(
    sel: &Selection<'_>,
    period: &Period,
    days: &[(NaiveDate, Interval)],
    with_open: bool,
) -> Vec<DayPart> {
    let spans: Vec<Interval> = days.iter().map(|(_, d)| *d).collect();
    let n = spans.len();
    let mut p = vec![DayPart::default(); n];
    let mut makers: Vec<HashSet<&AccountId>> = vec![HashSet::default(); n];
    let mut orgs: Vec<HashSet<&str>> = vec![HashSet::default(); n];

    // Booked time, counts by start, cancellations.
    for b in &sel.bookings {
        if !b.span.overlaps(&period.interval) {
            continue;
        }
        if b.booked_ahead() {
            split_days(&spans, b.span, |i, ms| p[i].booked_ms += ms);
            if let Some(i) = day_of(&spans, b.span.start()) {
                let d = &mut p[i];
                d.bookings += 1;
                if b.has_session {
                    d.checked_in += 1;
                }
                if b.status == BookingStatus::NoShow {
                    d.no_shows += 1;
                }
                if b.kind == BookingKind::Stay {
                    d.stays += 1;
                    let zone = period.zone;
                    d.stay_nights += (utc_to_local(zone, b.span.end()).date_naive()
                        - utc_to_local(zone, b.span.start()).date_naive())
                    .num_days();
                }
            }
        } else if b.status == BookingStatus::Cancelled {
            let lead = b.span.start() - b.cancelled_at.unwrap_or(b.span.start());
            if let Some(i) = day_of(&spans, b.span.start()) {
                let d = &mut p[i];
                d.cancellations += 1;
                if lead < LATE_CANCELLATION_MS {
                    d.late_cancellations += 1;
                }
                d.cancel_leads_ms.push(lead);
            }
        }
    }

    // Session time, overstay, show time, distinct makers, counts by start, the heatmap.
    for s in &sel.sessions {
        let Some(span) = s.span.intersection(&period.interval) else { continue };
        split_days(&spans, span, |i, ms| p[i].used_ms += ms);
        if let Some(booked) = s.booked {
            if let Some(x) = span.intersection(&booked) {
                split_days(&spans, x, |i, ms| p[i].shown_ms += ms);
            }
            if let Ok(after) = Interval::new(booked.end().max(span.start()), span.end()) {
                split_days(&spans, after, |i, ms| p[i].overstay_ms += ms);
            }
        }
        for i in days_over(&spans, span) {
            makers[i].insert(&s.account);
            if let Some(o) = s.organisation.as_deref() {
                orgs[i].insert(o);
            }
        }
        if let Some(i) = day_of(&spans, s.span.start()) {
            p[i].sessions += 1;
            if s.walk_up {
                p[i].walk_ups += 1;
            }
        }
        add_local_hours(period, span, &mut p);
    }

    // Per unit: open time, and the open time covered by sessions and by held bookings. The
    // sessions and bookings are sorted to their units once.
    if with_open {
        let mut sessions_of: HashMap<&UnitId, Vec<&SessionFacts>> = HashMap::default();
        for s in &sel.sessions {
            sessions_of.entry(&s.unit).or_default().push(s);
        }
        let mut held_of: HashMap<&UnitId, Vec<Interval>> = HashMap::default();
        for b in sel.bookings.iter().filter(|b| b.booked_ahead()) {
            if let Some(x) = b.span.intersection(&period.interval) {
                held_of.entry(&b.unit).or_default().push(x);
            }
        }
        for u in &sel.units {
            for iv in &u.open {
                split_days(&spans, *iv, |i, ms| p[i].open_ms += ms);
            }
            let on_unit: &[&SessionFacts] = sessions_of.get(&u.unit).map_or(&[], Vec::as_slice);
            let sess = normalize(on_unit.iter().filter_map(|s| s.span.intersection(&period.interval)).collect());
            intersect_days(&u.open, &sess, &spans, |i, ms| p[i].used_open_ms += ms);
            let held_spans = normalize(held_of.remove(&u.unit).unwrap_or_default());
            intersect_days(&u.open, &held_spans, &spans, |i, ms| p[i].booked_open_ms += ms);
            match u.kind {
                ResourceKind::BroadbandSeat => {
                    // Each day's use of the seat: every session split over the days it covers.
                    let mut use_ms = vec![0i64; n];
                    for s in on_unit {
                        split_days(&spans, s.span, |k, ms| use_ms[k] += ms);
                    }
                    for (k, day) in spans.iter().enumerate() {
                        if u.open.iter().any(|o| o.overlaps(day)) {
                            p[k].seat_days_open += 1;
                            if use_ms[k] >= SEAT_DAY_MIN_USE_MS {
                                p[k].seat_days_used += 1;
                            }
                        }
                    }
                }
                ResourceKind::InnRoom => {
                    // The night of a date ends at the midnight that ends the date; its occupant
                    // is the first session (in the sessions' order) running across it.
                    let mut occupant: Vec<Option<&SessionFacts>> = vec![None; n];
                    for s in on_unit {
                        let mut k = spans.partition_point(|d| d.end() < s.span.start());
                        while k < n && spans[k].end() < s.span.end() {
                            occupant[k].get_or_insert(s);
                            k += 1;
                        }
                    }
                    for (k, day) in spans.iter().enumerate() {
                        let midnight = day.end();
                        if u.open.iter().any(|o| o.contains_instant(midnight - 1)) {
                            p[k].room_nights_available += 1;
                            if let Some(s) = occupant[k] {
                                p[k].occupied_nights.push((u.unit.clone(), s.account.clone()));
                            }
                        }
                    }
                }
                ResourceKind::Tool | ResourceKind::LabFacility => {}
            }
        }
    }

    // Peak concurrency: a sweep over session starts and ends, an end before a start at the
    // same instant (half-open intervals that touch do not overlap). `open_before[k]` is the
    // number of sessions open after the first k events.
    let mut events: Vec<(Millis, i32)> = Vec::with_capacity(sel.sessions.len() * 2);
    for s in &sel.sessions {
        events.push((s.span.start(), 1));
        events.push((s.span.end(), -1));
    }
    events.sort_unstable();
    let mut open_before = Vec::with_capacity(events.len() + 1);
    open_before.push(0i64);
    for (_, d) in &events {
        open_before.push(open_before.last().copied().unwrap_or(0) + i64::from(*d));
    }
    for (d, day) in p.iter_mut().zip(&spans) {
        let k = events.partition_point(|(t, _)| *t <= day.start());
        let mut peak = open_before[k];
        for (j, (t, _)) in events.iter().enumerate().skip(k) {
            if *t >= day.end() {
                break;
            }
            peak = peak.max(open_before[j + 1]);
        }
        d.peak_concurrent = u64::try_from(peak).unwrap_or(0);
    }

    for ((d, m), o) in p.iter_mut().zip(makers).zip(orgs) {
        let mut m: Vec<MakerKey> = m.into_iter().map(MakerKey::of).collect();
        m.sort_unstable();
        d.makers = m;
        let mut o: Vec<String> = o.into_iter().map(str::to_owned).collect();
        o.sort_unstable();
        d.organisations = o;
    }
    p
}

/// The figures of a bucket that starts at `start` from the parts of its days.
fn figures_of(
    days: &[DayPart],
    start: Millis,
    with_open: bool,
    facts: &Facts,
    prices: &HashMap<&UnitId, i64>,
    first_session: &HashMap<MakerKey, Millis>,
) -> Figures {
    let sum = |f: fn(&DayPart) -> i64| days.iter().map(f).sum::<i64>();
    let count = |f: fn(&DayPart) -> u64| days.iter().map(f).sum::<u64>();
    let (open, booked, used) = (sum(|d| d.open_ms), sum(|d| d.booked_ms), sum(|d| d.used_ms));
    let (bookings, checked_in, no_shows) = (count(|d| d.bookings), count(|d| d.checked_in), count(|d| d.no_shows));
    let (sessions, walk_ups) = (count(|d| d.sessions), count(|d| d.walk_ups));
    let (seat_open, seat_used) = (count(|d| d.seat_days_open), count(|d| d.seat_days_used));
    let nights_avail = count(|d| d.room_nights_available);
    let stays = count(|d| d.stays);
    let mut served: HashSet<&MakerKey> = HashSet::default();
    let mut orgs: HashSet<&str> = HashSet::default();
    let mut leads = Vec::new();
    let (mut nights_occ, mut nights_verified, mut value) = (0u64, 0u64, 0i64);
    for d in days {
        served.extend(d.makers.iter());
        orgs.extend(d.organisations.iter().map(String::as_str));
        leads.extend_from_slice(&d.cancel_leads_ms);
        for (unit, who) in &d.occupied_nights {
            nights_occ += 1;
            if facts.verified.contains(who) {
                nights_verified += 1;
            }
            value += prices.get(unit).copied().unwrap_or(0);
        }
    }
    let new_makers = served.iter().filter(|a| first_session.get(**a).is_some_and(|t| *t >= start)).count() as u64;
    let makers = served.len() as u64;
    Figures {
        open_hours: with_open.then(|| hours(open)),
        booked_hours: hours(booked),
        used_hours: hours(used),
        utilization: if with_open { ratio(sum(|d| d.used_open_ms), open) } else { None },
        booked_share: if with_open { ratio(sum(|d| d.booked_open_ms), open) } else { None },
        show_rate: ratio(sum(|d| d.shown_ms), booked),
        bookings,
        checked_in,
        check_in_rate: ratio(checked_in as i64, bookings as i64),
        no_shows,
        no_show_rate: ratio(no_shows as i64, bookings as i64),
        cancellations: count(|d| d.cancellations),
        late_cancellations: count(|d| d.late_cancellations),
        cancellation_lead_hours_median: median_hours(leads),
        overstay_hours: hours(sum(|d| d.overstay_ms)),
        sessions,
        walk_ups,
        walk_up_share: ratio(walk_ups as i64, sessions as i64),
        makers,
        new_makers,
        returning_makers: makers - new_makers,
        organisations: orgs.len() as u64,
        peak_concurrent: days.iter().map(|d| d.peak_concurrent).max().unwrap_or(0),
        seat_days_open: seat_open,
        seat_days_used: seat_used,
        seat_day_rate: ratio(seat_used as i64, seat_open as i64),
        room_nights_available: nights_avail,
        room_nights_occupied: nights_occ,
        occupancy: ratio(nights_occ as i64, nights_avail as i64),
        nights_by_verified_makers: nights_verified,
        stays,
        average_stay_nights: ratio(sum(|d| d.stay_nights), stays as i64),
        subsidised_value_minor: value,
    }
}

/// The local hour that `t` falls in (its date and hour), and the UTC instant at which that
/// local hour ends.
fn local_hour_end(zone: Tz, t: Millis) -> (NaiveDate, u32, Millis) {
    let local = utc_to_local(zone, t);
    let floor = local.naive_local().date().and_hms_opt(local.hour(), 0, 0).expect("valid hour");
    let next = local_to_utc(zone, floor + Duration::hours(1));
    (local.date_naive(), local.hour(), if next > t { next } else { t + HOUR_MS })
}

/// Adds `span` (within the period) to the days' used time by local hour: cut at local hour
/// boundaries, each piece to the hour and the local date it falls in.
fn add_local_hours(period: &Period, span: Interval, parts: &mut [DayPart]) {
    let first = period.first;
    let mut add = |date: NaiveDate, hour: usize, ms: i64| {
        if let Ok(i) = usize::try_from((date - first).num_days())
            && let Some(d) = parts.get_mut(i)
        {
            d.hour_ms[hour] += ms;
        }
    };
    // The common case: one UTC offset over the whole span (no transition in it; two in a week
    // happen in no zone), so local hours are plain arithmetic. Otherwise hour by hour through
    // the zone's rules.
    let offset = |t: Millis| {
        use chrono::{Offset, TimeZone};
        let utc = chrono::DateTime::from_timestamp_millis(t).map(|d| d.naive_utc());
        utc.map(|u| i64::from(period.zone.offset_from_utc_datetime(&u).fix().local_minus_utc()) * 1000)
    };
    if span.duration_ms() <= 7 * DAY_MS
        && let (Some(a), Some(b)) = (offset(span.start()), offset(span.end() - 1))
        && a == b
    {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let mut t = span.start();
        while t < span.end() {
            let local = t + a;
            let end = ((local.div_euclid(HOUR_MS) + 1) * HOUR_MS - a).min(span.end());
            let date = epoch + Duration::days(local.div_euclid(DAY_MS));
            add(date, (local.rem_euclid(DAY_MS) / HOUR_MS) as usize, end - t);
            t = end;
        }
        return;
    }
    let mut t = span.start();
    while t < span.end() {
        let (date, h, end) = local_hour_end(period.zone, t);
        let end = end.min(span.end());
        add(date, h as usize, end - t);
        t = end;
    }
}

/// Used hours by local weekday (Monday first) and local hour, over the days of the period.
fn heatmap_of(days: &[DayPart], period: &Period) -> [[f64; 24]; 7] {
    let mut ms = [[0i64; 24]; 7];
    for (d, date) in days.iter().zip(period.first.iter_days()) {
        let row = &mut ms[date.weekday().num_days_from_monday() as usize];
        for (slot, v) in row.iter_mut().zip(d.hour_ms) {
            *slot += v;
        }
    }
    ms.map(|row| row.map(hours))
}

/// Adds `span`'s milliseconds to `ms` by local weekday and hour, hour by hour through the
/// zone's rules.
#[cfg(test)]
fn add_hour_by_hour(zone: Tz, span: Interval, ms: &mut [[i64; 24]; 7]) {
    let mut t = span.start();
    while t < span.end() {
        let (date, h, end) = local_hour_end(zone, t);
        let end = end.min(span.end());
        ms[date.weekday().num_days_from_monday() as usize][h as usize] += end - t;
        t = end;
    }
}

pub mod codec;
#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = HOUR_MS;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(zone: Tz, s: &str) -> Millis {
        local_to_utc(zone, chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap())
    }

    fn iv(a: Millis, b: Millis) -> Interval {
        Interval::new(a, b).unwrap()
    }

    fn unit(id: &str, kind: ResourceKind, open: Vec<Interval>) -> UnitFacts {
        UnitFacts {
            unit: UnitId::new(id),
            resource: ResourceId::new("r1"),
            kind,
            open: normalize(open),
            night_price_minor: None,
        }
    }

    fn session(unit: &str, who: &str, span: Interval, booked: Option<Interval>) -> SessionFacts {
        SessionFacts {
            id: format!("s-{who}-{}", span.start()),
            booking: booked.map(|_| BookingId::new(format!("b-{who}-{}", span.start()))),
            unit: UnitId::new(unit),
            account: AccountId::new(who),
            organisation: None,
            span,
            walk_up: false,
            booked,
        }
    }

    #[test]
    fn a_dst_week_in_berlin_has_a_23_hour_day_and_buckets_cut_at_local_midnight() {
        let z = chrono_tz::Europe::Berlin;
        let p = Period::new(z, date("2026-03-23"), date("2026-04-05")).unwrap();
        let days = buckets(&p, BucketSize::Day);
        assert_eq!(days.len(), 14);
        assert_eq!(days[6].label, "2026-03-29");
        assert_eq!(days[6].interval.duration_ms(), 23 * H);
        let weeks = buckets(&p, BucketSize::Week);
        assert_eq!(weeks.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(), ["2026-W13", "2026-W14"]);
        assert_eq!(weeks[0].interval.duration_ms(), 7 * 24 * H - H);
        let months = buckets(&p, BucketSize::Month);
        assert_eq!(months[0].first, date("2026-03-23"));
        assert_eq!(months[1].last, date("2026-04-05"));
        assert_eq!(
            buckets(&p, BucketSize::Quarter).iter().map(|b| b.label.clone()).collect::<Vec<_>>(),
            ["2026-Q1", "2026-Q2"]
        );
    }

    #[test]
    fn a_session_across_midnight_counts_in_both_days_and_the_heatmap_follows_local_hours() {
        let z = chrono_tz::Asia::Shanghai;
        let p = Period::new(z, date("2026-05-01"), date("2026-05-02")).unwrap();
        let open = vec![iv(at(z, "2026-05-01T00:00"), at(z, "2026-05-03T00:00"))];
        let facts = Facts {
            units: vec![unit("u1", ResourceKind::Tool, open)],
            sessions: vec![session("u1", "m1", iv(at(z, "2026-05-01T23:00"), at(z, "2026-05-02T01:30")), None)],
            ..Facts::default()
        };
        let r = utilization(&facts, &p, BucketSize::Day, GroupBy::Space);
        let days = &r.whole.buckets;
        assert_eq!(days[0].1.used_hours, 1.0);
        assert_eq!(days[1].1.used_hours, 1.5);
        assert_eq!(days[0].1.sessions, 1);
        assert_eq!(days[1].1.sessions, 0);
        assert_eq!(days[1].1.makers, 1);
        assert_eq!(r.whole.total.utilization, Some(0.0521)); // 2.5 / 48
        // 2026-05-01 is a Friday.
        assert_eq!(r.whole.heatmap[4][23], 1.0);
        assert_eq!(r.whole.heatmap[5][0], 1.0);
        assert_eq!(r.whole.heatmap[5][1], 0.5);
    }

    #[test]
    fn the_repeated_hour_of_a_fall_back_night_holds_two_hours() {
        let z = chrono_tz::America::Los_Angeles;
        let p = Period::new(z, date("2026-11-01"), date("2026-11-01")).unwrap();
        assert_eq!(p.interval.duration_ms(), 25 * H);
        let facts = Facts {
            units: vec![unit("u1", ResourceKind::Tool, vec![p.interval])],
            sessions: vec![session("u1", "m1", p.interval, None)],
            ..Facts::default()
        };
        let r = utilization(&facts, &p, BucketSize::Day, GroupBy::Unit);
        let heat = r.groups[0].heatmap;
        assert_eq!(heat[6][1], 2.0); // Sunday 01:00–02:00 happens twice
        assert_eq!(heat[6][2], 1.0);
        assert_eq!(r.whole.total.used_hours, 25.0);
        assert_eq!(r.whole.total.utilization, Some(1.0));
    }

    #[test]
    fn ratios_round_half_away_from_zero_and_have_no_value_without_a_denominator() {
        assert_eq!(ratio(1, 3), Some(0.3333));
        assert_eq!(ratio(2, 3), Some(0.6667));
        assert_eq!(ratio(1, 8), Some(0.125));
        assert_eq!(ratio(5, 0), None);
        assert_eq!(hours(-30 * 60_000), -0.5);
        assert_eq!(median_hours(vec![H, 4 * H]), Some(2.5));
    }

    #[test]
    fn peak_concurrency_counts_sessions_open_at_a_bucket_start_and_touching_ones_apart() {
        let z = chrono_tz::Asia::Shanghai;
        let p = Period::new(z, date("2026-05-01"), date("2026-05-02")).unwrap();
        let t = |s| at(z, s);
        let facts = Facts {
            units: vec![unit("u1", ResourceKind::Tool, vec![]), unit("u2", ResourceKind::Tool, vec![])],
            sessions: vec![
                session("u1", "a", iv(t("2026-05-01T22:00"), t("2026-05-02T02:00")), None),
                session("u2", "b", iv(t("2026-05-01T10:00"), t("2026-05-01T11:00")), None),
                session("u2", "c", iv(t("2026-05-01T11:00"), t("2026-05-01T12:00")), None),
            ],
            ..Facts::default()
        };
        let r = utilization(&facts, &p, BucketSize::Day, GroupBy::Space);
        assert_eq!(r.whole.buckets[0].1.peak_concurrent, 1);
        assert_eq!(r.whole.buckets[1].1.peak_concurrent, 1);
        assert_eq!(r.whole.total.utilization, None, "no open time: no ratio");
    }

    fn arb_facts() -> impl Strategy<Value = (Facts, i64, i64)> {
        // A 60-day period from 2026-03-01 in Berlin; sessions and bookings anywhere near it.
        let z = chrono_tz::Europe::Berlin;
        let base = at(z, "2026-03-01T00:00");
        let span = (-3 * 24i64..62 * 24, 1i64..72).prop_map(move |(h, d)| iv(base + h * H, base + (h + d) * H));
        let sessions = prop::collection::vec((0usize..3, 0usize..4, span.clone(), any::<bool>()), 0..25);
        let bookings = prop::collection::vec((0usize..3, 0usize..4, span.clone(), 0usize..5), 0..25);
        let opens = prop::collection::vec(prop::collection::vec(span, 0..6), 3);
        (sessions, bookings, opens, 0i64..30, 1i64..30).prop_map(move |(ss, bs, opens, cut, len)| {
            let kinds = [ResourceKind::Tool, ResourceKind::BroadbandSeat, ResourceKind::InnRoom];
            let units = opens
                .into_iter()
                .enumerate()
                .map(|(i, o)| {
                    let p = iv(base, base + 60 * 24 * H);
                    let mut u = unit(&format!("u{i}"), kinds[i], o.iter().filter_map(|x| x.intersection(&p)).collect());
                    u.night_price_minor = Some(6000);
                    u
                })
                .collect();
            let statuses = [
                BookingStatus::Confirmed,
                BookingStatus::Completed,
                BookingStatus::NoShow,
                BookingStatus::Cancelled,
                BookingStatus::Declined,
            ];
            let bookings = bs
                .iter()
                .enumerate()
                .map(|(i, (u, who, span, st))| BookingFacts {
                    id: BookingId::new(format!("b{i}")),
                    unit: UnitId::new(format!("u{u}")),
                    account: AccountId::new(format!("m{who}")),
                    organisation: (who % 2 == 0).then(|| format!("o{who}")),
                    kind: if *u == 2 { BookingKind::Stay } else { BookingKind::Single },
                    status: statuses[*st],
                    span: *span,
                    cancelled_at: Some(span.start() - H),
                    has_session: false,
                })
                .collect::<Vec<_>>();
            let sessions: Vec<SessionFacts> = ss
                .iter()
                .enumerate()
                .map(|(i, (u, who, span, walk))| {
                    // Every other session belongs to a booking (on its unit, by its maker).
                    match bookings.get(i).filter(|_| i % 2 == 0) {
                        Some(b) => SessionFacts {
                            id: format!("s{i}"),
                            booking: Some(b.id.clone()),
                            unit: b.unit.clone(),
                            account: b.account.clone(),
                            organisation: b.organisation.clone(),
                            span: *span,
                            walk_up: *walk,
                            booked: b.booked_ahead().then_some(b.span),
                        },
                        None => SessionFacts {
                            id: format!("s{i}"),
                            booking: None,
                            unit: UnitId::new(format!("u{u}")),
                            account: AccountId::new(format!("m{who}")),
                            organisation: None,
                            span: *span,
                            walk_up: *walk,
                            booked: None,
                        },
                    }
                })
                .collect();
            let mut bookings = bookings;
            for b in &mut bookings {
                b.has_session = sessions.iter().any(|s: &SessionFacts| s.booking.as_ref() == Some(&b.id));
            }
            (Facts { units, bookings, sessions, ..Facts::default() }, cut, len)
        })
    }

    fn additive(f: &Figures) -> [i64; 14] {
        let ms = |h: f64| (h * 1000.0).round() as i64;
        [
            ms(f.open_hours.unwrap_or(0.0)),
            ms(f.booked_hours),
            ms(f.used_hours),
            ms(f.overstay_hours),
            f.bookings as i64,
            f.checked_in as i64,
            f.no_shows as i64,
            f.cancellations as i64,
            f.sessions as i64,
            f.walk_ups as i64,
            f.seat_days_open as i64,
            f.seat_days_used as i64,
            f.room_nights_occupied as i64,
            f.subsidised_value_minor,
        ]
    }

    /// The heatmap hour by hour through the zone's rules alone (no shortcut).
    fn heatmap_by_rules(sessions: &[&SessionFacts], period: &Period) -> [[i64; 24]; 7] {
        let mut ms = [[0i64; 24]; 7];
        for s in sessions {
            if let Some(span) = s.span.intersection(&period.interval) {
                add_hour_by_hour(period.zone, span, &mut ms);
            }
        }
        ms
    }

    proptest! {
        #[test]
        fn the_heatmaps_arithmetic_matches_the_zones_rules_across_dst_and_odd_offsets(
            starts in prop::collection::vec((0i64..60 * 24 * 60, 1i64..3 * 24 * 60), 1..20),
            zone in prop::sample::select(vec![
                chrono_tz::Europe::Berlin, chrono_tz::America::Los_Angeles, chrono_tz::Asia::Shanghai,
                chrono_tz::Asia::Kolkata, chrono_tz::Australia::Lord_Howe,
            ]),
        ) {
            // Sessions of up to three days, minute-aligned, over March and April 2026 (both
            // spring-forward nights; Lord Howe's half-hour change in April).
            let p = Period::new(zone, date("2026-03-01"), date("2026-04-29")).unwrap();
            let facts: Vec<SessionFacts> = starts
                .iter()
                .map(|(m, len)| {
                    let a = p.interval.start() + m * 60_000;
                    session("u1", "m1", iv(a, a + len * 60_000), None)
                })
                .collect();
            let refs: Vec<&SessionFacts> = facts.iter().collect();
            let mut parts = vec![DayPart::default(); p.days().len()];
            for span in facts.iter().filter_map(|s| s.span.intersection(&p.interval)) {
                add_local_hours(&p, span, &mut parts);
            }
            let fast = heatmap_of(&parts, &p);
            prop_assert_eq!(fast, reference::heatmap(&refs, &p));
            let rules = heatmap_by_rules(&refs, &p).map(|row| row.map(hours));
            prop_assert_eq!(fast, rules);
        }

        #[test]
        fn folding_day_parts_gives_the_reference_roll_up_digit_for_digit(
            (mut facts, cut, len) in arb_facts(),
            size in prop::sample::select(BucketSize::ALL.to_vec()),
            by in prop::sample::select(GroupBy::ALL.to_vec()),
            zone in prop::sample::select(vec![chrono_tz::Europe::Berlin, chrono_tz::America::Los_Angeles]),
        ) {
            // Some makers verified and some first sessions known, so that the figures read at
            // report time are exercised too.
            facts.verified.insert(AccountId::new("m1"));
            facts.first_session.insert(AccountId::new("m2"), at(zone, "2026-03-20T00:00"));
            facts.first_session.insert(AccountId::new("m3"), at(zone, "2025-01-01T00:00"));
            let first = date("2026-03-01") + Duration::days(cut);
            let p = Period::new(zone, first, first + Duration::days(len)).unwrap();
            prop_assert_eq!(utilization(&facts, &p, size, by), reference::utilization(&facts, &p, size, by));
        }

        #[test]
        fn parts_made_in_chunks_and_stored_fold_to_the_same_report_as_the_whole_period(
            (facts, cut, len) in arb_facts(),
            size in prop::sample::select(BucketSize::ALL.to_vec()),
            by in prop::sample::select(vec![GroupBy::Space, GroupBy::Resource, GroupBy::Kind]),
            stored_mask in any::<u64>(),
        ) {
            // As the roll-up does: the period cut into two runs at `cut`, each computed on its
            // own, every other day (by the mask) sent through the codec as a stored row.
            let z = chrono_tz::Europe::Berlin;
            let p = Period::new(z, date("2026-03-01"), date("2026-03-01") + Duration::days(30 + len)).unwrap();
            let mid = (p.first + Duration::days(cut.min(30))).min(p.last);
            let runs = [Period::new(z, p.first, mid).ok(), Period::new(z, mid + Duration::days(1), p.last).ok()];
            let mut whole = Vec::new();
            let mut groups: std::collections::BTreeMap<String, Vec<DayPart>> = Default::default();
            let mut offset = 0;
            for run in runs.into_iter().flatten() {
                let parts = day_parts(&facts, &run, by);
                let n = run.days().len();
                for (key, days) in parts.groups {
                    let g = groups.entry(key).or_insert_with(|| vec![DayPart::default(); p.days().len()]);
                    for (i, d) in days.into_iter().enumerate() { g[offset + i] = d; }
                }
                whole.extend(parts.whole);
                offset += n;
            }
            for (i, d) in whole.iter_mut().enumerate() {
                if stored_mask >> (i % 64) & 1 == 1 {
                    *d = codec::decode(&codec::encode(d)).unwrap();
                }
            }
            let parts = Parts { groups: groups.into_iter().collect(), whole };
            let folded = fold(&parts, &facts, &p, size, true);
            prop_assert_eq!(folded, utilization(&facts, &p, size, by));
        }

        #[test]
        fn buckets_sum_to_the_whole_and_a_unit_never_uses_more_than_the_period(
            (facts, _, _) in arb_facts(),
            size in prop::sample::select(BucketSize::ALL.to_vec()),
        ) {
            let z = chrono_tz::Europe::Berlin;
            let p = Period::new(z, date("2026-03-01"), date("2026-04-29")).unwrap();
            let r = utilization(&facts, &p, size, GroupBy::Unit);
            for g in r.groups.iter().chain([&r.whole]) {
                let mut sum = [0i64; 14];
                for (_, f) in &g.buckets {
                    for (s, v) in sum.iter_mut().zip(additive(f)) { *s += v; }
                }
                // Hours are rounded per bucket: allow a rounding step per bucket.
                let total = additive(&g.total);
                for (k, (s, t)) in sum.iter().zip(total).enumerate() {
                    let slack = if k < 4 { g.buckets.len() as i64 } else { 0 };
                    prop_assert!((s - t).abs() <= slack, "figure {k}: buckets {s} whole {t}");
                }
                for (_, f) in g.buckets.iter().chain([&(whole(&p), g.total.clone())]) {
                    for r in [f.utilization, f.booked_share, f.show_rate, f.check_in_rate, f.occupancy, f.seat_day_rate].into_iter().flatten() {
                        prop_assert!((0.0..=1.0).contains(&r), "ratio {r} out of range in {f:?}");
                    }
                }
            }
            for g in &r.groups {
                let period_h = hours(p.interval.duration_ms());
                prop_assert!(g.total.open_hours.unwrap_or(0.0) <= period_h);
            }
        }

        #[test]
        fn splitting_the_period_never_changes_the_totals((facts, cut, _) in arb_facts()) {
            let z = chrono_tz::Europe::Berlin;
            let first = date("2026-03-01");
            let last = date("2026-04-29");
            let mid = first + Duration::days(cut);
            let whole_p = Period::new(z, first, last).unwrap();
            let a = Period::new(z, first, mid).unwrap();
            let b = Period::new(z, mid + Duration::days(1), last).unwrap();
            let w = utilization(&facts, &whole_p, BucketSize::Month, GroupBy::Space).whole.total;
            let x = utilization(&facts, &a, BucketSize::Month, GroupBy::Space).whole.total;
            let y = utilization(&facts, &b, BucketSize::Month, GroupBy::Space).whole.total;
            let (wa, xa, ya) = (additive(&w), additive(&x), additive(&y));
            for k in 0..14 {
                let slack = if k < 4 { 1 } else { 0 };
                prop_assert!((xa[k] + ya[k] - wa[k]).abs() <= slack, "figure {k}: {} + {} vs {}", xa[k], ya[k], wa[k]);
            }
        }
    }
}

//! May this maker book this, now? Every rule a resource's policy sets, checked at once:
//! the answer lists every broken rule, not the first. Pure: the caller loads the facts.

use super::calendar::{MINUTE_MS, Zone, utc_to_local};
use super::interval::{Interval, Millis};
use super::policy::{BookingPolicy, Eligibility, Quota};
use chrono::{Datelike, Duration, NaiveTime, Timelike};
use serde::Serialize;

text_enum! {
    /// Where a booking stands. A *live* booking holds its unit: no other live booking of the
    /// unit may overlap its blocked interval (the database enforces it).
    pub enum BookingStatus {
        /// Live; awaits an operator's approval.
        Pending => "pending",
        /// Live; can be checked in.
        Confirmed => "confirmed",
        /// Live; a metered session is open.
        CheckedIn => "checked_in",
        /// Checked out.
        Completed => "completed",
        /// Cancelled by its maker or an operator.
        Cancelled => "cancelled",
        /// An operator declined it.
        Declined => "declined",
        /// Not checked in by its start + the grace; released.
        NoShow => "no_show",
    }
}

impl BookingStatus {
    /// The statuses that hold a unit.
    pub const LIVE: [BookingStatus; 3] = [BookingStatus::Pending, BookingStatus::Confirmed, BookingStatus::CheckedIn];

    /// Whether a booking of this status holds its unit (and has a check-in code).
    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }

    /// The status of a new booking: pending where an operator must approve it.
    pub fn new_booking(requires_approval: bool) -> Self {
        if requires_approval { BookingStatus::Pending } else { BookingStatus::Confirmed }
    }
}

text_enum! {
    /// How a booking was made.
    pub enum BookingKind {
        /// One booking of a unit or a resource.
        Single => "single",
        /// An occurrence of a recurring series.
        Series => "series",
        /// A maker-inn stay of whole nights.
        Stay => "stay",
        /// Made at a kiosk by a personal code, from now.
        WalkUp => "walk_up",
    }
}

text_enum! {
    /// Where a waitlist entry stands.
    pub enum WaitStatus {
        /// Waiting for the time to free up.
        Waiting => "waiting",
        /// Claimed by a node that is trying to book it (answers show it as waiting).
        Offered => "offered",
        /// Booked: the entry names the booking.
        Fulfilled => "fulfilled",
        /// Its start passed while it waited.
        Expired => "expired",
        /// The maker left the waitlist.
        Cancelled => "cancelled",
    }
}

/// One broken rule, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    /// `outside_opening_hours`, `in_closure`, `too_short`, `too_long`, `not_on_slot`,
    /// `in_the_past`, `too_little_notice`, `beyond_horizon`, `quota_hours_exceeded`,
    /// `quota_active_exceeded`, `training_missing`, `training_expired`, `not_eligible`.
    pub rule: String,
    pub message: String,
}

fn v(rule: &str, message: impl Into<String>) -> Violation {
    Violation { rule: rule.to_owned(), message: message.into() }
}

/// A training the maker holds (or held).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingHold {
    pub slug: String,
    /// `None`: does not expire.
    pub expires_at: Option<Millis>,
}

/// What the rules need to know about the maker.
#[derive(Debug, Clone, Default)]
pub struct MakerFacts {
    pub verified: bool,
    /// Trainings granted and not revoked.
    pub trainings: Vec<TrainingHold>,
    /// Minutes of live bookings on this resource in the local week (Monday–Sunday) of the request.
    pub week_minutes: i64,
    /// Live bookings on this resource that have not ended.
    pub active_bookings: i64,
    /// The same two, over every resource of this kind in the space (for the kind quota).
    pub kind_week_minutes: i64,
    pub kind_active_bookings: i64,
}

impl MakerFacts {
    /// Counts one more (`by` = 1) or one fewer (`by` = -1) live booking of this resource over
    /// `span`, the way the store counts them: on the resource and across its kind, its whole
    /// length in the request's local `week` if it overlaps it, and as active while it has not
    /// ended by `now`. A series counts its own earlier occurrences with it; a move leaves out
    /// the booking it moves.
    pub fn count(&mut self, span: Interval, week: Interval, now: Millis, by: i64) {
        if span.end() > now {
            self.active_bookings += by;
            self.kind_active_bookings += by;
        }
        if span.overlaps(&week) {
            let minutes = by * (span.duration_ms() / MINUTE_MS);
            self.week_minutes += minutes;
            self.kind_week_minutes += minutes;
        }
    }
}

/// What the rules need to know about the resource and the calendar around the request.
#[derive(Debug, Clone)]
pub struct BookingContext<'a> {
    pub policy: &'a BookingPolicy,
    pub zone: Zone,
    pub now: Millis,
    /// Opening hours around the request, before closures.
    pub open: &'a [Interval],
    /// Closures of the space or resource (and the unit, when one is named) around the request.
    pub closed: &'a [Interval],
    /// The space's quota for this kind of resource, if it sets one.
    pub kind_quota: Option<&'a Quota>,
}

/// The local ISO week (Monday 00:00 to the next Monday 00:00) that contains `t`.
pub fn local_week(zone: Zone, t: Millis) -> Interval {
    let local = utc_to_local(zone.tz(), t).date_naive();
    let monday = local - Duration::days(i64::from(local.weekday().num_days_from_monday()));
    let start = super::calendar::local_to_utc(zone.tz(), monday.and_time(NaiveTime::MIN));
    let end = super::calendar::local_to_utc(zone.tz(), (monday + Duration::days(7)).and_time(NaiveTime::MIN));
    Interval::new(start, end).expect("a week has positive length")
}

/// Whether `t` falls on a slot boundary of `slot_minutes` counted from local midnight.
pub fn on_slot(zone: Zone, t: Millis, slot_minutes: i64) -> bool {
    let local = utc_to_local(zone.tz(), t);
    let minute_of_day = i64::from(local.hour()) * 60 + i64::from(local.minute());
    local.second() == 0 && local.nanosecond() == 0 && minute_of_day % slot_minutes == 0
}

/// Whether the rules look at a maker's record (trainings held, hours and bookings already
/// held) at all. When they do not, [`check`] depends on the maker only through
/// [`MakerFacts::verified`], which the session already carries, and a decision need not read
/// the rest.
pub fn needs_maker_record(policy: &BookingPolicy, kind_quota: Option<&Quota>) -> bool {
    let limits = |q: &Quota| q.hours_per_week.is_some() || q.max_active_bookings.is_some();
    !policy.required_trainings.is_empty() || limits(&policy.quota) || kind_quota.is_some_and(limits)
}

/// Every rule that booking `span` breaks for this maker. Empty means allowed.
pub fn check(ctx: &BookingContext<'_>, maker: &MakerFacts, span: Interval) -> Vec<Violation> {
    let p = ctx.policy;
    let mut out = Vec::new();
    let minutes = span.duration_ms() / MINUTE_MS;

    if !ctx.open.iter().any(|o| o.contains(&span)) {
        out.push(v("outside_opening_hours", "the time is not all within the opening hours"));
    }
    if ctx.closed.iter().any(|c| c.overlaps(&span)) {
        out.push(v("in_closure", "the resource is closed for part of that time"));
    }
    if !on_slot(ctx.zone, span.start(), p.slot_minutes) || !on_slot(ctx.zone, span.end(), p.slot_minutes) {
        out.push(v("not_on_slot", format!("start and end must fall on {}-minute slots (local time)", p.slot_minutes)));
    }
    if minutes < p.min_minutes {
        out.push(v("too_short", format!("at least {} minutes", p.min_minutes)));
    }
    if minutes > p.max_minutes {
        out.push(v("too_long", format!("at most {} minutes", p.max_minutes)));
    }
    if span.start() < ctx.now {
        out.push(v("in_the_past", "the start has passed"));
    } else if span.start() - ctx.now < p.min_notice_minutes * MINUTE_MS {
        out.push(v("too_little_notice", format!("book at least {} minutes ahead", p.min_notice_minutes)));
    }
    if span.start() > ctx.now + p.horizon_days * super::calendar::DAY_MS {
        out.push(v("beyond_horizon", format!("book at most {} days ahead", p.horizon_days)));
    }
    if let Some(limit) = p.quota.hours_per_week
        && (maker.week_minutes + minutes) as f64 > limit * 60.0
    {
        out.push(v(
            "quota_hours_exceeded",
            format!(
                "at most {limit} hours a week on this resource; {:.1} already booked",
                maker.week_minutes as f64 / 60.0
            ),
        ));
    }
    if let Some(limit) = p.quota.max_active_bookings
        && maker.active_bookings >= i64::from(limit)
    {
        out.push(v("quota_active_exceeded", format!("at most {limit} bookings at once on this resource")));
    }
    if let Some(q) = ctx.kind_quota {
        if let Some(limit) = q.hours_per_week
            && (maker.kind_week_minutes + minutes) as f64 > limit * 60.0
        {
            out.push(v(
                "quota_hours_exceeded",
                format!("at most {limit} hours a week on resources of this kind in this space"),
            ));
        }
        if let Some(limit) = q.max_active_bookings
            && maker.kind_active_bookings >= i64::from(limit)
        {
            out.push(v(
                "quota_active_exceeded",
                format!("at most {limit} bookings at once on resources of this kind in this space"),
            ));
        }
    }
    for slug in &p.required_trainings {
        let held: Vec<&TrainingHold> = maker.trainings.iter().filter(|t| &t.slug == slug).collect();
        if held.is_empty() {
            out.push(v("training_missing", format!("the training {slug} is required")));
        } else if !held.iter().any(|t| t.expires_at.is_none_or(|e| e >= span.end())) {
            out.push(v("training_expired", format!("the training {slug} expires before the booking ends")));
        }
    }
    if p.eligibility == Eligibility::VerifiedMakers && !maker.verified {
        out.push(v("not_eligible", "only makers verified by an operator may book this"));
    }
    out
}

/// The longest span any policy allows (`max_minutes` is at most 31 days).
pub const LONGEST_SPAN_MS: Millis = 31 * super::calendar::DAY_MS;

/// A request that is too long whatever the calendar says: longer than [`LONGEST_SPAN_MS`]
/// (for anything but a stay, whose length is its nights, bounded on its own). A decision asks
/// this first, so that such a request is refused (`too_long`) before any opening hours are
/// expanded for it; anything shorter is checked in full, so that a refusal lists every rule.
pub fn out_of_reach(policy: &BookingPolicy, span: Interval, kind: BookingKind) -> Vec<Violation> {
    if kind != BookingKind::Stay && span.duration_ms() > LONGEST_SPAN_MS {
        return vec![v("too_long", format!("at most {} minutes", policy.max_minutes))];
    }
    Vec::new()
}

/// How a booking comes to be at a time: made afresh, or moved there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new booking: a single one, an occurrence of a series, a stay, a walk-up, the
    /// waitlist's booking for a maker.
    Create,
    /// A move of a booking that is `was`, by its maker, or by an operator of its space.
    Move { was: BookingStatus, by_operator: bool },
}

/// What the rules make of a booking at a time: every rule it breaks (empty: allowed) and the
/// status it has when it is made or moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub violations: Vec<Violation>,
    pub status: BookingStatus,
}

/// The one judgement of every path that puts a booking at a time, so that a move is held to
/// exactly the rules of a fresh booking of its result (`maker` must then leave the moved
/// booking out of its usage: [`MakerFacts::count`] with `-1`):
/// - the rules of [`check`]; for a stay ([`BookingKind::Stay`]) nights instead of slots and
///   minutes: it runs from the inn's check-in time on the arrival day to its check-out time on
///   the departure day (`not_stay_times`), for at least one night (`too_short`) and at most
///   the inn's `max_nights` (`too_many_nights`), counted as local dates;
/// - the status: a new booking is `pending` where the policy requires approval, `confirmed`
///   otherwise. A maker's move is a new request, so where approval is required it is `pending`
///   again; an operator's move keeps the status (the operator decides).
pub fn judge(
    ctx: &BookingContext<'_>,
    maker: &MakerFacts,
    span: Interval,
    kind: BookingKind,
    change: Change,
) -> Verdict {
    let mut violations = check(ctx, maker, span);
    match kind {
        BookingKind::Stay => stay_rules(ctx, span, &mut violations),
        // A walk-up runs from the scan until it must end: no slot, length or notice rule.
        BookingKind::WalkUp => violations
            .retain(|x| !matches!(x.rule.as_str(), "not_on_slot" | "too_short" | "too_little_notice" | "in_the_past")),
        BookingKind::Single | BookingKind::Series => {}
    }
    let status = match change {
        Change::Create => BookingStatus::new_booking(ctx.policy.requires_approval),
        Change::Move { was, by_operator: true } => was,
        Change::Move { was, by_operator: false } => {
            if ctx.policy.requires_approval {
                BookingStatus::Pending
            } else {
                was
            }
        }
    };
    Verdict { violations, status }
}

/// A stay's rules in place of the slot and length rules (see [`judge`]).
fn stay_rules(ctx: &BookingContext<'_>, span: Interval, out: &mut Vec<Violation>) {
    out.retain(|x| !matches!(x.rule.as_str(), "not_on_slot" | "too_short" | "too_long"));
    let inn = ctx.policy.inn.clone().unwrap_or_default();
    let (arrive, leave) = (utc_to_local(ctx.zone.tz(), span.start()), utc_to_local(ctx.zone.tz(), span.end()));
    let at = |t: &chrono::DateTime<chrono_tz::Tz>, hh_mm: &str| super::policy::parse_hh_mm(hh_mm) == Some(t.time());
    if !at(&arrive, &inn.check_in_time) || !at(&leave, &inn.check_out_time) {
        out.push(v(
            "not_stay_times",
            format!(
                "a stay runs from {} on the day of arrival to {} on the day of departure",
                inn.check_in_time, inn.check_out_time
            ),
        ));
    }
    let nights = (leave.date_naive() - arrive.date_naive()).num_days();
    if nights < 1 {
        out.push(v("too_short", "at least one night"));
    }
    if nights > i64::from(inn.max_nights) {
        out.push(v("too_many_nights", format!("at most {} nights per stay", inn.max_nights)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::ResourceKind;

    const H: i64 = 3_600_000;
    // 2026-09-07 00:00 in Shanghai (a Monday).
    const DAY0: i64 = 1_788_739_200_000 - 8 * H;

    fn zone() -> Zone {
        Zone::parse("tz", "Asia/Shanghai").unwrap()
    }

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(a, b).unwrap()
    }

    #[test]
    fn a_counted_booking_counts_on_the_resource_and_across_its_kind() {
        let week = iv(DAY0, DAY0 + 7 * 24 * H);
        let mut f = MakerFacts {
            active_bookings: 1,
            kind_active_bookings: 2,
            week_minutes: 60,
            kind_week_minutes: 120,
            ..MakerFacts::default()
        };
        // Tomorrow, two hours: active, and in the week.
        f.count(iv(DAY0 + 34 * H, DAY0 + 36 * H), week, DAY0 + 10 * H, 1);
        assert_eq!((f.active_bookings, f.kind_active_bookings, f.week_minutes, f.kind_week_minutes), (2, 3, 180, 240));
        // Next week: active, not in this week; and left out again.
        let later = iv(DAY0 + 8 * 24 * H, DAY0 + 8 * 24 * H + H);
        f.count(later, week, DAY0 + 10 * H, 1);
        assert_eq!((f.active_bookings, f.kind_active_bookings, f.week_minutes), (3, 4, 180));
        f.count(later, week, DAY0 + 10 * H, -1);
        // Ended before now: in the week's minutes, not active.
        f.count(iv(DAY0 + H, DAY0 + 2 * H), week, DAY0 + 10 * H, 1);
        assert_eq!((f.active_bookings, f.kind_active_bookings, f.week_minutes, f.kind_week_minutes), (2, 3, 240, 300));
    }

    #[test]
    fn a_good_request_breaks_no_rule() {
        let policy = BookingPolicy::defaults(ResourceKind::Tool);
        let open = [iv(DAY0 + 9 * H, DAY0 + 18 * H)];
        let ctx =
            BookingContext { policy: &policy, zone: zone(), now: DAY0, open: &open, closed: &[], kind_quota: None };
        assert_eq!(check(&ctx, &MakerFacts::default(), iv(DAY0 + 10 * H, DAY0 + 11 * H)), vec![]);
    }

    #[test]
    fn every_broken_rule_is_listed() {
        let mut policy = BookingPolicy::defaults(ResourceKind::Tool);
        policy.required_trainings = vec!["laser-safety".into(), "first-aid".into()];
        policy.quota.max_active_bookings = Some(1);
        policy.quota.hours_per_week = Some(2.0);
        policy.max_minutes = 60;
        policy.min_notice_minutes = 24 * 60;
        policy.eligibility = Eligibility::VerifiedMakers;
        let open = [iv(DAY0 + 9 * H, DAY0 + 18 * H)];
        let closed = [iv(DAY0 + 17 * H, DAY0 + 18 * H)];
        let ctx =
            BookingContext { policy: &policy, zone: zone(), now: DAY0, open: &open, closed: &closed, kind_quota: None };
        let maker = MakerFacts {
            verified: false,
            trainings: vec![TrainingHold { slug: "first-aid".into(), expires_at: Some(DAY0) }],
            week_minutes: 60,
            active_bookings: 1,
            ..MakerFacts::default()
        };
        // 16:07 to 19:07: off-slot, too long, past closing, in a closure, too little notice.
        let got: Vec<String> = check(&ctx, &maker, iv(DAY0 + 16 * H + 7 * 60_000, DAY0 + 19 * H + 7 * 60_000))
            .into_iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(
            got,
            [
                "outside_opening_hours",
                "in_closure",
                "not_on_slot",
                "too_long",
                "too_little_notice",
                "quota_hours_exceeded",
                "quota_active_exceeded",
                "training_missing",
                "training_expired",
                "not_eligible"
            ]
        );
    }

    #[test]
    fn the_past_and_the_far_future_are_refused() {
        let policy = BookingPolicy::defaults(ResourceKind::Tool);
        let open = [iv(0, i64::MAX / 2)];
        let ctx = BookingContext {
            policy: &policy,
            zone: zone(),
            now: DAY0 + 12 * H,
            open: &open,
            closed: &[],
            kind_quota: None,
        };
        let rules =
            |s: Interval| check(&ctx, &MakerFacts::default(), s).into_iter().map(|v| v.rule).collect::<Vec<_>>();
        assert_eq!(rules(iv(DAY0 + 10 * H, DAY0 + 11 * H)), ["in_the_past"]);
        let far = DAY0 + 40 * 24 * H;
        assert_eq!(rules(iv(far, far + H)), ["beyond_horizon"]);
    }

    #[test]
    fn slots_are_read_on_the_local_clock() {
        let berlin = Zone::parse("tz", "Europe/Berlin").unwrap();
        // 2026-03-29 10:00 CEST = 08:00Z: on a 60-minute slot locally.
        let t = 1_774_771_200_000;
        assert!(on_slot(berlin, t, 60));
        assert!(!on_slot(berlin, t + 30 * 60_000, 60));
    }

    #[test]
    fn the_local_week_runs_monday_to_monday() {
        let w = local_week(zone(), DAY0 + 3 * 24 * H);
        assert_eq!((w.start(), w.end()), (DAY0, DAY0 + 7 * 24 * H));
    }

    proptest::proptest! {
        /// When the rules need no maker record, no record can change the answer: only the
        /// verified flag counts.
        #[test]
        fn without_a_record_rule_the_record_never_matters(
            trainings in proptest::collection::vec(("[a-c]", proptest::option::of(0i64..4)), 0..3),
            week_minutes in 0i64..10_000,
            active in 0i64..50,
            kind_week in 0i64..10_000,
            kind_active in 0i64..50,
            verified: bool,
            eligibility_verified: bool,
            start_h in 0i64..48,
            len_h in 1i64..6,
            hours_quota in proptest::option::of(0.5f64..40.0),
            active_quota in proptest::option::of(0u32..5),
            kind_hours in proptest::option::of(0.5f64..40.0),
            required in proptest::collection::vec("[a-c]", 0..2),
        ) {
            let mut policy = BookingPolicy::defaults(ResourceKind::Tool);
            policy.max_minutes = 24 * 60;
            policy.quota = Quota { hours_per_week: hours_quota, max_active_bookings: active_quota };
            policy.required_trainings = required;
            if eligibility_verified {
                policy.eligibility = Eligibility::VerifiedMakers;
            }
            let kind_quota = kind_hours.map(|h| Quota { hours_per_week: Some(h), max_active_bookings: None });
            let open = [iv(DAY0, DAY0 + 72 * H)];
            let ctx = BookingContext {
                policy: &policy,
                zone: zone(),
                now: DAY0,
                open: &open,
                closed: &[],
                kind_quota: kind_quota.as_ref(),
            };
            let span = iv(DAY0 + start_h * H, DAY0 + (start_h + len_h) * H);
            let full = MakerFacts {
                verified,
                trainings: trainings
                    .into_iter()
                    .map(|(slug, e)| TrainingHold { slug, expires_at: e.map(|d| DAY0 + d * 24 * H) })
                    .collect(),
                week_minutes,
                active_bookings: active,
                kind_week_minutes: kind_week,
                kind_active_bookings: kind_active,
            };
            let bare = MakerFacts { verified, ..MakerFacts::default() };
            if !needs_maker_record(&policy, kind_quota.as_ref()) {
                proptest::prop_assert_eq!(check(&ctx, &full, span), check(&ctx, &bare, span));
            } else {
                // And it says "needed" whenever some rule reads the record.
                proptest::prop_assert!(
                    !policy.required_trainings.is_empty()
                        || policy.quota != Quota::default()
                        || kind_quota.is_some()
                );
            }
        }
    }

    proptest::proptest! {
        /// For any booking and any move: the move is allowed exactly when a fresh booking of
        /// its result would be, by the same maker with the moved booking left out, and a
        /// maker's move of a booking that needs approval waits for approval again.
        #[test]
        fn a_move_is_judged_as_a_fresh_booking_of_its_result(
            requires_approval: bool,
            stay: bool,
            was_pending: bool,
            from_h in 0i64..24 * 20,
            from_len_h in 1i64..24 * 3,
            to_h in 0i64..24 * 20,
            to_len_h in 1i64..24 * 30,
            hours_quota in proptest::option::of(1.0f64..30.0),
            active_quota in proptest::option::of(1u32..4),
            other_week in 0i64..2_000,
            other_active in 0i64..4,
            max_nights in 1u32..15,
        ) {
            let kind = if stay { ResourceKind::InnRoom } else { ResourceKind::Tool };
            let mut policy = BookingPolicy::defaults(kind);
            policy.requires_approval = requires_approval;
            policy.quota = Quota { hours_per_week: hours_quota, max_active_bookings: active_quota };
            if let Some(inn) = policy.inn.as_mut() {
                inn.max_nights = max_nights;
            }
            let now = DAY0;
            let open = [iv(DAY0 - 24 * H, DAY0 + 60 * 24 * H)];
            let ctx = BookingContext { policy: &policy, zone: zone(), now, open: &open, closed: &[], kind_quota: None };
            let booking = iv(DAY0 + from_h * H, DAY0 + (from_h + from_len_h) * H);
            let to = iv(DAY0 + to_h * H, DAY0 + (to_h + to_len_h) * H);
            let week = local_week(zone(), to.start());
            // The maker's other bookings, then the same with the booking to be moved.
            let others = MakerFacts { week_minutes: other_week, active_bookings: other_active, ..MakerFacts::default() };
            let mut with_it = others.clone();
            with_it.count(booking, week, now, 1);
            // What a move reads: the maker's usage with the moved booking, left out again.
            let mut for_move = with_it.clone();
            for_move.count(booking, week, now, -1);
            let kind = if stay { BookingKind::Stay } else { BookingKind::Single };
            let was = if was_pending { BookingStatus::Pending } else { BookingStatus::Confirmed };
            let fresh = judge(&ctx, &others, to, kind, Change::Create);
            let moved = judge(&ctx, &for_move, to, kind, Change::Move { was, by_operator: false });
            proptest::prop_assert_eq!(&moved.violations, &fresh.violations);
            if requires_approval {
                proptest::prop_assert_eq!(moved.status, BookingStatus::Pending);
            } else {
                proptest::prop_assert_eq!(moved.status, was);
            }
            // An operator's move is held to the same rules and keeps the status.
            let by_operator = judge(&ctx, &for_move, to, kind, Change::Move { was, by_operator: true });
            proptest::prop_assert_eq!(&by_operator.violations, &fresh.violations);
            proptest::prop_assert_eq!(by_operator.status, was);
        }
    }

    #[test]
    fn a_stay_is_counted_in_nights_from_check_in_to_check_out() {
        let policy = BookingPolicy::defaults(ResourceKind::InnRoom);
        let open = [iv(DAY0 - 24 * H, DAY0 + 60 * 24 * H)];
        let ctx =
            BookingContext { policy: &policy, zone: zone(), now: DAY0, open: &open, closed: &[], kind_quota: None };
        let rules = |s: Interval| {
            judge(&ctx, &MakerFacts { verified: true, ..MakerFacts::default() }, s, BookingKind::Stay, Change::Create)
                .violations
                .into_iter()
                .map(|v| v.rule)
                .collect::<Vec<_>>()
        };
        // Shanghai, 14:00 on day 1 to 12:00 on day 4: three nights, within the 14 allowed.
        let arrive = DAY0 + 24 * H + 14 * H;
        assert_eq!(rules(iv(arrive, DAY0 + 4 * 24 * H + 12 * H)), Vec::<String>::new());
        // Twenty nights: too many. Leaving at 18:00: not the inn's times.
        assert_eq!(rules(iv(arrive, DAY0 + 21 * 24 * H + 12 * H)), ["too_many_nights"]);
        assert_eq!(rules(iv(arrive, DAY0 + 4 * 24 * H + 18 * H)), ["not_stay_times"]);
        // 14:00 to 12:00 the next day is one night; to 20:00 the same day is none.
        assert_eq!(rules(iv(arrive, arrive + 22 * H)), Vec::<String>::new());
        assert_eq!(rules(iv(arrive, arrive + 6 * H)), ["not_stay_times", "too_short"]);
    }
}

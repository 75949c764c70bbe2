//! iCalendar text (RFC 5545, through the `icalendar` crate) for the calendar feeds of
//! [`crate::service::calendar`]. Every time is written in UTC (`…Z`): the crate writes no
//! VTIMEZONE, and a calendar shows UTC in its reader's own zone, across DST correctly.

use crate::domain::booking::BookingStatus;
use crate::domain::interval::Interval;
use crate::store::bookings::BookingRow;
use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// How a booking's status reads in a calendar: cancelled and declined ones are `CANCELLED`
/// (a subscribed calendar drops them), a pending one `TENTATIVE`.
fn status(s: BookingStatus) -> EventStatus {
    match s {
        BookingStatus::Cancelled | BookingStatus::Declined => EventStatus::Cancelled,
        BookingStatus::Pending => EventStatus::Tentative,
        _ => EventStatus::Confirmed,
    }
}

fn booking_event(b: &BookingRow, zh: bool, now: i64) -> Event {
    let name = if zh { &b.resource_name_zh } else { &b.resource_name_en };
    Event::new()
        .uid(&format!("{}@labinn", b.id))
        .timestamp(utc(now))
        .summary(&format!("{name} · {}", b.unit_label))
        .location(&b.space_slug)
        .starts(utc(b.starts_at))
        .ends(utc(b.ends_at))
        .status(status(b.status))
        .done()
}

/// A calendar of bookings (one booking's download, or a maker's feed).
pub fn bookings(title: &str, rows: &[BookingRow], zh: bool, now: i64) -> String {
    let mut cal = Calendar::new();
    cal.name(title);
    for b in rows {
        cal.push(booking_event(b, zh, now));
    }
    cal.done().to_string()
}

/// A resource's busy times: one `OPAQUE` event per unit and booking, named only "busy" and
/// the unit.
pub fn busy(title: &str, resource_id: &str, busy: &[(String, Interval)], zh: bool, now: i64) -> String {
    let mut cal = Calendar::new();
    cal.name(title);
    let word = if zh { "已占用" } else { "Busy" };
    for (unit, i) in busy {
        cal.push(
            Event::new()
                .uid(&format!("busy-{resource_id}-{unit}-{}@labinn", i.start()))
                .timestamp(utc(now))
                .summary(&format!("{word} · {unit}"))
                .starts(utc(i.start()))
                .ends(utc(i.end()))
                .done(),
        );
    }
    cal.done().to_string()
}

//! Half-open `[start, end)` intervals of UTC epoch milliseconds, and their algebra.
//!
//! Every booking, opening window and closure reduces to these. Touching intervals
//! (`[9,10)` and `[10,11)`) do not overlap; this matches PostgreSQL's default
//! `int8range` bounds, which the database invariant uses.

use serde::Serialize;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// A non-empty half-open interval `[start, end)`: `start < end` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Interval {
    start: Millis,
    end: Millis,
}

/// Why two instants do not make an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interval end ({end}) must be after its start ({start})")]
pub struct EmptyInterval {
    pub start: Millis,
    pub end: Millis,
}

impl Interval {
    /// # Errors
    /// [`EmptyInterval`] when `end <= start`.
    pub fn new(start: Millis, end: Millis) -> Result<Self, EmptyInterval> {
        if start < end { Ok(Self { start, end }) } else { Err(EmptyInterval { start, end }) }
    }

    pub fn start(&self) -> Millis {
        self.start
    }

    pub fn end(&self) -> Millis {
        self.end
    }

    pub fn duration_ms(&self) -> i64 {
        self.end - self.start
    }

    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains_instant(&self, t: Millis) -> bool {
        self.start <= t && t < self.end
    }

    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn intersection(&self, other: &Interval) -> Option<Interval> {
        Interval::new(self.start.max(other.start), self.end.min(other.end)).ok()
    }

    /// This interval widened by `before` and `after` milliseconds (buffers).
    /// Negative widths are treated as zero.
    pub fn widened(&self, before: i64, after: i64) -> Interval {
        Interval { start: self.start.saturating_sub(before.max(0)), end: self.end.saturating_add(after.max(0)) }
    }
}

/// Sorts and merges intervals so that the result is disjoint, non-touching and ordered.
pub fn normalize(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for i in v {
        match out.last_mut() {
            Some(last) if i.start <= last.end => last.end = last.end.max(i.end),
            _ => out.push(i),
        }
    }
    out
}

/// `a` minus every interval of `b`: the parts of `a` that no interval of `b` covers.
/// Both inputs may be unsorted and overlapping; the output is normalized.
pub fn subtract(a: Vec<Interval>, b: Vec<Interval>) -> Vec<Interval> {
    let a = normalize(a);
    let b = normalize(b);
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for iv in a {
        let mut cur = iv.start;
        while j < b.len() && b[j].end <= cur {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].start < iv.end {
            if b[k].start > cur {
                out.push(Interval { start: cur, end: b[k].start });
            }
            cur = cur.max(b[k].end);
            k += 1;
        }
        if cur < iv.end {
            out.push(Interval { start: cur, end: iv.end });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn iv(s: i64, e: i64) -> Interval {
        Interval::new(s, e).unwrap()
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        assert!(!iv(9, 10).overlaps(&iv(10, 11)));
        assert!(iv(9, 11).overlaps(&iv(10, 12)));
    }

    #[test]
    fn an_empty_or_reversed_interval_is_refused() {
        assert_eq!(Interval::new(5, 5), Err(EmptyInterval { start: 5, end: 5 }));
        assert!(Interval::new(6, 5).is_err());
    }

    #[test]
    fn subtracting_a_hole_leaves_two_pieces() {
        assert_eq!(subtract(vec![iv(0, 10)], vec![iv(3, 5)]), vec![iv(0, 3), iv(5, 10)]);
        assert_eq!(subtract(vec![iv(0, 10)], vec![iv(0, 10)]), vec![]);
        assert_eq!(subtract(vec![iv(0, 10), iv(20, 30)], vec![iv(5, 25)]), vec![iv(0, 5), iv(25, 30)]);
    }

    fn arb_interval() -> impl Strategy<Value = Interval> {
        (0i64..1000, 1i64..200).prop_map(|(s, d)| iv(s, s + d))
    }

    proptest! {
        #[test]
        fn normalized_intervals_are_sorted_and_disjoint(v in prop::collection::vec(arb_interval(), 0..30)) {
            let n = normalize(v.clone());
            for w in n.windows(2) {
                prop_assert!(w[0].end < w[1].start);
            }
            // Every instant covered before is covered after, and vice versa.
            for t in 0..1200 {
                let before = v.iter().any(|i| i.contains_instant(t));
                let after = n.iter().any(|i| i.contains_instant(t));
                prop_assert_eq!(before, after);
            }
        }

        #[test]
        fn subtraction_covers_exactly_a_and_not_b(
            a in prop::collection::vec(arb_interval(), 0..10),
            b in prop::collection::vec(arb_interval(), 0..10),
        ) {
            let d = subtract(a.clone(), b.clone());
            for w in d.windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
            for t in 0..1200 {
                let expected = a.iter().any(|i| i.contains_instant(t)) && !b.iter().any(|i| i.contains_instant(t));
                prop_assert_eq!(d.iter().any(|i| i.contains_instant(t)), expected);
            }
        }

        #[test]
        fn overlap_is_symmetric_and_matches_intersection(x in arb_interval(), y in arb_interval()) {
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
            prop_assert_eq!(x.overlaps(&y), x.intersection(&y).is_some());
        }
    }
}

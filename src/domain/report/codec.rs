//! The stored form of a [`DayPart`]: a compact byte string (the roll-up keeps one per space,
//! resource and kind and local day). Integers are zigzag varints; ids that are canonical
//! UUIDs take 16 bytes, any other id its UTF-8 with its length. Decoding gives back exactly
//! what was encoded (a property test), and refuses anything else.

use super::{DayPart, MakerKey};
use crate::domain::ids::{AccountId, UnitId};

/// The first byte of every encoded part: the layout's version.
const VERSION: u8 = 1;

/// A stored part that does not decode (a roll-up row from another layout, or damage).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored day part does not decode: {0}")]
pub struct CodecError(&'static str);

fn put(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        let b = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_u(out: &mut Vec<u8>, v: u64) {
    put(out, i64::try_from(v).unwrap_or(i64::MAX));
}

fn put_id(out: &mut Vec<u8>, id: &str) {
    match uuid::Uuid::parse_str(id) {
        Ok(u) if u.hyphenated().to_string() == id => {
            out.push(1);
            out.extend_from_slice(u.as_bytes());
        }
        _ => {
            out.push(0);
            put_u(out, id.len() as u64);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

/// `part` as bytes.
pub fn encode(part: &DayPart) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 17 * part.makers.len());
    out.push(VERSION);
    for v in [
        part.open_ms,
        part.booked_ms,
        part.used_ms,
        part.used_open_ms,
        part.booked_open_ms,
        part.shown_ms,
        part.overstay_ms,
        part.stay_nights,
    ] {
        put(&mut out, v);
    }
    for v in [
        part.bookings,
        part.checked_in,
        part.no_shows,
        part.cancellations,
        part.late_cancellations,
        part.sessions,
        part.walk_ups,
        part.peak_concurrent,
        part.seat_days_open,
        part.seat_days_used,
        part.room_nights_available,
        part.stays,
    ] {
        put_u(&mut out, v);
    }
    put_u(&mut out, part.cancel_leads_ms.len() as u64);
    for v in &part.cancel_leads_ms {
        put(&mut out, *v);
    }
    put_u(&mut out, part.makers.len() as u64);
    for m in &part.makers {
        match m {
            // The bytes `put_id` writes for the id's text: a stored part decodes either way.
            MakerKey::Uuid(u) => {
                out.push(1);
                out.extend_from_slice(&u.to_be_bytes());
            }
            MakerKey::Text(t) => {
                out.push(0);
                put_u(&mut out, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
        }
    }
    put_u(&mut out, part.organisations.len() as u64);
    for o in &part.organisations {
        put_id(&mut out, o);
    }
    put_u(&mut out, part.occupied_nights.len() as u64);
    for (u, a) in &part.occupied_nights {
        put_id(&mut out, u.as_str());
        put_id(&mut out, a.as_str());
    }
    for v in part.hour_ms {
        put(&mut out, v);
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let (b, rest) = self.0.split_first().ok_or(CodecError("it ends early"))?;
        self.0 = rest;
        Ok(*b)
    }

    fn int(&mut self) -> Result<i64, CodecError> {
        let mut z = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        Err(CodecError("a number is too long"))
    }

    fn count(&mut self) -> Result<u64, CodecError> {
        u64::try_from(self.int()?).map_err(|_| CodecError("a count is negative"))
    }

    /// A list's length, bounded by the bytes left (every item takes at least one).
    fn len(&mut self) -> Result<usize, CodecError> {
        let n = usize::try_from(self.count()?).map_err(|_| CodecError("a list is too long"))?;
        if n > self.0.len() {
            return Err(CodecError("a list is longer than the part"));
        }
        Ok(n)
    }

    fn id(&mut self) -> Result<String, CodecError> {
        match self.byte()? {
            1 => {
                let bytes = self.take(16)?;
                let u = uuid::Uuid::from_slice(bytes).map_err(|_| CodecError("a bad uuid"))?;
                Ok(u.hyphenated().to_string())
            }
            0 => {
                let n = self.len()?;
                let bytes = self.take(n)?;
                String::from_utf8(bytes.to_vec()).map_err(|_| CodecError("an id is not UTF-8"))
            }
            _ => Err(CodecError("an unknown id tag")),
        }
    }

    /// An id as [`MakerKey`]: no string for a UUID.
    fn maker(&mut self) -> Result<MakerKey, CodecError> {
        match self.byte()? {
            1 => {
                let bytes: [u8; 16] = self.take(16)?.try_into().map_err(|_| CodecError("a bad uuid"))?;
                Ok(MakerKey::Uuid(u128::from_be_bytes(bytes)))
            }
            0 => {
                let n = self.len()?;
                let text = std::str::from_utf8(self.take(n)?).map_err(|_| CodecError("an id is not UTF-8"))?;
                Ok(MakerKey::Text(text.into()))
            }
            _ => Err(CodecError("an unknown id tag")),
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], CodecError> {
        if self.0.len() < n {
            return Err(CodecError("it ends early"));
        }
        let (a, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(a)
    }
}

/// The part `bytes` encode.
///
/// # Errors
/// [`CodecError`] for anything [`encode`] did not make.
pub fn decode(bytes: &[u8]) -> Result<DayPart, CodecError> {
    let mut r = Reader(bytes);
    if r.byte()? != VERSION {
        return Err(CodecError("another layout"));
    }
    let mut p = DayPart {
        open_ms: r.int()?,
        booked_ms: r.int()?,
        used_ms: r.int()?,
        used_open_ms: r.int()?,
        booked_open_ms: r.int()?,
        shown_ms: r.int()?,
        overstay_ms: r.int()?,
        stay_nights: r.int()?,
        ..DayPart::default()
    };
    for slot in [
        &mut p.bookings,
        &mut p.checked_in,
        &mut p.no_shows,
        &mut p.cancellations,
        &mut p.late_cancellations,
        &mut p.sessions,
        &mut p.walk_ups,
        &mut p.peak_concurrent,
        &mut p.seat_days_open,
        &mut p.seat_days_used,
        &mut p.room_nights_available,
        &mut p.stays,
    ] {
        *slot = r.count()?;
    }
    let n = r.len()?;
    p.cancel_leads_ms = (0..n).map(|_| r.int()).collect::<Result<_, _>>()?;
    let n = r.len()?;
    p.makers = (0..n).map(|_| r.maker()).collect::<Result<_, _>>()?;
    let n = r.len()?;
    p.organisations = (0..n).map(|_| r.id()).collect::<Result<_, _>>()?;
    let n = r.len()?;
    p.occupied_nights =
        (0..n).map(|_| Ok((UnitId::new(r.id()?), AccountId::new(r.id()?)))).collect::<Result<_, CodecError>>()?;
    for slot in &mut p.hour_ms {
        *slot = r.int()?;
    }
    if !r.0.is_empty() {
        return Err(CodecError("bytes after the end"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_id() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string()),
            any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string().to_uppercase()),
            "[a-z0-9-]{0,40}",
            "\\PC{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn a_part_decodes_to_exactly_what_was_encoded(
            ints in prop::array::uniform8(any::<i64>()),
            counts in prop::array::uniform12(0u64..=i64::MAX as u64),
            leads in prop::collection::vec(any::<i64>(), 0..5),
            makers in prop::collection::vec(arb_id(), 0..5),
            orgs in prop::collection::vec(arb_id(), 0..3),
            nights in prop::collection::vec((arb_id(), arb_id()), 0..3),
            hours in prop::array::uniform24(any::<i64>()),
        ) {
            let p = DayPart {
                open_ms: ints[0], booked_ms: ints[1], used_ms: ints[2], used_open_ms: ints[3],
                booked_open_ms: ints[4], shown_ms: ints[5], overstay_ms: ints[6], stay_nights: ints[7],
                bookings: counts[0], checked_in: counts[1], no_shows: counts[2], cancellations: counts[3],
                late_cancellations: counts[4], sessions: counts[5], walk_ups: counts[6],
                peak_concurrent: counts[7], seat_days_open: counts[8], seat_days_used: counts[9],
                room_nights_available: counts[10], stays: counts[11],
                cancel_leads_ms: leads,
                makers: makers.into_iter().map(|m| MakerKey::of(&AccountId::new(m))).collect(),
                organisations: orgs,
                occupied_nights: nights.into_iter().map(|(u, a)| (UnitId::new(u), AccountId::new(a))).collect(),
                hour_ms: hours,
            };
            let bytes = encode(&p);
            prop_assert_eq!(decode(&bytes), Ok(p));
            // Cut short or with a byte more, it is refused, never misread.
            prop_assert!(decode(&bytes[..bytes.len() - 1]).is_err());
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert!(decode(&longer).is_err());
        }
    }

    proptest! {
        /// A maker is written as the bytes of its id's text were (parts stored before the
        /// makers became keys decode to the same keys), and keys are equal when ids are.
        #[test]
        fn a_maker_key_is_written_as_its_id(a in arb_id(), b in arb_id()) {
            let key = MakerKey::of(&AccountId::new(a.clone()));
            let mut old = Vec::new();
            put_id(&mut old, &a);
            let p = DayPart { makers: vec![key.clone()], ..DayPart::default() };
            let bytes = encode(&p);
            let at = 1 + 20 + 1 + 1;
            prop_assert_eq!(&bytes[at..at + old.len()], &old[..]);
            prop_assert_eq!(key == MakerKey::of(&AccountId::new(b.clone())), a == b);
        }
    }

    #[test]
    fn a_day_of_uuid_makers_takes_seventeen_bytes_each() {
        let p = DayPart {
            makers: (0..10u128).map(|n| MakerKey::of(&AccountId::new(uuid::Uuid::from_u128(n).to_string()))).collect(),
            ..DayPart::default()
        };
        assert_eq!(encode(&p).len(), 1 + 20 + 1 + 1 + 10 * 17 + 1 + 1 + 24);
    }
}

//! Check-in codes and the kiosk's decision.
//!
//! A booking's code is `B.` followed by base64url(booking id (16 bytes) ‖ HMAC-SHA256(secret,
//! "booking" ‖ id ‖ nonce) truncated to 16 bytes): 45 characters, a version 3 QR code at level M.
//! It names the booking, and nobody without the server secret can make one. A maker's personal
//! code (for walk-ups) is `P.` with the account id in the same shape. The short typed form is
//! the booking's random nonce: 10 characters from an alphabet without 0/O, 1/I/L, shown as
//! `ABCDE-FGHJK`.
//!
//! [`decide`] is the whole kiosk rule, with `now` passed in.

use crate::domain::calendar::MINUTE_MS;
use crate::domain::interval::Millis;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

/// Characters of the short typed code: digits and capitals without 0, 1, I, L and O.
pub const SHORT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const SHORT_LEN: usize = 10;

/// The server secret behind every code (32 bytes or more).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// # Errors
    /// When the secret is shorter than 32 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < 32 {
            return Err(format!("the check-in secret must have at least 32 bytes, not {}", bytes.len()));
        }
        Ok(Self(bytes))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

/// Plain HMAC-SHA256 of `body` under `key`, as lower-case hex (webhook signatures: the
/// receiver computes the same with any HMAC library).
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(body);
    super::hex(&m.finalize().into_bytes())
}

fn uuid_bytes(id: &str) -> Option<[u8; 16]> {
    uuid::Uuid::parse_str(id).ok().map(|u| *u.as_bytes())
}

fn tag(secret: &Secret, what: &[u8], id: &[u8; 16], nonce: &str) -> [u8; 16] {
    let full = secret.mac(&[what, id, nonce.as_bytes()]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

fn encode(prefix: &str, id: &[u8; 16], mac: &[u8; 16]) -> String {
    let mut raw = [0u8; 32];
    raw[..16].copy_from_slice(id);
    raw[16..].copy_from_slice(mac);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// The QR code text of a booking. `None` when the id is not a UUID (never for our rows).
pub fn booking_code(secret: &Secret, booking_id: &str, nonce: &str) -> Option<String> {
    let id = uuid_bytes(booking_id)?;
    Some(encode("B.", &id, &tag(secret, b"booking", &id, nonce)))
}

/// The personal QR code text of a maker (walk-ups, and checking in without finding the booking).
pub fn personal_code(secret: &Secret, account_id: &str) -> Option<String> {
    let id = uuid_bytes(account_id)?;
    Some(encode("P.", &id, &tag(secret, b"person", &id, "")))
}

/// The secret part of a maker's calendar-feed URL: a tag over the account and the feed's
/// generation (the instant it was last renewed). Renewing changes it and revoking ends it,
/// and the token itself is never stored.
pub fn feed_token(secret: &Secret, account_id: &str, generation: i64) -> String {
    let full = secret.mac(&[b"calendar-feed", account_id.as_bytes(), &generation.to_be_bytes()]);
    URL_SAFE_NO_PAD.encode(&full[..18])
}

/// Whether `given` is the feed token of `account_id` at `generation`, compared in constant
/// time.
pub fn feed_token_matches(secret: &Secret, account_id: &str, generation: i64, given: &str) -> bool {
    super::same_secret(&feed_token(secret, account_id, generation), given)
}

/// The QR code text of a participant's registration for an event: it names both, and the
/// kiosk checks its tag without a lookup (the registration itself is looked up, so a
/// withdrawn registration's code stops working). `None` when an id is not a UUID.
pub fn event_code(secret: &Secret, event_id: &str, account_id: &str) -> Option<String> {
    let event = uuid_bytes(event_id)?;
    let account = uuid_bytes(account_id)?;
    let full = secret.mac(&[b"event", &event, &account]);
    let mut raw = [0u8; 48];
    raw[..16].copy_from_slice(&event);
    raw[16..32].copy_from_slice(&account);
    raw[32..].copy_from_slice(&full[..16]);
    Some(format!("E.{}", URL_SAFE_NO_PAD.encode(raw)))
}

/// What a scanned or typed text claims to be, before any database lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// A booking code: the id it names and the tag to check against the stored nonce.
    Booking { id: String, tag: [u8; 16] },
    /// A personal code whose tag was already checked (it needs no stored nonce).
    Person { account_id: String },
    /// An event code whose tag was already checked: the event and the participant.
    Event { event_id: String, account_id: String },
    /// A personal or event code with a wrong tag.
    Forged,
    /// A short typed code, normalised (upper case, no separators).
    Short(String),
    /// Not one of our codes at all.
    Unknown,
}

/// Reads a scanned or typed text. Scanners may add whitespace; people type `abcde-fghjk`.
pub fn parse(secret: &Secret, text: &str) -> Scanned {
    let text = text.trim();
    let body = |rest: &str| -> Option<([u8; 16], [u8; 16])> {
        let raw = URL_SAFE_NO_PAD.decode(rest).ok()?;
        if raw.len() != 32 {
            return None;
        }
        let mut id = [0u8; 16];
        let mut tag = [0u8; 16];
        id.copy_from_slice(&raw[..16]);
        tag.copy_from_slice(&raw[16..]);
        Some((id, tag))
    };
    if let Some(rest) = text.strip_prefix("B.") {
        return match body(rest) {
            Some((id, tag)) => Scanned::Booking { id: uuid::Uuid::from_bytes(id).to_string(), tag },
            None => Scanned::Unknown,
        };
    }
    if let Some(rest) = text.strip_prefix("P.") {
        return match body(rest) {
            Some((id, t)) if constant_eq(&t, &tag(secret, b"person", &id, "")) => {
                Scanned::Person { account_id: uuid::Uuid::from_bytes(id).to_string() }
            }
            Some(_) => Scanned::Forged,
            None => Scanned::Unknown,
        };
    }
    if let Some(rest) = text.strip_prefix("E.") {
        let Some(raw) = URL_SAFE_NO_PAD.decode(rest).ok().filter(|r| r.len() == 48) else { return Scanned::Unknown };
        let full = secret.mac(&[b"event", &raw[..16], &raw[16..32]]);
        let mut given = [0u8; 16];
        given.copy_from_slice(&raw[32..]);
        let mut want = [0u8; 16];
        want.copy_from_slice(&full[..16]);
        if !constant_eq(&given, &want) {
            return Scanned::Forged;
        }
        let id = |b: &[u8]| uuid::Uuid::from_slice(b).map(|u| u.to_string()).unwrap_or_default();
        return Scanned::Event { event_id: id(&raw[..16]), account_id: id(&raw[16..32]) };
    }
    let short: String =
        text.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).map(|c| c.to_ascii_uppercase()).collect();
    if short.len() == SHORT_LEN && short.bytes().all(|b| SHORT_ALPHABET.contains(&b)) {
        return Scanned::Short(short);
    }
    Scanned::Unknown
}

/// Whether `tag` was made by this server for this booking and nonce.
pub fn verify_booking(secret: &Secret, booking_id: &str, nonce: &str, given: &[u8; 16]) -> bool {
    match uuid_bytes(booking_id) {
        Some(id) => constant_eq(given, &tag(secret, b"booking", &id, nonce)),
        None => false,
    }
}

fn constant_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A short code from random bytes (one byte per character, rejection-free modulo: the
/// bias of 256 mod 31 is below 4 % per character and costs under 0.4 bits in 50).
pub fn short_code(random: &[u8; SHORT_LEN]) -> String {
    random.iter().map(|b| SHORT_ALPHABET[*b as usize % SHORT_ALPHABET.len()] as char).collect()
}

/// `ABCDEFGHJK` as people read it: `ABCDE-FGHJK`. Other nonces (older rows) are left alone.
pub fn display_short(nonce: &str) -> String {
    if nonce.len() == SHORT_LEN && nonce.bytes().all(|b| SHORT_ALPHABET.contains(&b)) {
        format!("{}-{}", &nonce[..5], &nonce[5..])
    } else {
        nonce.to_owned()
    }
}

/// Why a kiosk says no. The codes are stable; the kiosk shows them in the maker's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    Unknown,
    Forged,
    Cancelled,
    WrongSpace,
    TooEarly,
    NoShow,
    AlreadyCheckedOut,
    PendingApproval,
    TrainingExpired,
    /// A personal code with nothing to check in and no walk-up possible.
    NoBooking,
    /// The kiosk was revoked or the account is not allowed.
    NotAllowed,
    /// An event code whose registration was withdrawn.
    NotRegistered,
    /// An event code after the event's end.
    EventEnded,
}

impl DenyReason {
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::Unknown => "unknown",
            DenyReason::Forged => "forged",
            DenyReason::Cancelled => "cancelled",
            DenyReason::WrongSpace => "wrong_space",
            DenyReason::TooEarly => "too_early",
            DenyReason::NoShow => "no_show",
            DenyReason::AlreadyCheckedOut => "already_checked_out",
            DenyReason::PendingApproval => "pending_approval",
            DenyReason::TrainingExpired => "training_expired",
            DenyReason::NoBooking => "no_booking",
            DenyReason::NotAllowed => "not_allowed",
            DenyReason::NotRegistered => "not_registered",
            DenyReason::EventEnded => "event_ended",
        }
    }
}

text_enum! {
    /// Who opened or closed a metered session.
    pub enum SessionOrigin {
        /// A kiosk scanned the maker's code.
        Kiosk => "kiosk",
        /// An operator, by hand, with a reason.
        Operator => "operator",
        /// The automatic check-out at the booking's end + the grace (closing only).
        Automatic => "automatic",
        /// A walk-up at a kiosk (opening only).
        WalkUp => "walk_up",
    }
}

text_enum! {
    /// What a kiosk decided about a scan.
    pub enum ScanDecision {
        CheckIn => "check_in",
        CheckOut => "check_out",
        Deny => "deny",
    }
}

/// The kiosk's answer for one booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    CheckIn,
    CheckOut,
    /// With the instant it would be allowed (for `too_early`).
    Deny(DenyReason, Option<Millis>),
}

/// What the kiosk knows about the scanned booking.
#[derive(Debug, Clone)]
pub struct BookingAtKiosk {
    pub status: super::booking::BookingStatus,
    pub starts_at: Millis,
    pub ends_at: Millis,
    /// The booking's space is the kiosk's space.
    pub same_space: bool,
    pub checkin_opens_minutes_before: i64,
    pub no_show_grace_minutes: i64,
    /// Every training the resource requires is held and unexpired at `now`.
    pub trainings_valid: bool,
}

/// The kiosk rule. A checked-in booking checks out; a confirmed one checks in from
/// `start - checkin_opens` until `start + no_show_grace` (and never after its end).
pub fn decide(b: &BookingAtKiosk, now: Millis) -> Outcome {
    use super::booking::BookingStatus as S;
    use DenyReason as R;
    let deny = |r| Outcome::Deny(r, None);
    match b.status {
        S::Cancelled | S::Declined => return deny(R::Cancelled),
        _ if !b.same_space => return deny(R::WrongSpace),
        S::Pending => return deny(R::PendingApproval),
        S::Completed => return deny(R::AlreadyCheckedOut),
        S::NoShow => return deny(R::NoShow),
        S::CheckedIn => return Outcome::CheckOut,
        S::Confirmed => {}
    }
    let opens = b.starts_at - b.checkin_opens_minutes_before.max(0) * MINUTE_MS;
    if now < opens {
        return Outcome::Deny(R::TooEarly, Some(opens));
    }
    let closes = (b.starts_at + b.no_show_grace_minutes.max(0) * MINUTE_MS).min(b.ends_at);
    if now >= closes {
        return deny(R::NoShow);
    }
    if !b.trainings_valid {
        return deny(R::TrainingExpired);
    }
    Outcome::CheckIn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_token_belongs_to_one_account_and_one_generation() {
        let s = Secret::new(vec![7; 32]).unwrap();
        let t = feed_token(&s, "acc-1", 1_000);
        assert_eq!(t.len(), 24);
        assert!(feed_token_matches(&s, "acc-1", 1_000, &t));
        assert!(!feed_token_matches(&s, "acc-1", 2_000, &t), "a renewed feed ends the old URL");
        assert!(!feed_token_matches(&s, "acc-2", 1_000, &t));
        assert!(!feed_token_matches(&s, "acc-1", 1_000, &t[..23]));
    }
    use crate::domain::booking::BookingStatus as S;
    use proptest::prelude::*;

    fn secret() -> Secret {
        Secret::new(vec![7; 32]).unwrap()
    }

    const ID: &str = "0192f0c4-5b7e-7a31-9d2c-3f4e5a6b7c8d";

    #[test]
    fn a_booking_code_round_trips_and_names_its_booking() {
        let code = booking_code(&secret(), ID, "ABCDEFGHJK").unwrap();
        assert_eq!(code.len(), 45);
        let Scanned::Booking { id, tag } = parse(&secret(), &code) else { panic!("not a booking code: {code}") };
        assert_eq!(id, ID);
        assert!(verify_booking(&secret(), &id, "ABCDEFGHJK", &tag));
        assert!(!verify_booking(&secret(), &id, "ABCDEFGHJM", &tag), "another nonce");
        let other = Secret::new(vec![8; 32]).unwrap();
        assert!(!verify_booking(&other, &id, "ABCDEFGHJK", &tag), "another server");
    }

    #[test]
    fn personal_codes_are_checked_without_a_lookup() {
        let code = personal_code(&secret(), ID).unwrap();
        assert_eq!(parse(&secret(), &code), Scanned::Person { account_id: ID.into() });
        let mut forged = code.clone();
        forged.pop();
        forged.push(if code.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(parse(&secret(), &forged), Scanned::Forged);
    }

    #[test]
    fn an_event_code_names_its_event_and_participant_and_a_changed_byte_is_forged() {
        let (event, account) = ("01a234df-ffe2-7061-b102-98716ca594bc", "01a234e0-0036-7537-99b5-1234d2d4298e");
        let code = event_code(&secret(), event, account).unwrap();
        assert!(code.starts_with("E.") && code.len() == 66, "{code}");
        assert_eq!(
            parse(&secret(), &format!(" {code}\n")),
            Scanned::Event { event_id: event.into(), account_id: account.into() }
        );
        // Another participant's id with this tag: forged.
        let mut raw = URL_SAFE_NO_PAD.decode(&code[2..]).unwrap();
        raw[20] ^= 1;
        assert_eq!(parse(&secret(), &format!("E.{}", URL_SAFE_NO_PAD.encode(&raw))), Scanned::Forged);
        assert_eq!(parse(&secret(), "E.short"), Scanned::Unknown);
        let other = Secret::new(vec![9; 32]).unwrap();
        assert_eq!(parse(&other, &code), Scanned::Forged);
    }

    #[test]
    fn short_codes_are_read_the_way_people_type_them() {
        assert_eq!(parse(&secret(), " abcde-fghjk\n"), Scanned::Short("ABCDEFGHJK".into()));
        assert_eq!(parse(&secret(), "ABCDE FGHJ0"), Scanned::Unknown, "0 is not in the alphabet");
        assert_eq!(parse(&secret(), "hello"), Scanned::Unknown);
        assert_eq!(parse(&secret(), "B.notbase64!"), Scanned::Unknown);
        assert_eq!(display_short("ABCDEFGHJK"), "ABCDE-FGHJK");
        let s = short_code(&[255; SHORT_LEN]);
        assert_eq!(s.len(), SHORT_LEN);
        assert!(s.bytes().all(|b| SHORT_ALPHABET.contains(&b)));
    }

    #[test]
    fn webhook_signatures_are_standard_hmac() {
        // RFC 4231, test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Secret::new(vec![1; 31]).is_err());
    }

    fn booking(status: S) -> BookingAtKiosk {
        BookingAtKiosk {
            status,
            starts_at: 60 * MINUTE_MS,
            ends_at: 180 * MINUTE_MS,
            same_space: true,
            checkin_opens_minutes_before: 15,
            no_show_grace_minutes: 15,
            trainings_valid: true,
        }
    }

    #[test]
    fn the_kiosk_rule() {
        let m = MINUTE_MS;
        assert_eq!(decide(&booking(S::Confirmed), 44 * m), Outcome::Deny(DenyReason::TooEarly, Some(45 * m)));
        assert_eq!(decide(&booking(S::Confirmed), 45 * m), Outcome::CheckIn);
        assert_eq!(decide(&booking(S::Confirmed), 74 * m), Outcome::CheckIn);
        assert_eq!(decide(&booking(S::Confirmed), 75 * m), Outcome::Deny(DenyReason::NoShow, None));
        assert_eq!(decide(&booking(S::CheckedIn), 200 * m), Outcome::CheckOut);
        assert_eq!(decide(&booking(S::Completed), 70 * m), Outcome::Deny(DenyReason::AlreadyCheckedOut, None));
        assert_eq!(decide(&booking(S::Cancelled), 70 * m), Outcome::Deny(DenyReason::Cancelled, None));
        assert_eq!(decide(&booking(S::Pending), 70 * m), Outcome::Deny(DenyReason::PendingApproval, None));
        assert_eq!(decide(&booking(S::NoShow), 70 * m), Outcome::Deny(DenyReason::NoShow, None));
        let elsewhere = BookingAtKiosk { same_space: false, ..booking(S::Confirmed) };
        assert_eq!(decide(&elsewhere, 70 * m), Outcome::Deny(DenyReason::WrongSpace, None));
        let untrained = BookingAtKiosk { trainings_valid: false, ..booking(S::Confirmed) };
        assert_eq!(decide(&untrained, 70 * m), Outcome::Deny(DenyReason::TrainingExpired, None));
    }

    proptest! {
        /// Check-in is granted only inside its window, and a granted check-in always has a
        /// confirmed booking in the kiosk's space.
        #[test]
        fn check_in_only_inside_the_window(now in -1000i64..1000, opens in 0i64..120, grace in 0i64..120, status in prop::sample::select(S::ALL.to_vec()), same in any::<bool>()) {
            let b = BookingAtKiosk { status, starts_at: 0, ends_at: 60 * MINUTE_MS, same_space: same, checkin_opens_minutes_before: opens, no_show_grace_minutes: grace, trainings_valid: true };
            let at = now * MINUTE_MS;
            if decide(&b, at) == Outcome::CheckIn {
                prop_assert!(status == S::Confirmed && same);
                prop_assert!(at >= -opens * MINUTE_MS && at < (grace * MINUTE_MS).min(60 * MINUTE_MS));
            }
        }

        #[test]
        fn codes_never_verify_for_another_booking(a in any::<[u8; 16]>(), b in any::<[u8; 16]>()) {
            prop_assume!(a != b);
            let (ia, ib) = (uuid::Uuid::from_bytes(a).to_string(), uuid::Uuid::from_bytes(b).to_string());
            let code = booking_code(&secret(), &ia, "N").unwrap();
            let Scanned::Booking { tag, .. } = parse(&secret(), &code) else { panic!() };
            prop_assert!(!verify_booking(&secret(), &ib, "N", &tag));
        }
    }
}

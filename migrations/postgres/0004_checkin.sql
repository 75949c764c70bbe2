-- Check-in: short codes are the booking's nonce (looked up when typed at a kiosk).
CREATE INDEX bookings_checkin_nonce ON bookings (checkin_nonce);
-- The jobs find due work through these: confirmed bookings past their start (no-show),
-- checked-in bookings past their end (automatic check-out), confirmed ones soon (reminders).
CREATE INDEX bookings_confirmed_start ON bookings (starts_at) WHERE status = 'confirmed';
CREATE INDEX bookings_checked_in_end ON bookings (ends_at) WHERE status = 'checked_in';
ALTER TABLE bookings ADD COLUMN reminded_at BIGINT;
-- A kiosk may stand at one resource (walk-ups go to it).
ALTER TABLE kiosks ADD COLUMN resource_id TEXT REFERENCES resources (id);
CREATE INDEX kiosks_pairing_code ON kiosks (pairing_code_hash);
-- How long a session ran past its booking's end.
ALTER TABLE sessions ADD COLUMN overstay_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_started ON sessions (started_at);
CREATE INDEX sessions_booking ON sessions (booking_id);
CREATE INDEX ledger_subject ON ledger (subject_id, seq);

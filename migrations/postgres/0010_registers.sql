-- Registers: the facts a kiosk cannot meter, kept by a space's operators for the evidence
-- pack. Nothing here is deleted: a part of the area plan, a residency or a document is ended
-- or withdrawn, an event cancelled. Every change is appended to the ledger (kind 'register').

-- The area plan: each part of a space, with its floor area and what it is used for.
CREATE TABLE area_parts (
    id              TEXT PRIMARY KEY,
    space_id        TEXT NOT NULL REFERENCES spaces (id),
    resource_id     TEXT REFERENCES resources (id),
    name            TEXT NOT NULL,
    area_m2         DOUBLE PRECISION NOT NULL CHECK (area_m2 > 0),
    use_class       TEXT NOT NULL CHECK (use_class IN ('maker_work', 'public_service', 'operator_office', 'other')),
    created_at      BIGINT NOT NULL,
    created_by      TEXT REFERENCES accounts (id),
    ended_at        BIGINT
);
CREATE INDEX area_parts_space ON area_parts (space_id);

-- Organisations resident in a space under an agreement, from one local date to another
-- (both included; ends_on NULL while it runs).
CREATE TABLE residencies (
    id              TEXT PRIMARY KEY,
    space_id        TEXT NOT NULL REFERENCES spaces (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    agreement_ref   TEXT NOT NULL,
    starts_on       TEXT NOT NULL,
    ends_on         TEXT,
    desks           BIGINT NOT NULL DEFAULT 0 CHECK (desks >= 0),
    rooms           BIGINT NOT NULL DEFAULT 0 CHECK (rooms >= 0),
    area_m2         DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (area_m2 >= 0),
    founder         TEXT NOT NULL,
    product         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    created_by      TEXT REFERENCES accounts (id),
    updated_at      BIGINT NOT NULL,
    CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
CREATE INDEX residencies_space ON residencies (space_id, starts_on);

-- Events a space hosts or co-organises, in a booked place (so the hall is blocked).
CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    space_id        TEXT NOT NULL REFERENCES spaces (id),
    kind            TEXT NOT NULL CHECK (kind IN ('salon', 'roadshow', 'competition', 'training', 'maker_market')),
    role            TEXT NOT NULL CHECK (role IN ('host', 'co_organiser')),
    topic           TEXT NOT NULL,
    booking_id      TEXT NOT NULL REFERENCES bookings (id),
    starts_at       BIGINT NOT NULL,
    ends_at         BIGINT NOT NULL,
    attendance_entered BIGINT CHECK (attendance_entered >= 0),
    attested_by     TEXT REFERENCES accounts (id),
    attested_at     BIGINT,
    cancelled_at    BIGINT,
    created_at      BIGINT NOT NULL,
    created_by      TEXT REFERENCES accounts (id),
    CHECK (starts_at < ends_at)
);
CREATE INDEX events_space ON events (space_id, starts_at);

-- Who came to an event: a participant's event code scanned at a kiosk.
CREATE TABLE event_attendance (
    event_id        TEXT NOT NULL REFERENCES events (id),
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    kiosk_id        TEXT REFERENCES kiosks (id),
    checked_in_at   BIGINT NOT NULL,
    PRIMARY KEY (event_id, account_id)
);

-- Registered participants (each gets an event code).
CREATE TABLE event_registrations (
    event_id        TEXT NOT NULL REFERENCES events (id),
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    registered_at   BIGINT NOT NULL,
    PRIMARY KEY (event_id, account_id)
);

-- Files an operator attaches (lease, business licence, financing agreement): attested, never
-- measured. Stored by content; the SHA-256 is what a pack lists.
CREATE TABLE documents (
    id              TEXT PRIMARY KEY,
    space_id        TEXT NOT NULL REFERENCES spaces (id),
    residency_id    TEXT REFERENCES residencies (id),
    kind            TEXT NOT NULL CHECK (kind IN ('lease', 'business_licence', 'financing_agreement', 'floor_plan', 'other')),
    title           TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256          TEXT NOT NULL,
    content         BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    created_by      TEXT REFERENCES accounts (id),
    withdrawn_at    BIGINT
);
CREATE INDEX documents_space ON documents (space_id);

-- Whether a space's operators see per-maker figures, and whether reviewers see names
-- (otherwise pseudonyms).
ALTER TABLE spaces ADD COLUMN operators_see_makers BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE spaces ADD COLUMN share_maker_names BOOLEAN NOT NULL DEFAULT FALSE;

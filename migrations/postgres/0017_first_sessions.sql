-- Each maker's first metered session in each space, kept by triggers; see the SQLite
-- migration of the same number.
CREATE TABLE rollup_first_sessions (
    space_id         TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    first_started_at BIGINT NOT NULL,
    PRIMARY KEY (space_id, account_id)
);

INSERT INTO rollup_first_sessions (space_id, account_id, first_started_at)
SELECT r.space_id, s.account_id, MIN(s.started_at)
FROM sessions s JOIN units u ON u.id = s.unit_id JOIN resources r ON r.id = u.resource_id
GROUP BY r.space_id, s.account_id;

CREATE FUNCTION rollup_first_session_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO rollup_first_sessions (space_id, account_id, first_started_at)
    SELECT r.space_id, NEW.account_id, NEW.started_at
    FROM units u JOIN resources r ON r.id = u.resource_id WHERE u.id = NEW.unit_id
    ON CONFLICT (space_id, account_id)
    DO UPDATE SET first_started_at = LEAST(rollup_first_sessions.first_started_at, excluded.first_started_at);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION rollup_first_session_updated() RETURNS trigger AS $$
BEGIN
    DELETE FROM rollup_first_sessions
    WHERE account_id IN (OLD.account_id, NEW.account_id)
      AND space_id IN (SELECT r.space_id FROM units u JOIN resources r ON r.id = u.resource_id
                       WHERE u.id IN (OLD.unit_id, NEW.unit_id));
    INSERT INTO rollup_first_sessions (space_id, account_id, first_started_at)
    SELECT r.space_id, s.account_id, MIN(s.started_at)
    FROM sessions s JOIN units u ON u.id = s.unit_id JOIN resources r ON r.id = u.resource_id
    WHERE s.account_id IN (OLD.account_id, NEW.account_id)
      AND r.space_id IN (SELECT r2.space_id FROM units u2 JOIN resources r2 ON r2.id = u2.resource_id
                         WHERE u2.id IN (OLD.unit_id, NEW.unit_id))
    GROUP BY r.space_id, s.account_id
    ON CONFLICT (space_id, account_id) DO UPDATE SET first_started_at = excluded.first_started_at;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER rollup_first_sessions_insert AFTER INSERT ON sessions
FOR EACH ROW EXECUTE FUNCTION rollup_first_session_inserted();

CREATE TRIGGER rollup_first_sessions_update AFTER UPDATE OF started_at, unit_id, account_id ON sessions
FOR EACH ROW EXECUTE FUNCTION rollup_first_session_updated();

-- A version stamp of the catalog (spaces, resources, units, opening rules, closures). Every
-- change to them bumps it, in the same transaction, through triggers (so no writer can
-- forget). Nodes cache catalog rows per resource and read the stamp with each request's
-- session: a cached entry of an older stamp is read again. The booking trigger's updates of
-- resources.max_blocked_ms do not bump it (that column is always read fresh).
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);

CREATE TRIGGER catalog_version_spaces_insert AFTER INSERT ON spaces
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_spaces_update AFTER UPDATE ON spaces
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_spaces_delete AFTER DELETE ON spaces
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_units_insert AFTER INSERT ON units
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_units_update AFTER UPDATE ON units
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_units_delete AFTER DELETE ON units
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_opening_rules_insert AFTER INSERT ON opening_rules
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_opening_rules_update AFTER UPDATE ON opening_rules
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_opening_rules_delete AFTER DELETE ON opening_rules
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_closures_insert AFTER INSERT ON closures
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_closures_update AFTER UPDATE ON closures
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_closures_delete AFTER DELETE ON closures
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_resources_insert AFTER INSERT ON resources
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_resources_update AFTER UPDATE OF space_id, kind, name_zh, name_en, description, policy, archived_at ON resources
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER catalog_version_resources_delete AFTER DELETE ON resources
BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

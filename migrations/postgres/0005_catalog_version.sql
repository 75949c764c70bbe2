-- A version stamp of the catalog (spaces, resources, units, opening rules, closures). Every
-- change to them bumps it, in the same transaction, through triggers (so no writer can
-- forget). Nodes cache catalog rows per resource and read the stamp with each request's
-- session: a cached entry of an older stamp is read again. The booking trigger's updates of
-- resources.max_blocked_ms do not bump it (that column is always read fresh).
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);

CREATE FUNCTION bump_catalog_version() RETURNS trigger AS $$
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER catalog_version_spaces AFTER INSERT OR UPDATE OR DELETE ON spaces
FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER catalog_version_resources
AFTER INSERT OR DELETE OR UPDATE OF space_id, kind, name_zh, name_en, description, policy, archived_at ON resources
FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER catalog_version_units AFTER INSERT OR UPDATE OR DELETE ON units
FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER catalog_version_opening_rules AFTER INSERT OR UPDATE OR DELETE ON opening_rules
FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER catalog_version_closures AFTER INSERT OR UPDATE OR DELETE ON closures
FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();

-- Reports read a space's units by resource (then each unit's sessions through
-- sessions_unit); units_live_label_key is partial (live units only), so it cannot serve
-- every unit of a resource, retired ones included.
CREATE INDEX units_resource ON units (resource_id);
-- A space's open sessions, unit by unit (reports read them apart from the closed ones).
CREATE INDEX sessions_open ON sessions (unit_id, started_at) WHERE ended_at IS NULL;

-- Per-maker quotas per kind of resource across a whole space, as JSON:
-- {"broadband_seat": {"hours_per_week": 20, "max_active_bookings": 1}, ...}
ALTER TABLE spaces ADD COLUMN kind_quotas TEXT NOT NULL DEFAULT '{}';

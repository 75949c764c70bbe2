-- Availability reads every live booking of one resource that touches a window.
CREATE INDEX bookings_resource_blocked ON bookings (resource_id, blocked_until, blocked_from);

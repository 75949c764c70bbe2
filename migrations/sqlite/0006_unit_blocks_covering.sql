-- Every booking decision reads a unit's live blocks, and the no-overlap trigger checks them
-- on every insert. With status in the index, both are answered from the index alone: one
-- or two leaf pages per unit instead of one table page per block.
DROP INDEX bookings_unit_blocked;
CREATE INDEX bookings_unit_blocked ON bookings (unit_id, blocked_until, blocked_from, status);

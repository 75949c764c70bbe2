//! Where SQLite and PostgreSQL write the same thing differently, in one place.
//!
//! Almost every statement is one text for both backends (`$n` placeholders, `BIGINT` epoch
//! milliseconds, plain SQL). The few expressions that differ are built here, so that a
//! statement asks for "the larger of", "an integer from the policy JSON", "these values
//! joined with commas" or "the unit's blocks that touch this window" and gets its backend's
//! spelling, instead of each function carrying a `match` of its own.

/// One backend's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The larger of two values: SQLite's two-argument `MAX`, PostgreSQL's `GREATEST`.
    pub(crate) fn greatest(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Sqlite => format!("MAX({a}, {b})"),
            Dialect::Postgres => format!("GREATEST({a}, {b})"),
        }
    }

    /// The integer at the top-level `key` of the JSON text in `column`, or `default` when
    /// it is absent.
    pub(crate) fn json_int(self, column: &str, key: &str, default: i64) -> String {
        match self {
            Dialect::Sqlite => format!("COALESCE(CAST(json_extract({column}, '$.{key}') AS INTEGER), {default})"),
            Dialect::Postgres => format!("COALESCE(({column}::jsonb ->> '{key}')::bigint, {default})"),
        }
    }

    /// `expr` as text (PostgreSQL does not concatenate a number with `||` without a cast;
    /// SQLite does).
    pub(crate) fn text(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => expr.to_owned(),
            Dialect::Postgres => format!("{expr}::text"),
        }
    }

    /// The aggregate that joins the text `expr` of every row with commas (`group_concat` /
    /// `string_agg`): one row through the driver instead of one per row.
    pub(crate) fn join_commas(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => format!("group_concat({expr}, ',')"),
            Dialect::Postgres => format!("string_agg({expr}, ',')"),
        }
    }

    /// `from:until` pairs of the rows' intervals joined with commas (read back with
    /// [`super::parse_interval_list`]).
    pub(crate) fn join_intervals(self, from: &str, until: &str) -> String {
        self.join_commas(&format!("{} || ':' || {}", self.text(from), self.text(until)))
    }

    /// Booking rows aliased `alias` of unit `unit` whose blocked interval touches
    /// `[from, until)`. On PostgreSQL written with the no-overlap constraint's own expressions
    /// (the unit as a uuid, the range), so that its GiST index finds the unit and bounds both
    /// ends (plain comparisons of the two columns bounded neither and read every live booking
    /// of the unit); on SQLite the covering index `(unit_id, blocked_until, …)` takes the
    /// plain comparisons.
    pub(crate) fn blocks_touching(self, alias: &str, unit: &str, from: &str, until: &str) -> String {
        match self {
            Dialect::Sqlite => {
                format!(
                    "{alias}.unit_id = {unit} AND {alias}.blocked_until > {from} AND {alias}.blocked_from < {until}"
                )
            }
            Dialect::Postgres => format!(
                "({alias}.unit_id::uuid) = ({unit}::text)::uuid AND \
                 int8range({alias}.blocked_from, {alias}.blocked_until) && int8range({from}, {until})"
            ),
        }
    }

    /// The statement that serialises ledger appends, run first in the appending transaction:
    /// none on SQLite (one writer connection: its transactions are serial already); a
    /// transaction-scoped advisory lock on PostgreSQL, so that nodes never fork the chain.
    pub(crate) fn ledger_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(7461001)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn each_backend_gets_its_spelling() {
        assert_eq!(Dialect::Sqlite.greatest("a", "b"), "MAX(a, b)");
        assert_eq!(Dialect::Postgres.greatest("a", "b"), "GREATEST(a, b)");
        assert_eq!(Dialect::Postgres.join_intervals("x.f", "x.u"), "string_agg(x.f::text || ':' || x.u::text, ',')");
        assert_eq!(Dialect::Sqlite.join_intervals("f", "u"), "group_concat(f || ':' || u, ',')");
        assert_eq!(
            Dialect::Sqlite.json_int("r.policy", "no_show_grace_minutes", 15),
            "COALESCE(CAST(json_extract(r.policy, '$.no_show_grace_minutes') AS INTEGER), 15)"
        );
        assert!(Dialect::Sqlite.ledger_lock().is_none());
        assert!(Dialect::Postgres.blocks_touching("x", "$8", "$9", "$10").contains("int8range($9, $10)"));
    }
}

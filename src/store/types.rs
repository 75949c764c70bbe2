//! How the domain's typed values are stored: ids and enums as their text, on both backends.
//! (The domain knows nothing of sqlx; these impls live here.)

use crate::domain::booking::{BookingKind, BookingStatus, WaitStatus};
use crate::domain::checkin::{ScanDecision, SessionOrigin};
use crate::domain::identity::{MemberRole, Role};
use crate::domain::ids::{AccountId, BookingId, ResourceId, SpaceId, UnitId};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// A value stored as its text (`as_str()`); `$from_text` reads it back.
macro_rules! as_text {
    ($t:ty, $from_text:expr) => {
        impl<DB: Database> Type<DB> for $t
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $t
        where
            for<'a> &'a str: Encode<'q, DB>,
        {
            fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $t
        where
            String: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <String as Decode<'r, DB>>::decode(value)?;
                $from_text(text)
            }
        }
    };
}

/// An enum of the domain, stored as its text; a stored text it does not know is an error.
macro_rules! text_enum_type {
    ($t:ty) => {
        as_text!($t, |text: String| {
            <$t>::from_db(&text).ok_or_else(|| format!("{} is not a {}", text, stringify!($t)).into())
        });
    };
}

/// An id of the domain, stored as its text.
macro_rules! id_type {
    ($t:ty) => {
        as_text!($t, |text: String| Ok(<$t>::new(text)));
    };
}

text_enum_type!(BookingStatus);
text_enum_type!(BookingKind);
text_enum_type!(WaitStatus);
text_enum_type!(SessionOrigin);
text_enum_type!(ScanDecision);
text_enum_type!(MemberRole);
text_enum_type!(Role);
id_type!(SpaceId);
id_type!(ResourceId);
id_type!(UnitId);
id_type!(AccountId);
id_type!(BookingId);

/// A list of statuses as SQL text, `('pending', 'confirmed')`: how a statement that must
/// name them literally (a partial index or a constraint matches only literals) writes them.
pub(crate) fn sql_list(statuses: &[BookingStatus]) -> String {
    let inner: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!("({})", inner.join(", "))
}

/// The ids as rusqlite reads and binds them (SQLite's inline reads and the group writer).
macro_rules! rusqlite_id {
    ($($t:ty),*) => {
        $(
            impl rusqlite::types::FromSql for $t {
                fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                    String::column_result(value).map(<$t>::new)
                }
            }

            impl rusqlite::types::ToSql for $t {
                fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                    self.as_str().to_sql()
                }
            }
        )*
    };
}

rusqlite_id!(SpaceId, ResourceId, UnitId, AccountId, BookingId);

/// The text enums as rusqlite reads them (the long report reads); a stored text the enum
/// does not know is an error, as with sqlx.
macro_rules! rusqlite_text_enum {
    ($($t:ty),*) => {
        $(
            impl rusqlite::types::FromSql for $t {
                fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                    let text = value.as_str()?;
                    <$t>::from_db(text).ok_or_else(|| {
                        rusqlite::types::FromSqlError::Other(format!("{} is not a {}", text, stringify!($t)).into())
                    })
                }
            }
        )*
    };
}

rusqlite_text_enum!(BookingStatus, BookingKind, SessionOrigin);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::EntryKind;
    use crate::domain::policy::ResourceKind;

    /// The migrations, both dialects.
    const MIGRATIONS: &[&str] = &[
        include_str!("../../migrations/postgres/0001_foundation.sql"),
        include_str!("../../migrations/postgres/0007_lean_booking_writes.sql"),
        include_str!("../../migrations/postgres/0008_uuid_overlap_key.sql"),
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
        include_str!("../../migrations/sqlite/0007_lean_booking_writes.sql"),
        include_str!("../../migrations/sqlite/0008_overlap_trigger_bounded.sql"),
    ];

    /// The store's statements (every file whose SQL names a status literally).
    const STORE: &[&str] = &[
        include_str!("accounts.rs"),
        include_str!("bookings.rs"),
        include_str!("catalog.rs"),
        include_str!("checkin.rs"),
        include_str!("jobs.rs"),
        include_str!("ledger.rs"),
        include_str!("outbox.rs"),
        include_str!("organisations.rs"),
        include_str!("trainings.rs"),
        include_str!("waitlist.rs"),
    ];

    fn texts<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|v| text(*v)).collect()
    }

    /// The values a `CHECK (column IN (…))` of the schema allows.
    fn check_list(sql: &str, column: &str) -> Vec<String> {
        let needle = format!("CHECK ({column} IN (");
        let at = sql.find(&needle).unwrap_or_else(|| panic!("no CHECK on {column}")) + needle.len();
        sql[at..sql[at..].find(')').unwrap() + at].split(", ").map(|v| v.trim_matches('\'').to_owned()).collect()
    }

    /// The registers' lists (migration 0010, both dialects) are the domain's enums.
    #[test]
    fn the_registers_allow_exactly_the_values_the_enums_have() {
        use crate::domain::registers::{DocumentKind, EventKind, EventRole, UseClass};
        for sql in [
            include_str!("../../migrations/sqlite/0010_registers.sql"),
            include_str!("../../migrations/postgres/0010_registers.sql"),
        ] {
            assert_eq!(check_list(sql, "use_class")[..], texts(UseClass::ALL, UseClass::as_str)[..]);
            let events = &sql[sql.find("CREATE TABLE events").unwrap()..];
            assert_eq!(check_list(events, "kind")[..], texts(EventKind::ALL, EventKind::as_str)[..]);
            assert_eq!(check_list(events, "role")[..], texts(EventRole::ALL, EventRole::as_str)[..]);
            let documents = &sql[sql.find("CREATE TABLE documents").unwrap()..];
            assert_eq!(check_list(documents, "kind")[..], texts(DocumentKind::ALL, DocumentKind::as_str)[..]);
        }
    }

    #[test]
    fn the_schema_allows_exactly_the_values_the_enums_have() {
        for sql in [MIGRATIONS[0], MIGRATIONS[3]] {
            assert_eq!(check_list(sql, "status")[..], texts(BookingStatus::ALL, BookingStatus::as_str)[..]);
            assert_eq!(check_list(sql, "kind")[..], ["team", "startup", "operator", "university"]);
            let bookings = &sql[sql.find("CREATE TABLE bookings").unwrap()..];
            assert_eq!(check_list(bookings, "kind")[..], texts(BookingKind::ALL, BookingKind::as_str)[..]);
            let waitlist = &sql[sql.find("CREATE TABLE waitlist").unwrap()..];
            assert_eq!(check_list(waitlist, "status")[..], texts(WaitStatus::ALL, WaitStatus::as_str)[..]);
            let opened: Vec<SessionOrigin> =
                check_list(sql, "opened_by").iter().map(|v| SessionOrigin::from_db(v).unwrap()).collect();
            let closed: Vec<SessionOrigin> =
                check_list(sql, "closed_by").iter().map(|v| SessionOrigin::from_db(v).unwrap()).collect();
            assert!(!opened.contains(&SessionOrigin::Automatic) && !closed.contains(&SessionOrigin::WalkUp));
            assert_eq!(opened.len() + closed.len(), 6, "every origin opens, closes or both");
            assert_eq!(check_list(sql, "decision")[..], texts(ScanDecision::ALL, ScanDecision::as_str)[..]);
            let members = &sql[sql.find("CREATE TABLE memberships").unwrap()..];
            assert_eq!(check_list(members, "role")[..], texts(MemberRole::ALL, MemberRole::as_str)[..]);
            let grants = &sql[sql.find("CREATE TABLE role_grants").unwrap()..];
            let roles = [Role::Maker, Role::Operator, Role::Reviewer, Role::Admin].map(Role::as_str);
            assert_eq!(check_list(grants, "role")[..], roles[..]);
            let resources = &sql[sql.find("CREATE TABLE resources").unwrap()..];
            let kinds: Vec<&str> =
                [ResourceKind::Tool, ResourceKind::LabFacility, ResourceKind::InnRoom, ResourceKind::BroadbandSeat]
                    .map(ResourceKind::as_str)
                    .to_vec();
            assert_eq!(check_list(resources, "kind")[..], kinds[..]);
        }
    }

    /// Every live-status list the schema writes (the exclusion constraint, the overlap
    /// triggers) is the domain's `LIVE`, and every other list a set of real statuses.
    #[test]
    fn the_schemas_status_lists_are_the_domains() {
        let live = sql_list(&BookingStatus::LIVE);
        assert_eq!(live, "('pending', 'confirmed', 'checked_in')");
        for sql in MIGRATIONS {
            for (i, _) in sql.match_indices("status IN (") {
                if sql[..i].ends_with("CHECK (") {
                    continue; // the allowed values: the test above
                }
                let list = &sql[i + "status IN ".len()..];
                let list = &list[..=list.find(')').unwrap()];
                if list.contains("'checked_in'") {
                    assert_eq!(list, live, "a live-status list that is not LIVE");
                }
                let statuses: Vec<&str> =
                    list.trim_matches(['(', ')']).split(", ").map(|v| v.trim_matches('\'')).collect();
                for s in statuses {
                    assert!(
                        BookingStatus::from_db(s).is_some() || WaitStatus::from_db(s).is_some(),
                        "status {s} in the schema is no status"
                    );
                }
            }
        }
    }

    /// A word quoted in the store's SQL is one of the stored values of the domain's enums
    /// (or one of the few other literals, listed here): a misspelt status fails here.
    #[test]
    fn every_quoted_value_in_the_stores_sql_is_a_known_stored_value() {
        let mut known: Vec<&str> = Vec::new();
        known.extend(texts(BookingStatus::ALL, BookingStatus::as_str));
        known.extend(texts(BookingKind::ALL, BookingKind::as_str));
        known.extend(texts(WaitStatus::ALL, WaitStatus::as_str));
        known.extend(texts(SessionOrigin::ALL, SessionOrigin::as_str));
        known.extend(texts(ScanDecision::ALL, ScanDecision::as_str));
        known.extend(texts(MemberRole::ALL, MemberRole::as_str));
        known.extend(texts(EntryKind::ALL, EntryKind::as_str));
        known.extend([Role::Maker, Role::Operator, Role::Reviewer, Role::Admin].map(Role::as_str));
        // Outbox kinds and notification kinds (not statuses), and test fixtures' strings.
        let others = ["reminder", "webhook", "x", "y", "again", "_"];
        let mut seen = 0;
        for file in STORE {
            // Every `'word'`: a quote, lower-case letters and underscores, a quote.
            let bytes = file.as_bytes();
            for (i, _) in file.match_indices('\'') {
                let word: String = file[i + 1..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if word.is_empty() || bytes.get(i + 1 + word.len()) != Some(&b'\'') {
                    continue;
                }
                seen += 1;
                assert!(
                    known.contains(&word.as_str()) || others.contains(&word.as_str()),
                    "'{word}' in the store's SQL"
                );
            }
        }
        assert!(seen > 30, "the scan found the store's literals ({seen})");
    }
}

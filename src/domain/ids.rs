//! Ids of the things a booking joins: a space, a resource of it, a unit of that resource,
//! an account, a booking. Each is its own type (UUIDv7 text, made by the application), so
//! that a unit's id cannot be passed where a resource's is meant: the compiler refuses.

use serde::{Deserialize, Serialize};

/// Defines an id newtype over its text.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// An id as stored or as given in a request (not checked: an unknown id is found
            /// by no look-up).
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(
    /// A maker space, lab, incubator or inn.
    SpaceId
);
id_type!(
    /// A kind of bookable thing in a space.
    ResourceId
);
id_type!(
    /// One physical thing that can never be double-booked.
    UnitId
);
id_type!(
    /// An account (a maker, an operator, a reviewer, an admin).
    AccountId
);
id_type!(
    /// A booking.
    BookingId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_text_in_json_and_in_comparisons() {
        let u = UnitId::new("0192f0c4-5b7e-7a31-9d2c-3f4e5a6b7c8d");
        assert_eq!(serde_json::to_value(&u).unwrap(), "0192f0c4-5b7e-7a31-9d2c-3f4e5a6b7c8d");
        assert_eq!(u, "0192f0c4-5b7e-7a31-9d2c-3f4e5a6b7c8d");
        assert_eq!(u.to_string(), u.as_str());
    }
}

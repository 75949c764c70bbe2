//! The pure core of labinn: types and rules with no I/O, no clock and no SQL.
//!
//! Everything here takes `now` (and any data it needs) as arguments, so it can be
//! property-tested and reused by the HTTP layer, the store and the jobs alike.

/// Defines an enum stored as text: its variants with their text, `as_str`, `from_db` (the
/// stored text back) and `ALL`. Statuses, kinds and origins are these, so that a misspelt
/// status cannot compile (a report that counts by status counts what it says).
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The text it is stored as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value stored as `s`, if any.
            pub fn from_db(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod allocation;
pub mod availability;
pub mod booking;
pub mod calendar;
pub mod catalog;
pub mod checkin;
pub mod checkpoint;
pub mod identity;
pub mod ids;
pub mod interval;
pub mod ledger;
pub mod merkle;
pub mod policy;
pub mod registers;
pub mod report;
pub mod scheme;
pub mod slots;
pub mod throttle;

#[cfg(test)]
mod fuzz;

use serde::Serialize;

/// Whether two secrets (tokens, tags) are equal, compared in time that does not depend on
/// where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Lower-case hexadecimal of `bytes` (tokens, hashes, signatures).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One invalid field of an input, with a stable code that clients can switch on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The input field, as named in the request body (`email`, `policy.max_minutes`).
    pub field: String,
    /// A stable machine-readable code (`too_short`, `invalid_format`, ...).
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// Every invalid field of one input, collected rather than stopping at the first.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{} invalid field(s)", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// Records the error of a parse and returns its value, if any.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// `Ok(())` when nothing was recorded.
    ///
    /// # Errors
    /// Returns itself when at least one field was invalid.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

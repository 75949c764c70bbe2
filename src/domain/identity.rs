//! Accounts, roles and organisations as validated values.
//!
//! Constructors parse raw input and return a [`FieldError`] naming the field; once a
//! value exists it is known to be valid, so the layers below never check again.

use super::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A lower-cased e-mail address with one `@`, a dotted domain and no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// `invalid_format` when the text is not a plausible address.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_lowercase();
        let bad = || FieldError::new(field, "invalid_format", "must be an e-mail address such as maker@example.org");
        if s.len() > 254 || s.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the length rule. Its `Debug` never shows the text.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    /// # Errors
    /// `too_short` or `too_long`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                "too_short",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(field, "too_long", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A trimmed, non-empty name of at most 100 characters, with no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// # Errors
    /// `required`, `too_long` or `invalid_characters`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty"));
        }
        if s.chars().count() > 100 {
            return Err(FieldError::new(field, "too_long", "must be at most 100 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError::new(field, "invalid_characters", "must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The user-interface languages labinn speaks. Chinese first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub enum Locale {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// Accepts `zh`, `zh-CN`, `zh-Hans`, `en`, `en-US`, ... (case-insensitive).
    ///
    /// # Errors
    /// `unsupported_locale`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let l = raw.trim().to_ascii_lowercase();
        if l == "zh" || l.starts_with("zh-") || l.starts_with("zh_") {
            Ok(Locale::ZhCn)
        } else if l == "en" || l.starts_with("en-") || l.starts_with("en_") {
            Ok(Locale::En)
        } else {
            Err(FieldError::new(field, "unsupported_locale", "must be zh-CN or en"))
        }
    }
}

/// What an account may do. `operator` is scoped to the spaces it runs; the others are global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Books resources and checks in. Every registered account is a maker.
    Maker,
    /// Runs one or more spaces: resources, approvals, kiosks, reports.
    Operator,
    /// The district office: reads every space's reports and evidence, changes nothing.
    Reviewer,
    /// Runs labinn itself.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Maker => "maker",
            Role::Operator => "operator",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "maker" => Some(Role::Maker),
            "operator" => Some(Role::Operator),
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether a grant of this role must name a space.
    pub fn is_space_scoped(self) -> bool {
        matches!(self, Role::Operator)
    }
}

text_enum! {
    /// A member's role in an organisation.
    pub enum MemberRole {
        /// Manages the members.
        Owner => "owner",
        Member => "member",
    }
}

/// The kinds of organisation a maker can belong to, or that can operate a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// A maker team (创客团队).
    Team,
    /// A start-up company (初创企业).
    Startup,
    /// An operator of spaces (运营单位).
    Operator,
    /// A university or research institute.
    University,
}

impl OrganisationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::Team => "team",
            OrganisationKind::Startup => "startup",
            OrganisationKind::Operator => "operator",
            OrganisationKind::University => "university",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "team" => Some(Self::Team),
            "startup" => Some(Self::Startup),
            "operator" => Some(Self::Operator),
            "university" => Some(Self::University),
            _ => None,
        }
    }
}

/// A URL-safe identifier: lower-case ASCII letters, digits and single hyphens, 2–64 long.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// # Errors
    /// `invalid_format`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let ok = (2..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "invalid_format",
                "must be 2-64 lower-case letters, digits and single hyphens, such as longgang-factory",
            ))
        }
    }

    /// Derives a slug from free text: ASCII letters and digits kept, everything else folded
    /// into single hyphens. Text without any ASCII letter or digit yields `fallback`.
    pub fn derive(text: &str, fallback: &str) -> Self {
        let mut s = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                s.push(c.to_ascii_lowercase());
            } else if !s.ends_with('-') && !s.is_empty() {
                s.push('-');
            }
        }
        let s = s.trim_end_matches('-');
        let s: String = s.chars().take(48).collect();
        let s = s.trim_end_matches('-').to_owned();
        if s.len() >= 2 { Self(s) } else { Self(fallback.to_owned()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(Email::parse("email", " Maker@Example.ORG ").unwrap().as_str(), "maker@example.org");
        for bad in ["", "maker", "@x.org", "a@b", "a@.org", "a b@x.org", "a@x..org", "a@x.org."] {
            assert!(Email::parse("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_password_is_never_printed() {
        let p = Password::parse("password", "correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(Password::parse("password", "short").unwrap_err().code, "too_short");
    }

    #[test]
    fn locales_fold_to_the_two_we_speak() {
        assert_eq!(Locale::parse("l", "zh-Hans").unwrap(), Locale::ZhCn);
        assert_eq!(Locale::parse("l", "EN-us").unwrap(), Locale::En);
        assert_eq!(Locale::parse("l", "fr").unwrap_err().code, "unsupported_locale");
    }

    #[test]
    fn only_operators_are_scoped_to_spaces() {
        assert!(Role::Operator.is_space_scoped());
        assert!(!Role::Reviewer.is_space_scoped());
        for r in [Role::Maker, Role::Operator, Role::Reviewer, Role::Admin] {
            assert_eq!(Role::from_db(r.as_str()), Some(r));
        }
    }

    proptest! {
        #[test]
        fn derived_slugs_always_parse(text in "\\PC{0,80}") {
            let s = Slug::derive(&text, "org");
            prop_assert!(Slug::parse("slug", s.as_str()).is_ok(), "{:?}", s);
        }
    }
}

//! Spaces as validated values: kind, names, coordinates, floor area, zone.

use super::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kinds of space the district subsidises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpaceKind {
    /// 众创空间 / 创客空间
    MakerSpace,
    /// 创业苗圃
    StartupNursery,
    /// 孵化器
    Incubator,
    /// 加速器
    Accelerator,
    /// A university's open lab.
    UniversityLab,
    /// 创客客栈
    MakerInn,
}

impl SpaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceKind::MakerSpace => "maker_space",
            SpaceKind::StartupNursery => "startup_nursery",
            SpaceKind::Incubator => "incubator",
            SpaceKind::Accelerator => "accelerator",
            SpaceKind::UniversityLab => "university_lab",
            SpaceKind::MakerInn => "maker_inn",
        }
    }

    pub fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (SpaceKind::MakerSpace, true) => "众创空间",
            (SpaceKind::StartupNursery, true) => "创业苗圃",
            (SpaceKind::Incubator, true) => "孵化器",
            (SpaceKind::Accelerator, true) => "加速器",
            (SpaceKind::UniversityLab, true) => "高校开放实验室",
            (SpaceKind::MakerInn, true) => "创客客栈",
            (SpaceKind::MakerSpace, false) => "Maker space",
            (SpaceKind::StartupNursery, false) => "Start-up nursery",
            (SpaceKind::Incubator, false) => "Incubator",
            (SpaceKind::Accelerator, false) => "Accelerator",
            (SpaceKind::UniversityLab, false) => "University open lab",
            (SpaceKind::MakerInn, false) => "Maker inn",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [
            Self::MakerSpace,
            Self::StartupNursery,
            Self::Incubator,
            Self::Accelerator,
            Self::UniversityLab,
            Self::MakerInn,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A non-empty name of at most 200 characters.
///
/// # Errors
/// `required` or `too_long`.
pub fn name(field: &str, raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        Err(FieldError::new(field, "required", "must not be empty"))
    } else if s.chars().count() > 200 {
        Err(FieldError::new(field, "too_long", "must be at most 200 characters"))
    } else {
        Ok(s.to_owned())
    }
}

/// Free text of at most `max` characters (may be empty).
///
/// # Errors
/// `too_long`.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    if raw.chars().count() > max {
        Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")))
    } else {
        Ok(raw.trim().to_owned())
    }
}

/// # Errors
/// `out_of_range` for a latitude outside ±90 or a longitude outside ±180.
pub fn coordinates(lat: Option<f64>, lon: Option<f64>) -> Result<(), Vec<FieldError>> {
    let mut e = Vec::new();
    if lat.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
        e.push(FieldError::new("latitude", "out_of_range", "must be between -90 and 90"));
    }
    if lon.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
        e.push(FieldError::new("longitude", "out_of_range", "must be between -180 and 180"));
    }
    if lat.is_some() != lon.is_some() {
        e.push(FieldError::new("longitude", "incomplete", "give both latitude and longitude, or neither"));
    }
    if e.is_empty() { Ok(()) } else { Err(e) }
}

/// A unit label: 1–32 characters, no control characters.
///
/// # Errors
/// `invalid_label`.
pub fn unit_label(field: &str, raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 32 || s.chars().any(char::is_control) {
        Err(FieldError::new(field, "invalid_label", "must be 1-32 characters, such as A-01"))
    } else {
        Ok(s.to_owned())
    }
}

/// Labels `prefix01 … prefixNN` (zero-padded to the width of `count`, at least two digits).
pub fn numbered_labels(prefix: &str, count: u32) -> Vec<String> {
    let width = count.to_string().len().max(2);
    (1..=count).map(|i| format!("{prefix}{i:0width$}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_seats_are_labelled_a_01_to_a_40() {
        let l = numbered_labels("A-", 40);
        assert_eq!((l.len(), l[0].as_str(), l[39].as_str()), (40, "A-01", "A-40"));
        assert_eq!(numbered_labels("R", 120)[0], "R001");
    }

    #[test]
    fn coordinates_must_be_on_earth_and_complete() {
        assert!(coordinates(Some(22.72), Some(114.25)).is_ok());
        assert_eq!(coordinates(Some(91.0), None).unwrap_err().len(), 2);
    }

    #[test]
    fn kinds_round_trip() {
        for k in ["maker_space", "startup_nursery", "incubator", "accelerator", "university_lab", "maker_inn"] {
            assert_eq!(SpaceKind::from_db(k).unwrap().as_str(), k);
        }
    }
}

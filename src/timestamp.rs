//! Stored moments are UTC `NaiveDateTime`s; answers show them as RFC 3339 date-times with
//! `Z` (`2026-07-01T00:00:00Z`), the form OpenAPI's `date-time` promises. Use with
//! `#[serde(serialize_with = "crate::timestamp::utc")]` (or `utc_opt` for an `Option`).

use chrono::{NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serializer};

/// A stored UTC moment as RFC 3339 with `Z` (fractions of a second only when there are any).
pub fn rfc3339(at: &NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Serialises a stored UTC moment as [`rfc3339`].
pub fn utc<S: Serializer>(at: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(at))
}

/// As [`utc`], for an optional moment (`null` when absent).
pub fn utc_opt<S: Serializer>(
    at: &Option<NaiveDateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => utc(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// Reads back a moment [`utc`] wrote (RFC 3339), for records that keep one in JSON; a date-time
/// without an offset (as records written before [`utc`] hold) is taken as UTC.
pub fn parse_utc<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|at| at.naive_utc())
        .or_else(|_| text.parse::<NaiveDateTime>())
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_z() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 7, 1)
            .and_then(|d| d.and_hms_milli_opt(9, 30, 0, 250))
            .expect("moment");
        assert_eq!(rfc3339(&at), "2026-07-01T09:30:00.250Z");
        let whole = chrono::NaiveDate::from_ymd_opt(2026, 7, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("moment");
        assert_eq!(rfc3339(&whole), "2026-07-01T00:00:00Z");
    }
}

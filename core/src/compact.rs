//! Dates and times in a policy: written as text in TOML (`2026-12-24`, `17:00:00`), and as plain
//! numbers in a compiled policy (days from the common era, seconds from midnight), so that reading one
//! needs no date parser. serde's `is_human_readable` tells the two apart.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time of day.
pub(crate) mod time {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(time: &NaiveTime, to: S) -> Result<S::Ok, S::Error> {
        if to.is_human_readable() {
            time.serialize(to)
        } else {
            time.num_seconds_from_midnight().serialize(to)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<NaiveTime, D::Error> {
        if from.is_human_readable() {
            NaiveTime::deserialize(from)
        } else {
            let seconds = u32::deserialize(from)?;
            NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)
                .ok_or_else(|| D::Error::custom("not a time of day"))
        }
    }
}

/// A list of dates.
pub(crate) mod dates {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(dates: &[NaiveDate], to: S) -> Result<S::Ok, S::Error> {
        if to.is_human_readable() {
            dates.serialize(to)
        } else {
            to.collect_seq(dates.iter().map(NaiveDate::num_days_from_ce))
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<Vec<NaiveDate>, D::Error> {
        if from.is_human_readable() {
            Vec::<NaiveDate>::deserialize(from)
        } else {
            Vec::<i32>::deserialize(from)?
                .into_iter()
                .map(|days| {
                    NaiveDate::from_num_days_from_ce_opt(days)
                        .ok_or_else(|| D::Error::custom("not a date"))
                })
                .collect()
        }
    }
}

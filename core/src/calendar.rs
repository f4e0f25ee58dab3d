//! England and Wales working days: the official bank holiday list for the years it covers, the rules
//! beyond it, and a council's own closure days.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use serde::{Deserialize, Serialize};

/// The official list, embedded.
#[cfg(feature = "toml")]
const ENGLAND_AND_WALES: &str = include_str!("../policy/bank-holidays-england-and-wales.toml");

/// A problem with a bank holiday list.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    /// The list is not valid TOML of the expected shape.
    #[error("bank holiday list is not valid: {0}")]
    Syntax(String),
    /// A listed date falls outside the years the list says it covers.
    #[error(
        "bank holiday `{date}` is outside the covered years {first}..={last}: widen `first_year`/`last_year` or remove it"
    )]
    OutOfRange {
        /// The stray date.
        date: NaiveDate,
        /// First covered year.
        first: i32,
        /// Last covered year.
        last: i32,
    },
    /// A listed date falls on a weekend, which bank holidays never do.
    #[error("bank holiday `{0}` falls on a weekend: check the date")]
    Weekend(NaiveDate),
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayList {
    #[allow(
        dead_code,
        reason = "names the list for people; the engine serves one division"
    )]
    division: String,
    first_year: i32,
    last_year: i32,
    holidays: Vec<Holiday>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Holiday {
    date: NaiveDate,
    title: String,
}

/// Which days count as working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    listed: BTreeMap<NaiveDate, String>,
    first_year: i32,
    last_year: i32,
    closures: BTreeSet<NaiveDate>,
}

/// A calendar's official list in compact form (days from the common era), for compiled policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HolidayTable {
    first_year: i32,
    last_year: i32,
    holidays: Vec<(i32, String)>,
}

impl WorkingCalendar {
    /// England and Wales, from the embedded official list.
    #[cfg(feature = "toml")]
    pub fn england_and_wales() -> Self {
        // INVARIANT: the embedded list is checked by the `embedded_list_is_valid` test.
        Self::from_toml(ENGLAND_AND_WALES).unwrap_or_else(|_| Self::from_rules_only())
    }

    /// A calendar that uses the rules for every year (no official list).
    pub fn from_rules_only() -> Self {
        WorkingCalendar {
            listed: BTreeMap::new(),
            first_year: 0,
            last_year: -1,
            closures: BTreeSet::new(),
        }
    }

    /// Reads a bank holiday list in the embedded file's format.
    #[cfg(feature = "toml")]
    pub fn from_toml(source: &str) -> Result<Self, CalendarError> {
        let list: HolidayList =
            toml::from_str(source).map_err(|err| CalendarError::Syntax(err.to_string()))?;
        Self::from_list(
            list.first_year,
            list.last_year,
            list.holidays.into_iter().map(|h| (h.date, h.title)),
        )
    }

    /// A calendar from an official list covering `first_year..=last_year`, checked.
    fn from_list(
        first_year: i32,
        last_year: i32,
        holidays: impl IntoIterator<Item = (NaiveDate, String)>,
    ) -> Result<Self, CalendarError> {
        let mut listed = BTreeMap::new();
        for (date, title) in holidays {
            let year = date.year();
            if year < first_year || year > last_year {
                return Err(CalendarError::OutOfRange {
                    date,
                    first: first_year,
                    last: last_year,
                });
            }
            if is_weekend(date) {
                return Err(CalendarError::Weekend(date));
            }
            listed.insert(date, title);
        }
        Ok(WorkingCalendar {
            listed,
            first_year,
            last_year,
            closures: BTreeSet::new(),
        })
    }

    /// The official list (not the closure days) in compact form.
    #[cfg(feature = "toml")]
    pub(crate) fn to_table(&self) -> HolidayTable {
        HolidayTable {
            first_year: self.first_year,
            last_year: self.last_year,
            holidays: self
                .listed
                .iter()
                .map(|(date, title)| (date.num_days_from_ce(), title.clone()))
                .collect(),
        }
    }

    /// A calendar from [`Self::to_table`]'s form, checked as a list read from TOML is.
    pub(crate) fn from_table(table: HolidayTable) -> Result<Self, CalendarError> {
        let mut holidays = Vec::with_capacity(table.holidays.len());
        for (days, title) in table.holidays {
            let date = NaiveDate::from_num_days_from_ce_opt(days)
                .ok_or_else(|| CalendarError::Syntax(format!("day {days} is not a date")))?;
            holidays.push((date, title));
        }
        Self::from_list(table.first_year, table.last_year, holidays)
    }

    /// Adds the council's own closure days.
    pub fn with_closures(mut self, days: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.closures.extend(days);
        self
    }

    /// The years the official list covers.
    pub fn covered_years(&self) -> std::ops::RangeInclusive<i32> {
        self.first_year..=self.last_year
    }

    /// The bank holidays of a year with their names: from the list where it covers the year, else the rules.
    pub fn bank_holidays(&self, year: i32) -> Vec<(NaiveDate, String)> {
        if self.covered_years().contains(&year) {
            self.listed
                .range(year_start(year)..year_start(year + 1))
                .map(|(d, t)| (*d, t.clone()))
                .collect()
        } else {
            holidays_by_rule(year)
        }
    }

    /// Whether a day is a bank holiday.
    pub fn is_bank_holiday(&self, day: NaiveDate) -> bool {
        if self.covered_years().contains(&day.year()) {
            self.listed.contains_key(&day)
        } else {
            holidays_by_rule(day.year()).iter().any(|(d, _)| *d == day)
        }
    }

    /// Whether the council is open: not a weekend, bank holiday or closure day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !is_weekend(day) && !self.closures.contains(&day) && !self.is_bank_holiday(day)
    }

    /// The first working day on or after `day`.
    pub fn working_day_on_or_after(&self, mut day: NaiveDate) -> NaiveDate {
        while !self.is_working_day(day) {
            day = day.succ_opt().unwrap_or(day);
            if day == NaiveDate::MAX {
                break;
            }
        }
        day
    }

    /// The date `n` working days after `start` (the start day itself is not counted).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days after `from` up to and including `to`; negative when `to` is before `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let (low, high, sign) = if to >= from {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let count = low
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= high)
            .filter(|d| self.is_working_day(*d))
            .count();
        sign * i64::try_from(count).unwrap_or(i64::MAX)
    }

    /// The day a message counts as received: the UK local date, moved to the next working day when it
    /// arrived on a non-working day or after the office cut-off.
    pub fn effective_receipt(
        &self,
        received: DateTime<FixedOffset>,
        cutoff: NaiveTime,
    ) -> NaiveDate {
        let local = uk_local_time(received.with_timezone(&Utc));
        let date = local.date();
        if self.is_working_day(date) && local.time() < cutoff {
            date
        } else {
            self.working_day_on_or_after(date.succ_opt().unwrap_or(date))
        }
    }
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

fn year_start(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MAX)
}

/// The UK's civil time: GMT, or BST (UTC+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC on
/// the last Sunday of October (the Summer Time Order). Written out here rather than pulling a time-zone
/// database into the wasm module for one rule.
pub fn uk_local_time(utc: DateTime<Utc>) -> chrono::NaiveDateTime {
    let year = utc.year();
    let change = |month| {
        let sunday = last_weekday_of(year, month, Weekday::Sun);
        Utc.from_utc_datetime(
            &sunday.and_time(NaiveTime::from_hms_opt(1, 0, 0).unwrap_or(NaiveTime::MIN)),
        )
    };
    let summer = utc >= change(3) && utc < change(10);
    let offset = if summer {
        Duration::hours(1)
    } else {
        Duration::zero()
    };
    utc.naive_utc() + offset
}

fn last_weekday_of(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let next_month = if month == 12 {
        year_start(year + 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1).unwrap_or(NaiveDate::MAX)
    };
    let mut day = next_month.pred_opt().unwrap_or(next_month);
    while day.weekday() != weekday {
        day = day.pred_opt().unwrap_or(day);
    }
    day
}

fn first_weekday_of(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let mut day = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MAX);
    while day.weekday() != weekday {
        day = day.succ_opt().unwrap_or(day);
    }
    day
}

/// Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month.unsigned_abs(), day.unsigned_abs())
        .unwrap_or(NaiveDate::MAX)
}

/// The standing rules for England and Wales bank holidays, for years the official list does not cover.
pub fn holidays_by_rule(year: i32) -> Vec<(NaiveDate, String)> {
    let date = |m, d| NaiveDate::from_ymd_opt(year, m, d).unwrap_or(NaiveDate::MAX);
    let mut days: Vec<(NaiveDate, String)> = Vec::with_capacity(8);
    let new_year = date(1, 1);
    days.push(substitute(new_year, &[], "New Year’s Day"));
    let easter = easter_sunday(year);
    days.push((easter - Duration::days(2), "Good Friday".into()));
    days.push((easter + Duration::days(1), "Easter Monday".into()));
    days.push((
        first_weekday_of(year, 5, Weekday::Mon),
        "Early May bank holiday".into(),
    ));
    days.push((
        last_weekday_of(year, 5, Weekday::Mon),
        "Spring bank holiday".into(),
    ));
    days.push((
        last_weekday_of(year, 8, Weekday::Mon),
        "Summer bank holiday".into(),
    ));
    // A weekday Christmas or Boxing Day keeps its date; a weekend one moves to the next free weekday.
    let (christmas_day, boxing_day) = (date(12, 25), date(12, 26));
    let mut taken: Vec<NaiveDate> = [christmas_day, boxing_day]
        .into_iter()
        .filter(|d| !is_weekend(*d))
        .collect();
    let christmas = substitute(christmas_day, &taken, "Christmas Day");
    taken.push(christmas.0);
    let boxing = substitute(boxing_day, &taken, "Boxing Day");
    // The days so far are in date order every year; only a Sunday Christmas's substitute (the 27th)
    // comes after Boxing Day. (Kept in order by hand: a sort would add its code to the wasm module.)
    if christmas.0 <= boxing.0 {
        days.extend([christmas, boxing]);
    } else {
        days.extend([boxing, christmas]);
    }
    days
}

/// A holiday on its date, or on the next weekday not already taken when it falls at a weekend.
fn substitute(day: NaiveDate, taken: &[NaiveDate], title: &str) -> (NaiveDate, String) {
    if !is_weekend(day) {
        return (day, title.to_string());
    }
    let mut moved = day;
    while is_weekend(moved) || taken.contains(&moved) {
        moved = moved.succ_opt().unwrap_or(moved);
    }
    (moved, format!("{title} (substitute day)"))
}

#[cfg(all(test, feature = "toml"))]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_is_valid() {
        let calendar = WorkingCalendar::from_toml(ENGLAND_AND_WALES).unwrap();
        assert_eq!(calendar.covered_years(), 2015..=2027);
        assert_eq!(calendar.listed.len(), 107);
    }

    #[test]
    fn rules_agree_with_the_list_in_ordinary_years() {
        let calendar = WorkingCalendar::england_and_wales();
        // 2020, 2022 and 2023 had one-off changes; every other covered year follows the rules.
        for year in (2015..=2027).filter(|y| ![2020, 2022, 2023].contains(y)) {
            let listed: Vec<NaiveDate> = calendar
                .bank_holidays(year)
                .into_iter()
                .map(|(d, _)| d)
                .collect();
            let ruled: Vec<NaiveDate> =
                holidays_by_rule(year).into_iter().map(|(d, _)| d).collect();
            assert_eq!(listed, ruled, "{year}");
        }
    }
}

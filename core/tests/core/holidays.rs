//! England and Wales bank holidays: the embedded official list for 2015 to 2027 against a table written
//! out independently here (one-off days and substitute days included), and the standing rules for the
//! years beyond the list.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use feedback_core::WorkingCalendar;
use feedback_core::calendar::{easter_sunday, holidays_by_rule};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("bad date {y}-{m}-{day}"))
}

/// Every England and Wales bank holiday, 2015 to 2027, as (month, day).
const LISTED: &[(i32, &[(u32, u32)])] = &[
    // Boxing Day (Sat 26th) moved to Mon 28th.
    (
        2015,
        &[
            (1, 1),
            (4, 3),
            (4, 6),
            (5, 4),
            (5, 25),
            (8, 31),
            (12, 25),
            (12, 28),
        ],
    ),
    // Christmas Day (Sun 25th) moved to Tue 27th.
    (
        2016,
        &[
            (1, 1),
            (3, 25),
            (3, 28),
            (5, 2),
            (5, 30),
            (8, 29),
            (12, 26),
            (12, 27),
        ],
    ),
    // New Year's Day (Sun 1st) moved to Mon 2nd.
    (
        2017,
        &[
            (1, 2),
            (4, 14),
            (4, 17),
            (5, 1),
            (5, 29),
            (8, 28),
            (12, 25),
            (12, 26),
        ],
    ),
    (
        2018,
        &[
            (1, 1),
            (3, 30),
            (4, 2),
            (5, 7),
            (5, 28),
            (8, 27),
            (12, 25),
            (12, 26),
        ],
    ),
    (
        2019,
        &[
            (1, 1),
            (4, 19),
            (4, 22),
            (5, 6),
            (5, 27),
            (8, 26),
            (12, 25),
            (12, 26),
        ],
    ),
    // Early May bank holiday moved from Mon 4th to Fri 8th (VE Day 75); Boxing Day (Sat) to Mon 28th.
    (
        2020,
        &[
            (1, 1),
            (4, 10),
            (4, 13),
            (5, 8),
            (5, 25),
            (8, 31),
            (12, 25),
            (12, 28),
        ],
    ),
    // Christmas (Sat) and Boxing Day (Sun) moved to Mon 27th and Tue 28th.
    (
        2021,
        &[
            (1, 1),
            (4, 2),
            (4, 5),
            (5, 3),
            (5, 31),
            (8, 30),
            (12, 27),
            (12, 28),
        ],
    ),
    // New Year (Sat) to Mon 3rd; spring bank holiday moved from Mon 30 May to Thu 2 June, Platinum
    // Jubilee Fri 3 June; State Funeral of Queen Elizabeth II Mon 19 September; Christmas (Sun) to Tue 27th.
    (
        2022,
        &[
            (1, 3),
            (4, 15),
            (4, 18),
            (5, 2),
            (6, 2),
            (6, 3),
            (8, 29),
            (9, 19),
            (12, 26),
            (12, 27),
        ],
    ),
    // New Year (Sun) to Mon 2nd; Coronation of King Charles III Mon 8 May.
    (
        2023,
        &[
            (1, 2),
            (4, 7),
            (4, 10),
            (5, 1),
            (5, 8),
            (5, 29),
            (8, 28),
            (12, 25),
            (12, 26),
        ],
    ),
    (
        2024,
        &[
            (1, 1),
            (3, 29),
            (4, 1),
            (5, 6),
            (5, 27),
            (8, 26),
            (12, 25),
            (12, 26),
        ],
    ),
    (
        2025,
        &[
            (1, 1),
            (4, 18),
            (4, 21),
            (5, 5),
            (5, 26),
            (8, 25),
            (12, 25),
            (12, 26),
        ],
    ),
    // Boxing Day (Sat) moved to Mon 28th.
    (
        2026,
        &[
            (1, 1),
            (4, 3),
            (4, 6),
            (5, 4),
            (5, 25),
            (8, 31),
            (12, 25),
            (12, 28),
        ],
    ),
    // Christmas (Sat) and Boxing Day (Sun) moved to Mon 27th and Tue 28th.
    (
        2027,
        &[
            (1, 1),
            (3, 26),
            (3, 29),
            (5, 3),
            (5, 31),
            (8, 30),
            (12, 27),
            (12, 28),
        ],
    ),
];

/// The years beyond the list, by the rules: New Year's Day, Good Friday, Easter Monday, first Monday in
/// May, last Monday in May, last Monday in August, Christmas Day, Boxing Day, weekend ones moved.
const BY_RULE: &[(i32, &[(u32, u32)])] = &[
    // New Year (Sat) to Mon 3rd; Easter 16 April.
    (
        2028,
        &[
            (1, 3),
            (4, 14),
            (4, 17),
            (5, 1),
            (5, 29),
            (8, 28),
            (12, 25),
            (12, 26),
        ],
    ),
    // Easter 1 April: Good Friday falls in March.
    (
        2029,
        &[
            (1, 1),
            (3, 30),
            (4, 2),
            (5, 7),
            (5, 28),
            (8, 27),
            (12, 25),
            (12, 26),
        ],
    ),
    (
        2030,
        &[
            (1, 1),
            (4, 19),
            (4, 22),
            (5, 6),
            (5, 27),
            (8, 26),
            (12, 25),
            (12, 26),
        ],
    ),
    (
        2031,
        &[
            (1, 1),
            (4, 11),
            (4, 14),
            (5, 5),
            (5, 26),
            (8, 25),
            (12, 25),
            (12, 26),
        ],
    ),
    // Easter 28 March; Christmas (Sat) and Boxing Day (Sun) to Mon 27th and Tue 28th.
    (
        2032,
        &[
            (1, 1),
            (3, 26),
            (3, 29),
            (5, 3),
            (5, 31),
            (8, 30),
            (12, 27),
            (12, 28),
        ],
    ),
    // New Year (Sat) to Mon 3rd; Christmas (Sun) to Tue 27th after Boxing Day on Mon 26th.
    (
        2033,
        &[
            (1, 3),
            (4, 15),
            (4, 18),
            (5, 2),
            (5, 30),
            (8, 29),
            (12, 26),
            (12, 27),
        ],
    ),
    // New Year (Sun) to Mon 2nd.
    (
        2034,
        &[
            (1, 2),
            (4, 7),
            (4, 10),
            (5, 1),
            (5, 29),
            (8, 28),
            (12, 25),
            (12, 26),
        ],
    ),
    // Easter 25 March.
    (
        2035,
        &[
            (1, 1),
            (3, 23),
            (3, 26),
            (5, 7),
            (5, 28),
            (8, 27),
            (12, 25),
            (12, 26),
        ],
    ),
];

/// Easter Sunday, 2015 to 2035.
const EASTER: &[(i32, u32, u32)] = &[
    (2015, 4, 5),
    (2016, 3, 27),
    (2017, 4, 16),
    (2018, 4, 1),
    (2019, 4, 21),
    (2020, 4, 12),
    (2021, 4, 4),
    (2022, 4, 17),
    (2023, 4, 9),
    (2024, 3, 31),
    (2025, 4, 20),
    (2026, 4, 5),
    (2027, 3, 28),
    (2028, 4, 16),
    (2029, 4, 1),
    (2030, 4, 21),
    (2031, 4, 13),
    (2032, 3, 28),
    (2033, 4, 17),
    (2034, 4, 9),
    (2035, 3, 25),
];

fn table_dates(table: &[(i32, &[(u32, u32)])], year: i32) -> Vec<NaiveDate> {
    let (_, days) = table
        .iter()
        .find(|(y, _)| *y == year)
        .unwrap_or_else(|| panic!("no table row for {year}"));
    days.iter().map(|&(m, day)| d(year, m, day)).collect()
}

fn engine_dates(calendar: &WorkingCalendar, year: i32) -> Vec<NaiveDate> {
    calendar
        .bank_holidays(year)
        .into_iter()
        .map(|(date, _)| date)
        .collect()
}

fn every_day_of(year: i32) -> impl Iterator<Item = NaiveDate> {
    d(year, 1, 1)
        .iter_days()
        .take_while(move |day| day.year() == year)
}

#[test]
fn the_tables_themselves_are_consistent() {
    // Guards the hand-written tables: every date exists, is a weekday, and is in order.
    for table in [LISTED, BY_RULE] {
        for (year, days) in table {
            let dates = table_dates(table, *year);
            assert_eq!(dates.len(), days.len());
            for date in &dates {
                assert!(
                    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
                    "{date} is a weekend day"
                );
            }
            assert!(
                dates.windows(2).all(|w| w[0] < w[1]),
                "{year} is not in order"
            );
        }
    }
    let total: usize = LISTED.iter().map(|(_, days)| days.len()).sum();
    assert_eq!(
        total, 107,
        "8 a year for 13 years, plus the 2022 Jubilee, the 2022 State Funeral and the 2023 Coronation"
    );
    // The Easter table agrees with the listed Good Fridays and Easter Mondays.
    for &(year, m, day) in EASTER {
        let easter = d(year, m, day);
        assert_eq!(easter.weekday(), Weekday::Sun, "{easter}");
        let table = if year <= 2027 { LISTED } else { BY_RULE };
        let dates = table_dates(table, year);
        assert!(
            dates.contains(&(easter - chrono::Duration::days(2))),
            "Good Friday {year}"
        );
        assert!(
            dates.contains(&(easter + chrono::Duration::days(1))),
            "Easter Monday {year}"
        );
    }
}

#[test]
fn the_list_covers_2015_to_2027() {
    assert_eq!(
        WorkingCalendar::england_and_wales().covered_years(),
        2015..=2027
    );
}

#[test]
fn listed_years_match_the_table() {
    let calendar = WorkingCalendar::england_and_wales();
    for (year, _) in LISTED {
        assert_eq!(
            engine_dates(&calendar, *year),
            table_dates(LISTED, *year),
            "bank holidays of {year}"
        );
    }
}

#[test]
fn is_bank_holiday_agrees_with_the_table_on_every_listed_day() {
    let calendar = WorkingCalendar::england_and_wales();
    for (year, _) in LISTED {
        let holidays: BTreeSet<NaiveDate> = table_dates(LISTED, *year).into_iter().collect();
        for day in every_day_of(*year) {
            assert_eq!(
                calendar.is_bank_holiday(day),
                holidays.contains(&day),
                "is_bank_holiday({day})"
            );
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            assert_eq!(
                calendar.is_working_day(day),
                !weekend && !holidays.contains(&day),
                "is_working_day({day})"
            );
        }
    }
}

#[test]
fn one_off_days_are_listed_and_the_days_they_replaced_are_not() {
    let calendar = WorkingCalendar::england_and_wales();
    // 2020: early May bank holiday moved to Friday 8 May for VE Day.
    assert!(calendar.is_bank_holiday(d(2020, 5, 8)));
    assert!(!calendar.is_bank_holiday(d(2020, 5, 4)));
    // 2022: spring bank holiday moved to Thursday 2 June, Jubilee Friday 3 June, State Funeral 19 September.
    assert!(calendar.is_bank_holiday(d(2022, 6, 2)));
    assert!(calendar.is_bank_holiday(d(2022, 6, 3)));
    assert!(!calendar.is_bank_holiday(d(2022, 5, 30)));
    assert!(calendar.is_bank_holiday(d(2022, 9, 19)));
    // 2023: the Coronation on Monday 8 May, in addition to the early May bank holiday on 1 May.
    assert!(calendar.is_bank_holiday(d(2023, 5, 1)));
    assert!(calendar.is_bank_holiday(d(2023, 5, 8)));
    assert!(calendar.is_bank_holiday(d(2023, 5, 29)));
    // Substitute days, with the weekend date itself not a holiday (just a weekend).
    assert!(calendar.is_bank_holiday(d(2022, 1, 3)) && !calendar.is_bank_holiday(d(2022, 1, 1)));
    assert!(
        calendar.is_bank_holiday(d(2026, 12, 28)) && !calendar.is_bank_holiday(d(2026, 12, 26))
    );
    assert!(calendar.is_bank_holiday(d(2027, 12, 27)) && calendar.is_bank_holiday(d(2027, 12, 28)));
    assert!(
        !calendar.is_bank_holiday(d(2027, 12, 25)) && !calendar.is_bank_holiday(d(2027, 12, 26))
    );
    assert!(!calendar.is_working_day(d(2027, 12, 25)));
}

#[test]
fn the_rules_alone_differ_from_the_list_only_in_the_one_off_years() {
    let rules = WorkingCalendar::from_rules_only();
    for (year, _) in LISTED {
        let listed = table_dates(LISTED, *year);
        let ruled = engine_dates(&rules, *year);
        if [2020, 2022, 2023].contains(year) {
            assert_ne!(
                ruled, listed,
                "{year} had one-off changes the rules cannot know"
            );
        } else {
            assert_eq!(ruled, listed, "{year} by rule");
        }
    }
}

#[test]
fn easter_sunday_matches_the_known_dates() {
    for &(year, m, day) in EASTER {
        assert_eq!(easter_sunday(year), d(year, m, day), "Easter {year}");
    }
}

#[test]
fn years_beyond_the_list_follow_the_rules() {
    let calendar = WorkingCalendar::england_and_wales();
    for (year, _) in BY_RULE {
        let expected = table_dates(BY_RULE, *year);
        assert_eq!(
            engine_dates(&calendar, *year),
            expected,
            "bank holidays of {year}"
        );
        let by_rule: Vec<NaiveDate> = holidays_by_rule(*year)
            .into_iter()
            .map(|(date, _)| date)
            .collect();
        assert_eq!(by_rule, expected, "holidays_by_rule({year})");
        let holidays: BTreeSet<NaiveDate> = expected.into_iter().collect();
        for day in every_day_of(*year) {
            assert_eq!(
                calendar.is_bank_holiday(day),
                holidays.contains(&day),
                "is_bank_holiday({day})"
            );
        }
    }
}

#[test]
fn weekend_christmas_and_new_year_move_to_the_next_free_weekdays() {
    let calendar = WorkingCalendar::england_and_wales();
    // 2032: Christmas Day on a Saturday, Boxing Day on a Sunday.
    assert!(!calendar.is_bank_holiday(d(2032, 12, 25)));
    assert!(!calendar.is_bank_holiday(d(2032, 12, 26)));
    assert!(calendar.is_working_day(d(2032, 12, 24)));
    let holidays = calendar.bank_holidays(2032);
    let title = |day: NaiveDate| {
        holidays
            .iter()
            .find(|(date, _)| *date == day)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    assert!(title(d(2032, 12, 27)).contains("Christmas"), "{holidays:?}");
    assert!(
        title(d(2032, 12, 27)).to_lowercase().contains("substitute"),
        "{holidays:?}"
    );
    assert!(title(d(2032, 12, 28)).contains("Boxing"), "{holidays:?}");
    assert!(calendar.is_working_day(d(2032, 12, 29)));
    // 2033: Christmas on a Sunday: Boxing Day keeps Monday 26th, Christmas moves to Tuesday 27th.
    let holidays = calendar.bank_holidays(2033);
    let title = |day: NaiveDate| {
        holidays
            .iter()
            .find(|(date, _)| *date == day)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    assert!(
        title(d(2033, 12, 26)).starts_with("Boxing Day"),
        "{holidays:?}"
    );
    assert!(
        title(d(2033, 12, 27)).starts_with("Christmas Day"),
        "{holidays:?}"
    );
    // 2031: Boxing Day on a Friday keeps its date (no substitute).
    assert!(calendar.is_bank_holiday(d(2031, 12, 26)));
    assert!(calendar.is_working_day(d(2031, 12, 29)));
    // New Year's Day on a Saturday (2028, 2033) and a Sunday (2034).
    assert!(calendar.is_bank_holiday(d(2028, 1, 3)) && calendar.is_working_day(d(2028, 1, 4)));
    assert!(calendar.is_bank_holiday(d(2033, 1, 3)));
    assert!(calendar.is_bank_holiday(d(2034, 1, 2)) && calendar.is_working_day(d(2034, 1, 3)));
}

#[test]
fn every_year_has_eight_titled_holidays_by_rule() {
    for year in 2028..=2035 {
        let holidays = holidays_by_rule(year);
        assert_eq!(holidays.len(), 8, "{year}: {holidays:?}");
        assert!(
            holidays.iter().all(|(_, title)| !title.is_empty()),
            "{year}: {holidays:?}"
        );
    }
}

//! Working-day arithmetic: `add_working_days`, `working_days_between`, `effective_receipt` at weekends,
//! bank holidays and either side of the 17:00 cut-off in UK local time (GMT and BST), deadlines across
//! Christmas 2026 and Easter 2027, and the council's own closure days.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use feedback_core::{Policy, WorkingCalendar};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("bad date {y}-{m}-{day}"))
}

fn at(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap_or_else(|err| panic!("{rfc3339}: {err}"))
}

fn cutoff() -> NaiveTime {
    NaiveTime::from_hms_opt(17, 0, 0).unwrap()
}

fn receipt(rfc3339: &str) -> NaiveDate {
    WorkingCalendar::england_and_wales().effective_receipt(at(rfc3339), cutoff())
}

// --- effective_receipt --------------------------------------------------------------------------------

#[test]
fn a_weekday_morning_counts_that_day() {
    assert_eq!(receipt("2026-07-15T09:00:00Z"), d(2026, 7, 15));
    assert_eq!(receipt("2026-01-14T09:00:00Z"), d(2026, 1, 14));
}

#[test]
fn a_saturday_or_sunday_counts_from_monday() {
    assert_eq!(
        receipt("2026-06-06T10:00:00+01:00"),
        d(2026, 6, 8),
        "Saturday"
    );
    assert_eq!(
        receipt("2026-06-07T10:00:00+01:00"),
        d(2026, 6, 8),
        "Sunday"
    );
    assert_eq!(
        receipt("2026-06-06T02:00:00Z"),
        d(2026, 6, 8),
        "early Saturday"
    );
}

#[test]
fn a_bank_holiday_counts_from_the_next_working_day() {
    // Spring bank holiday, Monday 25 May 2026.
    assert_eq!(receipt("2026-05-25T10:00:00+01:00"), d(2026, 5, 26));
    // Good Friday 3 April 2026: Easter Monday is a holiday too, so Tuesday 7 April.
    assert_eq!(receipt("2026-04-03T10:00:00+01:00"), d(2026, 4, 7));
    // Christmas Day 2026 (Friday): Boxing Day's substitute is Monday 28th, so Tuesday 29th.
    assert_eq!(receipt("2026-12-25T10:00:00Z"), d(2026, 12, 29));
}

#[test]
fn after_the_cutoff_in_summer_time_counts_from_the_next_working_day() {
    // 16:30Z in July is 17:30 BST: after the cut-off, though before 17:00 in UTC.
    assert_eq!(receipt("2026-07-15T16:30:00Z"), d(2026, 7, 16));
    // The same instant written with the BST offset.
    assert_eq!(receipt("2026-07-15T17:30:00+01:00"), d(2026, 7, 16));
    // Just before: 15:59Z is 16:59 BST.
    assert_eq!(receipt("2026-07-15T15:59:00Z"), d(2026, 7, 15));
    assert_eq!(receipt("2026-07-15T16:59:59+01:00"), d(2026, 7, 15));
    // Just after.
    assert_eq!(receipt("2026-07-15T16:00:01Z"), d(2026, 7, 16));
}

#[test]
fn after_the_cutoff_in_winter_time_is_judged_in_gmt() {
    // 16:30Z in January is 16:30 GMT: before the cut-off.
    assert_eq!(receipt("2026-01-14T16:30:00Z"), d(2026, 1, 14));
    assert_eq!(receipt("2026-01-14T16:59:00Z"), d(2026, 1, 14));
    assert_eq!(receipt("2026-01-14T17:30:00Z"), d(2026, 1, 15));
    // A time sent with another offset is converted: 11:30 in New York is 16:30 GMT.
    assert_eq!(receipt("2026-01-14T11:30:00-05:00"), d(2026, 1, 14));
    assert_eq!(receipt("2026-01-14T12:30:00-05:00"), d(2026, 1, 15));
}

#[test]
fn the_summer_time_changes_are_the_last_sundays_of_march_and_october() {
    // 2026: BST from 01:00 UTC on Sunday 29 March to 01:00 UTC on Sunday 25 October.
    assert_eq!(
        receipt("2026-03-27T16:30:00Z"),
        d(2026, 3, 27),
        "Friday before the change: GMT"
    );
    assert_eq!(
        receipt("2026-03-30T16:30:00Z"),
        d(2026, 3, 31),
        "Monday after the change: BST"
    );
    assert_eq!(
        receipt("2026-10-23T16:30:00Z"),
        d(2026, 10, 26),
        "Friday before the change back: BST, so Monday"
    );
    assert_eq!(
        receipt("2026-10-26T16:30:00Z"),
        d(2026, 10, 26),
        "Monday after the change back: GMT"
    );
}

#[test]
fn late_on_a_friday_or_before_a_holiday_skips_to_the_next_working_day() {
    assert_eq!(
        receipt("2026-07-17T17:30:00+01:00"),
        d(2026, 7, 20),
        "Friday evening"
    );
    assert_eq!(
        receipt("2026-04-02T18:00:00+01:00"),
        d(2026, 4, 7),
        "Thursday before Good Friday"
    );
    assert_eq!(
        receipt("2026-12-24T17:05:00Z"),
        d(2026, 12, 29),
        "Christmas Eve evening"
    );
    assert_eq!(
        receipt("2026-12-24T16:55:00Z"),
        d(2026, 12, 24),
        "Christmas Eve afternoon"
    );
    // Just after midnight BST on a Monday is still Sunday in UTC: it counts as Monday, before the cut-off.
    assert_eq!(receipt("2026-07-19T23:30:00Z"), d(2026, 7, 20));
    // Just after midnight BST on a Saturday is still Friday evening in UTC: Monday either way.
    assert_eq!(receipt("2026-07-17T23:30:00Z"), d(2026, 7, 20));
}

#[test]
fn the_cutoff_comes_from_the_argument() {
    let calendar = WorkingCalendar::england_and_wales();
    let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    assert_eq!(
        calendar.effective_receipt(at("2026-07-15T11:30:00+01:00"), noon),
        d(2026, 7, 15)
    );
    assert_eq!(
        calendar.effective_receipt(at("2026-07-15T12:30:00+01:00"), noon),
        d(2026, 7, 16)
    );
}

// --- add_working_days and working_days_between ---------------------------------------------------------

#[test]
fn adding_working_days_skips_weekends_and_does_not_count_the_start() {
    let calendar = WorkingCalendar::england_and_wales();
    assert_eq!(
        calendar.add_working_days(d(2026, 6, 5), 1),
        d(2026, 6, 8),
        "Friday + 1"
    );
    assert_eq!(calendar.add_working_days(d(2026, 6, 1), 3), d(2026, 6, 4));
    assert_eq!(calendar.add_working_days(d(2026, 6, 1), 5), d(2026, 6, 8));
    assert_eq!(
        calendar.add_working_days(d(2026, 6, 1), 0),
        d(2026, 6, 1),
        "zero days is the start"
    );
    // From a non-working day the first working day after it is day 1.
    assert_eq!(
        calendar.add_working_days(d(2026, 6, 6), 1),
        d(2026, 6, 8),
        "Saturday + 1"
    );
    assert_eq!(
        calendar.add_working_days(d(2026, 5, 25), 1),
        d(2026, 5, 26),
        "bank holiday + 1"
    );
}

#[test]
fn twenty_working_days_across_christmas_2026() {
    let calendar = WorkingCalendar::england_and_wales();
    // 25 Dec (Fri), 28 Dec (Boxing Day substitute) and 1 Jan 2027 are holidays.
    assert_eq!(
        calendar.add_working_days(d(2026, 12, 14), 20),
        d(2027, 1, 14)
    );
    assert_eq!(
        calendar.add_working_days(d(2026, 12, 14), 3),
        d(2026, 12, 17)
    );
    assert_eq!(
        calendar.add_working_days(d(2026, 12, 24), 1),
        d(2026, 12, 29)
    );
    assert_eq!(calendar.add_working_days(d(2026, 12, 31), 1), d(2027, 1, 4));
    assert_eq!(
        calendar.working_days_between(d(2026, 12, 14), d(2027, 1, 14)),
        20
    );
    assert_eq!(
        calendar.working_days_between(d(2026, 12, 24), d(2026, 12, 29)),
        1
    );
}

#[test]
fn twenty_working_days_across_easter_2027() {
    let calendar = WorkingCalendar::england_and_wales();
    // Good Friday 26 March, Easter Monday 29 March 2027.
    assert_eq!(
        calendar.add_working_days(d(2027, 3, 15), 20),
        d(2027, 4, 14)
    );
    assert_eq!(calendar.add_working_days(d(2027, 3, 25), 1), d(2027, 3, 30));
    assert_eq!(
        calendar.working_days_between(d(2027, 3, 15), d(2027, 4, 14)),
        20
    );
    assert_eq!(
        calendar.working_days_between(d(2027, 3, 25), d(2027, 3, 30)),
        1
    );
}

#[test]
fn working_days_between_counts_after_from_up_to_and_including_to() {
    let calendar = WorkingCalendar::england_and_wales();
    assert_eq!(
        calendar.working_days_between(d(2026, 6, 1), d(2026, 6, 1)),
        0,
        "same day"
    );
    assert_eq!(
        calendar.working_days_between(d(2026, 6, 5), d(2026, 6, 8)),
        1,
        "Friday to Monday"
    );
    assert_eq!(
        calendar.working_days_between(d(2026, 6, 6), d(2026, 6, 7)),
        0,
        "Saturday to Sunday"
    );
    assert_eq!(
        calendar.working_days_between(d(2026, 6, 1), d(2026, 6, 29)),
        20
    );
    assert_eq!(
        calendar.working_days_between(d(2026, 6, 29), d(2026, 6, 1)),
        -20,
        "backwards is negative"
    );
    assert_eq!(
        calendar.working_days_between(d(2027, 1, 14), d(2026, 12, 14)),
        -20
    );
}

#[test]
fn adding_then_counting_gives_back_the_number_of_days() {
    let calendar = WorkingCalendar::england_and_wales();
    for start in d(2026, 11, 1)
        .iter_days()
        .take_while(|day| *day <= d(2027, 5, 31))
    {
        for n in [0, 1, 3, 5, 10, 20, 25, 30, 65] {
            let due = calendar.add_working_days(start, n);
            assert!(
                n == 0 || calendar.is_working_day(due),
                "{start} + {n} = {due} is not a working day"
            );
            assert_eq!(
                calendar.working_days_between(start, due),
                i64::from(n),
                "{start} + {n} = {due}"
            );
        }
    }
}

#[test]
fn working_day_on_or_after() {
    let calendar = WorkingCalendar::england_and_wales();
    assert_eq!(
        calendar.working_day_on_or_after(d(2026, 6, 1)),
        d(2026, 6, 1)
    );
    assert_eq!(
        calendar.working_day_on_or_after(d(2026, 6, 6)),
        d(2026, 6, 8)
    );
    assert_eq!(
        calendar.working_day_on_or_after(d(2026, 12, 25)),
        d(2026, 12, 29)
    );
}

// --- Closure days -----------------------------------------------------------------------------------

#[test]
fn closure_days_are_not_working_days() {
    let plain = WorkingCalendar::england_and_wales();
    let closed =
        WorkingCalendar::england_and_wales().with_closures([d(2026, 12, 24), d(2026, 12, 31)]);
    assert!(plain.is_working_day(d(2026, 12, 24)));
    assert!(!closed.is_working_day(d(2026, 12, 24)));
    assert!(!closed.is_working_day(d(2026, 12, 31)));
    // A closure day is not a bank holiday.
    assert!(!closed.is_bank_holiday(d(2026, 12, 24)));
    assert!(closed.is_working_day(d(2026, 12, 23)));
    // Twenty working days from 14 December: two more days off push the deadline from 14 to 18 January.
    assert_eq!(closed.add_working_days(d(2026, 12, 14), 20), d(2027, 1, 18));
    assert_eq!(
        closed.working_days_between(d(2026, 12, 14), d(2027, 1, 18)),
        20
    );
    assert_eq!(closed.add_working_days(d(2026, 12, 23), 1), d(2026, 12, 29));
    // Received on a closure day, or late the day before one.
    assert_eq!(
        closed.effective_receipt(at("2026-12-24T10:00:00Z"), cutoff()),
        d(2026, 12, 29)
    );
    assert_eq!(
        closed.effective_receipt(at("2026-12-23T17:30:00Z"), cutoff()),
        d(2026, 12, 29)
    );
    assert_eq!(
        closed.effective_receipt(at("2026-12-30T17:30:00Z"), cutoff()),
        d(2027, 1, 4)
    );
}

#[test]
fn closure_days_on_weekends_or_holidays_change_nothing() {
    let plain = WorkingCalendar::england_and_wales();
    let closed =
        WorkingCalendar::england_and_wales().with_closures([d(2026, 12, 26), d(2026, 12, 28)]);
    assert_eq!(
        closed.add_working_days(d(2026, 12, 14), 20),
        plain.add_working_days(d(2026, 12, 14), 20)
    );
}

#[test]
fn a_policy_file_closure_day_reaches_the_policy_calendar() {
    let source = Policy::kent_source().replacen(
        "closure_days = []",
        "closure_days = [\"2026-12-24\", \"2026-12-31\"]",
        1,
    );
    assert_ne!(
        source,
        Policy::kent_source(),
        "the Kent file should have a `closure_days = []` line to replace"
    );
    let policy = Policy::load_with_default_cues(&source).unwrap();
    assert!(!policy.calendar.is_working_day(d(2026, 12, 24)));
    assert_eq!(
        policy.calendar.add_working_days(d(2026, 12, 14), 20),
        d(2027, 1, 18)
    );
    // Kent's own file has no closure days.
    assert!(Policy::kent().calendar.is_working_day(d(2026, 12, 24)));
}

//! Integration tests for `feedback-core`, one binary with a module per area:
//!
//! - `holidays`: the England and Wales bank holidays, listed years and rule years;
//! - `working_days`: working-day arithmetic, the receipt cut-off and closure days;
//! - `deadlines`: every clock of Kent's procedures through `assess` and `stage_deadlines`;
//! - `lifecycle`: the case state machine's legal paths and its refusals;
//! - `policy_file`: loading a policy file and reporting what is wrong with it;
//! - `examples`: the examples the classifier must get right.

// Test helpers outside `#[test]` functions may unwrap and panic: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "core/deadlines.rs"]
mod deadlines;
#[path = "core/examples.rs"]
mod examples;
#[path = "core/holidays.rs"]
mod holidays;
#[path = "core/lifecycle.rs"]
mod lifecycle;
#[path = "core/policy_file.rs"]
mod policy_file;
#[path = "core/working_days.rs"]
mod working_days;

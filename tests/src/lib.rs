//! End-to-end tests across the Feedback Desk crates (they grow with mailbot and the web demo).
#![warn(missing_docs)]

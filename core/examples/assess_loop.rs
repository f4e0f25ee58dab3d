//! Runs `assess` over two-kilobyte messages N times (default 20,000) and prints the rate: for profiling
//! and instruction counts (`perf stat -e instructions`), beside the criterion benchmark.
#![allow(missing_docs)]
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "a developer tool over fixed data")]

use chrono::NaiveDate;
use feedback_core::{Policy, Submission, assess};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let paragraphs = [
        "I reported the pothole outside 14 Station Road, Ashford back in March and it is still not fixed. ",
        "My mother's care assessment has been delayed for three months and nobody returns my calls. ",
        "I just wanted to say thank you to the library staff in Faversham, they were so helpful. ",
        "Please send me the number of potholes repaired in Kent in 2025 under the Freedom of Information Act. ",
        "The council's decision to introduce parking charges at country parks is a poor one for families. ",
        "My car tyre burst on a pothole on the A28 and I would like you to pay for the repair, invoice attached. ",
    ];
    let messages: Vec<Submission> = (0..paragraphs.len())
        .map(|start| {
            let mut text = String::new();
            let mut i = start;
            while text.len() < 2048 {
                text.push_str(paragraphs[i % paragraphs.len()]);
                i += 1;
            }
            text.truncate(2048);
            Submission { text, ..Submission::default() }
        })
        .collect();
    let policy = Policy::kent();
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let started = std::time::Instant::now();
    let mut kinds = 0usize;
    for i in 0..n {
        kinds += assess(&messages[i % messages.len()], &policy, today).exclusions.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("{n} assessments in {seconds:.3} s: {:.0} a second ({kinds})", n as f64 / seconds);
}

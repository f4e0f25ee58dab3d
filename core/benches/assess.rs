//! Throughput of `assess` on two-kilobyte messages (budget: 50,000 a second on one core).
#![allow(missing_docs)]
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark setup over fixed data"
)]

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feedback_core::{Policy, Submission, assess};

fn two_kilobyte_messages() -> Vec<Submission> {
    let paragraphs = [
        "I reported the pothole outside 14 Station Road, Ashford back in March and it is still not fixed. ",
        "My mother's care assessment has been delayed for three months and nobody returns my calls. ",
        "I just wanted to say thank you to the library staff in Faversham, they were so helpful. ",
        "Please send me the number of potholes repaired in Kent in 2025 under the Freedom of Information Act. ",
        "The council's decision to introduce parking charges at country parks is a poor one for families. ",
        "My car tyre burst on a pothole on the A28 and I would like you to pay for the repair, invoice attached. ",
    ];
    (0..paragraphs.len())
        .map(|start| {
            let mut text = String::new();
            let mut i = start;
            while text.len() < 2048 {
                text.push_str(paragraphs[i % paragraphs.len()]);
                i += 1;
            }
            text.truncate(2048);
            Submission {
                text,
                ..Submission::default()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let policy = Policy::kent();
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let messages = two_kilobyte_messages();
    let mut group = c.benchmark_group("assess");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("2KB messages", |b| {
        b.iter(|| {
            for message in &messages {
                std::hint::black_box(assess(message, &policy, today));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

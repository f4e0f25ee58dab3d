//! The monitoring report over a store of realistic cases (assessed by the real engine, events applied
//! with dates), with every figure computed by hand below; its CSV and HTML; the corrections export.

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate};
use feedback_core::{
    CaseState, Channel, Event, FormAnswers, Kind, Outcome, Policy, Submission, assess,
};
use mailbot::report::{self, Standard};
use mailbot::store::{
    CaseRecord, Correction, Locator, MessageRecord, MessageSource, NewCase, NewMessage,
    OutboxStatus, Review, ReviewField, Store, Stored,
};

use crate::util::{email, store_path};

/// Kent's policy, loaded once for the whole module.
fn kent() -> &'static Policy {
    static POLICY: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(Policy::kent);
    &POLICY
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// Opens a case as ingestion would, but with the channel, receipt time and acknowledgement status given.
pub fn open_case(
    store: &Store,
    uid: u32,
    from: Option<&str>,
    subject: &str,
    text: &str,
    received: &str,
    channel: Channel,
) -> String {
    let policy = kent();
    let bytes = email(
        from.unwrap_or("unknown@invalid"),
        subject,
        &format!("case{uid}@test"),
        &[],
        text,
    );
    let mut parsed = mailbot::parse::parse(&bytes, 1 << 20).unwrap();
    if from.is_none() {
        parsed.from = None;
    }
    let received = at(received);
    let submission = Submission {
        text: parsed.text.clone(),
        subject: parsed.subject.clone(),
        channel: Some(channel),
        received: Some(received),
        form: FormAnswers::default(),
    };
    let assessment = assess(&submission, policy, received.date_naive());
    let new = NewCase {
        prefix: "KCC".into(),
        year: 2026,
        opened_on: received.date_naive(),
        received: Some(received),
        mailbox: "INBOX".into(),
        state: CaseState::new(assessment.kind, assessment.procedure),
        assessment,
        channel,
        message: NewMessage {
            record: MessageRecord {
                key: String::new(),
                case: String::new(),
                source: Some(MessageSource {
                    mailbox: "INBOX".into(),
                    uidvalidity: 1,
                    uid,
                }),
                received: Some(received),
                message: parsed,
                size: bytes.len(),
                escalation_requested: false,
            },
            kept: Vec::new(),
        },
        recipient: from.map(str::to_string),
        outbox_status: match from {
            Some(_) => OutboxStatus::Pending,
            None => OutboxStatus::Suppressed {
                reason: "no sender address to acknowledge".into(),
            },
        },
    };
    match store.create_case(&new).unwrap() {
        Stored::New(Locator::Message { case, .. }) => case,
        other => panic!("expected a new case, got {other:?}"),
    }
}

fn event(store: &Store, reference: &str, event: Event, on: &str) {
    store
        .apply_event(reference, event, kent(), day(on), "test")
        .unwrap()
        .unwrap();
}

fn sent(store: &Store, reference: &str, when: &str) {
    store
        .set_outbox_status(
            reference,
            OutboxStatus::Sent {
                at: at(when),
                message_id: None,
            },
        )
        .unwrap();
}

/// Rewrites case records with sled directly (the store is closed): review sign-offs, corrections and
/// compensation are the console's to write, and these tests only read them.
pub fn edit_cases(path: &Path, edit: impl Fn(&mut CaseRecord)) {
    let started = std::time::Instant::now();
    let db = loop {
        match sled::open(path) {
            Ok(db) => break db,
            Err(err) if started.elapsed() < std::time::Duration::from_secs(5) => {
                let _ = err;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(err) => panic!("{err}"),
        }
    };
    let cases = db.open_tree("cases").unwrap();
    for entry in cases.iter() {
        let (key, value) = entry.unwrap();
        let mut case: CaseRecord = serde_json::from_slice(&value).unwrap();
        edit(&mut case);
        cases
            .insert(key, serde_json::to_vec(&case).unwrap())
            .unwrap();
    }
    db.flush().unwrap();
}

fn review_at() -> DateTime<FixedOffset> {
    at("2026-10-20T09:00:00+01:00")
}

fn correction(field: ReviewField, from: &str, to: &str) -> Correction {
    Correction {
        at: review_at(),
        by: "sam".into(),
        field,
        from: from.into(),
        to: to.into(),
    }
}

/// The fixture: seven cases in September and October 2026, and two outside the range.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
}

const C1: &str = "Raised paving - inspected but not repaired";
const C2: &str = "Direct payment review";

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(dir.path());
    let refs;
    {
        let store = Store::open(&path).unwrap();
        let open = |uid, from, subject, text, received, channel| {
            open_case(&store, uid, from, subject, text, received, channel)
        };
        // C1: complaint about a pavement (growth, environment and transport), by email.
        let c1 = open(
            1,
            Some("ruth@example.org"),
            C1,
            "I've had a ticket open since September about the tree roots lifting the pavement outside 18 Sandgate Hill. An inspector came, sprayed a white ring round it and left. Last month my neighbour caught her foot on it and went over. She's fine thankfully but it is only a matter of time. Why spray paint it and then do nothing??",
            "2026-09-08T10:00:00Z",
            Channel::Email,
        );
        // C2: complaint about adult social care, by email.
        let c2 = open(
            2,
            Some("dev@example.org"),
            C2,
            "Your policy of reviewing every direct payment every 12 months is fine in general but the way it was done for ME was not: the reviewer came 40 minutes late, spent 10 minutes, and then cut my hours saying I had \"improved\". I have a progressive condition. I haven't improved. I want a proper review.",
            "2026-09-15T10:00:00Z",
            Channel::Email,
        );
        // M1: a comment, by email.
        let m1 = open(
            3,
            Some("lee@example.org"),
            "Lease cars",
            "Why does KCC still lease cars for senior managers? In a year when youth clubs are closing, that looks dreadful even if the sums are small. Lead by example.",
            "2026-09-22T10:00:00Z",
            Channel::Email,
        );
        // C3: complaint by phone (no address to acknowledge by email).
        let c3 = open(
            4,
            None,
            "Phone call",
            "Since the Kent-supported 547 bus stopped running in January I have no way to get to my job in Faversham for 7am. I'm not talking about the policy in general, I'm telling you it has cost me my shift pattern and I've had to go part time. Nobody consulted the people who actually use that bus at 6.10.",
            "2026-10-05T10:00:00Z",
            Channel::Phone,
        );
        // P1: compliment by letter.
        let p1 = open(
            5,
            Some("anne@example.org"),
            "Thank you",
            "I want to say thank you to Anita from the carers support team. I look after my son, who is 26 and has complex needs, and I work days. When I finally admitted I wasn't coping and asked to speak to someone about it I assumed I'd have to lose a day's pay. Instead she offered to come round at 7 on a Thursday evening. She didn't rush me and she listened. It meant more than she probably realises.",
            "2026-10-12T10:00:00Z",
            Channel::Letter,
        );
        // F1: the first report of a pothole, by email.
        let f1 = open(
            6,
            Some("sol@example.org"),
            "Pothole",
            "There's a pothole on Station Road in Staplehurst, just past the entrance to the station car park heading towards the village. About the size of a dinner plate and deep enough that cars are swerving into the other lane to miss it. Can someone come and fill it before it causes an accident?",
            "2026-10-14T10:00:00Z",
            Channel::Email,
        );
        // C4: complaint about a subject access request, by email, late in October.
        let c4 = open(
            7,
            Some("kit@example.org"),
            "My file",
            "I received my social care file from my childhood in care yesterday after a 6 month wait. Nearly every page is blacked out, including things I told my social worker myself. There are also pages about another child with his name on them. I'm furious on both counts.",
            "2026-10-28T10:00:00Z",
            Channel::Email,
        );
        // Outside the range: August and November.
        let a1 = open(
            8,
            Some("old@example.org"),
            "Bins",
            "I am complaining because the recycling centre staff were rude to me and refused to let me in.",
            "2026-08-20T10:00:00Z",
            Channel::Email,
        );
        let n1 = open(
            9,
            Some("new@example.org"),
            "Bins",
            "I am complaining because the recycling centre staff were rude to me and refused to let me in.",
            "2026-11-03T10:00:00Z",
            Channel::Email,
        );

        // Acknowledgements: C1 the next day; C2 late (due 18 Sep); C3 by phone (an event); C4 the next day.
        sent(&store, &c1, "2026-09-09T08:00:00+01:00");
        sent(&store, &c2, "2026-09-21T08:00:00+01:00");
        sent(&store, &m1, "2026-09-22T11:00:00+01:00");
        event(&store, &c3, Event::Acknowledge, "2026-10-06");
        sent(&store, &c4, "2026-10-29T08:00:00Z");
        sent(&store, &a1, "2026-08-20T12:00:00+01:00");
        // C1: partly upheld at stage 1 within 20 working days (due 6 Oct), escalated, upheld at stage 2.
        event(
            &store,
            &c1,
            Event::Respond {
                outcome: Outcome::PartlyUpheld,
            },
            "2026-10-01",
        );
        event(&store, &c1, Event::Escalate, "2026-10-05");
        event(
            &store,
            &c1,
            Event::Respond {
                outcome: Outcome::Upheld,
            },
            "2026-10-20",
        );
        // C2: not upheld, late (due 13 Oct), then referred to the Ombudsman.
        event(
            &store,
            &c2,
            Event::Respond {
                outcome: Outcome::NotUpheld,
            },
            "2026-10-20",
        );
        event(&store, &c2, Event::Refer, "2026-11-02");
        // A1 (out of range): answered and referred too; must not count.
        event(
            &store,
            &a1,
            Event::Respond {
                outcome: Outcome::Upheld,
            },
            "2026-09-01",
        );
        event(&store, &a1, Event::Refer, "2026-09-10");
        store.flush().unwrap();
        refs = [c1, c2, m1, c3, p1, f1, c4, a1, n1];
    }
    let [c1, c2, _m1, c3, p1, f1, _c4, a1, n1] = refs;
    edit_cases(&path, |case| {
        let r = case.reference.as_str();
        let review = Some(Review {
            at: review_at(),
            by: "sam".into(),
        });
        if r == c1 {
            case.review = review;
            case.compensation_paid_pence = Some(5000);
        } else if r == c2 {
            case.compensation_paid_pence = Some(12550);
        } else if r == c3 {
            // Changed and changed back: the classifier was right.
            case.review = review;
            case.corrections = vec![
                correction(
                    ReviewField::Directorate,
                    "none",
                    "growth_environment_transport",
                ),
                correction(
                    ReviewField::Directorate,
                    "growth_environment_transport",
                    "none",
                ),
            ];
        } else if r == p1 {
            case.review = review;
            case.corrections = vec![correction(ReviewField::Kind, "comment", "compliment")];
        } else if r == f1 {
            case.review = review;
            case.corrections = vec![correction(ReviewField::Kind, "complaint", "fault_report")];
        } else if r == a1 || r == n1 {
            case.review = review;
            case.compensation_paid_pence = Some(999);
            case.corrections = vec![correction(ReviewField::Kind, "comment", "complaint")];
        }
    });
    Fixture {
        store: Store::open(&path).unwrap(),
        _dir: dir,
    }
}

fn build(store: &Store) -> report::Report {
    report::build(
        &store.cases().unwrap(),
        &store.outbox().unwrap(),
        kent(),
        day("2026-09-01"),
        day("2026-10-31"),
        day("2026-11-25"),
    )
}

fn map<const N: usize>(pairs: [(&str, usize); N]) -> std::collections::BTreeMap<String, usize> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn the_fixture_is_classified_as_the_figures_below_assume() {
    let f = fixture();
    let got: Vec<(String, String, Option<String>)> = f
        .store
        .cases()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c.subject.clone().unwrap_or_default(),
                report::label(&c.assessment.kind),
                c.assessment.directorate.as_ref().map(report::label),
            )
        })
        .collect();
    let expected = [
        (C1, "complaint", "growth_environment_transport"),
        (C2, "complaint", "adult_social_care_health"),
        ("Lease cars", "comment", "strategic_corporate_services"),
        ("Phone call", "complaint", ""),
        ("Thank you", "compliment", "adult_social_care_health"),
        ("Pothole", "fault_report", "growth_environment_transport"),
        ("My file", "complaint", "strategic_corporate_services"),
        ("Bins", "complaint", "growth_environment_transport"),
        ("Bins", "complaint", "growth_environment_transport"),
    ];
    let expected: Vec<(String, String, Option<String>)> = expected
        .iter()
        .map(|(s, k, d)| {
            (
                s.to_string(),
                k.to_string(),
                Some(d.to_string()).filter(|d| !d.is_empty()),
            )
        })
        .collect();
    assert_eq!(got, expected);
    // The due days the standards are measured against (3 and 20 England and Wales working days).
    let c1 = &f.store.cases().unwrap()[0];
    let due = |milestone: &str| {
        c1.assessment
            .deadlines
            .iter()
            .find(|d| d.stage == "stage_1" && d.milestone == milestone)
            .and_then(|d| d.due)
    };
    assert_eq!(due("acknowledge"), Some(day("2026-09-11")));
    assert_eq!(due("full_reply"), Some(day("2026-10-06")));
}

#[test]
fn the_report_counts_what_was_received_by_directorate_kind_and_channel() {
    let f = fixture();
    let r = build(&f.store);
    assert_eq!(r.council, kent().document.council);
    assert_eq!(r.cases, 7);
    assert_eq!(
        r.by_kind,
        map([
            ("complaint", 4),
            ("comment", 1),
            ("compliment", 1),
            ("fault_report", 1)
        ])
    );
    assert_eq!(
        r.by_directorate["growth_environment_transport"],
        map([("complaint", 1), ("fault_report", 1)])
    );
    // No service named in the phone call's note.
    assert_eq!(r.by_directorate["none"], map([("complaint", 1)]));
    assert_eq!(
        r.by_directorate["adult_social_care_health"],
        map([("complaint", 1), ("compliment", 1)])
    );
    assert_eq!(
        r.by_directorate["strategic_corporate_services"],
        map([("complaint", 1), ("comment", 1)])
    );
    assert_eq!(r.by_directorate.len(), 4);
    assert_eq!(
        r.by_channel["email"],
        map([("complaint", 3), ("comment", 1), ("fault_report", 1)])
    );
    assert_eq!(r.by_channel["phone"], map([("complaint", 1)]));
    assert_eq!(r.by_channel["letter"], map([("compliment", 1)]));
    assert_eq!(r.by_channel.len(), 3);
}

#[test]
fn the_report_measures_complaints_against_the_standards() {
    let f = fixture();
    let r = build(&f.store);
    // C1 (sent 9 Sep, due 11 Sep), C3 (acknowledged by phone 6 Oct, due 8 Oct) and C4 (29 Oct, due
    // 2 Nov) within; C2 sent 21 Sep, due 18 Sep.
    assert_eq!(
        r.acknowledged,
        Standard {
            met: 3,
            missed: 1,
            pending: 0
        }
    );
    assert_eq!(r.acknowledged.percent(), Some(75.0));
    // C1 answered 1 Oct (due 6 Oct); C2 answered 20 Oct (due 13 Oct); C3 not answered, due 2 Nov;
    // C4 due 25 Nov, the day of the report: not yet late.
    assert_eq!(
        r.answered,
        Standard {
            met: 1,
            missed: 2,
            pending: 1
        }
    );
    assert_eq!(
        r.answered.percent().map(|p| (p * 10.0).round()),
        Some(333.0)
    );
    // C1 escalated on Monday 5 October and answered on 20 October: stage 2's 20 working days from the
    // escalation end on 2 November.
    assert_eq!(r.answered_later.len(), 1);
    assert_eq!(
        r.answered_later["stage_2"],
        Standard {
            met: 1,
            missed: 0,
            pending: 0
        }
    );
    assert_eq!(r.outcomes.len(), 2);
    assert_eq!(
        r.outcomes["stage_1"],
        map([("partly_upheld", 1), ("not_upheld", 1)])
    );
    assert_eq!(r.outcomes["stage_2"], map([("upheld", 1)]));
    assert_eq!(r.referrals, map([("lgsco", 1)]));
    assert_eq!(r.compensation.cases, 2);
    assert_eq!(r.compensation.total_pence, 17_550);
    let months: Vec<&str> = r.months.iter().map(|m| m.month.as_str()).collect();
    assert_eq!(months, ["2026-09", "2026-10"]);
    let (sep, oct) = (&r.months[0], &r.months[1]);
    assert_eq!(sep.by_kind, map([("complaint", 2), ("comment", 1)]));
    assert_eq!(
        oct.by_kind,
        map([("complaint", 2), ("compliment", 1), ("fault_report", 1)])
    );
    assert_eq!(
        (sep.acknowledged, sep.answered),
        (
            Standard {
                met: 1,
                missed: 1,
                pending: 0
            },
            Standard {
                met: 1,
                missed: 1,
                pending: 0
            }
        )
    );
    assert_eq!(
        (oct.acknowledged, oct.answered),
        (
            Standard {
                met: 2,
                missed: 0,
                pending: 0
            },
            Standard {
                met: 0,
                missed: 1,
                pending: 1
            }
        )
    );
}

#[test]
fn the_report_counts_how_often_reviewers_corrected_the_classifier() {
    let f = fixture();
    let review = build(&f.store).review;
    // C1 confirmed, C3 changed and changed back, P1 and F1 corrected.
    assert_eq!(review.reviewed, 4);
    assert_eq!(review.corrected, 2);
    assert_eq!(review.wrong_by_field, map([("kind", 2)]));
    let kind = |label: &str| review.by_label[&format!("kind:{label}")];
    assert_eq!(
        (kind("complaint").predicted, kind("complaint").wrong),
        (3, 1)
    );
    assert_eq!((kind("comment").predicted, kind("comment").wrong), (1, 1));
    assert!(!review.by_label.contains_key("kind:compliment"));
    let get = review.by_label["directorate:growth_environment_transport"];
    assert_eq!((get.predicted, get.wrong), (2, 0));
    let none = review.by_label["directorate:none"];
    assert_eq!(
        (none.predicted, none.wrong),
        (1, 0),
        "C3's change was undone"
    );
    let changes: Vec<(&str, &str, &str, usize)> = review
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.from.as_str(), c.to.as_str(), c.count))
        .collect();
    assert_eq!(
        changes,
        [
            ("kind", "comment", "compliment", 1),
            ("kind", "complaint", "fault_report", 1)
        ]
    );
}

#[test]
fn an_empty_range_gives_zeros_and_no_percentages() {
    let f = fixture();
    let r = report::build(
        &f.store.cases().unwrap(),
        &f.store.outbox().unwrap(),
        kent(),
        day("2025-01-01"),
        day("2025-03-31"),
        day("2026-11-25"),
    );
    assert_eq!(r.cases, 0);
    assert_eq!(r.acknowledged.percent(), None);
    assert_eq!(r.months.len(), 3);
    let html = report::render_html(&r).unwrap();
    assert!(html.contains("–"), "no share shown as a dash");
    assert!(!html.contains("NaN"));
    // Five years: 60 bars a chart, a month named every six (no overlapping labels), no values above
    // the narrow bars; every month is still in the month-by-month table.
    let long = report::build(
        &[],
        &[],
        kent(),
        day("2022-01-01"),
        day("2026-12-31"),
        day("2027-01-01"),
    );
    assert_eq!(long.months.len(), 60);
    let html = report::render_html(&long).unwrap();
    assert_eq!(html.matches("</text>").count(), 2 * (3 + 10));
    assert!(html.contains("<td>Dec 2026</td>") && html.contains("<td>Jan 2022</td>"));
}

#[test]
fn the_csv_has_one_figure_per_row() {
    let f = fixture();
    let csv = report::to_csv(&build(&f.store)).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("section,group,item,value"));
    let rows: Vec<&str> = csv.lines().collect();
    for expected in [
        "period,,from,2026-09-01",
        "cases,,total,7",
        "kind,,complaint,4",
        "directorate,adult_social_care_health,compliment,1",
        "channel,phone,complaint,1",
        "acknowledged,,met,3",
        "acknowledged,,percent,75.0",
        "answered,,percent,33.3",
        "outcome,stage_2,upheld,1",
        "answered_stage,stage_2,met,1",
        "referral,,lgsco,1",
        "compensation,,total_pence,17550",
        "review,,reviewed,4",
        "review_label,kind:complaint,wrong,1",
        "review_change,kind,complaint -> fault_report,1",
        "month,2026-10,fault_report,1",
        "month_answered,2026-10,pending,1",
    ] {
        assert!(rows.contains(&expected), "{expected} missing from\n{csv}");
    }
    // Every row parses back with four fields.
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert!(reader.records().all(|r| r.unwrap().len() == 4));
}

#[test]
fn the_html_page_is_self_contained_with_charts_and_escapes_text() {
    let f = fixture();
    let mut r = build(&f.store);
    let html = report::render_html(&r).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 2, "two charts");
    assert!(html.contains("Feedback received per month"));
    assert!(html.contains("Complaints handled within the standard"));
    assert!(html.contains("Sep 2026") && html.contains("Oct 2026"));
    // One bar per kind and month in the volume chart (Sep: complaint, comment; Oct: complaint,
    // compliment, other) and one per standard and month with a share (October's reply bar is 0%
    // high: none of its one decided complaint was answered in time).
    assert_eq!(html.matches("<rect").count(), 5 + 4);
    assert!(html.contains("75.0%") && html.contains("£175.50"));
    assert!(html.contains("Full reply (stage 2, after escalation)"));
    assert!(html.contains("Growth, Environment and Transport"));
    for external in ["<script", "src=", "@import", "url(", "<link"] {
        assert!(!html.contains(external), "{external} in the page");
    }
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "no address but the SVG namespace"
    );
    // Text from the store is escaped.
    r.council = "Kent <script>alert(1)</script> & \"Co\"".into();
    r.review.changes[0].to = "<img src=x onerror=alert(2)>".into();
    let html = report::render_html(&r).unwrap();
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("Kent &lt;script&gt;alert(1)&lt;"));
    assert!(html.contains("&amp; &quot;Co&quot;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
}

#[test]
fn reviewed_corrections_export_as_corpus_lines_the_evaluator_reads() {
    let f = fixture();
    let mut out = Vec::new();
    let count = mailbot::export::export_corrections(&f.store, false, &mut out).unwrap();
    // P1 and F1 in range, A1 and N1 outside it: the export is not by date. C3's undone change counts
    // as a correction made.
    assert_eq!(count, 5);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pothole = lines
        .iter()
        .find(|l| l["subject"] == "Pothole")
        .expect("the pothole line");
    assert_eq!(pothole["expect"]["kind"], "fault_report");
    assert_eq!(pothole["expect"]["procedure"], serde_json::Value::Null);
    assert_eq!(pothole["source"], "review");
    assert_eq!(pothole["channel"], "email");
    assert!(pothole["text"].as_str().unwrap().contains("Station Road"));
    assert!(
        pothole["note"]
            .as_str()
            .unwrap()
            .contains("kind complaint -> fault_report")
    );
    let mut all = Vec::new();
    assert_eq!(
        mailbot::export::export_corrections(&f.store, true, &mut all).unwrap(),
        6,
        "C1 confirmed joins with --all-reviewed"
    );
    // The corpus evaluator reads the file as it reads the corpus.
    let file = f.store.path().parent().unwrap().join("corrections.jsonl");
    std::fs::write(&file, &text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mailbot"))
        .args(["evaluate", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let evaluation: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(evaluation["lines"], 5);
}

#[test]
fn kinds_beyond_the_main_three_are_stacked_as_other_in_the_chart() {
    let f = fixture();
    let r = build(&f.store);
    assert_eq!(r.by_kind.get(&report::label(&Kind::FaultReport)), Some(&1));
    let html = report::render_html(&r).unwrap();
    assert!(html.contains("Oct 2026: 1 other (redirected)"));
}

#[test]
fn the_report_command_writes_each_format() {
    let f = fixture();
    let dir = f.store.path().parent().unwrap().to_path_buf();
    let config = dir.join("mailbot.toml");
    std::fs::write(
        &config,
        format!(
            "store = {:?}\n[[mailbox]]\nname = \"inbox\"\nhost = \"127.0.0.1\"\ntls = \"plain-loopback\"\nuser = \"u\"\nsecret_env = \"UNUSED\"\n",
            f.store.path()
        ),
    )
    .unwrap();
    drop(f.store);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mailbot"))
            .args(args)
            .output()
            .unwrap()
    };
    let config = config.to_str().unwrap();
    let base = [
        "report",
        config,
        "--from",
        "2026-09-01",
        "--to",
        "2026-10-31",
        "--as-of",
        "2026-11-25",
    ];
    let csv = run(&[&base[..], &["--format", "csv"]].concat());
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    assert!(String::from_utf8_lossy(&csv.stdout).contains("acknowledged,,percent,75.0"));
    let json = run(&base);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["cases"], 7);
    let page = dir.join("report.html");
    let html = run(&[
        &base[..],
        &["--format", "html", "--output", page.to_str().unwrap()],
    ]
    .concat());
    assert!(html.status.success());
    assert!(std::fs::read_to_string(&page).unwrap().contains("<svg"));
    // A backwards range is a clear error with exit code 2.
    let backwards = run(&[
        "report",
        config,
        "--from",
        "2026-10-31",
        "--to",
        "2026-09-01",
    ]);
    assert_eq!(backwards.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&backwards.stderr).contains("is before --from"));
}

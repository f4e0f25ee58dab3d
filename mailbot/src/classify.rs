//! `mailbot classify`: one JSON line in, one assessment line out.

use chrono::{DateTime, FixedOffset, NaiveDate};
use feedback_core::{Assessment, Channel, FormAnswers, Policy, Submission, assess};
use serde::Deserialize;
use serde_json::{Value, json};

/// One input line. Corpus lines carry their labels too (`expect`, `source`, `note`): those are read and
/// ignored, so the corpus can be piped straight in; any other unknown key is an error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLine {
    /// The caller's id, echoed back.
    pub id: Value,
    /// The message.
    pub text: String,
    /// An email subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// When it was received (RFC 3339).
    #[serde(default)]
    pub received: Option<DateTime<FixedOffset>>,
    /// When the person became aware.
    #[serde(default)]
    pub aware_since: Option<NaiveDate>,
    /// How it arrived.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Form answers.
    #[serde(default)]
    pub form: Option<FormAnswers>,
    #[serde(default, rename = "expect")]
    _expect: Option<Value>,
    #[serde(default, rename = "source")]
    _source: Option<Value>,
    #[serde(default, rename = "note")]
    _note: Option<Value>,
}

impl InputLine {
    /// The submission this line describes.
    pub fn submission(&self) -> Submission {
        let mut form = self.form.clone().unwrap_or_default();
        if self.aware_since.is_some() {
            form.aware_since = self.aware_since;
        }
        Submission {
            text: self.text.clone(),
            subject: self.subject.clone(),
            channel: self.channel,
            received: self.received,
            form,
        }
    }

    /// The date to assess on: the received date when given, else `today`.
    pub fn today(&self, today: NaiveDate) -> NaiveDate {
        self.received.map_or(today, |r| r.date_naive())
    }
}

/// Assesses one line, or describes why it could not be read.
pub fn classify_line(line: &str, line_number: usize, policy: &Policy, today: NaiveDate) -> Value {
    match serde_json::from_str::<InputLine>(line) {
        Ok(input) => {
            let assessment = assess(&input.submission(), policy, input.today(today));
            output(&input.id, &assessment)
        }
        Err(err) => {
            json!({"line": line_number, "error": format!("line {line_number} is not a valid input: {err}")})
        }
    }
}

fn output(id: &Value, a: &Assessment) -> Value {
    json!({
        "id": id,
        "kind": a.kind,
        "procedure": a.procedure,
        "directorate": a.directorate,
        "service_area": a.service_area,
        "exclusions": a.exclusions,
        "cautions": a.cautions,
        "confidence": a.confidence,
        "needs_review": a.needs_review,
        "route": a.route,
        "deadlines": a.deadlines,
        "evidence": a.evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_line_names_itself_and_a_good_line_is_assessed() {
        let policy = Policy::kent();
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let bad = classify_line("{\"id\": 1, \"txt\": \"hello\"}", 7, &policy, today);
        assert_eq!(bad["line"], 7);
        assert!(bad["error"].as_str().unwrap().contains("line 7"), "{bad}");
        let good = classify_line(
            r#"{"id": "a", "text": "There's a pothole on Station Road"}"#,
            8,
            &policy,
            today,
        );
        assert_eq!(good["id"], "a");
        assert_eq!(good["kind"], "fault_report", "{good}");
    }
}

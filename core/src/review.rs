//! What a reviewer's correction changes: an assessment re-derived for the corrected kind, procedure,
//! directorate and exclusions (route, clocks and advice follow), and the lifecycle state moved to the
//! corrected procedure.

use std::collections::BTreeSet;

use crate::deadlines::{ClockStarts, deadlines};
use crate::lifecycle::CaseState;
use crate::model::{Assessment, ClockStart, Directorate, Evidence, Exclusion, Kind, Procedure};
use crate::policy::Policy;

/// The decisions a reviewer sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decisions {
    /// The kind.
    pub kind: Kind,
    /// The procedure (`None` for matters redirected elsewhere).
    pub procedure: Option<Procedure>,
    /// The directorate.
    pub directorate: Option<Directorate>,
    /// The exclusions that apply.
    pub exclusions: BTreeSet<Exclusion>,
}

impl Decisions {
    /// The decisions an assessment made.
    pub fn of(assessment: &Assessment) -> Decisions {
        Decisions {
            kind: assessment.kind,
            procedure: assessment.procedure,
            directorate: assessment.directorate,
            exclusions: assessment.exclusions.clone(),
        }
    }
}

/// The assessment with the reviewer's decisions: the route, the clocks (from the same receipt and
/// awareness dates) and the advice re-derived; the classifier's evidence kept, with a line saying who
/// corrected it. The confidence becomes 1 and `needs_review` false: a person has decided.
pub fn reclassify(
    assessment: &Assessment,
    decisions: &Decisions,
    policy: &Policy,
    reviewer: &str,
) -> Assessment {
    let started = |from: ClockStart| {
        assessment
            .deadlines
            .iter()
            .find(|d| d.from == from)
            .and_then(|d| d.starts)
    };
    let starts = ClockStarts {
        receipt: started(ClockStart::Receipt),
        awareness: started(ClockStart::Awareness),
        ..ClockStarts::default()
    };
    let mut evidence = assessment.evidence.clone();
    evidence.push(Evidence {
        decision: "review".into(),
        rule: format!("decisions set by the reviewer `{reviewer}`"),
        found: Vec::new(),
    });
    Assessment {
        kind: decisions.kind,
        confidence: 1.0,
        needs_review: false,
        procedure: decisions.procedure,
        directorate: decisions.directorate,
        service_area: assessment.service_area.clone(),
        route: crate::route(
            policy,
            decisions.kind,
            decisions.procedure,
            decisions.directorate,
            assessment.service_area.as_deref(),
        ),
        exclusions: decisions.exclusions.clone(),
        cautions: assessment.cautions.clone(),
        advice: crate::advice(
            policy,
            decisions.kind,
            &decisions.exclusions,
            &assessment.cautions,
        ),
        deadlines: deadlines(policy, decisions.kind, decisions.procedure, &starts),
        evidence,
    }
}

impl CaseState {
    /// The state after a reviewer changed the kind or procedure: a different procedure starts again at
    /// its first stage with the same status (an acknowledged case stays acknowledged); the same one keeps
    /// its place.
    pub fn reclassified(&self, kind: Kind, procedure: Option<Procedure>) -> CaseState {
        let procedure = procedure.filter(|_| kind.is_feedback());
        if procedure == self.procedure {
            return self.clone();
        }
        CaseState {
            procedure,
            stage: 0,
            status: self.status,
            outcome: self.outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Status;
    use crate::{Submission, assess};
    use chrono::NaiveDate;

    #[test]
    fn a_correction_rederives_route_and_clocks() {
        let policy = Policy::kent();
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let submission = Submission {
            text:
                "I am unhappy that my complaint about the pothole on Station Road was ignored twice"
                    .into(),
            ..Submission::default()
        };
        let assessment = assess(&submission, &policy, today);
        let decisions = Decisions {
            kind: Kind::Compliment,
            procedure: Some(Procedure::Corporate),
            directorate: assessment.directorate,
            exclusions: BTreeSet::new(),
        };
        let corrected = reclassify(&assessment, &decisions, &policy, "alice");
        assert_eq!(corrected.kind, Kind::Compliment);
        assert!(!corrected.needs_review);
        // A compliment keeps only the acknowledgement clock, from the same receipt day.
        assert!(
            corrected
                .deadlines
                .iter()
                .all(|d| d.milestone == "acknowledge")
        );
        assert_eq!(
            corrected.deadlines.first().and_then(|d| d.starts),
            assessment
                .deadlines
                .iter()
                .find(|d| d.milestone == "acknowledge")
                .and_then(|d| d.starts)
        );
        assert!(corrected.evidence.iter().any(|e| e.rule.contains("alice")));
    }

    #[test]
    fn a_new_procedure_starts_at_its_first_stage() {
        let state = CaseState {
            procedure: Some(Procedure::Corporate),
            stage: 1,
            status: Status::Acknowledged,
            outcome: None,
        };
        let moved = state.reclassified(Kind::Complaint, Some(Procedure::AdultSocialCare));
        assert_eq!(moved.stage, 0);
        assert_eq!(moved.status, Status::Acknowledged);
        assert_eq!(
            state.reclassified(Kind::Complaint, Some(Procedure::Corporate)),
            state
        );
        assert_eq!(
            state
                .reclassified(Kind::FaultReport, Some(Procedure::Corporate))
                .procedure,
            None
        );
    }
}

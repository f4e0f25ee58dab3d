//! The life of a case as a pure state machine: each procedure's stages from the policy, and the moves
//! allowed between them.

use serde::{Deserialize, Serialize};

use crate::model::{Kind, Procedure};
use crate::policy::Policy;

/// Where a case is within its current stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Logged, not yet acknowledged.
    Received,
    /// Acknowledged; the stage's work is under way.
    Acknowledged,
    /// The stage's response has been sent.
    Responded,
    /// Referred to the outside body at the end of the procedure.
    Referred,
    /// Closed.
    Closed,
}

/// The outcome of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Outcome {
    Upheld,
    PartlyUpheld,
    NotUpheld,
    /// For comments, compliments and redirected matters.
    NoFinding,
}

/// A case's position: the stage (index into the procedure's stages) and the status within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseState {
    /// The procedure, or `None` for matters redirected elsewhere.
    pub procedure: Option<Procedure>,
    /// Index of the current stage.
    pub stage: usize,
    /// Status within the stage.
    pub status: Status,
    /// The outcome of the last response.
    pub outcome: Option<Outcome>,
}

/// Something that happens to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// The acknowledgement was sent.
    Acknowledge,
    /// The stage's response was sent.
    Respond {
        /// Its finding.
        outcome: Outcome,
    },
    /// The person asked to go to the next internal stage.
    Escalate,
    /// Referred to the outside body (Ombudsman, ICO, DfE).
    Refer,
    /// Closed.
    Close,
}

/// An illegal move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The event does not apply in this status.
    #[error("cannot `{event}` a case that is `{status}`: {help}")]
    NotAllowed {
        /// The event.
        event: String,
        /// The current status.
        status: String,
        /// What to do instead.
        help: String,
    },
    /// There is no next internal stage.
    #[error(
        "cannot escalate from the last internal stage `{stage}`: refer the case to the outside body instead"
    )]
    NoNextStage {
        /// The current stage id.
        stage: String,
    },
    /// The procedure is missing from the policy.
    #[error("the policy has no procedure `{0}`: load a complete policy")]
    UnknownProcedure(String),
}

impl CaseState {
    /// A new case of this kind and procedure.
    pub fn new(kind: Kind, procedure: Option<Procedure>) -> CaseState {
        CaseState {
            procedure: procedure.filter(|_| kind.is_feedback()),
            stage: 0,
            status: Status::Received,
            outcome: None,
        }
    }

    /// The current stage's id, e.g. `stage_1`; `redirected` for matters outside the procedures.
    pub fn stage_id<'p>(&self, policy: &'p Policy) -> &'p str {
        self.procedure
            .and_then(|p| policy.procedure(p))
            .and_then(|spec| spec.stages.get(self.stage))
            .map_or("redirected", |stage| stage.id.as_str())
    }

    /// Whether the case is still open.
    pub fn is_open(&self) -> bool {
        self.status != Status::Closed
    }

    /// Applies an event, returning the new state or why it is not allowed.
    pub fn apply(&self, event: Event, policy: &Policy) -> Result<CaseState, TransitionError> {
        use Status::*;
        let not_allowed = |help: &str| TransitionError::NotAllowed {
            event: event.name().to_string(),
            status: crate::policy::snake(&self.status),
            help: help.to_string(),
        };
        let mut next = self.clone();
        match (event, self.status) {
            (Event::Acknowledge, Received) => next.status = Acknowledged,
            (Event::Acknowledge, _) => return Err(not_allowed("it has already been acknowledged")),
            (Event::Respond { outcome }, Received | Acknowledged) => {
                next.status = Responded;
                next.outcome = Some(outcome);
            }
            (Event::Respond { .. }, _) => {
                return Err(not_allowed(
                    "only an open stage awaiting its response can be answered",
                ));
            }
            (Event::Escalate, Responded) => {
                let procedure = self.procedure.ok_or_else(|| {
                    not_allowed("a redirected matter has no stages to escalate through")
                })?;
                let spec = policy.procedure(procedure).ok_or_else(|| {
                    TransitionError::UnknownProcedure(crate::policy::snake(&procedure))
                })?;
                // The last stage is the outside body; the stages before it are the council's own.
                let internal = spec
                    .stages
                    .len()
                    .saturating_sub(usize::from(spec.stages.len() > 1));
                if self.stage + 1 >= internal {
                    return Err(TransitionError::NoNextStage {
                        stage: self.stage_id(policy).to_string(),
                    });
                }
                next.stage += 1;
                next.status = Acknowledged;
                next.outcome = None;
            }
            (Event::Escalate, _) => {
                return Err(not_allowed(
                    "a stage can be escalated once its response has been sent",
                ));
            }
            (Event::Refer, _)
                if self
                    .procedure
                    .and_then(|p| policy.procedure(p))
                    .is_none_or(|spec| spec.outside_body.is_none()) =>
            {
                return Err(not_allowed(
                    "a redirected matter, or a procedure without an outside body, has nowhere to be referred",
                ));
            }
            (Event::Refer, Responded) => {
                let last = self
                    .procedure
                    .and_then(|p| policy.procedure(p))
                    .map_or(0, |spec| spec.stages.len().saturating_sub(1));
                next.stage = last;
                next.status = Referred;
            }
            (Event::Refer, _) => {
                return Err(not_allowed(
                    "refer a case to the outside body after the council's response",
                ));
            }
            (Event::Close, Closed) => return Err(not_allowed("it is already closed")),
            (Event::Close, _) => next.status = Closed,
        }
        Ok(next)
    }
}

impl Event {
    /// The event's name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Event::Acknowledge => "acknowledge",
            Event::Respond { .. } => "respond",
            Event::Escalate => "escalate",
            Event::Refer => "refer",
            Event::Close => "close",
        }
    }
}

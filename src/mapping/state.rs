//! The review workflow of one mapping: states, the actions that move between them, and the
//! four-eyes rule.
//!
//! ```text
//!             propose                 approve (not the author, with four-eyes)
//! unmapped ───────────► proposed ─────────────────────────────► approved
//!    │  ▲                │  ▲ │ reject                              │
//!    │  └── reset ───────┘  │ └─────────► rejected ── propose ──────┘ (re-opens)
//!    │ no_match             │ propose (a new target)
//!    ▼                      │
//! no_match ◄──── no_match ──┴── flagged ◄── flag (any state but unmapped)
//! ```
//!
//! `no_match` is a decision ("no standard code exists"), reviewed like a target: with four-eyes
//! on, someone other than the author approves it (it stays `no_match`, with a reviewer).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a mapping stands.
// Stored as its `as_str` spelling (the store's `text_column!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// No target yet.
    Unmapped,
    /// A target is proposed and waits for review.
    Proposed,
    /// Reviewed and usable by translation.
    Approved,
    /// The proposed target was turned down.
    Rejected,
    /// Needs attention (a retired target, a changed local name, a reviewer's doubt).
    Flagged,
    /// No standard code exists for the local code, recorded on purpose.
    NoMatch,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Unmapped,
        State::Proposed,
        State::Approved,
        State::Rejected,
        State::Flagged,
        State::NoMatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Unmapped => "unmapped",
            State::Proposed => "proposed",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Flagged => "flagged",
            State::NoMatch => "no_match",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// How the target relates to the local concept (FHIR ConceptMap equivalence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Equivalence {
    Equivalent,
    /// The target means more than the local code.
    Wider,
    /// The target means less than the local code.
    Narrower,
    Inexact,
}

impl Equivalence {
    pub const ALL: [Equivalence; 4] = [
        Equivalence::Equivalent,
        Equivalence::Wider,
        Equivalence::Narrower,
        Equivalence::Inexact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Equivalence::Equivalent => "equivalent",
            Equivalence::Wider => "wider",
            Equivalence::Narrower => "narrower",
            Equivalence::Inexact => "inexact",
        }
    }

    pub fn parse(s: &str) -> Option<Equivalence> {
        Equivalence::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// What a person does to a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Proposes a target (or a new one): → proposed, the actor becomes the author.
    Propose,
    /// Accepts the proposed target or the no-match decision.
    Approve,
    /// Turns the proposed target down.
    Reject,
    /// Asks for attention.
    Flag,
    /// Records that no standard code exists: → no_match, the actor becomes the author.
    NoMatch,
    /// Back to unmapped (the target is dropped).
    Reset,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 6] = [
        Action::Propose,
        Action::Approve,
        Action::Reject,
        Action::Flag,
        Action::NoMatch,
        Action::Reset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Propose => "propose",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Flag => "flag",
            Action::NoMatch => "no_match",
            Action::Reset => "reset",
        }
    }
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    #[error("a mapping in state {from} cannot be {action}: {hint}", from = .from.as_str(), action = past(*.action))]
    NotAllowed {
        from: State,
        action: Action,
        hint: &'static str,
    },
    #[error("four-eyes review is on for this project: {author} proposed this mapping, so someone else approves it")]
    SameAuthor { author: String },
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Propose => "proposed",
        Action::Approve => "approved",
        Action::Reject => "rejected",
        Action::Flag => "flagged",
        Action::NoMatch => "marked no-match",
        Action::Reset => "reset",
    }
}

/// A mapping's review state as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub state: State,
    /// Who proposed the current target (or the no-match decision).
    pub author: Option<String>,
    /// Who approved it.
    pub reviewer: Option<String>,
    /// Whether a target is set (false for unmapped and no-match).
    pub has_target: bool,
}

/// The state an action leads to from `review`, by `actor`, or why it may not.
pub fn next(
    review: &Review,
    action: Action,
    actor: &str,
    four_eyes: bool,
) -> Result<Review, TransitionError> {
    use State::*;
    let refuse = |hint: &'static str| TransitionError::NotAllowed {
        from: review.state,
        action,
        hint,
    };
    let authored = |state: State| Review {
        state,
        author: Some(actor.to_owned()),
        reviewer: None,
        has_target: state == Proposed,
    };
    match (review.state, action) {
        // A new proposal is always possible: it replaces whatever stood before.
        (_, Action::Propose) => Ok(authored(Proposed)),
        (_, Action::NoMatch) => Ok(authored(NoMatch)),
        (Unmapped, Action::Reset) => Err(refuse("it is unmapped already")),
        (_, Action::Reset) => Ok(Review {
            state: Unmapped,
            author: None,
            reviewer: None,
            has_target: false,
        }),
        (Unmapped, Action::Flag) => Err(refuse("propose a target, or mark it no-match")),
        (Flagged, Action::Flag) => Err(refuse("it is flagged already")),
        (_, Action::Flag) => Ok(Review {
            state: Flagged,
            ..review.clone()
        }),
        (Proposed | NoMatch | Flagged, Action::Approve) => {
            let author = review.author.as_deref();
            if review.state == Flagged && author.is_none() {
                return Err(refuse("propose a target first"));
            }
            if four_eyes && author == Some(actor) {
                return Err(TransitionError::SameAuthor {
                    author: actor.to_owned(),
                });
            }
            Ok(Review {
                // Approving a no-match decision (flagged or not) keeps it a no-match.
                state: if review.has_target { Approved } else { NoMatch },
                author: review.author.clone(),
                reviewer: Some(actor.to_owned()),
                has_target: review.has_target,
            })
        }
        (NoMatch, Action::Reject) => Err(refuse("propose a target instead")),
        (Proposed | Flagged, Action::Reject) => {
            if review.author.is_none() {
                return Err(refuse("there is no proposal to reject"));
            }
            if !review.has_target {
                return Err(refuse(
                    "a no-match decision is replaced by proposing a target",
                ));
            }
            Ok(Review {
                state: Rejected,
                author: review.author.clone(),
                reviewer: Some(actor.to_owned()),
                has_target: true,
            })
        }
        (Approved, Action::Approve) => Err(refuse("it is approved already")),
        (Approved, Action::Reject) => Err(refuse("flag it, or propose another target")),
        (Unmapped | Rejected, Action::Approve | Action::Reject) => {
            Err(refuse("there is no proposal to review"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(state: State, author: Option<&str>) -> Review {
        Review {
            state,
            author: author.map(str::to_owned),
            reviewer: None,
            has_target: !matches!(state, State::Unmapped | State::NoMatch),
        }
    }

    /// Every (state, action) pair, as allowed (with the resulting state) or refused.
    #[test]
    fn every_transition_is_allowed_or_refused_as_designed() {
        use State::*;
        let expected: [(State, [Option<State>; 6]); 6] = [
            //          Propose         Approve         Reject          Flag            NoMatch         Reset
            (
                Unmapped,
                [Some(Proposed), None, None, None, Some(NoMatch), None],
            ),
            (
                Proposed,
                [
                    Some(Proposed),
                    Some(Approved),
                    Some(Rejected),
                    Some(Flagged),
                    Some(NoMatch),
                    Some(Unmapped),
                ],
            ),
            (
                Approved,
                [
                    Some(Proposed),
                    None,
                    None,
                    Some(Flagged),
                    Some(NoMatch),
                    Some(Unmapped),
                ],
            ),
            (
                Rejected,
                [
                    Some(Proposed),
                    None,
                    None,
                    Some(Flagged),
                    Some(NoMatch),
                    Some(Unmapped),
                ],
            ),
            (
                Flagged,
                [
                    Some(Proposed),
                    Some(Approved),
                    Some(Rejected),
                    None,
                    Some(NoMatch),
                    Some(Unmapped),
                ],
            ),
            (
                NoMatch,
                [
                    Some(Proposed),
                    Some(NoMatch),
                    None,
                    Some(Flagged),
                    Some(NoMatch),
                    Some(Unmapped),
                ],
            ),
        ];
        let actions = [
            Action::Propose,
            Action::Approve,
            Action::Reject,
            Action::Flag,
            Action::NoMatch,
            Action::Reset,
        ];
        for (from, outcomes) in expected {
            let author = if from == Unmapped {
                None
            } else {
                Some("alice")
            };
            for (action, want) in actions.into_iter().zip(outcomes) {
                let got = next(&review(from, author), action, "bob", true).map(|r| r.state);
                assert_eq!(got.ok(), want, "{} + {}", from.as_str(), action.as_str());
            }
        }
    }

    #[test]
    fn four_eyes_refuses_the_author_as_approver() {
        let proposed = review(State::Proposed, Some("alice"));
        assert_eq!(
            next(&proposed, Action::Approve, "alice", true),
            Err(TransitionError::SameAuthor {
                author: "alice".into()
            })
        );
        // Without four-eyes the author may approve; with it, anyone else may.
        assert_eq!(
            next(&proposed, Action::Approve, "alice", false).map(|r| r.state),
            Ok(State::Approved)
        );
        let approved = next(&proposed, Action::Approve, "bob", true).expect("approve");
        assert_eq!(approved.author.as_deref(), Some("alice"));
        assert_eq!(approved.reviewer.as_deref(), Some("bob"));
        // A no-match decision is reviewed the same way.
        let no_match = next(&proposed, Action::NoMatch, "carol", true).expect("no match");
        assert!(next(&no_match, Action::Approve, "carol", true).is_err());
        assert_eq!(
            next(&no_match, Action::Approve, "alice", true).map(|r| (r.state, r.reviewer)),
            Ok((State::NoMatch, Some("alice".into())))
        );
    }

    #[test]
    fn a_new_proposal_makes_the_proposer_the_author_and_drops_the_reviewer() {
        let approved = Review {
            state: State::Approved,
            author: Some("alice".into()),
            reviewer: Some("bob".into()),
            has_target: true,
        };
        let again = next(&approved, Action::Propose, "bob", true).expect("propose");
        assert_eq!(again, review(State::Proposed, Some("bob")));
        // Flagging keeps who authored and reviewed it.
        let flagged = next(&approved, Action::Flag, "system", true).expect("flag");
        assert_eq!(flagged.author.as_deref(), Some("alice"));
        assert_eq!(flagged.reviewer.as_deref(), Some("bob"));
    }

    #[test]
    fn a_flagged_no_match_decision_stays_one_when_approved() {
        let no_match = next(
            &review(State::Unmapped, None),
            Action::NoMatch,
            "alice",
            true,
        )
        .expect("no match");
        let flagged = next(&no_match, Action::Flag, "bob", true).expect("flag");
        assert!(!flagged.has_target);
        assert_eq!(
            next(&flagged, Action::Approve, "bob", true).map(|r| r.state),
            Ok(State::NoMatch)
        );
        assert!(next(&flagged, Action::Reject, "bob", true).is_err());
    }

    #[test]
    fn states_and_equivalences_round_trip_their_names() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for e in Equivalence::ALL {
            assert_eq!(Equivalence::parse(e.as_str()), Some(e));
        }
        assert_eq!(State::parse("done"), None);
    }
}

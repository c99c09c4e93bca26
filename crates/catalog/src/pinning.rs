//! What seeing a definition does to its catalog entry: the pinning rules.

use crate::{ApprovalMode, EntryStatus, Kind};

/// What moat knows when it vets a definition it has not approved.
#[derive(Clone, Copy, Debug)]
pub struct Vetting {
    /// The server's `approval` mode.
    pub mode: ApprovalMode,
    /// The tool says `readOnlyHint: true` and its server is trusted to say so.
    pub read_only: bool,
    /// The poisoning scan found something of high severity or worse: never auto-approved.
    pub flagged: bool,
}

impl Vetting {
    /// Whether the server's rules approve a definition of `kind` without an operator.
    fn approves(&self, kind: Kind) -> bool {
        !self.flagged
            && match self.mode {
                ApprovalMode::Required => false,
                ApprovalMode::Auto => true,
                ApprovalMode::ReadOnly => kind != Kind::Tool || self.read_only,
            }
    }
}

/// What a sighting of a definition means for its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// Same definition as recorded: nothing changes.
    Unchanged,
    /// Never seen before: recorded with this status.
    New(EntryStatus),
    /// The definition differs from the recorded one: recorded with this status.
    Changed {
        /// The entry's status before.
        was: EntryStatus,
        /// Its status now.
        now: EntryStatus,
    },
}

impl Observation {
    /// Whether this sighting is a rug pull: an approved definition changed.
    pub fn is_rug_pull(self) -> bool {
        matches!(
            self,
            Self::Changed {
                was: EntryStatus::Approved,
                now: EntryStatus::Quarantined
            }
        )
    }
}

/// Decides what seeing `seen_sha256` for an entry recorded as `known` (status, hash) means.
///
/// A new definition is approved only by the server's rules; a changed one that was ever
/// approved is quarantined at once, whatever the rules say (only an operator releases it); a
/// changed pending one is vetted again; a changed rejected one goes back to the queue, never
/// approved by the rules (a trivial edit must not undo an operator's refusal).
pub fn observe(
    known: Option<(EntryStatus, &str)>,
    seen_sha256: &str,
    kind: Kind,
    vetting: &Vetting,
) -> Observation {
    let Some((was, sha256)) = known else {
        let status = if vetting.approves(kind) {
            EntryStatus::Approved
        } else {
            EntryStatus::Pending
        };
        return Observation::New(status);
    };
    if sha256 == seen_sha256 {
        return Observation::Unchanged;
    }
    let now = match was {
        EntryStatus::Approved | EntryStatus::Quarantined => EntryStatus::Quarantined,
        EntryStatus::Pending if vetting.approves(kind) => EntryStatus::Approved,
        EntryStatus::Pending | EntryStatus::Rejected => EntryStatus::Pending,
    };
    Observation::Changed { was, now }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn vetting(mode: ApprovalMode) -> Vetting {
        Vetting {
            mode,
            read_only: false,
            flagged: false,
        }
    }

    #[test]
    fn new_definitions_follow_the_servers_rules() {
        let new = |v: &Vetting, kind| observe(None, "h", kind, v);
        assert_eq!(
            new(&vetting(ApprovalMode::Required), Kind::Tool),
            Observation::New(EntryStatus::Pending)
        );
        assert_eq!(
            new(&vetting(ApprovalMode::Auto), Kind::Tool),
            Observation::New(EntryStatus::Approved)
        );
        let flagged = Vetting {
            flagged: true,
            ..vetting(ApprovalMode::Auto)
        };
        assert_eq!(
            new(&flagged, Kind::Prompt),
            Observation::New(EntryStatus::Pending)
        );
        let read_only = vetting(ApprovalMode::ReadOnly);
        assert_eq!(
            new(&read_only, Kind::Tool),
            Observation::New(EntryStatus::Pending)
        );
        assert_eq!(
            new(&read_only, Kind::Prompt),
            Observation::New(EntryStatus::Approved)
        );
        let marked = Vetting {
            read_only: true,
            ..read_only
        };
        assert_eq!(
            new(&marked, Kind::Tool),
            Observation::New(EntryStatus::Approved)
        );
    }

    #[test]
    fn an_approved_definition_that_changes_is_quarantined_even_under_auto_approval() {
        let auto = vetting(ApprovalMode::Auto);
        let seen = observe(
            Some((EntryStatus::Approved, "old")),
            "new",
            Kind::Tool,
            &auto,
        );
        assert_eq!(
            seen,
            Observation::Changed {
                was: EntryStatus::Approved,
                now: EntryStatus::Quarantined
            }
        );
        assert!(seen.is_rug_pull());
        // Changing again, or changing back, does not release it.
        assert_eq!(
            observe(
                Some((EntryStatus::Quarantined, "new")),
                "old",
                Kind::Tool,
                &auto
            ),
            Observation::Changed {
                was: EntryStatus::Quarantined,
                now: EntryStatus::Quarantined
            }
        );
        assert_eq!(
            observe(
                Some((EntryStatus::Approved, "same")),
                "same",
                Kind::Tool,
                &auto
            ),
            Observation::Unchanged
        );
    }

    #[test]
    fn pending_is_vetted_again_and_rejected_returns_to_the_queue() {
        let auto = vetting(ApprovalMode::Auto);
        assert_eq!(
            observe(Some((EntryStatus::Pending, "a")), "b", Kind::Tool, &auto),
            Observation::Changed {
                was: EntryStatus::Pending,
                now: EntryStatus::Approved
            }
        );
        assert_eq!(
            observe(Some((EntryStatus::Rejected, "a")), "b", Kind::Tool, &auto),
            Observation::Changed {
                was: EntryStatus::Rejected,
                now: EntryStatus::Pending
            }
        );
        assert!(!observe(Some((EntryStatus::Rejected, "a")), "b", Kind::Tool, &auto).is_rug_pull());
    }
}

//! The answer: allow or deny, the rules that decided, and a reason a person understands.

/// Whether the operation goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed.
    Allow,
    /// Refused.
    Deny,
    /// Would be refused, but the deciding rules are in dry-run mode: let through and logged.
    WouldDeny,
    /// Allowed once a human approves this exact call; the last rule id is the one that holds it.
    Hold,
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The outcome.
    pub verdict: Verdict,
    /// Ids of the rules that decided (for an allow, every layer's granting rule; for a deny,
    /// the refusing ones).
    pub rules: Vec<String>,
    /// Why, for people.
    pub reason: String,
    /// Scopes the token lacks, when that is why it was refused.
    pub missing_scopes: Vec<String>,
}

/// Drops later repeats of a rule id, keeping the order: a decision's handful of ids is
/// searched in place rather than hashed into a set allocated on every decision.
pub(crate) fn dedup_rules(rules: &mut Vec<String>) {
    let mut i = 0;
    while i < rules.len() {
        if rules[..i].contains(&rules[i]) {
            rules.remove(i);
        } else {
            i += 1;
        }
    }
}

impl Decision {
    pub(crate) fn deny(rule: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Deny,
            rules: vec![rule.into()],
            reason: reason.into(),
            missing_scopes: Vec::new(),
        }
    }

    /// Whether the operation must be refused.
    pub fn blocks(&self) -> bool {
        self.verdict == Verdict::Deny
    }

    /// Whether the operation waits for a human's approval.
    pub fn holds(&self) -> bool {
        self.verdict == Verdict::Hold
    }

    /// The same denial or hold, but only logged (dry-run); an allow stays as it is.
    pub(crate) fn dry_run(mut self) -> Self {
        match self.verdict {
            Verdict::Deny => self.verdict = Verdict::WouldDeny,
            Verdict::Hold => {
                self.verdict = Verdict::WouldDeny;
                self.reason = format!("would be held for approval: {}", self.reason);
            }
            Verdict::Allow | Verdict::WouldDeny => {}
        }
        self
    }
}

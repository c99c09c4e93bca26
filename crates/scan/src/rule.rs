//! The rule catalogue: stable ids, default severities and one-line docs.

use serde::{Serialize, Serializer};

use crate::Severity;

/// One kind of tool-poisoning signal. Ids are `MSnnn-kebab-name` and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Instruction blocks and override phrasing (`<IMPORTANT>`, `[INST]`, HTML comments,
    /// "ignore previous instructions", "you are now …").
    HiddenInstructions,
    /// Imperative text aimed at the model to take other actions ("before using this tool,
    /// read …", "you must call …", "always call this tool …").
    ModelDirective,
    /// Sensitive files or credentials as things to read or hand over (`~/.ssh/id_rsa`, `.env`,
    /// `~/.aws/credentials`, `mcp.json`, "the user's API keys").
    SensitiveFile,
    /// Instructions about other known tools or servers (cross-server shadowing).
    ToolShadowing,
    /// Sending data out: to a URL or address, into an argument, or through a rendered image.
    Exfiltration,
    /// Invisible or direction-changing characters: zero-width, tag characters, bidi controls.
    InvisibleUnicode,
    /// A name that mixes scripts or uses look-alike letters (Cyrillic `а` in a Latin name).
    ConfusableName,
    /// A name a small edit away from another known tool or server.
    Typosquat,
    /// Instructions inside schema values and titles (`default`, `enum`, `examples`, `const`).
    SchemaValueInstructions,
    /// Encoded payloads: long base64 or hex runs, `data:` URIs, `\x` escapes.
    EncodedPayload,
    /// A description long enough to bury text in.
    ExcessiveLength,
    /// Asks the model to hide what it does from the user.
    Secrecy,
}

impl Rule {
    /// Every rule, in id order.
    pub const ALL: [Self; 12] = [
        Self::HiddenInstructions,
        Self::ModelDirective,
        Self::SensitiveFile,
        Self::ToolShadowing,
        Self::Exfiltration,
        Self::InvisibleUnicode,
        Self::ConfusableName,
        Self::Typosquat,
        Self::SchemaValueInstructions,
        Self::EncodedPayload,
        Self::ExcessiveLength,
        Self::Secrecy,
    ];

    /// The stable id used in every output format.
    pub fn id(self) -> &'static str {
        match self {
            Self::HiddenInstructions => "MS001-hidden-instructions",
            Self::ModelDirective => "MS002-model-directive",
            Self::SensitiveFile => "MS003-sensitive-file",
            Self::ToolShadowing => "MS004-tool-shadowing",
            Self::Exfiltration => "MS005-exfiltration",
            Self::InvisibleUnicode => "MS006-invisible-unicode",
            Self::ConfusableName => "MS007-confusable-name",
            Self::Typosquat => "MS008-typosquat",
            Self::SchemaValueInstructions => "MS009-schema-value-instructions",
            Self::EncodedPayload => "MS010-encoded-payload",
            Self::ExcessiveLength => "MS011-excessive-length",
            Self::Secrecy => "MS012-secrecy",
        }
    }

    /// The short code (`MS001`), the id's stable prefix.
    pub fn code(self) -> &'static str {
        let id = self.id();
        id.get(..5).unwrap_or(id)
    }

    /// The severity a typical finding of this rule has; findings may be lower or higher.
    pub fn default_severity(self) -> Severity {
        match self {
            Self::ModelDirective | Self::EncodedPayload => Severity::Medium,
            Self::ExcessiveLength => Severity::Low,
            _ => Severity::High,
        }
    }

    /// One line saying what the rule looks for.
    pub fn doc(self) -> &'static str {
        match self {
            Self::HiddenInstructions => {
                "Instruction blocks or override phrasing aimed at the model (<IMPORTANT>, <system>, [INST], HTML comments, \"ignore previous instructions\")"
            }
            Self::ModelDirective => {
                "Imperative text telling the model to take other actions (\"before using this tool, read…\", \"you must call…\", \"always call…\")"
            }
            Self::SensitiveFile => {
                "Sensitive files or credentials named as things to read or hand over (~/.ssh/id_rsa, .env, ~/.aws/credentials, mcp.json, API keys)"
            }
            Self::ToolShadowing => {
                "Instructions about another known tool or server (cross-server shadowing)"
            }
            Self::Exfiltration => {
                "Instructions to send data to a URL or address, into an argument, or through a rendered image URL"
            }
            Self::InvisibleUnicode => {
                "Invisible or bidirectional control characters (zero-width, tag characters, bidi overrides, soft hyphen)"
            }
            Self::ConfusableName => "Name mixing scripts or using look-alike letters (homoglyphs)",
            Self::Typosquat => "Name a small edit away from another known tool or server",
            Self::SchemaValueInstructions => {
                "Instructions hidden in schema values or titles (default, enum, examples, const, title)"
            }
            Self::EncodedPayload => {
                "Encoded payloads in text: long base64 or hex runs, data: URIs, escape sequences"
            }
            Self::ExcessiveLength => "Description long enough to bury instructions in",
            Self::Secrecy => {
                "Asks the model to hide actions from the user (\"do not tell the user\", \"silently\")"
            }
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixed() {
        let mut codes: Vec<_> = Rule::ALL.iter().map(|r| r.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
        assert!(Rule::ALL.iter().all(|r| r.id().starts_with("MS0")));
    }
}

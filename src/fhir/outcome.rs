//! OperationOutcome issues in the shape the HL7 validator and the tx-ecosystem tests read:
//! `severity`, `code` (IssueType), `details.coding` from the tx-issue-type code system,
//! `details.text` (the message), `expression` relative to the coded element, and the
//! message id as the `operationoutcome-message-id` extension
//! (`../shared/docs/fhir-terminology.md` §7).

use serde::Serialize;

/// The code system of `details.coding` (what kind of terminology issue it is).
pub const TX_ISSUE_TYPE: &str = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type";
/// The extension carrying the message id of the validator's catalogue.
pub const MESSAGE_ID: &str = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id";

/// `OperationOutcome.issue.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// An issue of an OperationOutcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub severity: Severity,
    /// IssueType: `invalid`, `not-found`, `code-invalid`, `business-rule`, `too-costly` …
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

/// `issue.details`: the tx-issue-type and the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<DetailCoding>,
    pub text: String,
}

/// One coding of `issue.details`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetailCoding {
    pub system: &'static str,
    pub code: &'static str,
}

/// A string-valued extension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extension {
    pub url: &'static str,
    #[serde(rename = "valueString")]
    pub value_string: String,
}

impl Issue {
    /// An issue with a message: `severity`, IssueType `code`, and `text`.
    pub fn new(severity: Severity, code: &'static str, text: impl Into<String>) -> Self {
        Issue {
            extension: Vec::new(),
            severity,
            code,
            details: Some(Details {
                coding: Vec::new(),
                text: text.into(),
            }),
            diagnostics: None,
            location: Vec::new(),
            expression: Vec::new(),
        }
    }

    /// The tx-issue-type of the issue (`invalid-code`, `not-found`, `invalid-display` …).
    pub fn tx_type(mut self, tx_type: &'static str) -> Self {
        if let Some(details) = &mut self.details {
            details.coding = vec![DetailCoding {
                system: TX_ISSUE_TYPE,
                code: tx_type,
            }];
        }
        self
    }

    /// The message id of the validator's catalogue the text was made from.
    pub fn message_id(mut self, id: &str) -> Self {
        self.extension = vec![Extension {
            url: MESSAGE_ID,
            value_string: id.to_owned(),
        }];
        self
    }

    /// Where in the request the issue is (`Coding.code`, `code` …): as `expression` and as
    /// `location` (R4 clients read either).
    pub fn at(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.location = vec![path.clone()];
        self.expression = vec![path];
        self
    }

    /// The message.
    pub fn text(&self) -> &str {
        self.details.as_ref().map_or("", |d| d.text.as_str())
    }

    /// Whether the issue is an error (or fatal).
    pub fn is_error(&self) -> bool {
        self.severity <= Severity::Error
    }
}

/// An OperationOutcome resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationOutcome {
    #[serde(rename = "resourceType")]
    pub resource_type: &'static str,
    pub issue: Vec<Issue>,
}

impl OperationOutcome {
    /// An outcome of these issues (an OperationOutcome needs at least one: an empty list
    /// becomes one informational "all OK" issue).
    pub fn new(mut issue: Vec<Issue>) -> Self {
        if issue.is_empty() {
            issue.push(Issue::new(Severity::Information, "informational", "All OK"));
        }
        OperationOutcome {
            resource_type: "OperationOutcome",
            issue,
        }
    }

    /// An outcome of one issue.
    pub fn one(issue: Issue) -> Self {
        OperationOutcome::new(vec![issue])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_serialise_as_the_validator_reads_them() {
        let issue = Issue::new(
            Severity::Error,
            "code-invalid",
            "Unknown code 'x' in the CodeSystem 'http://a' version '1'",
        )
        .tx_type("invalid-code")
        .message_id("Unknown_Code_in_Version")
        .at("Coding.code");
        let json = serde_json::to_value(OperationOutcome::one(issue)).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "resourceType": "OperationOutcome",
                "issue": [{
                    "extension": [{"url": MESSAGE_ID, "valueString": "Unknown_Code_in_Version"}],
                    "severity": "error",
                    "code": "code-invalid",
                    "details": {
                        "coding": [{"system": TX_ISSUE_TYPE, "code": "invalid-code"}],
                        "text": "Unknown code 'x' in the CodeSystem 'http://a' version '1'"
                    },
                    "location": ["Coding.code"],
                    "expression": ["Coding.code"]
                }]
            })
        );
        let empty = serde_json::to_value(OperationOutcome::new(Vec::new())).expect("json");
        assert_eq!(empty["issue"][0]["severity"], "information");
    }
}

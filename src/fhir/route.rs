//! Which FHIR interaction a request is: the path below `/fhir` read the way FHIR servers read
//! it (`[type]`, `[type]/[id]`, `[type]/$op`, `[type]/[id]/$op`, `$op`, `metadata`), with
//! `$` also accepted percent-encoded, and the methods each allows. Unknown paths answer 404
//! and known paths asked with another method 405 with `Allow`, as OperationOutcomes.

use actix_web::http::Method;

use super::error::FhirError;

/// An operation the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The resource type it is invoked on; `None` for system-level operations.
    pub resource: Option<&'static str>,
    /// Its name, without `$`.
    pub name: &'static str,
    /// Its OperationDefinition.
    pub definition: &'static str,
    /// Whether it may be asked with GET (all its parameters primitive) besides POST.
    pub get: bool,
}

/// Every operation served, as the CapabilityStatement lists them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        resource: None,
        name: "versions",
        definition: "http://hl7.org/fhir/OperationDefinition/fhir-versions",
        get: true,
    },
    Operation {
        resource: Some("CodeSystem"),
        name: "lookup",
        definition: "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
        get: true,
    },
    Operation {
        resource: Some("CodeSystem"),
        name: "subsumes",
        definition: "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes",
        get: true,
    },
    Operation {
        resource: Some("CodeSystem"),
        name: "validate-code",
        definition: "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
        get: true,
    },
    Operation {
        resource: Some("ValueSet"),
        name: "expand",
        definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
        get: true,
    },
    Operation {
        resource: Some("ValueSet"),
        name: "validate-code",
        definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
        get: true,
    },
    Operation {
        resource: Some("Bundle"),
        name: "check-codes",
        definition: CHECK_CODES,
        get: false,
    },
    Operation {
        resource: Some("ValueSet"),
        name: "batch-validate-code",
        definition: BATCH_VALIDATE,
        get: false,
    },
    Operation {
        resource: Some("ConceptMap"),
        name: "translate",
        definition: "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
        get: true,
    },
];

/// hyojun's own operation: every coding of a document checked at once.
/// The definition of `ValueSet/$batch-validate-code` (its body is read for speed).
pub const BATCH_VALIDATE: &str =
    "http://hl7.org/fhir/tools/OperationDefinition/ValueSet-batch-validate-code";

pub const CHECK_CODES: &str = "urn:hyojun:OperationDefinition:Bundle-check-codes";

/// The resource types the endpoint reads and searches.
pub const RESOURCES: &[&str] = &["CodeSystem", "ValueSet", "ConceptMap"];

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `GET metadata` (`mode=terminology`: the TerminologyCapabilities).
    Metadata,
    /// An operation, on a type (`id` none) or an instance.
    Op {
        op: &'static Operation,
        id: Option<String>,
    },
    /// `GET [type]/[id]`.
    Read { resource: &'static str, id: String },
    /// `GET [type]?…`.
    Search { resource: &'static str },
    /// `POST` of a batch Bundle to the base.
    Batch,
}

impl Target {
    /// Whether the request needs no key (the handshake).
    pub fn is_open(&self) -> bool {
        match self {
            Target::Metadata => true,
            Target::Op { op, .. } => op.resource.is_none() && op.name == "versions",
            _ => false,
        }
    }

    /// Whether the request is a `ValueSet/$batch-validate-code` (not of one instance).
    pub fn is_batch_validate(&self) -> bool {
        matches!(self, Target::Op { op, id: None } if op.definition == BATCH_VALIDATE)
    }
}

/// Percent-decodes one path segment.
fn decode(segment: &str) -> Result<String, FhirError> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    FhirError::Invalid("the path has a `%` not followed by two hex digits".into())
                })?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| FhirError::Invalid("the path is not UTF-8".into()))
}

fn not_found(path: &str) -> FhirError {
    FhirError::NotFound(format!(
        "no FHIR interaction at /fhir/{}: see /fhir/metadata for what this server does",
        crate::excerpt::excerpt(path)
    ))
}

fn method_check(method: &Method, allowed: &[Method], path: &str) -> Result<(), FhirError> {
    if allowed.contains(method) {
        return Ok(());
    }
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    Err(FhirError::MethodNotAllowed {
        message: format!(
            "{} is not served at /fhir/{}: use {allow}",
            crate::excerpt::excerpt(method.as_str()),
            crate::excerpt::excerpt(path)
        ),
        allow,
    })
}

fn operation(resource: Option<&str>, name: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|op| op.resource == resource && op.name == name)
}

fn op_target(
    method: &Method,
    resource: Option<&str>,
    name: &str,
    id: Option<String>,
    path: &str,
) -> Result<Target, FhirError> {
    let op = operation(resource, name).ok_or_else(|| not_found(path))?;
    let methods: &[Method] = if op.get {
        &[Method::GET, Method::POST]
    } else {
        &[Method::POST]
    };
    method_check(method, methods, path)?;
    Ok(Target::Op { op, id })
}

/// The interaction asked for by `method` on `path` (below `/fhir/`, not decoded).
pub fn target(method: &Method, path: &str) -> Result<Target, FhirError> {
    let raw = path.trim_matches('/');
    let segments: Vec<String> = raw
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<Result<_, _>>()?;
    let resource = |name: &str| RESOURCES.iter().copied().find(|r| *r == name);
    match segments.as_slice() {
        [] => {
            method_check(method, &[Method::POST], raw)?;
            Ok(Target::Batch)
        }
        [m] if m == "metadata" => {
            method_check(method, &[Method::GET], raw)?;
            Ok(Target::Metadata)
        }
        [op] if op.starts_with('$') => op_target(method, None, &op[1..], None, raw),
        [t] => {
            let resource = resource(t).ok_or_else(|| not_found(raw))?;
            method_check(method, &[Method::GET], raw)?;
            Ok(Target::Search { resource })
        }
        [t, op] if op.starts_with('$') => {
            // Operations are served on the resource types they name (`Bundle/$check-codes`).
            let resource = OPERATIONS
                .iter()
                .filter_map(|o| o.resource)
                .find(|r| r == t)
                .ok_or_else(|| not_found(raw))?;
            op_target(method, Some(resource), &op[1..], None, raw)
        }
        [t, id] => {
            let resource = resource(t).ok_or_else(|| not_found(raw))?;
            method_check(method, &[Method::GET], raw)?;
            Ok(Target::Read {
                resource,
                id: id.clone(),
            })
        }
        [t, id, op] if op.starts_with('$') => {
            let resource = resource(t).ok_or_else(|| not_found(raw))?;
            op_target(method, Some(resource), &op[1..], Some(id.clone()), raw)
        }
        _ => Err(not_found(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_interactions() {
        assert_eq!(
            target(&Method::GET, "metadata").ok(),
            Some(Target::Metadata)
        );
        assert!(matches!(
            target(&Method::GET, "%24versions"),
            Ok(Target::Op { op, id: None }) if op.name == "versions"
        ));
        assert_eq!(
            target(&Method::GET, "CodeSystem/hot9-20260630").ok(),
            Some(Target::Read {
                resource: "CodeSystem",
                id: "hot9-20260630".into()
            })
        );
        assert_eq!(
            target(&Method::GET, "ValueSet").ok(),
            Some(Target::Search {
                resource: "ValueSet"
            })
        );
        let e = target(&Method::POST, "metadata").expect_err("GET only");
        assert!(
            matches!(&e, FhirError::MethodNotAllowed { allow, .. } if allow == "GET"),
            "{e:?}"
        );
        for missing in ["Patient", "CodeSystem/$nothing", "a/b/c/d", "$nothing"] {
            assert!(
                matches!(target(&Method::GET, missing), Err(FhirError::NotFound(_))),
                "{missing}"
            );
        }
    }
}

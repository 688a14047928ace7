//! Operation parameters in and out.
//!
//! In: a `Parameters` resource posted as the body, the query string of a GET (and of a POST:
//! the validator posts to `…/$validate-code?`), or both; each parameter keeps its JSON so
//! that typed getters read it as the operation needs (`valueCode` or `valueString` for a
//! code, `valueCoding`, a resource). Out: a `Parameters` resource built with typed values.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::FhirError;
use super::outcome::OperationOutcome;
use super::validate::ValidationAnswer;

/// One input parameter: its name and its JSON (`valueX`, `resource`, `part`).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    json: Map<String, Value>,
}

impl Param {
    /// A parameter given as text (a query string value).
    pub fn text(name: &str, value: &str) -> Self {
        let mut json = Map::new();
        json.insert("valueString".into(), Value::String(value.to_owned()));
        Param {
            name: name.to_owned(),
            json,
        }
    }

    /// A parameter of a Parameters resource (its `name` must be text).
    pub fn from_json(json: Map<String, Value>) -> Option<Self> {
        let name = json.get("name")?.as_str()?.to_owned();
        Some(Param { name, json })
    }

    /// The value as text, whatever primitive type carries it (`valueCode`, `valueUri`,
    /// `valueString`, `valueBoolean`, `valueInteger` …).
    pub fn as_text(&self) -> Option<String> {
        self.json.iter().find_map(|(key, value)| {
            if !key.starts_with("value") {
                return None;
            }
            match value {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        })
    }

    /// The JSON of `valueX` for this exact `key` (`valueCoding`, `valueCodeableConcept`).
    pub fn value_of(&self, key: &str) -> Option<&Value> {
        self.json.get(key)
    }

    /// The parameter's resource.
    pub fn resource(&self) -> Option<&Value> {
        self.json.get("resource")
    }

    /// The parameter's parts (a batch's `validation` items).
    pub fn parts(&self) -> Result<Params, FhirError> {
        match self.json.get("part") {
            None => Ok(Params::default()),
            Some(Value::Array(items)) => Params::from_items(items.clone(), &self.name),
            Some(_) => Err(FhirError::Invalid(format!(
                "parameter `{}`: `part` must be an array",
                crate::excerpt::excerpt(&self.name)
            ))),
        }
    }
}

/// The parameters of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    items: Vec<Param>,
}

/// A Coding as clients send it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A CodeableConcept as clients send it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CodeableConcept {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Params {
    /// The parameters of a query string (`a=1&b=2`, percent- and `+`-decoded).
    pub fn from_query(query: &str) -> Result<Params, FhirError> {
        let mut items = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            items.push(Param::text(&name, &value));
        }
        Ok(Params { items })
    }

    /// The parameters of a `Parameters` resource.
    pub fn from_resource(body: &Value) -> Result<Params, FhirError> {
        match parameter_array(body)? {
            None => Ok(Params::default()),
            Some(items) => Params::from_items(items.to_vec(), "Parameters"),
        }
    }

    /// The parameters of a `Parameters` resource, taken from it (a posted body: a batch's
    /// 10,000 items are moved, not copied).
    pub fn from_body(mut body: Value) -> Result<Params, FhirError> {
        if parameter_array(&body)?.is_none() {
            return Ok(Params::default());
        }
        match body.get_mut("parameter").map(Value::take) {
            Some(Value::Array(items)) => Params::from_items(items, "Parameters"),
            _ => Ok(Params::default()),
        }
    }

    fn from_items(items: Vec<Value>, of: &str) -> Result<Params, FhirError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let Value::Object(json) = item else {
                return Err(FhirError::Invalid(format!(
                    "{}.parameter[{i}] must be an object",
                    crate::excerpt::excerpt(of)
                )));
            };
            let name = json.get("name").and_then(Value::as_str).ok_or_else(|| {
                FhirError::Invalid(format!(
                    "{}.parameter[{i}] has no name",
                    crate::excerpt::excerpt(of)
                ))
            })?;
            out.push(Param {
                name: name.to_owned(),
                json,
            });
        }
        Ok(Params { items: out })
    }

    /// These parameters, in order.
    pub fn from_params(items: Vec<Param>) -> Params {
        Params { items }
    }

    /// These parameters followed by `more` (a POST's query string and body together).
    pub fn extend(&mut self, more: Params) {
        self.items.extend(more.items);
    }

    /// These parameters without those named `name`.
    pub fn without(&self, name: &str) -> Params {
        Params {
            items: self
                .items
                .iter()
                .filter(|p| p.name != name)
                .cloned()
                .collect(),
        }
    }

    /// Every parameter, in order.
    pub fn items(&self) -> &[Param] {
        &self.items
    }

    /// Every parameter named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Param> + 'a {
        self.items.iter().filter(move |p| p.name == name)
    }

    /// The first parameter named `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.items.iter().find(|p| p.name == name)
    }

    /// The text of the first parameter named `name` (see [`Param::as_text`]).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(Param::as_text)
    }

    /// The first of several names that is given, as text (R4 and R5 spell some parameters
    /// differently).
    pub fn text_of(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.text(n))
    }

    /// A boolean parameter; absent means `default`. `true`/`false` only.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, FhirError> {
        match self.text(name).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(FhirError::Invalid(format!(
                "parameter `{name}` must be true or false, not `{}`",
                crate::excerpt::excerpt(other)
            ))),
        }
    }

    /// A whole-number parameter no smaller than 0.
    pub fn count(&self, name: &str) -> Result<Option<u64>, FhirError> {
        self.text(name)
            .map(|t| {
                t.trim().parse::<u64>().map_err(|_| {
                    FhirError::Invalid(format!(
                        "parameter `{name}` must be a whole number of 0 or more, not `{}`",
                        crate::excerpt::excerpt(&t)
                    ))
                })
            })
            .transpose()
    }

    /// A `valueCoding` parameter.
    pub fn coding(&self, name: &str) -> Result<Option<Coding>, FhirError> {
        self.typed(name, "valueCoding")
    }

    /// A `valueCodeableConcept` parameter.
    pub fn codeable_concept(&self, name: &str) -> Result<Option<CodeableConcept>, FhirError> {
        self.typed(name, "valueCodeableConcept")
    }

    fn typed<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<T>, FhirError> {
        let Some(param) = self.get(name) else {
            return Ok(None);
        };
        let value = param.value_of(key).ok_or_else(|| {
            FhirError::Invalid(format!("parameter `{name}` must be given as {key}"))
        })?;
        serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| {
                FhirError::Invalid(format!(
                    "parameter `{name}`: {}",
                    crate::excerpt::excerpt(&e.to_string())
                ))
            })
    }
}

/// The `parameter` array of a `Parameters` resource (`None` when it has none), or why the
/// body is not one.
fn parameter_array(body: &Value) -> Result<Option<&Vec<Value>>, FhirError> {
    let object = body.as_object().ok_or_else(|| {
        FhirError::Invalid("the body must be a FHIR Parameters resource (a JSON object)".into())
    })?;
    match object.get("resourceType").and_then(Value::as_str) {
        Some("Parameters") => {}
        Some(other) => {
            return Err(FhirError::Invalid(format!(
                "the body is a {}: a Parameters resource is expected",
                crate::excerpt::excerpt(other)
            )))
        }
        None => {
            return Err(FhirError::Invalid(
                "the body has no resourceType: a Parameters resource is expected".into(),
            ))
        }
    }
    match object.get("parameter") {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(FhirError::Invalid(
            "Parameters.parameter must be an array".into(),
        )),
    }
}

/// Percent-decodes a query component, `+` being a space.
fn decode_component(text: &str) -> Result<String, FhirError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        FhirError::Invalid(
                            "the query has a `%` not followed by two hex digits".into(),
                        )
                    })?;
                out.push(hex);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| FhirError::Invalid("the query does not decode to UTF-8".into()))
}

/// A typed output value (`valueX`).
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    String(String),
    Code(String),
    Uri(String),
    Boolean(bool),
    Integer(i64),
    DateTime(String),
    Coding(Coding),
    CodeableConcept(CodeableConcept),
}

/// A resource inside an answer, kept typed until the answer is written (one serialisation
/// for the whole answer, however many resources it nests).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OutResource {
    Json(Value),
    Parameters(Parameters),
    Validation(Box<ValidationAnswer>),
    Outcome(OperationOutcome),
}

impl From<ValidationAnswer> for OutResource {
    fn from(v: ValidationAnswer) -> Self {
        OutResource::Validation(Box::new(v))
    }
}

impl From<Value> for OutResource {
    fn from(v: Value) -> Self {
        OutResource::Json(v)
    }
}

impl From<Parameters> for OutResource {
    fn from(p: Parameters) -> Self {
        OutResource::Parameters(p)
    }
}

impl From<OperationOutcome> for OutResource {
    fn from(o: OperationOutcome) -> Self {
        OutResource::Outcome(o)
    }
}

/// One output parameter: `name`, then its `valueX`, `resource` or `part`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutParam {
    pub name: Cow<'static, str>,
    pub value: Option<Out>,
    pub resource: Option<OutResource>,
    pub part: Vec<OutParam>,
}

impl Out {
    /// The JSON key of the value (`valueString` …).
    fn key(&self) -> &'static str {
        match self {
            Out::String(_) => "valueString",
            Out::Code(_) => "valueCode",
            Out::Uri(_) => "valueUri",
            Out::Boolean(_) => "valueBoolean",
            Out::Integer(_) => "valueInteger",
            Out::DateTime(_) => "valueDateTime",
            Out::Coding(_) => "valueCoding",
            Out::CodeableConcept(_) => "valueCodeableConcept",
        }
    }
}

// Written by hand: `#[serde(flatten)]` would route every parameter of a 10,000-item batch
// answer through serde's buffering map serialiser.
impl Serialize for OutParam {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        if let Some(value) = &self.value {
            let key = value.key();
            match value {
                Out::String(v) | Out::Code(v) | Out::Uri(v) | Out::DateTime(v) => {
                    map.serialize_entry(key, v)?
                }
                Out::Boolean(v) => map.serialize_entry(key, v)?,
                Out::Integer(v) => map.serialize_entry(key, v)?,
                Out::Coding(v) => map.serialize_entry(key, v)?,
                Out::CodeableConcept(v) => map.serialize_entry(key, v)?,
            }
        }
        if let Some(resource) = &self.resource {
            map.serialize_entry("resource", resource)?;
        }
        if !self.part.is_empty() {
            map.serialize_entry("part", &self.part)?;
        }
        map.end()
    }
}

impl OutParam {
    /// A parameter with a value.
    pub fn value(name: impl Into<Cow<'static, str>>, value: Out) -> Self {
        OutParam {
            name: name.into(),
            value: Some(value),
            resource: None,
            part: Vec::new(),
        }
    }

    /// A parameter made of parts.
    pub fn parts(name: impl Into<Cow<'static, str>>, part: Vec<OutParam>) -> Self {
        OutParam {
            name: name.into(),
            value: None,
            resource: None,
            part,
        }
    }

    /// A parameter carrying a resource.
    pub fn resource(name: impl Into<Cow<'static, str>>, resource: impl Into<OutResource>) -> Self {
        OutParam {
            name: name.into(),
            value: None,
            resource: Some(resource.into()),
            part: Vec::new(),
        }
    }
}

/// A `Parameters` resource to answer with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameters {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    pub parameter: Vec<OutParam>,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            resource_type: "Parameters",
            parameter: Vec::new(),
        }
    }
}

impl Parameters {
    /// Adds a parameter with a value.
    pub fn push(&mut self, name: impl Into<Cow<'static, str>>, value: Out) -> &mut Self {
        self.parameter.push(OutParam::value(name, value));
        self
    }

    /// Adds a parameter.
    pub fn push_param(&mut self, param: OutParam) -> &mut Self {
        self.parameter.push(param);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_and_body_parameters() {
        let q = Params::from_query("code=900507501&system=http%3A%2F%2Fmedis.or.jp%2FCodeSystem%2Fmaster-HOT9&display=a+b%E9%8C%A0&").expect("query");
        assert_eq!(q.text("code").as_deref(), Some("900507501"));
        assert_eq!(
            q.text("system").as_deref(),
            Some("http://medis.or.jp/CodeSystem/master-HOT9")
        );
        assert_eq!(q.text("display").as_deref(), Some("a b錠"));
        assert!(Params::from_query("a=%zz").is_err());

        let body = json!({"resourceType": "Parameters", "parameter": [
            {"name": "coding", "valueCoding": {"system": "http://x", "code": "1"}},
            {"name": "lenient-display-validation", "valueBoolean": true},
            {"name": "count", "valueInteger": 10},
            {"name": "valueSet", "resource": {"resourceType": "ValueSet"}}
        ]});
        let p = Params::from_resource(&body).expect("parameters");
        assert_eq!(
            p.coding("coding").expect("coding"),
            Some(Coding {
                system: Some("http://x".into()),
                code: Some("1".into()),
                ..Coding::default()
            })
        );
        assert_eq!(p.flag("lenient-display-validation", false).ok(), Some(true));
        assert_eq!(p.count("count").ok(), Some(Some(10)));
        assert_eq!(
            p.get("valueSet").and_then(Param::resource),
            Some(&json!({"resourceType": "ValueSet"}))
        );
        assert!(p.coding("count").is_err(), "a valueInteger is no Coding");
        for bad in [
            json!([]),
            json!({"resourceType": "Bundle"}),
            json!({"resourceType": "Parameters", "parameter": {}}),
            json!({"resourceType": "Parameters", "parameter": [{"valueString": "x"}]}),
        ] {
            assert!(Params::from_resource(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn output_parameters_serialise_with_typed_values() {
        let mut out = Parameters::default();
        out.push("result", Out::Boolean(true))
            .push("code", Out::Code("1".into()))
            .push_param(OutParam::parts(
                "designation",
                vec![OutParam::value("value", Out::String("ひょうじゅん".into()))],
            ));
        assert_eq!(
            serde_json::to_value(&out).expect("json"),
            json!({"resourceType": "Parameters", "parameter": [
                {"name": "result", "valueBoolean": true},
                {"name": "code", "valueCode": "1"},
                {"name": "designation", "part": [{"name": "value", "valueString": "ひょうじゅん"}]}
            ]})
        );
    }
}

//! The items of a `$batch-validate-code`, read for speed. Nearly every item a validator
//! sends is one coding and nothing else; such an item is read straight into what
//! [`super::check`] asks for — from the request's JSON tree, or, for a posted body, from the
//! text itself without building a tree of its 10,000 items: in one pass when every parameter
//! has one of the shapes validators send ([`read_flat`]), else in two ([`read_body`]). Any
//! other item (its own value set or options, a `codeableConcept`, something malformed) is
//! kept as a parameter and goes the general way, which also names what is wrong with it.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::check::{Asked, At};
use super::params::{Param, Params};

/// One item of a batch.
pub enum Item<'p> {
    /// One coding and nothing else.
    Simple(Asked, At),
    /// Anything else: merged with the shared parameters and validated as a request of its own.
    General(Cow<'p, Param>),
}

/// One named value of an item.
enum Part<'v> {
    Coding(CodingRef<'v>),
    Text(Cow<'v, str>),
}

/// A Coding's fields, borrowed.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodingRef<'v> {
    #[serde(borrow, default)]
    system: Option<Cow<'v, str>>,
    #[serde(borrow, default)]
    version: Option<Cow<'v, str>>,
    #[serde(borrow, default)]
    code: Option<Cow<'v, str>>,
    #[serde(borrow, default)]
    display: Option<Cow<'v, str>>,
}

/// The coding the parts of an item give — a `coding`, or `code` with `system`, `version` or
/// `systemVersion` and `display` — or `None` when they give anything else.
fn assemble<'v>(
    parts: impl Iterator<Item = Option<(Cow<'v, str>, Part<'v>)>>,
) -> Option<(Asked, At)> {
    let mut asked = Asked::default();
    let mut at = None;
    let owned = |s: Option<Cow<'v, str>>| s.map(Cow::into_owned);
    for part in parts {
        let (name, value) = part?;
        match (name.as_ref(), value) {
            ("coding", Part::Coding(c)) if at.is_none() => {
                asked = Asked {
                    system: owned(c.system),
                    version: owned(c.version),
                    code: owned(c.code),
                    display: owned(c.display),
                };
                at = Some(At::Coding);
            }
            (name, Part::Text(text)) if !matches!(at, Some(At::Coding)) => {
                let slot = match name {
                    "code" => &mut asked.code,
                    "system" => &mut asked.system,
                    "version" | "systemVersion" => &mut asked.version,
                    "display" => &mut asked.display,
                    _ => return None,
                };
                if slot.is_some() {
                    return None;
                }
                *slot = Some(text.into_owned());
                at = Some(At::Params);
            }
            _ => return None,
        }
    }
    match at {
        Some(At::Params) if asked.code.is_none() => None,
        Some(at) => Some((asked, at)),
        None => None,
    }
}

/// The coding of an item already in a JSON tree (a `resource` Parameters or `part`s).
pub fn simple(item: &Param) -> Option<(Asked, At)> {
    let list = match item.resource() {
        Some(resource) => {
            (resource.get("resourceType")?.as_str()? == "Parameters").then_some(())?;
            resource.get("parameter")?.as_array()?
        }
        None => item.value_of("part")?.as_array()?,
    };
    assemble(list.iter().map(|p| {
        let p = p.as_object()?;
        if p.len() != 2 {
            return None;
        }
        let name = p.get("name")?.as_str()?;
        let (key, value) = p.iter().find(|(k, _)| k.as_str() != "name")?;
        let part = match (name, key.as_str()) {
            ("coding", "valueCoding") => Part::Coding(CodingRef::deserialize(value).ok()?),
            ("coding", _) => return None,
            (_, key) if key.starts_with("value") => Part::Text(Cow::Borrowed(value.as_str()?)),
            _ => return None,
        };
        Some((Cow::Borrowed(name), part))
    }))
}

/// A posted body's outline: its type and its parameters, each left unparsed.
#[derive(Deserialize)]
struct Outline<'b> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Cow<'b, str>,
    #[serde(borrow, default)]
    parameter: Vec<&'b RawValue>,
}

/// A posted body whose every parameter is a [`FlatParam`], read in one pass.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatBody<'b> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Cow<'b, str>,
    #[serde(default)]
    parameter: FlatParams,
}

/// The parameters of a flat body, each read into an item or a shared parameter as it comes
/// (not first as a list of 10,000 [`FlatParam`]s: moving those was 4 % of a batch).
#[derive(Default)]
struct FlatParams {
    items: Vec<Item<'static>>,
    shared: Vec<Param>,
}

impl<'de> Deserialize<'de> for FlatParams {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Each;
        impl<'de> serde::de::Visitor<'de> for Each {
            type Value = FlatParams;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of parameters")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<FlatParams, A::Error> {
                let mut read = FlatParams::default();
                while let Some(param) = seq.next_element::<FlatParam<'de>>()? {
                    match param.read() {
                        Flat::Simple(asked, at) => read.items.push(Item::Simple(asked, at)),
                        Flat::Shared(param) => read.shared.push(param),
                        Flat::Other => {
                            return Err(serde::de::Error::custom("a parameter of another shape"))
                        }
                    }
                }
                Ok(read)
            }
        }
        deserializer.deserialize_seq(Each)
    }
}

/// A parameter of the shapes nearly every batch is made of: an item holding one Parameters
/// resource of simple parts, or a shared parameter of one primitive value. The shape is
/// fixed, so reading it needs no check of the nesting depth.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatParam<'b> {
    #[serde(borrow)]
    name: Cow<'b, str>,
    #[serde(borrow, default)]
    resource: Option<SimpleResource<'b>>,
    #[serde(rename = "valueCode", borrow, default)]
    code: Option<Cow<'b, str>>,
    #[serde(rename = "valueUri", borrow, default)]
    uri: Option<Cow<'b, str>>,
    #[serde(rename = "valueCanonical", borrow, default)]
    canonical: Option<Cow<'b, str>>,
    #[serde(rename = "valueString", borrow, default)]
    string: Option<Cow<'b, str>>,
    #[serde(rename = "valueDateTime", borrow, default)]
    date_time: Option<Cow<'b, str>>,
    #[serde(rename = "valueDate", borrow, default)]
    date: Option<Cow<'b, str>>,
    #[serde(rename = "valueBoolean", default)]
    boolean: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimpleResource<'b> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Cow<'b, str>,
    #[serde(borrow)]
    parameter: Vec<SimplePart<'b>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimplePart<'b> {
    #[serde(borrow)]
    name: Cow<'b, str>,
    #[serde(rename = "valueCoding", borrow, default)]
    coding: Option<CodingRef<'b>>,
    #[serde(rename = "valueCode", borrow, default)]
    code: Option<Cow<'b, str>>,
    #[serde(rename = "valueString", borrow, default)]
    string: Option<Cow<'b, str>>,
    #[serde(rename = "valueUri", borrow, default)]
    uri: Option<Cow<'b, str>>,
}

/// What a [`FlatParam`] is.
enum Flat {
    /// An item of one coding.
    Simple(Asked, At),
    /// A shared parameter.
    Shared(Param),
    /// An item of another shape (read as JSON, it goes the general way).
    Other,
}

impl FlatParam<'_> {
    fn read(self) -> Flat {
        match (self.name.as_ref(), self.resource) {
            ("validation", Some(resource)) => resource
                .coding()
                .map_or(Flat::Other, |(asked, at)| Flat::Simple(asked, at)),
            ("validation", None) | (_, Some(_)) => Flat::Other,
            (name, None) => {
                let text = [
                    ("valueCode", self.code),
                    ("valueUri", self.uri),
                    ("valueCanonical", self.canonical),
                    ("valueString", self.string),
                    ("valueDateTime", self.date_time),
                    ("valueDate", self.date),
                ]
                .into_iter()
                .filter_map(|(key, v)| Some((key, Value::String(v?.into_owned()))));
                let boolean = self.boolean.map(|b| ("valueBoolean", Value::Bool(b)));
                let mut values = text.chain(boolean);
                let (Some((key, value)), None) = (values.next(), values.next()) else {
                    return Flat::Other;
                };
                let mut json = serde_json::Map::new();
                json.insert("name".into(), Value::String(name.to_owned()));
                json.insert(key.into(), value);
                Param::from_json(json).map_or(Flat::Other, Flat::Shared)
            }
        }
    }
}

impl SimpleResource<'_> {
    fn coding(self) -> Option<(Asked, At)> {
        if self.resource_type != "Parameters" {
            return None;
        }
        assemble(self.parameter.into_iter().map(|p| {
            let value = match (p.coding, p.code, p.string, p.uri) {
                (Some(c), None, None, None) => Part::Coding(c),
                (None, Some(t), None, None)
                | (None, None, Some(t), None)
                | (None, None, None, Some(t)) => Part::Text(t),
                _ => return None,
            };
            Some((p.name, value))
        }))
    }
}

/// The query's parameters: the shared ones, and its `validation` items (general ones).
fn from_query(query: &Params) -> (Vec<Param>, Vec<Item<'static>>) {
    let mut shared = Vec::new();
    let mut items = Vec::new();
    for p in query.items() {
        if p.name == "validation" {
            items.push(Item::General(Cow::Owned(p.clone())));
        } else {
            shared.push(p.clone());
        }
    }
    (shared, items)
}

/// A posted `$batch-validate-code` body read in one pass, when it is a Parameters resource
/// of items of one coding and shared parameters of one primitive value each (what validators
/// send): the shared parameters (after those of the query string) and the items, in order.
/// `None` when the body has any other shape; [`read_body`] reads it then. Its shape is fixed,
/// so no nesting depth needs checking first.
pub fn read_flat(query: &Params, body: &str) -> Option<(Params, Vec<Item<'static>>)> {
    let flat: FlatBody<'_> = serde_json::from_str(body).ok()?;
    if flat.resource_type != "Parameters" {
        return None;
    }
    let (mut shared, mut items) = from_query(query);
    shared.extend(flat.parameter.shared);
    if items.is_empty() {
        items = flat.parameter.items;
    } else {
        items.extend(flat.parameter.items);
    }
    Some((Params::from_params(shared), items))
}

/// A posted `$batch-validate-code` body (its depth checked) read without a JSON tree of it:
/// the shared parameters (after those of the query string) and the items, in order. `None`
/// when the body is not a plain Parameters resource of named parameters: the caller reads
/// it the general way then, which says what is wrong.
pub fn read_body(query: &Params, body: &str) -> Option<(Params, Vec<Item<'static>>)> {
    let outline: Outline<'_> = serde_json::from_str(body).ok()?;
    if outline.resource_type != "Parameters" {
        return None;
    }
    let (mut shared, mut items) = from_query(query);
    items.reserve(outline.parameter.len());
    // An item of one coding is read into what the check asks for; the others (and the
    // shared parameters not of one primitive value) are parsed as JSON trees.
    let read = outline.parameter.iter().map(|raw| {
        match serde_json::from_str::<FlatParam<'_>>(raw.get()).map(FlatParam::read) {
            Ok(Flat::Simple(asked, at)) => return Some(Ok((asked, at))),
            Ok(Flat::Shared(param)) => return Some(Err(param)),
            Ok(Flat::Other) | Err(_) => {}
        }
        let Value::Object(json) = serde_json::from_str::<Value>(raw.get()).ok()? else {
            return None;
        };
        Param::from_json(json).map(Err)
    });
    for one in read {
        match one? {
            Ok((asked, at)) => items.push(Item::Simple(asked, at)),
            Err(param) if param.name == "validation" => {
                items.push(Item::General(Cow::Owned(param)))
            }
            Err(param) => shared.push(param),
        }
    }
    Some((Params::from_params(shared), items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(json: Value) -> Param {
        match json {
            Value::Object(map) => Param::from_json(map).expect("named"),
            _ => panic!("an object"),
        }
    }

    fn fields(a: &Asked) -> [Option<&str>; 4] {
        [
            a.system.as_deref(),
            a.version.as_deref(),
            a.code.as_deref(),
            a.display.as_deref(),
        ]
    }

    #[test]
    fn items_of_one_coding_are_read_and_others_are_left() {
        let coding = json!({"name": "validation", "resource": {"resourceType": "Parameters",
            "parameter": [{"name": "coding", "valueCoding": {"system": "http://s", "code": "1", "display": "表示"}}]}});
        let (asked, at) = simple(&param(coding)).expect("simple");
        assert_eq!(at, At::Coding);
        assert_eq!(
            fields(&asked),
            [Some("http://s"), None, Some("1"), Some("表示")]
        );
        let parts = json!({"name": "validation", "part": [
            {"name": "code", "valueCode": "1"}, {"name": "system", "valueUri": "http://s"},
            {"name": "systemVersion", "valueString": "2"}]});
        let (asked, at) = simple(&param(parts)).expect("simple");
        assert_eq!(at, At::Params);
        assert_eq!(
            fields(&asked),
            [Some("http://s"), Some("2"), Some("1"), None]
        );
        for other in [
            // An option of its own, a coding and a code, two codes, no code, a Coding field
            // the fast path does not read, a value that is not text, not Parameters.
            json!({"name": "validation", "part": [{"name": "code", "valueCode": "1"},
                {"name": "lenient-display-validation", "valueBoolean": true}]}),
            json!({"name": "validation", "part": [{"name": "coding", "valueCoding": {"code": "1"}},
                {"name": "code", "valueCode": "1"}]}),
            json!({"name": "validation", "part": [{"name": "code", "valueCode": "1"},
                {"name": "code", "valueCode": "2"}]}),
            json!({"name": "validation", "part": [{"name": "display", "valueString": "x"}]}),
            json!({"name": "validation", "part": [{"name": "coding",
                "valueCoding": {"code": "1", "userSelected": true}}]}),
            json!({"name": "validation", "part": [{"name": "code", "valueInteger": 1}]}),
            json!({"name": "validation", "resource": {"resourceType": "Bundle", "parameter": []}}),
        ] {
            assert!(simple(&param(other.clone())).is_none(), "{other}");
        }
    }

    #[test]
    fn a_posted_body_is_read_into_shared_parameters_and_items_in_order() {
        let body = json!({"resourceType": "Parameters", "parameter": [
            {"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "coding", "valueCoding": {"system": "http://s", "code": "a\"b"}}]}},
            {"name": "displayLanguage", "valueCode": "ja"},
            {"name": "validation", "part": [{"name": "coding", "valueCoding": {"code": "2"}}]},
        ]})
        .to_string();
        let query = Params::from_query("url=http%3A%2F%2Fv").expect("query");
        assert!(
            read_flat(&query, &body).is_none(),
            "an item of parts is not flat"
        );
        let (shared, items) = read_body(&query, &body).expect("read");
        let names: Vec<&str> = shared.items().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["url", "displayLanguage"]);
        assert_eq!(items.len(), 2);
        match &items[0] {
            Item::Simple(asked, At::Coding) => assert_eq!(asked.code.as_deref(), Some("a\"b")),
            _ => panic!("the first item is one coding"),
        }
        assert!(matches!(&items[1], Item::General(p) if p.name == "validation"));
        // Not a Parameters resource, not JSON, a parameter without a name: read the general
        // way (which says what is wrong).
        for bad in [
            r#"{"resourceType": "Bundle"}"#,
            "[",
            r#"{"resourceType": "Parameters", "parameter": [{"valueString": "x"}]}"#,
        ] {
            assert!(read_body(&Params::default(), bad).is_none(), "{bad}");
            assert!(read_flat(&Params::default(), bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_flat_body_is_read_in_one_pass_as_in_two() {
        let body = json!({"resourceType": "Parameters", "parameter": [
            {"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "coding", "valueCoding": {"system": "http://s", "code": "1", "display": "表\\示"}}]}},
            {"name": "lenient-display-validation", "valueBoolean": true},
            {"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "code", "valueCode": "2"}, {"name": "system", "valueUri": "http://s"}]}},
            {"name": "displayLanguage", "valueCode": "ja"},
        ]})
        .to_string();
        let query = Params::from_query("url=http%3A%2F%2Fv").expect("query");
        let one = read_flat(&query, &body).expect("flat");
        let two = read_body(&query, &body).expect("outline");
        for (shared, items) in [one, two] {
            let names: Vec<(&str, Option<&Value>)> = shared
                .items()
                .iter()
                .map(|p| (p.name.as_str(), p.value_of("valueBoolean")))
                .collect();
            assert_eq!(
                names,
                [
                    ("url", None),
                    ("lenient-display-validation", Some(&json!(true))),
                    ("displayLanguage", None)
                ]
            );
            let read: Vec<_> = items
                .iter()
                .map(|item| match item {
                    Item::Simple(asked, at) => (fields(asked), at.clone()),
                    Item::General(p) => panic!("{} read the general way", p.name),
                })
                .collect();
            assert_eq!(
                read,
                [
                    (
                        [Some("http://s"), None, Some("1"), Some("表\\示")],
                        At::Coding
                    ),
                    ([Some("http://s"), None, Some("2"), None], At::Params),
                ]
            );
        }
        // Shapes left to the two-pass reading: an item of parts, a shared parameter of two
        // values or of a resource, a field the shapes do not have.
        for other in [
            json!({"name": "validation", "part": [{"name": "code", "valueCode": "1"}]}),
            json!({"name": "x", "valueCode": "1", "valueString": "2"}),
            json!({"name": "valueSet", "resource": {"resourceType": "ValueSet"}}),
            json!({"name": "x", "valueInteger": 1}),
        ] {
            let body = json!({"resourceType": "Parameters", "parameter": [other]}).to_string();
            assert!(read_flat(&Params::default(), &body).is_none(), "{other}");
            assert!(read_body(&Params::default(), &body).is_some(), "{other}");
        }
    }
}

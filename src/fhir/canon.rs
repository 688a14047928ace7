//! The code systems as FHIR names them: canonical URLs (JP Core / JP-CLINS, §4.1 of
//! `../shared/docs/fhir-terminology.md`), `urn:hyojun:<key>` for the systems no one has
//! published a URL for (JAN, 薬価, レセ電算医薬品, JLAC11, 看護行為 管理番号), the legacy OIDs
//! as aliases (accepted with a warning naming the canonical URL), publishers and how each
//! master's release labels compare.

use std::sync::OnceLock;

use crate::systems::{CodeSystem, Master, CODE_SYSTEMS};

/// How a request named a code system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// By its canonical URL (or hyojun's `urn:hyojun:` URI).
    Canonical,
    /// By a legacy OID alias (`urn:oid:…`): answered, with a warning to use the URL.
    Oid,
}

/// A code system a request named, and how.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub system: &'static CodeSystem,
    pub named: Named,
}

impl Resolved {
    /// The system's canonical URI.
    pub fn url(&self) -> &'static str {
        url(self.system)
    }
}

/// The canonical URI of every system, in registry order.
fn urls() -> &'static [String] {
    static URLS: OnceLock<Vec<String>> = OnceLock::new();
    URLS.get_or_init(|| {
        CODE_SYSTEMS
            .iter()
            .map(|s| {
                s.canonical_url
                    .map_or_else(|| format!("urn:hyojun:{}", s.key), str::to_owned)
            })
            .collect()
    })
}

/// The canonical URI of a system: its JP Core / JP-CLINS URL, else `urn:hyojun:<key>`.
pub fn url(system: &CodeSystem) -> &'static str {
    CODE_SYSTEMS
        .iter()
        .position(|s| s.key == system.key)
        .map_or("", |i| urls()[i].as_str())
}

/// The system a FHIR `system` URI names: a canonical URL, `urn:hyojun:<key>` or an OID
/// alias. hyojun's own short keys (`hot9`) are not FHIR system URIs.
pub fn resolve(uri: &str) -> Option<Resolved> {
    if let Some(i) = urls().iter().position(|u| u == uri) {
        return Some(Resolved {
            system: &CODE_SYSTEMS[i],
            named: Named::Canonical,
        });
    }
    CODE_SYSTEMS
        .iter()
        .find(|s| s.oids.contains(&uri))
        .map(|system| Resolved {
            system,
            named: Named::Oid,
        })
}

/// Who publishes a system's codes.
pub fn publisher(system: &CodeSystem) -> &'static str {
    match system.key {
        "receipt_drug" | "receipt_disease" | "receipt_modifier" => "社会保険診療報酬支払基金",
        "yakka" | "icd10" => "厚生労働省",
        "yj" => "一般財団法人医療情報システム開発センター (MEDIS-DC) / 医薬品情報 (YJコード)",
        "jan" => "GS1 Japan",
        "jlac10" | "jlac11" => "日本臨床検査医学会 (JSLM)",
        _ => "一般財団法人医療情報システム開発センター (MEDIS-DC)",
    }
}

/// How a master's release labels sort (`CodeSystem.versionAlgorithm`): HOT labels are dates
/// `yyyymmdd` (integers); 病名 and 看護 `M.NN`, JLAC numbers or dates: `natural`.
pub fn version_algorithm(master: Master) -> &'static str {
    match master {
        Master::Hot => "integer",
        Master::Byomei | Master::Jlac | Master::Nursing => "natural",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_resolve_by_url_urn_and_oid() {
        let hot9 = resolve("http://medis.or.jp/CodeSystem/master-HOT9").expect("hot9");
        assert_eq!((hot9.system.key, hot9.named), ("hot9", Named::Canonical));
        let oid = resolve("urn:oid:1.2.392.100495.20.2.74").expect("alias");
        assert_eq!((oid.system.key, oid.named), ("hot9", Named::Oid));
        assert_eq!(oid.url(), "http://medis.or.jp/CodeSystem/master-HOT9");
        let jan = resolve("urn:hyojun:jan").expect("jan");
        assert_eq!(jan.url(), "urn:hyojun:jan");
        assert!(resolve("hot9").is_none(), "a key is no FHIR system");
        assert!(resolve("http://loinc.org").is_none());
        // Every system has a distinct canonical URI.
        let mut seen = std::collections::HashSet::new();
        for s in CODE_SYSTEMS.iter() {
            assert!(seen.insert(url(s)), "{}", s.key);
        }
    }
}

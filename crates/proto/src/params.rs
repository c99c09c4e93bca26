//! Reading and rewriting single members of `params` without touching the rest.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Reads one top-level member of a params object, leaving the others unparsed.
/// Returns `None` when params are absent, not an object, or the member is missing or of another type.
pub fn object_field<T: DeserializeOwned>(params: Option<&RawValue>, key: &str) -> Option<T> {
    let members: BTreeMap<String, &RawValue> = serde_json::from_str(params?.get()).ok()?;
    serde_json::from_str(members.get(key)?.get()).ok()
}

/// Returns a copy of a params object with one top-level member replaced (or added).
/// Other members are copied as raw JSON, unparsed. `None` when `params` is not an object.
pub fn with_field(params: &RawValue, key: &str, value: &RawValue) -> Option<Box<RawValue>> {
    let mut members: BTreeMap<String, &RawValue> = serde_json::from_str(params.get()).ok()?;
    members.insert(key.to_owned(), value);
    serde_json::value::to_raw_value(&members).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn reads_one_member() {
        let p = raw(r#"{"name":"echo","arguments":{"text":"hi"}}"#);
        assert_eq!(
            object_field::<String>(Some(&p), "name").as_deref(),
            Some("echo")
        );
        assert_eq!(object_field::<String>(Some(&p), "missing"), None);
        assert_eq!(object_field::<u32>(Some(&p), "name"), None);
        assert_eq!(object_field::<String>(None, "name"), None);
        assert_eq!(object_field::<String>(Some(&raw("[1]")), "name"), None);
    }

    #[test]
    fn rewrites_one_member_and_keeps_the_rest_verbatim() {
        let p = raw(r#"{"name":"a__echo","arguments":{"x":1.50}}"#);
        let out = with_field(&p, "name", &raw(r#""echo""#)).unwrap();
        assert_eq!(out.get(), r#"{"arguments":{"x":1.50},"name":"echo"}"#);
        assert!(with_field(&raw("[]"), "name", &raw("1")).is_none());
    }
}

//! Reading and rewriting single members of `params` without touching the rest.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Reads one top-level member of a params object, leaving the others unparsed.
/// Returns `None` when params are absent, not an object, or the member is missing or of another type.
/// As in any JSON object read by serde, the last of duplicate members counts.
pub fn object_field<T: DeserializeOwned>(params: Option<&RawValue>, key: &str) -> Option<T> {
    let params = params?;
    if surely_absent(params.get(), key) {
        return None;
    }
    let member = member(params, key)?;
    serde_json::from_str(member.get()).ok()
}

/// Whether `key` cannot be a member name in `json`, found by a substring search (much cheaper
/// than parsing; `_meta`, read on every forwarded request, is usually absent). A plain key can
/// only be written as itself or with `\u` escapes, so neither in the text means not there.
fn surely_absent(json: &str, key: &str) -> bool {
    let plain = key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    // `"key"` first: a present key is usually near the start, which ends the search early.
    plain && !contains_quoted(json, key) && !json.contains("\\u")
}

/// Whether `"key"` occurs in `json`.
fn contains_quoted(json: &str, key: &str) -> bool {
    // `str::contains` is vectorised for short needles; build `"key"` without allocating.
    let mut buf = [b'"'; 34];
    let Some(inner) = buf.get_mut(1..=key.len()).filter(|_| key.len() <= 32) else {
        return json.contains(&format!("\"{key}\""));
    };
    inner.copy_from_slice(key.as_bytes());
    match std::str::from_utf8(&buf[..key.len() + 2]) {
        Ok(needle) => json.contains(needle),
        Err(_) => true,
    }
}

/// The raw text of one top-level member, found in one pass that skips the other members without
/// allocating (this runs several times per call: routing, headers, `_meta`).
fn member<'a>(params: &'a RawValue, key: &str) -> Option<&'a RawValue> {
    let mut de = serde_json::Deserializer::from_str(params.get());
    de.deserialize_map(Member { key }).ok()?
}

/// Visits an object's members, keeping the raw value of the one named `key`.
struct Member<'k> {
    key: &'k str,
}

impl<'de> Visitor<'de> for Member<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(wanted) = map.next_key_seed(IsKey(self.key))? {
            if wanted {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Compares an object key with the wanted one without allocating it.
struct IsKey<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for IsKey<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
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
        assert_eq!(object_field::<String>(Some(&raw("\"name\"")), "name"), None);
    }

    #[test]
    fn reads_members_whatever_their_neighbours() {
        let p = raw(r#"{"a":[{"name":"inner"}],"n\u0061me":"escaped","b":{"c":"\"}"},"x":null}"#);
        assert_eq!(
            object_field::<String>(Some(&p), "name").as_deref(),
            Some("escaped")
        );
        assert_eq!(object_field::<()>(Some(&p), "x"), Some(()));
        let b: serde_json::Value = object_field(Some(&p), "b").unwrap();
        assert_eq!(b, serde_json::json!({"c": "\"}"}));
        // The last of duplicate members counts, whatever the type of the earlier ones.
        let dup = raw(r#"{"name":1,"name":"second"}"#);
        assert_eq!(
            object_field::<String>(Some(&dup), "name").as_deref(),
            Some("second")
        );
        let dup = raw(r#"{"name":"first","name":2}"#);
        assert_eq!(object_field::<String>(Some(&dup), "name"), None);
    }

    #[test]
    fn keys_written_with_escapes_are_found() {
        let p = raw(r#"{"text":"_meta and name","\u005fmeta":{"a":1}}"#);
        let meta: serde_json::Value = object_field(Some(&p), "_meta").unwrap();
        assert_eq!(meta, serde_json::json!({"a": 1}));
        assert!(surely_absent(r#"{"text":"_meta"}"#, "name"));
        // A value that looks like the key is enough to parse, to be sure.
        assert!(!surely_absent(r#"{"text":"_meta"}"#, "_meta"));
        assert!(!surely_absent(r#"{"x":"\u0041"}"#, "_meta"));
    }

    #[test]
    fn rewrites_one_member_and_keeps_the_rest_verbatim() {
        let p = raw(r#"{"name":"a__echo","arguments":{"x":1.50}}"#);
        let out = with_field(&p, "name", &raw(r#""echo""#)).unwrap();
        assert_eq!(out.get(), r#"{"arguments":{"x":1.50},"name":"echo"}"#);
        assert!(with_field(&raw("[]"), "name", &raw("1")).is_none());
    }
}

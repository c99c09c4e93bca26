//! JSON (tool arguments) as Cedar values.

use cedar_policy::RestrictedExpression;
use serde_json::Value;

/// A JSON value as a Cedar value; `None` for `null`, which becomes an absent attribute.
///
/// Integers (and floats with an integral value) become `Long`s; other numbers become their text,
/// so a comparison with them is a type error — and a `forbid` that errors refuses the call.
pub(crate) fn to_cedar(v: &Value) -> Option<RestrictedExpression> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::Number(n) => match n.as_i64().or_else(|| integral(n.as_f64()?)) {
            Some(i) => RestrictedExpression::new_long(i),
            None => RestrictedExpression::new_string(n.to_string()),
        },
        Value::String(s) => RestrictedExpression::new_string(s.clone()),
        Value::Array(items) => RestrictedExpression::new_set(items.iter().filter_map(to_cedar)),
        Value::Object(map) => record(map)?,
    })
}

/// A JSON object as a Cedar record (`None` only if Cedar refuses it, which it does not for
/// unique string keys).
pub(crate) fn record(map: &serde_json::Map<String, Value>) -> Option<RestrictedExpression> {
    RestrictedExpression::new_record(
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), to_cedar(v)?))),
    )
    .ok()
}

#[allow(clippy::cast_possible_truncation)]
fn integral(f: f64) -> Option<i64> {
    // Exactly representable and in range: 1000.0 is the Long 1000, so a rule on amounts cannot
    // be sidestepped by writing the number differently.
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

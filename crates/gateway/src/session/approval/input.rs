//! Approval for MCP 2026-07-28 clients, which cannot be sent requests: a held call is answered
//! with an `InputRequiredResult` that asks `elicitation/create` under the key `moat/approval`,
//! and the client retries the call with the user's answer.
//!
//! moat keeps no state between the rounds: its `requestState` is sealed (HMAC-SHA256 under a
//! key of this process), bound to the caller, the tool and the arguments' hash, valid until the
//! approval timeout, and spent on first use. The upstream's own `requestState`, if the client
//! was in the middle of a round with the server, travels inside the seal and is handed back to
//! it. When an approved call's server itself answers `input_required`, its state is sealed again
//! as "approved", so the next round goes through without asking the user twice.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use moat_config::ApprovalSettings;
use moat_proto::{RawValue, Request, Response};
use parking_lot::Mutex;
use rand::RngCore;
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::form::{self, Answer};
use super::{Held, Outcome, Party, max_hours, refused};
use crate::session::Session;
use crate::session::authorize::{Authorized, now_unix};

/// The key of moat's question in `inputRequests` and of the answer in `inputResponses`.
const INPUT_KEY: &str = "moat/approval";
/// Marks a `requestState` as moat's (and its format version).
const PREFIX: &str = "moat1.";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// How many spent seals are remembered before expired ones are forgotten.
const SPENT_PRUNE_AT: usize = 1_024;

/// Which round a sealed state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Stage {
    /// The user was asked; the retry must carry their answer.
    Asked,
    /// The user approved; a later round of the same call needs no new answer.
    Approved,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    stage: Stage,
    /// What the seal is bound to (see [`binding`]).
    binding: String,
    /// Unix seconds after which it is refused.
    expires: i64,
    /// Makes each seal single-use.
    nonce: String,
    /// The upstream's own `requestState`.
    inner: Option<String>,
}

/// Seals and opens moat's `requestState`s.
pub(crate) struct Sealer {
    key: hmac::Key,
    /// Nonces of opened seals, with their expiry.
    spent: Mutex<HashMap<String, i64>>,
}

impl Sealer {
    /// A sealer with a fresh random key: seals of another process (or an earlier run) are
    /// refused.
    pub(crate) fn new() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            spent: Mutex::new(HashMap::new()),
        }
    }

    fn seal(&self, stage: Stage, binding: &str, ttl: Duration, inner: Option<String>) -> String {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        self.seal_until(stage, binding, now_unix() + ttl, inner)
    }

    fn seal_until(
        &self,
        stage: Stage,
        binding: &str,
        expires: i64,
        inner: Option<String>,
    ) -> String {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = Sealed {
            stage,
            binding: binding.to_owned(),
            expires,
            nonce: URL_SAFE_NO_PAD.encode(nonce),
            inner,
        };
        let payload = serde_json::to_vec(&sealed).unwrap_or_default();
        let tag = hmac::sign(&self.key, &payload);
        format!(
            "{PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The seal's stage and inner state, if it is moat's, unaltered, bound to `binding`,
    /// unexpired and unused; else why not.
    fn open(&self, text: &str, binding: &str) -> Result<(Stage, Option<String>), &'static str> {
        let body = text.strip_prefix(PREFIX).ok_or("is not moat's")?;
        let (payload, tag) = body.split_once('.').ok_or("is malformed")?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| "is malformed")?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| "is malformed")?;
        hmac::verify(&self.key, &payload, &tag).map_err(|_| "was not sealed by this moat")?;
        let sealed: Sealed = serde_json::from_slice(&payload).map_err(|_| "is malformed")?;
        let now = now_unix();
        if sealed.binding != binding {
            return Err("belongs to another call");
        }
        if sealed.expires < now {
            return Err("has expired");
        }
        let mut spent = self.spent.lock();
        if spent.len() >= SPENT_PRUNE_AT {
            spent.retain(|_, expires| *expires >= now);
        }
        if spent.insert(sealed.nonce, sealed.expires).is_some() {
            return Err("was used already");
        }
        Ok((sealed.stage, sealed.inner))
    }
}

/// After an approved call: its server's `input_required` answer gets moat's "approved" seal.
pub(crate) struct Reseal {
    binding: String,
    ttl: Duration,
}

impl Reseal {
    /// `response`, with its `requestState` sealed when it asks the client for more input.
    pub(crate) fn apply(self, sealer: &Sealer, response: Response) -> Response {
        let Some(mut result) = response
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str::<Map<String, Value>>(r.get()).ok())
        else {
            return response;
        };
        if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
            return response;
        }
        let inner = result
            .get("requestState")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let state = sealer.seal(Stage::Approved, &self.binding, self.ttl, inner);
        result.insert("requestState".into(), Value::String(state));
        match (
            response.id.clone(),
            serde_json::value::to_raw_value(&result),
        ) {
            (Some(id), Ok(raw)) => Response::result(id, raw),
            _ => response,
        }
    }
}

impl Session {
    /// One round of a 2026-07-28 held call: the decision read from the retry (the upstream's
    /// own state restored in the request), or `Err`, the `InputRequiredResult` that asks.
    pub(super) async fn input_round(
        &self,
        authorized: &mut Authorized,
        held: &Held,
        party: &Party,
        settings: ApprovalSettings,
    ) -> Result<Outcome, Box<RawValue>> {
        let binding = binding(held, party);
        let sealer = &self.gateway.sealer;
        let mut params = params_of(&authorized.req);
        let state = params.get("requestState").and_then(Value::as_str);
        let Some(state) = state.filter(|s| s.starts_with(PREFIX)).map(str::to_owned) else {
            let inner = state.map(str::to_owned);
            let sealed = sealer.seal(Stage::Asked, &binding, settings.timeout, inner);
            let mut ask = form::elicitation_params(held, party, max_hours(settings));
            ask["mode"] = json!("form");
            let result = json!({
                "resultType": "input_required",
                "inputRequests": {INPUT_KEY: {"method": "elicitation/create", "params": ask}},
                "requestState": sealed,
            });
            return match serde_json::value::to_raw_value(&result) {
                Ok(raw) => Err(raw),
                Err(e) => Ok(refused(format!("the question could not be built: {e}"))),
            };
        };
        let (stage, inner) = match sealer.open(&state, &binding) {
            Ok(opened) => opened,
            Err(why) => return Ok(refused(format!("the requestState {why}"))),
        };
        let answer = params
            .get_mut("inputResponses")
            .and_then(Value::as_object_mut)
            .and_then(|r| r.remove(INPUT_KEY));
        restore(&mut authorized.req, params, inner);
        authorized.reseal = Some(Reseal {
            binding,
            ttl: settings.timeout,
        });
        let answer = match (stage, answer) {
            (Stage::Approved, _) => {
                return Ok(Outcome::Approved {
                    by: "the user, in an earlier round of this call".into(),
                    how: "continued",
                });
            }
            (Stage::Asked, Some(answer)) => form::read_result(&answer, max_hours(settings)),
            (Stage::Asked, None) => {
                Answer::refused(format!("the retry carried no inputResponses.{INPUT_KEY}"))
            }
        };
        Ok(self.record_answer(held, party, settings, answer).await)
    }
}

/// Whether the request carries a `requestState` of moat's.
pub(super) fn carries_seal(req: &Request) -> bool {
    moat_proto::object_field::<String>(req.params.as_deref(), "requestState")
        .is_some_and(|s| s.starts_with(PREFIX))
}

/// Whether a 2026-07-28 request's `_meta` declares form elicitation.
pub(super) fn client_elicits(req: &Request) -> bool {
    moat_proto::object_field::<Value>(req.params.as_deref(), "_meta")
        .is_some_and(|m| elicits_form(&m[META_CAPABILITIES]))
}

/// Whether client capabilities include form elicitation (`{}` means form, by the spec).
pub(super) fn elicits_form(capabilities: &Value) -> bool {
    let elicitation = &capabilities["elicitation"];
    elicitation.is_object()
        && (elicitation.get("form").is_some() || elicitation.get("url").is_none())
}

/// What a seal is bound to: who calls which tool with which arguments.
fn binding(held: &Held, party: &Party) -> String {
    let who = json!([party.agent, party.user, held.server, held.tool]);
    form::arguments_sha256(&json!([who, held.arguments_sha256]))
}

fn params_of(req: &Request) -> Map<String, Value> {
    req.params
        .as_deref()
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_default()
}

/// Puts the request back as the upstream should see it: its own state, no answer of moat's.
fn restore(req: &mut Request, mut params: Map<String, Value>, inner: Option<String>) {
    match inner {
        Some(state) => params.insert("requestState".into(), Value::String(state)),
        None => params.remove("requestState"),
    };
    if params
        .get("inputResponses")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        params.remove("inputResponses");
    }
    req.params = serde_json::value::to_raw_value(&params).ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn a_seal_opens_once_for_its_binding_only() {
        let sealer = Sealer::new();
        let sealed = sealer.seal(Stage::Asked, "b1", TTL, Some("upstream".into()));
        assert_eq!(sealer.open(&sealed, "b2"), Err("belongs to another call"));
        assert_eq!(
            sealer.open(&sealed, "b1"),
            Ok((Stage::Asked, Some("upstream".into())))
        );
        assert_eq!(sealer.open(&sealed, "b1"), Err("was used already"));
    }

    #[test]
    fn altered_foreign_and_expired_seals_are_refused() {
        let sealer = Sealer::new();
        let sealed = sealer.seal(Stage::Approved, "b", TTL, None);
        let (payload, _) = sealed
            .split_once('.')
            .map(|(_, rest)| rest)
            .unwrap()
            .split_once('.')
            .unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
                .unwrap()
                .replace("\"approved\"", "\"asked\""),
        );
        assert_ne!(forged_payload, payload);
        let forged = sealed.replacen(payload, &forged_payload, 1);
        assert_eq!(
            sealer.open(&forged, "b"),
            Err("was not sealed by this moat")
        );
        assert_eq!(
            Sealer::new().open(&sealed, "b"),
            Err("was not sealed by this moat")
        );
        assert_eq!(sealer.open("opaque", "b"), Err("is not moat's"));
        let expired = sealer.seal_until(Stage::Asked, "b", now_unix() - 1, None);
        assert_eq!(sealer.open(&expired, "b"), Err("has expired"));
    }

    fn result(v: Value) -> Response {
        Response::result(
            moat_proto::Id::Num(7),
            serde_json::value::to_raw_value(&v).unwrap(),
        )
    }

    #[test]
    fn an_upstream_asking_for_input_gets_an_approved_seal_around_its_state() {
        let sealer = Sealer::new();
        let reseal = || Reseal {
            binding: "b".into(),
            ttl: TTL,
        };
        let asked = result(json!({"resultType": "input_required", "requestState": "up-1"}));
        let sealed = reseal().apply(&sealer, asked);
        let state: Value = serde_json::from_str(sealed.result.as_deref().unwrap().get()).unwrap();
        let text = state["requestState"].as_str().unwrap();
        assert_eq!(
            sealer.open(text, "b"),
            Ok((Stage::Approved, Some("up-1".into())))
        );
        let done = result(json!({"content": []}));
        let same = reseal().apply(&sealer, done.clone());
        assert_eq!(
            same.result.as_deref().map(RawValue::get),
            done.result.as_deref().map(RawValue::get)
        );
    }

    #[test]
    fn the_request_is_restored_for_the_upstream() {
        let mut req = Request::new(
            moat_proto::Id::Num(1),
            "tools/call",
            serde_json::value::to_raw_value(&json!({
                "name": "x", "requestState": "moat1.x",
                "inputResponses": {INPUT_KEY: {"action": "accept"}, "up": {"action": "accept"}}
            }))
            .ok(),
        );
        let mut params = params_of(&req);
        params["inputResponses"]
            .as_object_mut()
            .unwrap()
            .remove(INPUT_KEY);
        restore(&mut req, params, Some("up-state".into()));
        let params = params_of(&req);
        assert_eq!(params["requestState"], "up-state");
        assert_eq!(
            params["inputResponses"],
            json!({"up": {"action": "accept"}})
        );
        restore(&mut req, Map::new(), None);
        assert!(params_of(&req).get("requestState").is_none());
        assert!(elicits_form(&json!({"elicitation": {}})));
        assert!(elicits_form(
            &json!({"elicitation": {"form": {}, "url": {}}})
        ));
        assert!(!elicits_form(&json!({"elicitation": {"url": {}}})));
        assert!(!elicits_form(&json!({})));
    }
}

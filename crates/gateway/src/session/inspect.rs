//! What upstreams answer is inspected before the client sees it: personal data and secrets in
//! tool results, prompts and resource contents (text, `structuredContent`, embedded resources:
//! every string of the result) are masked, pseudonymised, counted or block the answer, as the
//! guard's actions say.

use moat_guard::Outcome;
use moat_proto::{ErrorObject, Response, codes};
use serde_json::{Map, Value, json};

use super::Session;
use crate::events;

impl Session {
    /// `response` as the client may see it.
    pub(super) fn inspect(&self, method: &str, response: Response) -> Response {
        let Some(raw) = response.result.as_deref() else {
            return response;
        };
        let Ok(mut result) = serde_json::from_str::<Map<String, Value>>(raw.get()) else {
            // What cannot be read cannot be cleared (nested past the parser's limit, say).
            let error = ErrorObject::new(
                codes::GUARD_BLOCKED,
                "blocked: the answer could not be inspected",
            );
            return Response::error(response.id.clone(), &error);
        };
        // moat's own sealed state (and a server's) is opaque: it must come back unchanged.
        let state = result.remove("requestState");
        let mut outcome = Outcome::default();
        for value in result.values_mut() {
            self.gateway.redactor.redact_json(value, &mut outcome);
        }
        if !outcome.found() {
            return response;
        }
        events::findings(&self.id, method, &outcome);
        let Some(id) = response.id.clone() else {
            return response;
        };
        if outcome.blocked {
            let classes: Vec<&str> = outcome
                .counts
                .keys()
                .filter(|(_, action)| *action == "block")
                .map(|(class, _)| class.as_str())
                .collect();
            let error = ErrorObject::new(
                codes::GUARD_BLOCKED,
                format!("blocked: the answer contains {}", classes.join(", ")),
            )
            .with_data(json!({ "classes": classes }));
            return Response::error(Some(id), &error);
        }
        if !outcome.changed() {
            return response;
        }
        if let Some(state) = state {
            result.insert("requestState".into(), state);
        }
        match serde_json::value::to_raw_value(&result) {
            Ok(raw) => Response::result(id, raw),
            // A result that parsed always serialises; refusing is the safe answer regardless.
            Err(e) => Response::error(
                Some(id),
                &ErrorObject::new(codes::INTERNAL_ERROR, format!("inspection failed: {e}")),
            ),
        }
    }
}

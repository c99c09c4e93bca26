//! `POST /oauth/register`: RFC 7591 dynamic client registration, when `auth.server.
//! client_registration` is `open` or `pending`. A registered client is an agent like any other:
//! with `pending` it cannot get a token until an operator runs `moat agents resume`.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use moat_config::Registration;
use moat_oauth::{ErrorCode, OAuthError};
use moat_store::{
    Admission, ClientId, GrantType, NewAgent, NewOAuthClient, OpaqueToken, Scopes, SecretHash,
};
use serde::Deserialize;
use serde_json::json;

use super::{Server, json_response, oauth_error, unavailable};

#[derive(Deserialize)]
pub(super) struct Metadata {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    scope: Option<String>,
}

const MAX_REDIRECT_URIS: usize = 10;

pub(super) async fn register(Server(server): Server, body: Bytes) -> Response {
    let server = &*server;
    let admission = match server.settings.registration {
        Registration::Off => return StatusCode::NOT_FOUND.into_response(),
        Registration::Open => Admission::Activate,
        Registration::Pending => Admission::HoldPending,
    };
    let result = async {
        let meta: Metadata = serde_json::from_slice(&body).map_err(|e| {
            OAuthError::new(ErrorCode::InvalidClientMetadata, format!("not client metadata: {e}"))
        })?;
        let new = check(meta, &server.settings.registration_scopes, admission, None)?;
        let secret = match new.1 {
            true => Some(OpaqueToken::generate()),
            false => None,
        };
        let mut client = new.0;
        client.secret_hash = match &secret {
            Some(s) => Some(
                SecretHash::hash(s.expose()).map_err(|e| unavailable("secret hashing", e))?,
            ),
            None => None,
        };
        let (agent, registered) = server
            .issuer
            .store()
            .clients()
            .register(&client)
            .await
            .map_err(|e| unavailable("the client registry", e))?;
        tracing::info!(client = %agent.id, status = agent.status.as_str(), "client registered itself (RFC 7591)");
        let mut answer = json!({
            "client_id": agent.id.as_str(),
            "client_id_issued_at": registered.created_at.timestamp(),
            "client_name": agent.name,
            "redirect_uris": registered.redirect_uris,
            "grant_types": registered.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "response_types": if registered.grant_types.contains(&GrantType::AuthorizationCode) { vec!["code"] } else { vec![] },
            "token_endpoint_auth_method": if secret.is_some() { "client_secret_basic" } else { "none" },
            "scope": agent.allowed_scopes.to_string(),
        });
        if let Some(s) = secret {
            answer["client_secret"] = json!(s.expose());
            answer["client_secret_expires_at"] = json!(0);
        }
        Ok::<_, OAuthError>(answer)
    }
    .await;
    match result {
        Ok(answer) => json_response(StatusCode::CREATED, &answer),
        Err(e) => oauth_error(&e),
    }
}

/// Checks a self-registration and turns it into a new client (with `id`, else a generated one);
/// the flag says whether it gets a secret. A client that registers itself may ask only for
/// `offered` scopes (all of them when it names none), and only for grants that involve a user:
/// client credentials would let anyone mint tokens, so those clients are registered by an
/// operator.
pub(super) fn check(
    meta: Metadata,
    offered: &[String],
    admission: Admission,
    id: Option<String>,
) -> Result<(NewOAuthClient, bool), OAuthError> {
    let bad = |why: String| OAuthError::new(ErrorCode::InvalidClientMetadata, why);
    let confidential = match meta.token_endpoint_auth_method.as_deref() {
        None | Some("none") => false,
        Some("client_secret_basic" | "client_secret_post") => true,
        Some(other) => {
            return Err(bad(format!(
                "token_endpoint_auth_method {other:?} is not supported"
            )));
        }
    };
    // RFC 7591 §2: without grant_types, authorization_code alone (no refresh tokens).
    let grant_names = meta
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let mut grants = Vec::new();
    for g in &grant_names {
        grants.push(match g.as_str() {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" => {
                return Err(bad(
                    "client_credentials clients are registered by an operator \
                     (moat agents register --client-credentials), not by themselves"
                        .into(),
                ));
            }
            other => return Err(bad(format!("grant type {other:?} is not supported"))),
        });
    }
    if meta
        .response_types
        .is_some_and(|r| r.iter().any(|t| t != "code"))
    {
        return Err(bad("only the code response type is supported".into()));
    }
    if grants.contains(&GrantType::AuthorizationCode) {
        if meta.redirect_uris.is_empty() || meta.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(OAuthError::new(
                ErrorCode::InvalidRedirectUri,
                format!("between 1 and {MAX_REDIRECT_URIS} redirect_uris are required"),
            ));
        }
        if let Some(bad_uri) = meta.redirect_uris.iter().find(|u| !acceptable_redirect(u)) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRedirectUri,
                format!(
                    "{bad_uri:?}: redirect URIs must be https://, http:// on a loopback host, \
                     or a private-use scheme, without a fragment"
                ),
            ));
        }
    }
    let scopes: Vec<String> = match &meta.scope {
        Some(s) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => offered.to_vec(),
    };
    if let Some(unknown) = scopes.iter().find(|s| !offered.contains(s)) {
        return Err(bad(format!(
            "scope {unknown:?} is not offered to self-registered clients (auth.server.registration_scopes)"
        )));
    }
    let allowed = Scopes::from_tokens(scopes.iter()).map_err(|e| bad(e.to_string()))?;
    let id = id.unwrap_or_else(|| format!("dcr-{}", &OpaqueToken::generate().expose()[..22]));
    let name = meta
        .client_name
        .filter(|n| !n.trim().is_empty() && n.len() <= 200)
        .unwrap_or_else(|| id.clone());
    Ok((
        NewOAuthClient {
            agent: NewAgent {
                id: ClientId::new(id),
                name,
                owner: None,
                allowed_scopes: allowed,
                admission,
            },
            redirect_uris: meta.redirect_uris,
            grant_types: grants,
            secret_hash: None,
        },
        confidential,
    ))
}

/// https anywhere; http only on loopback (native apps, RFC 8252 §7.3); private-use schemes
/// (`com.example.app:/cb`, RFC 8252 §7.1) but never ones that run code in a browser. Parsed as a
/// URL, so `http://localhost:1@evil.example/` is seen for what it is; credentials and
/// fragments are refused.
pub(super) fn acceptable_redirect(uri: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(uri) else {
        return false;
    };
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(&url),
        "javascript" | "data" | "vbscript" | "file" | "blob" | "about" | "ws" | "wss" | "ftp" => {
            false
        }
        other => other.contains('.'),
    }
}

/// Whether the URL's host is the loopback interface.
pub(super) fn is_loopback(url: &reqwest::Url) -> bool {
    host_ip(url).map_or_else(
        || {
            url.host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case("localhost"))
        },
        |ip| ip.is_loopback(),
    )
}

/// The URL's host as an IP address, when it is one (the parser has already normalised forms
/// such as `127.1` or `2130706433` to `127.0.0.1`).
pub(super) fn host_ip(url: &reqwest::Url) -> Option<std::net::IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(json: serde_json::Value) -> Metadata {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn redirect_uris_must_be_safe() {
        assert!(acceptable_redirect("https://app.example/cb"));
        assert!(acceptable_redirect("http://127.0.0.1:4567/cb"));
        assert!(acceptable_redirect("http://localhost/cb"));
        assert!(acceptable_redirect("com.example.app:/oauth"));
        assert!(!acceptable_redirect("http://app.example/cb"));
        assert!(!acceptable_redirect("https://app.example/cb#x"));
        assert!(!acceptable_redirect("javascript:alert(1)"));
        assert!(!acceptable_redirect("http://127.0.0.1.evil.example/cb"));
        assert!(!acceptable_redirect("http://localhost:1@evil.example/cb"));
        assert!(!acceptable_redirect("https://user:pw@app.example/cb"));
        assert!(acceptable_redirect("http://[::1]/cb"));
    }

    #[test]
    fn registrations_are_checked() {
        let offered = vec!["a".to_owned(), "b".to_owned()];
        let (c, secret) = check(
            meta(json!({"redirect_uris": ["http://127.0.0.1/cb"], "scope": "a"})),
            &offered,
            Admission::HoldPending,
            None,
        )
        .unwrap();
        assert!(!secret);
        assert_eq!(
            c.grant_types,
            [GrantType::AuthorizationCode],
            "RFC 7591 default"
        );
        assert_eq!(c.agent.admission, Admission::HoldPending);
        assert!(c.agent.id.as_str().starts_with("dcr-"));
        let (all, _) = check(
            meta(json!({"redirect_uris": ["http://127.0.0.1/cb"]})),
            &offered,
            Admission::Activate,
            Some("fixed".into()),
        )
        .unwrap();
        assert_eq!(all.agent.id.as_str(), "fixed");
        assert!(all.agent.allowed_scopes.contains("a") && all.agent.allowed_scopes.contains("b"));
        let beyond = check(
            meta(json!({"redirect_uris": ["http://127.0.0.1/cb"], "scope": "admin"})),
            &offered,
            Admission::Activate,
            None,
        );
        assert_eq!(beyond.unwrap_err().error, ErrorCode::InvalidClientMetadata);
        let no_uris = check(meta(json!({})), &offered, Admission::Activate, None);
        assert_eq!(no_uris.unwrap_err().error, ErrorCode::InvalidRedirectUri);
        // Client credentials would let anyone mint tokens without a user: never self-registered.
        let cc = check(
            meta(
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"}),
            ),
            &offered,
            Admission::Activate,
            None,
        );
        assert!(cc.unwrap_err().error_description.contains("operator"));
        let (confidential, secret) = check(
            meta(json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_basic"})),
            &offered,
            Admission::Activate,
            None,
        )
        .unwrap();
        assert!(secret);
        assert_eq!(confidential.grant_types, [GrantType::AuthorizationCode]);
    }
}

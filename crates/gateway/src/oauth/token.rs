//! `POST /oauth/token` (RFC 6749 §3.2 with OAuth 2.1's rules) and `POST /oauth/revoke`
//! (RFC 7009).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use moat_oauth::authorize::{check_resource, narrow_scopes};
use moat_oauth::params::Params;
use moat_oauth::token_request::{ClientCredentials, Grant, client_credentials};
use moat_oauth::{ErrorCode, OAuthError};
use moat_store::chrono::{TimeDelta, Utc};
use moat_store::{
    AgentStatus, ClientId, FamilyId, GrantType, NewRefreshToken, NextRefreshToken, OAuthClient,
    OpaqueToken, Scopes, StoreError, Subject, TokenHash,
};
use serde_json::json;

use super::{AuthServer, IssueError, Server, json_response, oauth_error, unavailable};
use crate::state::GatewayState;

fn form(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::new(ErrorCode::InvalidRequest, "the body must be UTF-8"))?;
    Params::parse(text)
}

impl AuthServer {
    /// Authenticates the client of a token or revocation request: a confidential client by its
    /// secret (argon2id, off the async threads), a public one by its id alone.
    async fn authenticate_client(
        &self,
        creds: ClientCredentials,
    ) -> Result<OAuthClient, OAuthError> {
        let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidClient, why);
        let store = self.issuer.store();
        let id = ClientId::new(creds.client_id.clone());
        let client = store
            .clients()
            .find(&id)
            .await
            .map_err(|e| unavailable("the client registry", e))?
            .ok_or_else(|| invalid("unknown client"))?;
        match (client.is_confidential(), creds.secret) {
            (true, Some(secret)) => {
                let c = client.clone();
                let ok = tokio::task::spawn_blocking(move || c.verify_secret(&secret))
                    .await
                    .unwrap_or(false);
                if !ok {
                    return Err(invalid("client authentication failed"));
                }
            }
            (true, None) => return Err(invalid("this client must authenticate with its secret")),
            (false, Some(_)) => return Err(invalid("this client is public and has no secret")),
            (false, None) => {}
        }
        let agent = store
            .agents()
            .find(&id)
            .await
            .map_err(|e| unavailable("the agent registry", e))?
            .ok_or_else(|| invalid("unknown client"))?;
        if agent.status != AgentStatus::Active {
            return Err(invalid(&format!("the client is {}", agent.status.as_str())));
        }
        Ok(client)
    }
}

pub(super) async fn token(
    State(state): State<Arc<GatewayState>>,
    Server(server): Server,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let server = &*server;
    match grant(&state, server, &headers, &body).await {
        Ok(answer) => json_response(StatusCode::OK, &answer),
        Err(e) => {
            tracing::warn!(
                error = e.code(),
                "token request refused: {}",
                e.error_description
            );
            oauth_error(&e)
        }
    }
}

async fn grant(
    state: &GatewayState,
    server: &AuthServer,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<serde_json::Value, OAuthError> {
    let params = form(headers, body)?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let creds = client_credentials(authorization, &params)?;
    let grant = Grant::parse(&params)?;
    let client = server.authenticate_client(creds).await?;
    let client_id = client.client_id.as_str().to_owned();
    let resource = server.issuer.resource();
    let refused = |grant: GrantType| {
        OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "the client is not registered for the {} grant",
                grant.as_str()
            ),
        )
    };
    let (subject, scopes, refresh, redeemed_code) = match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
            resource: requested,
        } => {
            if !client.allows(GrantType::AuthorizationCode) {
                return Err(refused(GrantType::AuthorizationCode));
            }
            let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidGrant, why);
            // Taken before any check: a code is single-use even when the attempt fails.
            let Some(granted) = server.codes.take(&code) else {
                if let Some(redeemed) = server.redeemed.take(&code) {
                    // A code presented twice was stolen, or the client is broken: what the
                    // first use obtained is revoked (RFC 6749 §4.1.2).
                    revoke_redeemed(state, server, redeemed).await?;
                    return Err(invalid(
                        "the code was already used; the tokens issued for it are revoked",
                    ));
                }
                return Err(invalid("the code is unknown or expired"));
            };
            let request = granted.request;
            if request.client_id != client_id {
                return Err(invalid("the code was issued to another client"));
            }
            if request.redirect_uri != redirect_uri {
                return Err(invalid(
                    "redirect_uri differs from the authorization request's",
                ));
            }
            if !request.challenge.is_met_by(&code_verifier) {
                return Err(invalid("code_verifier does not match the code_challenge"));
            }
            check_resource(requested.as_deref(), resource)?;
            let refresh = client.allows(GrantType::RefreshToken);
            (granted.subject, request.scopes, refresh, Some(code))
        }
        Grant::RefreshToken {
            refresh_token,
            scopes,
            resource: requested,
        } => {
            if !client.allows(GrantType::RefreshToken) {
                return Err(refused(GrantType::RefreshToken));
            }
            check_resource(requested.as_deref(), resource)?;
            let known = server
                .issuer
                .store()
                .refresh_tokens()
                .find(&TokenHash::of(&refresh_token))
                .await
                .map_err(|e| unavailable("the refresh-token store", e))?
                .filter(|t| t.client_id == client.client_id)
                .ok_or_else(|| OAuthError::new(ErrorCode::InvalidGrant, "unknown refresh token"))?;
            // A user removed from the config keeps no access through an old grant.
            if !server.users.contains_key(known.subject.as_str()) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidGrant,
                    "the user of this grant no longer exists",
                ));
            }
            let granted: Vec<String> = known.scopes.iter().map(str::to_owned).collect();
            // Everything that can refuse or fail comes before the token is spent, so a client
            // that asks for too much, or meets a passing fault, keeps its grant.
            let scopes = narrow_scopes(scopes, &granted)?;
            let token = issue(server, &client_id, known.subject.as_str(), &scopes).await?;
            // The successor expires with the family's first token: a grant in steady use
            // still ends.
            let next = rotate(server, &client.client_id, &refresh_token, known.expires_at).await?;
            return Ok(answer(token, Some(next)));
        }
        Grant::ClientCredentials {
            scopes,
            resource: requested,
        } => {
            if !client.allows(GrantType::ClientCredentials) || !client.is_confidential() {
                return Err(refused(GrantType::ClientCredentials));
            }
            check_resource(requested.as_deref(), resource)?;
            let allowed = allowed_scopes(server, &client.client_id).await?;
            let scopes = narrow_scopes(scopes, &allowed)?;
            (client_id.clone(), scopes, false, None)
        }
    };
    let token = issue(server, &client_id, &subject, &scopes).await?;
    let family = if refresh {
        Some(start_family(server, &client.client_id, &subject, &scopes).await?)
    } else {
        None
    };
    if let Some(code) = redeemed_code {
        server.redeemed.insert_as(
            code,
            super::RedeemedCode {
                client_id: client_id.clone(),
                jti: token.jti.clone(),
                expires_at: Utc::now()
                    + TimeDelta::seconds(i64::try_from(token.expires_in).unwrap_or(3600)),
                family: family.as_ref().map(|(_, id)| id.clone()),
            },
        );
    }
    Ok(answer(token, family.map(|(t, _)| t)))
}

/// Revokes the access token and refresh-token family a replayed code first obtained.
async fn revoke_redeemed(
    state: &GatewayState,
    server: &AuthServer,
    redeemed: super::RedeemedCode,
) -> Result<(), OAuthError> {
    let store = server.issuer.store();
    store
        .revocations()
        .revoke(&redeemed.jti, &redeemed.client_id, redeemed.expires_at)
        .await
        .map_err(|e| unavailable("the revocation log", e))?;
    if let Some(family) = &redeemed.family {
        store
            .refresh_tokens()
            .revoke_family(family)
            .await
            .map_err(|e| unavailable("the refresh-token store", e))?;
    }
    if let Some(auth) = &state.auth {
        auth.note_revoked(&redeemed.jti);
    }
    tracing::warn!(client = %redeemed.client_id, jti = %redeemed.jti, "authorization code replayed: its tokens are revoked");
    Ok(())
}

fn answer(token: super::IssuedToken, refresh: Option<OpaqueToken>) -> serde_json::Value {
    let mut body = json!({
        "access_token": token.token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scopes.join(" "),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r.expose());
    }
    body
}

async fn allowed_scopes(server: &AuthServer, id: &ClientId) -> Result<Vec<String>, OAuthError> {
    let agent = server
        .issuer
        .store()
        .agents()
        .get(id)
        .await
        .map_err(|e| unavailable("the agent registry", e))?;
    Ok(agent.allowed_scopes.iter().map(str::to_owned).collect())
}

async fn issue(
    server: &AuthServer,
    client: &str,
    subject: &str,
    scopes: &[String],
) -> Result<super::IssuedToken, OAuthError> {
    server
        .issuer
        .access_token(client, subject, scopes, None)
        .await
        .map_err(|e| match e {
            IssueError::ScopeNotAllowed(..) => {
                OAuthError::new(ErrorCode::InvalidScope, e.to_string())
            }
            IssueError::AgentNotActive(..) | IssueError::UnknownAgent(_) => {
                OAuthError::new(ErrorCode::InvalidClient, e.to_string())
            }
            other => unavailable("token signing", other),
        })
}

fn refresh_expiry(server: &AuthServer) -> moat_store::chrono::DateTime<Utc> {
    Utc::now()
        + TimeDelta::from_std(server.settings.refresh_token_ttl).unwrap_or(TimeDelta::days(30))
}

async fn start_family(
    server: &AuthServer,
    client: &ClientId,
    subject: &str,
    scopes: &[String],
) -> Result<(OpaqueToken, FamilyId), OAuthError> {
    let token = OpaqueToken::generate();
    let scopes = Scopes::from_tokens(scopes.iter())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    let issued = server
        .issuer
        .store()
        .refresh_tokens()
        .issue(&NewRefreshToken {
            hash: token.hash(),
            client_id: client.clone(),
            subject: Subject::new(subject),
            scopes,
            expires_at: refresh_expiry(server),
        })
        .await
        .map_err(|e| unavailable("the refresh-token store", e))?;
    Ok((token, issued.family_id))
}

/// Exchanges a refresh token for its successor, expiring at `expires_at`. Reuse revokes the
/// whole family (the store does it atomically) and is logged: it means the token leaked or the
/// client is confused.
async fn rotate(
    server: &AuthServer,
    client: &ClientId,
    presented: &str,
    expires_at: moat_store::chrono::DateTime<Utc>,
) -> Result<OpaqueToken, OAuthError> {
    let next = OpaqueToken::generate();
    let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidGrant, why);
    let rotated = server
        .issuer
        .store()
        .refresh_tokens()
        .rotate(
            client,
            &TokenHash::of(presented),
            &NextRefreshToken {
                hash: next.hash(),
                expires_at,
            },
        )
        .await;
    match rotated {
        Ok(_) => Ok(next),
        Err(StoreError::Reused { family }) => {
            tracing::warn!(client = %client, family = %family, "refresh token reused: its whole family is revoked");
            Err(invalid(
                "the refresh token was already used; every token of its grant is revoked",
            ))
        }
        Err(StoreError::Revoked) => Err(invalid("the refresh token was revoked")),
        Err(StoreError::Expired) => Err(invalid("the refresh token has expired")),
        Err(StoreError::NotFound { .. }) => Err(invalid("unknown refresh token")),
        Err(e) => Err(unavailable("the refresh-token store", e)),
    }
}

pub(super) async fn revoke(
    State(state): State<Arc<GatewayState>>,
    Server(server): Server,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let server = &*server;
    let result = async {
        let params = form(&headers, &body)?;
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let creds = client_credentials(authorization, &params)?;
        let token = params.require("token")?.to_owned();
        let client = server.authenticate_client(creds).await?;
        revoke_token(&state, server, &client.client_id, &token).await
    }
    .await;
    match result {
        // RFC 7009 §2.2: 200 whether or not the token was valid.
        Ok(()) => json_response(StatusCode::OK, &json!({})),
        Err(e) => oauth_error(&e),
    }
}

async fn revoke_token(
    state: &GatewayState,
    server: &AuthServer,
    client: &ClientId,
    token: &str,
) -> Result<(), OAuthError> {
    let store = server.issuer.store();
    let hash = TokenHash::of(token);
    let refresh = store
        .refresh_tokens()
        .find(&hash)
        .await
        .map_err(|e| unavailable("the refresh-token store", e))?;
    if let Some(refresh) = refresh {
        if refresh.client_id == *client {
            store
                .refresh_tokens()
                .revoke_family(&refresh.family_id)
                .await
                .map_err(|e| unavailable("the refresh-token store", e))?;
            tracing::info!(client = %client, family = %refresh.family_id, "refresh token revoked with its family");
        }
        return Ok(());
    }
    let revoked = server
        .issuer
        .revoke_access_token(token, Some(client.as_str()))
        .await
        .map_err(|e| unavailable("the revocation log", e))?;
    if let Some(super::Revoked::Now { jti }) = revoked {
        tracing::info!(client = %client, jti = %jti, "access token revoked");
        if let Some(auth) = &state.auth {
            auth.note_revoked(&jti);
        }
    }
    Ok(())
}

//! `GET /oauth/authorize` checks the request and shows the sign-in and consent page;
//! `POST /oauth/authorize` takes the user's decision and redirects back to the client.

use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use moat_oauth::authorize::{
    ClientView, Rejection, check, client_id, error_redirect, success_redirect,
};
use moat_oauth::params::Params;
use moat_oauth::{ErrorCode, OAuthError};
use moat_store::{AgentStatus, ClientId, GrantType, NewConsent, OpaqueToken, Scopes, Subject};

use super::page::{ConsentPage, error_page};
use super::{AuthServer, CodeGrant, MAX_FAILED_SIGN_INS, PendingRequest, Server};

const CSRF_COOKIE: &str = "__Host-moat-csrf";

pub(super) async fn show(Server(server): Server, RawQuery(query): RawQuery) -> Response {
    let server = &*server;
    let params = match Params::parse(query.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.error_description),
    };
    match checked_request(server, &params).await {
        Ok(pending) => {
            let nonce = OpaqueToken::generate().expose().to_owned();
            let cookie = format!(
                "{CSRF_COOKIE}={nonce}.{}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=600",
                server.sign(&nonce)
            );
            page_for(server, pending, &nonce, None, &cookie)
        }
        Err(rejection) => reject(server, rejection),
    }
}

/// Looks the client up and checks the request against it.
async fn checked_request(
    server: &AuthServer,
    params: &Params,
) -> Result<PendingRequest, Rejection> {
    let id = client_id(params)?;
    let store = server.issuer.store();
    // A client named by its metadata document: its redirect URIs are the document's, now.
    let document_uris = if super::metadata_document::is_document_url(id) {
        Some(server.document_client(id).await.map_err(Rejection::Show)?)
    } else {
        None
    };
    let unknown = || {
        Rejection::Show(OAuthError::new(
            ErrorCode::InvalidRequest,
            "unknown client_id: register the client first",
        ))
    };
    let found = async {
        let client_id = ClientId::new(id);
        let client = store.clients().find(&client_id).await?;
        let agent = store.agents().find(&client_id).await?;
        Ok::<_, moat_store::StoreError>(client.zip(agent))
    }
    .await
    .map_err(|e| Rejection::Show(super::unavailable("the client registry", e)))?;
    let (client, agent) = found.ok_or_else(unknown)?;
    let allowed: Vec<String> = agent.allowed_scopes.iter().map(str::to_owned).collect();
    let view = ClientView {
        redirect_uris: document_uris.as_ref().unwrap_or(&client.redirect_uris),
        may_use_code: client.allows(GrantType::AuthorizationCode),
        allowed_scopes: &allowed,
    };
    let request = check(params, view, server.issuer.resource())?;
    if agent.status != AgentStatus::Active {
        let why = match agent.status {
            AgentStatus::Pending => "the client awaits approval by an operator",
            _ => "the client is suspended",
        };
        return Err(Rejection::Redirect {
            redirect_uri: request.redirect_uri,
            state: request.state,
            error: OAuthError::new(ErrorCode::AccessDenied, why),
        });
    }
    Ok(PendingRequest {
        request,
        client_name: agent.name,
        failed_sign_ins: 0,
        started: std::time::Instant::now(),
    })
}

fn page_for(
    server: &AuthServer,
    pending: PendingRequest,
    nonce: &str,
    error: Option<&str>,
    cookie: &str,
) -> Response {
    let client_name = pending.client_name.clone();
    let client_id = pending.request.client_id.clone();
    let redirect_uri = pending.request.redirect_uri.clone();
    let scopes: Vec<(String, String)> = pending
        .request
        .scopes
        .iter()
        .map(|s| {
            let description = server
                .scopes
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, d)| d.clone())
                .unwrap_or_default();
            (s.clone(), description)
        })
        .collect();
    let Some(request_id) = server.pending.insert(pending) else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many authorizations in progress; try again shortly",
        );
    };
    let csrf = server.sign(&format!("{nonce}|{request_id}"));
    ConsentPage {
        client_name: &client_name,
        client_id: &client_id,
        scopes: &scopes,
        request_id: &request_id,
        csrf: &csrf,
        error,
        redirect_uri: &redirect_uri,
    }
    .render(cookie)
}

fn reject(server: &AuthServer, rejection: Rejection) -> Response {
    match rejection {
        Rejection::Show(e) => {
            let status = if e.error == ErrorCode::TemporarilyUnavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_REQUEST
            };
            error_page(status, &e.error_description)
        }
        Rejection::Redirect {
            redirect_uri,
            state,
            error,
        } => redirect(&error_redirect(
            &redirect_uri,
            state.as_deref(),
            &error,
            server.issuer.issuer(),
        )),
    }
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    super::page::secure_headers(resp.headers_mut());
    resp
}

/// The CSRF cookie's nonce, if the cookie is present and carries moat's signature.
fn cookie_nonce(server: &AuthServer, headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix(CSRF_COOKIE)?.strip_prefix('='))
        .find_map(|value| {
            let (nonce, sig) = value.split_once('.')?;
            server.verify(nonce, sig).then(|| nonce.to_owned())
        })
}

pub(super) async fn decide(Server(server): Server, headers: HeaderMap, body: Bytes) -> Response {
    let server = &*server;
    let params = match std::str::from_utf8(&body)
        .map_err(|_| OAuthError::new(ErrorCode::InvalidRequest, "the form must be UTF-8"))
        .and_then(Params::parse)
    {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.error_description),
    };
    let (Some(request_id), Some(csrf)) = (params.get("request_id"), params.get("csrf")) else {
        return error_page(StatusCode::BAD_REQUEST, "the form is incomplete");
    };
    let Some(nonce) = cookie_nonce(server, &headers)
        .filter(|nonce| server.verify(&format!("{nonce}|{request_id}"), csrf))
    else {
        return error_page(
            StatusCode::FORBIDDEN,
            "the form did not come from this sign-in page (CSRF check failed)",
        );
    };
    let Some(mut pending) = server
        .pending
        .take(request_id)
        .filter(|p| p.started.elapsed() < super::PENDING_TTL)
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "this authorization request has expired or was already answered; start again from the application",
        );
    };
    let issuer = server.issuer.issuer();
    let request = &pending.request;
    if params.get("decision") != Some("approve") {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return redirect(&error_redirect(
            &request.redirect_uri,
            request.state.as_deref(),
            &denied,
            issuer,
        ));
    }
    let username = params.get("username").unwrap_or_default().to_owned();
    let password = params.get("password").unwrap_or_default().to_owned();
    if !server.check_password(&username, password).await {
        // The typed name is not logged: people type passwords into the wrong box.
        tracing::warn!(known_user = server.users.contains_key(&username), client = %request.client_id, "failed sign-in on the consent page");
        pending.failed_sign_ins += 1;
        if pending.failed_sign_ins >= MAX_FAILED_SIGN_INS {
            let denied = OAuthError::new(ErrorCode::AccessDenied, "too many failed sign-ins");
            return redirect(&error_redirect(
                &request.redirect_uri,
                request.state.as_deref(),
                &denied,
                issuer,
            ));
        }
        // The same cookie stays valid; the page gets a new request id and CSRF token.
        return page_for(server, pending, &nonce, Some("Wrong user or password."), "");
    }
    if let Err(e) = record_consent(server, &username, request).await {
        return reject(
            server,
            Rejection::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                error: e,
            },
        );
    }
    tracing::info!(user = %username, client = %request.client_id, scopes = %request.scopes.join(" "), "authorization granted");
    let request = pending.request;
    let grant = CodeGrant {
        request: request.clone(),
        subject: username,
    };
    match server.codes.insert(grant) {
        Some(code) => redirect(&success_redirect(&request, &code, issuer)),
        None => reject(
            server,
            Rejection::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                error: OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "too many codes outstanding",
                ),
            },
        ),
    }
}

/// Records the user's consent to the client for these scopes, unless an active one covers them.
async fn record_consent(
    server: &AuthServer,
    user: &str,
    request: &moat_oauth::authorize::AuthorizationRequest,
) -> Result<(), OAuthError> {
    let store = server.issuer.store();
    let scopes = Scopes::from_tokens(request.scopes.iter())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    let subject = Subject::new(user);
    let client = ClientId::new(request.client_id.clone());
    let consents = store.consents();
    let now = moat_store::clock::now();
    let covered = consents
        .covering(&subject, &client, &scopes, now)
        .await
        .map_err(|e| super::unavailable("the consent store", e))?;
    if covered.is_none() {
        consents
            .grant(&NewConsent {
                subject,
                client_id: client,
                scopes,
                expires_at: None,
            })
            .await
            .map_err(|e| super::unavailable("the consent store", e))?;
    }
    Ok(())
}

impl AuthServer {
    /// Whether `password` is `user`'s. Unknown users cost the same argon2 work, so timing does
    /// not reveal which names exist.
    async fn check_password(&self, user: &str, password: String) -> bool {
        let known = self.users.contains_key(user);
        let hash = self.users.get(user).unwrap_or(&self.dummy_hash).clone();
        let verified = tokio::task::spawn_blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false);
        known && verified
    }
}

//! An authorization request (RFC 6749 §4.1.1 with OAuth 2.1's rules) checked against the client
//! it names. Until the redirect URI is known to be the client's, errors must be shown to the
//! user and never sent anywhere (RFC 6749 §4.1.2.1): [`Rejection`] keeps the two apart.

use crate::error::{ErrorCode, OAuthError};
use crate::params::{Params, with_query};
use crate::pkce::CodeChallenge;

/// What moat knows of the client an authorization request names.
#[derive(Debug, Clone, Copy)]
pub struct ClientView<'a> {
    /// Registered redirect URIs; the request's must equal one exactly.
    pub redirect_uris: &'a [String],
    /// Whether the client may use the authorization-code grant.
    pub may_use_code: bool,
    /// The scopes the agent may be granted.
    pub allowed_scopes: &'a [String],
}

/// A request that passed every check: what the consent page shows and the code will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where the answer goes (one of the client's, exactly).
    pub redirect_uri: String,
    /// The client's `state`, returned as given.
    pub state: Option<String>,
    /// The PKCE challenge.
    pub challenge: CodeChallenge,
    /// The scopes asked for (the client's allowed scopes when it named none).
    pub scopes: Vec<String>,
    /// The resource the token will be for.
    pub resource: String,
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Show this to the user: the client or its redirect URI cannot be trusted.
    Show(OAuthError),
    /// Send this back to the client's (verified) redirect URI.
    Redirect {
        /// The verified redirect URI.
        redirect_uri: String,
        /// The client's `state`.
        state: Option<String>,
        /// The error.
        error: OAuthError,
    },
}

impl Rejection {
    /// The error, wherever it goes.
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::Show(e) | Self::Redirect { error: e, .. } => e,
        }
    }
}

/// The `client_id` of a request, needed to look the client up before [`check`].
pub fn client_id(params: &Params) -> Result<&str, Rejection> {
    params.require("client_id").map_err(Rejection::Show)
}

/// Checks `params` against the client; `issuer` and `resource` are moat's.
pub fn check(
    params: &Params,
    client: ClientView<'_>,
    resource: &str,
) -> Result<AuthorizationRequest, Rejection> {
    let client_id = client_id(params)?.to_owned();
    // OAuth 2.1: the redirect URI is compared as a string, and always sent.
    let redirect_uri = params.require("redirect_uri").map_err(Rejection::Show)?;
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(Rejection::Show(OAuthError::new(
            ErrorCode::InvalidRequest,
            "redirect_uri is not one of the client's registered redirect URIs (compared exactly)",
        )));
    }
    let state = params.get("state").map(str::to_owned);
    let redirect = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
    };
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(redirect(OAuthError::new(
                ErrorCode::InvalidRequest,
                "response_type is required",
            )));
        }
        Some(other) => {
            return Err(redirect(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!("response_type {other:?} is not supported; use code"),
            )));
        }
    }
    if !client.may_use_code {
        return Err(redirect(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client is not registered for the authorization_code grant",
        )));
    }
    let challenge = CodeChallenge::parse(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(redirect)?;
    let resource = check_resource(params.get("resource"), resource).map_err(redirect)?;
    let scopes = narrow_scopes(params.scopes(), client.allowed_scopes).map_err(redirect)?;
    Ok(AuthorizationRequest {
        client_id,
        redirect_uri: redirect_uri.to_owned(),
        state,
        challenge,
        scopes,
        resource,
    })
}

/// RFC 8707: a `resource` parameter must name moat's resource; without one the token is for
/// moat's resource anyway (moat serves exactly one).
pub fn check_resource(requested: Option<&str>, ours: &str) -> Result<String, OAuthError> {
    match requested {
        None => Ok(ours.to_owned()),
        Some(r) if r.trim_end_matches('/') == ours.trim_end_matches('/') => Ok(ours.to_owned()),
        Some(r) => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            format!("resource {r:?} is not served here; this server issues tokens for {ours}"),
        )),
    }
}

/// The scopes to grant: those requested, each of which the client must be allowed, or all the
/// client is allowed when none were named.
pub fn narrow_scopes(
    requested: Option<Vec<String>>,
    allowed: &[String],
) -> Result<Vec<String>, OAuthError> {
    let Some(mut requested) = requested else {
        return Ok(allowed.to_vec());
    };
    if let Some(beyond) = requested.iter().find(|s| !allowed.contains(s)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope {beyond:?} is not allowed for this client"),
        ));
    }
    requested.sort();
    requested.dedup();
    Ok(requested)
}

/// The redirect that answers a successful request (RFC 9207: with `iss`).
pub fn success_redirect(request: &AuthorizationRequest, code: &str, issuer: &str) -> String {
    let mut params = vec![("code", code)];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    with_query(&request.redirect_uri, &params)
}

/// The redirect that carries an error back to the client (RFC 6749 §4.1.2.1, RFC 9207).
pub fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
    issuer: &str,
) -> String {
    let mut params = vec![
        ("error", error.code()),
        ("error_description", error.error_description.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    with_query(redirect_uri, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const RESOURCE: &str = "https://moat.example/mcp";

    fn client<'a>(uris: &'a [String], scopes: &'a [String]) -> ClientView<'a> {
        ClientView {
            redirect_uris: uris,
            may_use_code: true,
            allowed_scopes: scopes,
        }
    }

    fn query(extra: &str) -> Params {
        Params::parse(&format!(
            "client_id=c1&redirect_uri=https%3A%2F%2Fc.example%2Fcb&response_type=code\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz{extra}"
        ))
        .unwrap()
    }

    fn uris() -> Vec<String> {
        vec!["https://c.example/cb".into()]
    }

    fn scopes() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn a_good_request_passes_with_default_scopes_and_resource() {
        let (u, s) = (uris(), scopes());
        let r = check(&query(""), client(&u, &s), RESOURCE).unwrap();
        assert_eq!(r.scopes, ["a", "b"]);
        assert_eq!(r.resource, RESOURCE);
        assert_eq!(r.state.as_deref(), Some("xyz"));
        let r = check(
            &query("&scope=b&resource=https%3A%2F%2Fmoat.example%2Fmcp"),
            client(&u, &s),
            RESOURCE,
        )
        .unwrap();
        assert_eq!(r.scopes, ["b"]);
        assert_eq!(
            success_redirect(&r, "C", "https://moat.example"),
            "https://c.example/cb?code=C&state=xyz&iss=https%3A%2F%2Fmoat.example"
        );
    }

    #[test]
    fn an_unregistered_redirect_uri_is_shown_never_redirected() {
        let (u, s) = (uris(), scopes());
        let p = Params::parse(&format!(
            "client_id=c1&redirect_uri=https%3A%2F%2Fc.example%2Fcb%2F&response_type=code\
             &code_challenge={CHALLENGE}&code_challenge_method=S256"
        ))
        .unwrap();
        assert!(matches!(
            check(&p, client(&u, &s), RESOURCE),
            Err(Rejection::Show(_))
        ));
    }

    #[test]
    fn later_errors_go_back_to_the_client_with_state() {
        let (u, s) = (uris(), scopes());
        let cases = [
            ("&scope=c", ErrorCode::InvalidScope),
            (
                "&resource=https%3A%2F%2Fother.example%2Fmcp",
                ErrorCode::InvalidTarget,
            ),
        ];
        for (extra, code) in cases {
            match check(&query(extra), client(&u, &s), RESOURCE) {
                Err(Rejection::Redirect { state, error, .. }) => {
                    assert_eq!(error.error, code, "{extra}");
                    assert_eq!(state.as_deref(), Some("xyz"));
                }
                other => panic!("{extra}: {other:?}"),
            }
        }
        let plain = Params::parse(&format!(
            "client_id=c1&redirect_uri=https%3A%2F%2Fc.example%2Fcb&response_type=code\
             &code_challenge={CHALLENGE}&code_challenge_method=plain"
        ))
        .unwrap();
        let e = check(&plain, client(&u, &s), RESOURCE).unwrap_err();
        assert_eq!(e.error().error, ErrorCode::InvalidRequest);
        let token = Params::parse(
            "client_id=c1&redirect_uri=https%3A%2F%2Fc.example%2Fcb&response_type=token",
        )
        .unwrap();
        let e = check(&token, client(&u, &s), RESOURCE).unwrap_err();
        assert_eq!(e.error().error, ErrorCode::UnsupportedResponseType);
        let mut no_code = client(&u, &s);
        no_code.may_use_code = false;
        let e = check(&query(""), no_code, RESOURCE).unwrap_err();
        assert_eq!(e.error().error, ErrorCode::UnauthorizedClient);
    }

    #[test]
    fn error_redirects_carry_the_issuer() {
        let e = OAuthError::new(ErrorCode::AccessDenied, "the user said no");
        assert_eq!(
            error_redirect("https://c.example/cb", Some("s"), &e, "https://m.example"),
            "https://c.example/cb?error=access_denied&error_description=the%20user%20said%20no&state=s&iss=https%3A%2F%2Fm.example"
        );
    }
}

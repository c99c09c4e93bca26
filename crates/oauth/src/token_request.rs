//! The token endpoint's input: who the client is (RFC 6749 §2.3) and which grant it presents.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;

/// The client's credentials as presented; verifying them is the caller's job (it has the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The secret, when the client sent one (HTTP Basic or `client_secret` in the body).
    pub secret: Option<String>,
}

/// Reads client authentication from an `Authorization` header (`client_secret_basic`) or the
/// body (`client_secret_post`, or `client_id` alone for a public client). Using two methods at
/// once is an error (RFC 6749 §2.3).
pub fn client_credentials(
    authorization: Option<&str>,
    params: &Params,
) -> Result<ClientCredentials, OAuthError> {
    let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidClient, why);
    if let Some(header) = authorization {
        let encoded = header
            .strip_prefix("Basic ")
            .ok_or_else(|| invalid("only HTTP Basic client authentication is supported"))?;
        if params.get("client_secret").is_some() {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "use one client authentication method, not two",
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid("malformed Basic credentials"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid("malformed Basic credentials"))?;
        // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
        let decode = |s: &str| {
            Params::parse(&format!("v={s}"))
                .ok()
                .and_then(|p| p.get("v").map(str::to_owned))
                .unwrap_or_default()
        };
        let client_id = decode(id);
        if params.get("client_id").is_some_and(|c| c != client_id) {
            return Err(invalid("client_id differs from the authenticated client"));
        }
        return Ok(ClientCredentials {
            client_id,
            secret: Some(decode(secret)),
        });
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| invalid("client authentication is required"))?;
    Ok(ClientCredentials {
        client_id: client_id.to_owned(),
        secret: params.get("client_secret").map(str::to_owned),
    })
}

/// A grant presented to the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// An authorization code with its PKCE verifier.
    AuthorizationCode {
        /// The code.
        code: String,
        /// Must equal the authorization request's.
        redirect_uri: String,
        /// The PKCE verifier.
        code_verifier: String,
        /// RFC 8707 resource, if sent.
        resource: Option<String>,
    },
    /// A refresh token, optionally narrowing the scopes.
    RefreshToken {
        /// The token.
        refresh_token: String,
        /// Scopes to narrow to.
        scopes: Option<Vec<String>>,
        /// RFC 8707 resource, if sent.
        resource: Option<String>,
    },
    /// The client's own credentials (headless agents).
    ClientCredentials {
        /// Scopes asked for.
        scopes: Option<Vec<String>>,
        /// RFC 8707 resource, if sent.
        resource: Option<String>,
    },
}

impl Grant {
    /// The grant in a token request body.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let resource = params.get("resource").map(str::to_owned);
        match params.require("grant_type")? {
            "authorization_code" => Ok(Self::AuthorizationCode {
                code: params.require("code")?.to_owned(),
                redirect_uri: params.require("redirect_uri")?.to_owned(),
                code_verifier: params
                    .get("code_verifier")
                    .ok_or_else(|| {
                        OAuthError::new(
                            ErrorCode::InvalidRequest,
                            "code_verifier is required (PKCE)",
                        )
                    })?
                    .to_owned(),
                resource,
            }),
            "refresh_token" => Ok(Self::RefreshToken {
                refresh_token: params.require("refresh_token")?.to_owned(),
                scopes: params.scopes(),
                resource,
            }),
            "client_credentials" => Ok(Self::ClientCredentials {
                scopes: params.scopes(),
                resource,
            }),
            "password" | "implicit" => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "OAuth 2.1 removed this grant",
            )),
            other => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {other:?} is not supported"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded_and_must_agree_with_the_body() {
        let header = format!("Basic {}", STANDARD.encode("agent%3A1:s%20ecret"));
        let c = client_credentials(Some(&header), &Params::default()).unwrap();
        assert_eq!(c.client_id, "agent:1");
        assert_eq!(c.secret.as_deref(), Some("s ecret"));
        let other = Params::parse("client_id=agent2").unwrap();
        assert_eq!(
            client_credentials(Some(&header), &other).unwrap_err().error,
            ErrorCode::InvalidClient
        );
        let both = Params::parse("client_secret=x").unwrap();
        assert_eq!(
            client_credentials(Some(&header), &both).unwrap_err().error,
            ErrorCode::InvalidRequest
        );
        assert!(client_credentials(Some("Bearer x"), &Params::default()).is_err());
        assert!(client_credentials(None, &Params::default()).is_err());
        let public = client_credentials(None, &Params::parse("client_id=p").unwrap()).unwrap();
        assert_eq!(public.secret, None);
    }

    #[test]
    fn grants_parse_and_removed_ones_are_refused() {
        let p = Params::parse("grant_type=authorization_code&code=c&redirect_uri=r").unwrap();
        assert!(
            Grant::parse(&p)
                .unwrap_err()
                .error_description
                .contains("code_verifier")
        );
        let p =
            Params::parse("grant_type=authorization_code&code=c&redirect_uri=r&code_verifier=v")
                .unwrap();
        assert!(matches!(
            Grant::parse(&p),
            Ok(Grant::AuthorizationCode { .. })
        ));
        let p = Params::parse("grant_type=refresh_token&refresh_token=t&scope=a%20b").unwrap();
        assert_eq!(
            Grant::parse(&p).unwrap(),
            Grant::RefreshToken {
                refresh_token: "t".into(),
                scopes: Some(vec!["a".into(), "b".into()]),
                resource: None
            }
        );
        let p = Params::parse("grant_type=password&username=u&password=p").unwrap();
        assert_eq!(
            Grant::parse(&p).unwrap_err().error,
            ErrorCode::UnsupportedGrantType
        );
    }
}

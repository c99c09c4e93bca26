//! Client ID Metadata Documents (MCP 2025-11-25): a client without prior registration names
//! itself by the https URL of a JSON document that lists its redirect URIs. moat fetches the
//! document on every authorization request (so a client's redirect URIs are always current),
//! records the client as an agent on first sight (`active`, or `pending` until an operator
//! approves it), and from then on treats it like any public client.
//!
//! Fetching a URL a stranger chose is an SSRF risk: only `https://` (plain `http://` only to a
//! loopback host while moat's own issuer is on loopback, for development), IP literals in
//! private ranges refused, no redirects, 5 s, 64 KiB. Name-based egress control is issue 6's.

use std::net::IpAddr;
use std::time::Duration;

use moat_config::Registration;
use moat_oauth::{ErrorCode, OAuthError};
use moat_store::{Admission, ClientId};

use super::register::{Metadata, check};
use super::{AuthServer, unavailable};

const MAX_DOCUMENT: usize = 64 * 1024;
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `client_id` names a metadata document rather than a registered client.
pub(super) fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    })
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a document URL before anything is fetched from it.
pub(super) fn acceptable_url(url: &str, issuer_on_loopback: bool) -> Result<(), String> {
    let host = host_of(url).ok_or("not a URL")?;
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    if path.len() <= 1 {
        return Err("a client ID metadata document URL must have a path".into());
    }
    if url.contains('#') || url.contains('@') {
        return Err("a client ID URL must not have a fragment or credentials".into());
    }
    if url.starts_with("http://") && !(issuer_on_loopback && is_loopback_host(host)) {
        return Err("a client ID URL must be https://".into());
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let private = match ip {
            IpAddr::V4(v4) => v4.is_private() || v4.is_link_local() || v4.is_unspecified(),
            IpAddr::V6(v6) => v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        };
        if private || (ip.is_loopback() && !issuer_on_loopback) {
            return Err("a client ID URL must not point into a private network".into());
        }
    }
    Ok(())
}

impl AuthServer {
    /// Fetches and checks the document `url` names, registers its client on first sight, and
    /// returns the redirect URIs the document lists now.
    pub(super) async fn document_client(&self, url: &str) -> Result<Vec<String>, OAuthError> {
        let refuse = |why: String| OAuthError::new(ErrorCode::InvalidRequest, why);
        let admission = match self.settings.metadata_documents {
            Registration::Off => {
                return Err(refuse(
                    "client ID metadata documents are not accepted here: register the client"
                        .into(),
                ));
            }
            Registration::Open => Admission::Activate,
            Registration::Pending => Admission::HoldPending,
        };
        let on_loopback = host_of(self.issuer.issuer()).is_some_and(is_loopback_host);
        acceptable_url(url, on_loopback).map_err(refuse)?;
        let body = self
            .fetch(url)
            .await
            .map_err(|e| refuse(format!("cannot fetch the client ID metadata document: {e}")))?;
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| refuse(format!("the client ID metadata document is not JSON: {e}")))?;
        if doc["client_id"].as_str() != Some(url) {
            return Err(refuse(
                "the metadata document's client_id differs from its URL".into(),
            ));
        }
        if doc["token_endpoint_auth_method"]
            .as_str()
            .is_some_and(|m| m != "none")
        {
            return Err(refuse(
                "only public clients (token_endpoint_auth_method none) may use metadata documents"
                    .into(),
            ));
        }
        let meta: Metadata = serde_json::from_value(doc)
            .map_err(|e| refuse(format!("the client ID metadata document is malformed: {e}")))?;
        let known: Vec<String> = self.scopes.iter().map(|(n, _)| n.clone()).collect();
        let (client, _) = check(
            meta,
            &known,
            &self.settings.registration_scopes,
            admission,
            Some(url.to_owned()),
        )
        .map_err(|e| refuse(e.error_description))?;
        let store = self.issuer.store();
        let id = ClientId::new(url);
        let known_client = store
            .clients()
            .find(&id)
            .await
            .map_err(|e| unavailable("the client registry", e))?;
        if known_client.is_none() {
            match store.clients().register(&client).await {
                Ok((agent, _)) => {
                    tracing::info!(client = %agent.id, status = agent.status.as_str(), "client recorded from its metadata document")
                }
                // Another request registered it at the same moment.
                Err(moat_store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(unavailable("the client registry", e)),
            }
        }
        Ok(client.redirect_uris)
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut resp = self
            .http
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(format!("larger than {MAX_DOCUMENT} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_urls_are_held_to_https_and_public_hosts() {
        assert!(acceptable_url("https://app.example/client.json", false).is_ok());
        assert!(
            acceptable_url("https://app.example", false).is_err(),
            "no path"
        );
        assert!(
            acceptable_url("https://app.example/", false).is_err(),
            "no path"
        );
        assert!(acceptable_url("http://app.example/c.json", false).is_err());
        assert!(acceptable_url("https://10.0.0.5/c.json", false).is_err());
        assert!(acceptable_url("https://[fd00::1]/c.json", false).is_err());
        assert!(acceptable_url("https://127.0.0.1/c.json", false).is_err());
        assert!(acceptable_url("https://user@app.example/c.json", false).is_err());
        assert!(
            acceptable_url("http://127.0.0.1:8/c.json", true).is_ok(),
            "development"
        );
        assert!(acceptable_url("http://app.example/c.json", true).is_err());
    }
}

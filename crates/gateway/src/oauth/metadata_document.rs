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

use super::register::{Metadata, check, host_ip, is_loopback};
use super::{AuthServer, unavailable};

const MAX_DOCUMENT: usize = 64 * 1024;
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `client_id` names a metadata document rather than a registered client.
pub(super) fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Checks a document URL before anything is fetched from it: parsed as a URL (so every spelling
/// of an address is normalised), no credentials or fragment, a path, `https` (plain `http` only
/// to loopback while moat's own issuer is on loopback), and no IP literal outside the public
/// internet.
pub(super) fn acceptable_url(url: &str, issuer_on_loopback: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a URL".to_owned())?;
    if parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a client ID URL must not have a fragment or credentials".into());
    }
    if parsed.path().len() <= 1 {
        return Err("a client ID metadata document URL must have a path".into());
    }
    let loopback = is_loopback(&parsed);
    match parsed.scheme() {
        "https" => {}
        "http" if issuer_on_loopback && loopback => {}
        _ => return Err("a client ID URL must be https://".into()),
    }
    if let Some(ip) = host_ip(&parsed)
        && !(loopback && issuer_on_loopback)
        && !is_public(ip)
    {
        return Err("a client ID URL must not point into a private network".into());
    }
    Ok(())
}

/// Whether an address belongs to the public internet: the egress rules' classification
/// (loopback, private, link-local, unique-local, CGNAT, documentation, reserved, and IPv6 forms
/// that carry such an IPv4 address are not).
fn is_public(ip: IpAddr) -> bool {
    moat_guard::egress::classify(ip).is_none()
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
        let on_loopback = reqwest::Url::parse(self.issuer.issuer()).is_ok_and(|u| is_loopback(&u));
        acceptable_url(url, on_loopback).map_err(refuse)?;
        // The cause stays in the log: telling a stranger why a fetch failed would make this
        // endpoint a port scanner.
        let body = self.fetch(url, on_loopback).await.map_err(|e| {
            tracing::warn!(client_id = %url, "cannot fetch the client ID metadata document: {e}");
            refuse("the client ID metadata document cannot be fetched".into())
        })?;
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
        let (client, _) = check(
            meta,
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

    /// Fetches the document. A host name is resolved first and every address it has must be
    /// public; the fetch then connects to exactly those addresses, so a second lookup cannot
    /// lead it elsewhere (DNS rebinding).
    async fn fetch(&self, url: &str, issuer_on_loopback: bool) -> Result<Vec<u8>, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        let pinned = match (parsed.domain(), is_loopback(&parsed) && issuer_on_loopback) {
            (Some(name), false) => Some(public_addresses(name, &parsed).await?),
            _ => None,
        };
        let client = match pinned {
            None => self.http.clone(),
            Some((name, addrs)) => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(FETCH_TIMEOUT)
                .resolve_to_addrs(&name, &addrs)
                .build()
                .map_err(|e| e.to_string())?,
        };
        let mut resp = client
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

/// Every address `name` resolves to, each public; a name with none, or with any address that is
/// not public, is refused.
async fn public_addresses(
    name: &str,
    url: &reqwest::Url,
) -> Result<(String, Vec<std::net::SocketAddr>), String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> =
        tokio::time::timeout(FETCH_TIMEOUT, tokio::net::lookup_host((name, port)))
            .await
            .map_err(|_| format!("{name} did not resolve in time"))?
            .map_err(|e| format!("{name} does not resolve: {e}"))?
            .collect();
    if addrs.is_empty() {
        return Err(format!("{name} has no address"));
    }
    if let Some(private) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "{name} resolves to {}, not a public address",
            private.ip()
        ));
    }
    Ok((name.to_owned(), addrs))
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
        for sneaky in [
            "https://2130706433/c.json",
            "https://127.1/c.json",
            "https://10.0.0.1./c.json",
            "https://[::ffff:10.0.0.1]/c.json",
            "https://[fe80::1]/c.json",
            "https://100.100.100.200/c.json",
            "https://169.254.169.254/latest",
            "https://localhost:1@10.0.0.1/c.json",
        ] {
            assert!(acceptable_url(sneaky, false).is_err(), "{sneaky}");
        }
    }
}

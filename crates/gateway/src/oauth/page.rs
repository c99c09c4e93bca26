//! The sign-in and consent page. Served with headers that keep it out of frames and caches, and
//! with no script at all.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// What the page shows.
pub(crate) struct ConsentPage<'a> {
    pub(crate) client_name: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) scopes: &'a [(String, String)],
    pub(crate) request_id: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) error: Option<&'a str>,
    /// Where the decision redirects to: the form's POST is answered with a 303 there, and
    /// browsers hold that redirect to `form-action` too.
    pub(crate) redirect_uri: &'a str,
}

/// The CSP source that allows the redirect to `redirect_uri`: its origin, or its scheme for a
/// private-use URI; nothing if it cannot be expressed safely.
fn redirect_source(redirect_uri: &str) -> Option<String> {
    let url = reqwest::Url::parse(redirect_uri).ok()?;
    let source = match url.scheme() {
        "http" | "https" => url.origin().ascii_serialization(),
        scheme => format!("{scheme}:"),
    };
    source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".:/-[]".contains(&b))
        .then_some(source)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl ConsentPage<'_> {
    pub(crate) fn render(&self, cookie: &str) -> Response {
        let scopes: String = if self.scopes.is_empty() {
            "<li>no scopes: only what needs none</li>".to_owned()
        } else {
            self.scopes
                .iter()
                .map(|(name, description)| {
                    format!(
                        "<li><code>{}</code> {}</li>",
                        escape(name),
                        escape(description)
                    )
                })
                .collect()
        };
        let error = self
            .error
            .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
            .unwrap_or_default();
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>moat: authorize {name}</title><style>body{{font-family:sans-serif;max-width:32em;\
             margin:3em auto}}.error{{color:#a00}}label{{display:block;margin:.5em 0}}</style></head>\
             <body><h1>Authorize {name}</h1><p>The agent <b>{name}</b> (<code>{id}</code>) asks to act \
             for you with these scopes:</p><ul>{scopes}</ul>{error}\
             <form method=\"post\" action=\"/oauth/authorize\">\
             <input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label>User <input name=\"username\" autocomplete=\"username\" required></label>\
             <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
             <button name=\"decision\" value=\"approve\">Sign in and allow</button> \
             <button name=\"decision\" value=\"deny\" formnovalidate>Deny</button></form></body></html>",
            name = escape(self.client_name),
            id = escape(self.client_id),
            rid = escape(self.request_id),
            csrf = escape(self.csrf),
        );
        let status = if self.error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        secure_headers(h);
        let form_action = redirect_source(self.redirect_uri)
            .map_or_else(|| "'self'".to_owned(), |src| format!("'self' {src}"));
        if let Ok(v) = HeaderValue::from_str(&format!(
            "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'"
        )) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        if !cookie.is_empty()
            && let Ok(v) = HeaderValue::from_str(cookie)
        {
            h.insert(header::SET_COOKIE, v);
        }
        resp
    }
}

/// No framing (clickjacking), no caching, no referrer leaking the query, no scripts.
pub(crate) fn secure_headers(h: &mut http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// An error page for what must not be redirected (unknown client, unregistered redirect URI).
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>moat: \
         authorization refused</title></head><body><h1>Authorization refused</h1><p>{}</p>\
         </body></html>",
        escape(message)
    );
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_may_redirect_only_to_the_clients_origin() {
        assert_eq!(
            redirect_source("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            redirect_source("http://127.0.0.1:1/callback").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            redirect_source("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(redirect_source("not a url"), None);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

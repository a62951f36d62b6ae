//! The few HTML pages fedbridge itself renders, with every dynamic value HTML-escaped.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::login::ErrorKind;
use crate::web::state::ConfigHealth;

/// The "not configured yet" page: what to fix, key by key (names and messages only; messages
/// never quote secret values).
pub fn not_configured(health: &ConfigHealth) -> String {
    let mut items = String::new();
    for problem in &health.problems {
        items.push_str(&format!(
            "<li><code>{}</code>: {}",
            escape(&problem.key),
            escape(&problem.message)
        ));
        if let Some(example) = &problem.example {
            items.push_str(&format!(" (e.g. <code>{}</code>)", escape(example)));
        }
        items.push_str("</li>\n");
    }
    if let Some(error) = &health.database_error {
        items.push_str(&format!(
            "<li>The settings cannot be read: {}.</li>\n",
            escape(error)
        ));
    }
    if items.is_empty() {
        items.push_str("<li>The settings have not been read yet.</li>\n");
    }
    page(
        "fedbridge is not configured yet",
        &format!(
            "<p>fedbridge starts serving logins once the settings in the \
             <code>CONFIGURATIONENTITY</code> table are complete and valid. What is missing or \
             wrong:</p>\n<ul>\n{items}</ul>\n<p>Fix it with <code>fedbridge config set</code> \
             (or SQL); this page picks up the change within seconds, no restart needed. \
             <code>fedbridge config check</code> lists the same problems.</p>"
        ),
    )
}

/// The page of a login that failed: what kind of failure, in general terms, and the
/// correlation ID to give the administrator. Never the reason itself (it may quote what the
/// sender sent); that is in the log and the login audit under the same ID.
pub fn login_failed(kind: ErrorKind, correlation_id: &str) -> String {
    let sentence = match kind {
        ErrorKind::Refused => {
            "The sign-in could not be completed: the request or the answer of your identity \
             provider was refused."
        }
        ErrorKind::Forbidden => "Your account may not sign in here.",
        ErrorKind::Unavailable => {
            "Sign-in is not available right now. Please try again in a few minutes."
        }
        ErrorKind::Internal => "Something went wrong on our side while signing you in.",
    };
    page(
        "Sign-in failed",
        &format!(
            "<p>{}</p>\n<p>If this keeps happening, give your administrator this reference: \
             <strong><code>{}</code></strong></p>\n<p><a href=\"/\">Try again</a></p>",
            escape(sentence),
            escape(correlation_id)
        ),
    )
}

/// The login page: the "Log in using SSO" button (a form that GETs `/saml/login`, with the
/// target when there is one), and who is signed in when the browser has a valid xsession.
pub fn login_page(target: Option<&str>, signed_in_as: Option<&str>) -> String {
    let status = match signed_in_as {
        Some(name) => format!(
            "<p>You are signed in as <strong>{}</strong>. <a href=\"/logout\">Log out</a></p>\n",
            escape(name)
        ),
        None => String::new(),
    };
    let target = match target {
        Some(target) => format!(
            "<input type=\"hidden\" name=\"target\" value=\"{}\">",
            escape(target)
        ),
        None => String::new(),
    };
    page(
        "Sign in",
        &format!(
            "{status}<p>Sign in with your organisation's account.</p>\n\
             <form method=\"get\" action=\"/saml/login\">{target}\
             <button type=\"submit\" id=\"sso-login\">Log in using SSO</button></form>"
        ),
    )
}

/// The logout confirmation: who is signed in, and a form that POSTs `/logout` with the
/// session's `logout_token` (a GET never logs out: any site could link to it).
pub fn logout_confirmation(name: &str, logout_token: &str) -> String {
    page(
        "Log out",
        &format!(
            "<p>You are signed in as <strong>{}</strong>.</p>\n\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" \
             name=\"logout_token\" value=\"{}\"><button type=\"submit\" id=\"logout\">Log \
             out</button></form>",
            escape(name),
            escape(logout_token)
        ),
    )
}

/// The logout page without a valid session: nothing to do, and where to go.
pub fn not_signed_in(exit_url: &str) -> String {
    page(
        "Log out",
        &format!(
            "<p>You are not signed in.</p>\n<p><a href=\"{}\">Continue</a></p>",
            escape(exit_url)
        ),
    )
}

/// A logout POST that did not come from fedbridge's own pages: refused, with the way that works.
pub fn logout_refused() -> String {
    page(
        "Log out",
        "<p>This logout request did not come from fedbridge's own page, so it was not carried \
         out.</p>\n<p><a href=\"/logout\">Log out here</a></p>",
    )
}

/// A page with a title and one sentence.
pub fn message(title: &str, text: &str) -> String {
    page(title, &format!("<p>{}</p>", escape(text)))
}

/// Sends `body` as HTML that is never cached, never sniffed, and runs no script.
pub fn html(response: HttpResponseBuilder, body: String) -> HttpResponse {
    html_with_policy(
        response,
        body,
        "default-src 'none'; frame-ancestors 'none'".to_owned(),
    )
}

/// The script of [`same_site_hop`]: submits the page's one form at once.
pub const HOP_SCRIPT: &str = "document.forms[0].submit()";

/// The same-site hop: a page on fedbridge's origin whose form posts `fields` to `action` (a
/// path of ours) again, submitted at once by [`HOP_SCRIPT`] (a Continue button without
/// script). The IdP's cross-site POST carries no `SameSite=Lax` cookie; this POST is
/// same-site, so the browser's login cookie goes with it. Every value is escaped.
pub fn same_site_hop(action: &str, fields: &[(&str, &str)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    page(
        "Signing you in",
        &format!(
            "<form method=\"post\" action=\"{}\">{inputs}<noscript><p>Your browser does \
             not run scripts: continue to finish signing in.</p><button type=\"submit\">\
             Continue</button></noscript></form>\n<script>{HOP_SCRIPT}</script>",
            escape(action)
        ),
    )
}

/// Sends a [`same_site_hop`] page: as [`html`], but the policy allows [`HOP_SCRIPT`] (by its
/// hash, nothing else) and forms posting to our own origin only.
pub fn html_hop(response: HttpResponseBuilder, body: String) -> HttpResponse {
    use base64::Engine as _;
    let hash = base64::engine::general_purpose::STANDARD
        .encode(openssl::sha::sha256(HOP_SCRIPT.as_bytes()));
    html_with_policy(
        response,
        body,
        format!(
            "default-src 'none'; script-src 'sha256-{hash}'; form-action 'self'; \
             frame-ancestors 'none'"
        ),
    )
}

fn html_with_policy(
    mut response: HttpResponseBuilder,
    body: String,
    policy: String,
) -> HttpResponse {
    response
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, policy))
        .body(body)
}

/// Escapes `text` for HTML element content and quoted attribute values: the one escape of
/// fedbridge, [`crate::saml::xml::escape`].
pub use crate::saml::xml::escape;

/// `title` (escaped) and `body` (already HTML) as a whole document.
fn page(title: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Problem;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn the_hop_page_escapes_what_it_carries_and_allows_only_its_script() {
        let page = same_site_hop(
            "/acs",
            &[
                ("SAMLResponse", "PHN+\"><script>x</script>"),
                ("RelayState", "a&b"),
            ],
        );
        assert!(
            page.contains("value=\"PHN+&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""),
            "{page}"
        );
        assert!(page.contains("value=\"a&amp;b\""), "{page}");
        assert_eq!(page.matches("<script>").count(), 1, "{page}");
        assert!(page.contains(&format!("<script>{HOP_SCRIPT}</script>")));
        let response = html_hop(HttpResponse::Ok(), page);
        let policy = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap();
        // The hash of the one inline script, as a browser computes it (CSP Level 2).
        let expected = {
            use base64::Engine as _;
            let digest = openssl::hash::hash(
                openssl::hash::MessageDigest::sha256(),
                b"document.forms[0].submit()",
            )
            .unwrap();
            base64::engine::general_purpose::STANDARD.encode(digest)
        };
        assert!(
            policy
                .to_str()
                .unwrap()
                .contains(&format!("script-src 'sha256-{expected}'")),
            "{policy:?}"
        );
    }

    #[test]
    fn not_configured_lists_problems_escaped() {
        let health = ConfigHealth {
            problems: vec![Problem {
                key: "SAML_CONSUMER_URL".into(),
                message: "'<b>x</b>' is not an absolute http(s) URL".into(),
                example: Some("https://sp.example.com/acs".into()),
                missing: false,
            }],
            database_error: None,
            checked_at: None,
        };
        let page = not_configured(&health);
        assert!(page.contains("fedbridge is not configured yet"), "{page}");
        assert!(page.contains("<code>SAML_CONSUMER_URL</code>"), "{page}");
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"), "{page}");
        assert!(!page.contains("<b>x</b>"), "{page}");
    }
}

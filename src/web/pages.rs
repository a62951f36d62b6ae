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

/// A page with a title and one sentence.
pub fn message(title: &str, text: &str) -> String {
    page(title, &format!("<p>{}</p>", escape(text)))
}

/// Sends `body` as HTML that is never cached, never sniffed, and runs no script.
pub fn html(mut response: HttpResponseBuilder, body: String) -> HttpResponse {
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
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
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

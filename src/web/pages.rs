//! The HTML pages fedbridge renders, with every dynamic value HTML-escaped, and the one layout
//! and stylesheet they share.
//!
//! Every page is a [`document`]: the stylesheet ([`STYLESHEET`], served at
//! [`STYLESHEET_PATH`]), the top bar with the brand, and the content. [`page`] is the plain
//! layout (a title and a card): a new page made with it, or with [`message`], looks like every
//! other page without any work of its own. The admin console uses the wide layout with its
//! navigation (`web::admin::view`), the demo's IdP and app the same document with their own
//! brand.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::login::ErrorKind;
use crate::web::state::ConfigHealth;

/// The one stylesheet of every page (no fonts or files from elsewhere).
pub const STYLESHEET: &str = include_str!("fedbridge.css");

/// Where every fedbridge server (and the demo's IdP and app) serves [`STYLESHEET`].
pub const STYLESHEET_PATH: &str = "/assets/fedbridge.css";

/// The product name in the top bar when `FEDBRIDGE_PRODUCT_NAME` is not set.
pub const DEFAULT_BRAND: &str = "fedbridge";

/// How wide the content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// One card in the middle: sign-in, errors, messages.
    Narrow,
    /// A card with room for a list (what to fix).
    Medium,
    /// The full width: the admin console, the demo's pages.
    Wide,
}

/// Everything [`document`] lays out. `nav`, `aside` and `body` are HTML already; the texts are
/// escaped by [`document`].
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    /// The document's title (the browser tab), before ` · brand`.
    pub title: &'a str,
    /// The name in the top bar.
    pub brand: &'a str,
    /// A second, quieter name beside it ("Admin console", "Development IdP").
    pub brand_sub: Option<&'a str>,
    /// Where the brand links to.
    pub home: &'a str,
    /// Navigation links (HTML), right of the brand.
    pub nav: &'a str,
    /// A red banner above everything (the demo's development tools).
    pub banner: Option<&'a str>,
    /// The content's width.
    pub width: Width,
    /// The content (HTML).
    pub body: &'a str,
}

impl<'a> Layout<'a> {
    /// The plain layout: fedbridge's brand, a narrow column, `body`.
    pub fn plain(title: &'a str, body: &'a str) -> Layout<'a> {
        Layout {
            title,
            brand: DEFAULT_BRAND,
            brand_sub: None,
            home: "/",
            nav: "",
            banner: None,
            width: Width::Narrow,
            body,
        }
    }
}

/// The brand mark: an arch over three piers, drawn with presentation attributes only (the pages'
/// CSP allows no inline style).
const BRAND_MARK: &str = "<svg class=\"brand-mark\" viewBox=\"0 0 32 32\" aria-hidden=\"true\" \
     focusable=\"false\"><rect width=\"32\" height=\"32\" rx=\"8\" fill=\"#2f6bff\"/>\
     <path d=\"M5.5 20.5c3.2-6.2 6.7-9.2 10.5-9.2s7.3 3 10.5 9.2\" fill=\"none\" stroke=\"#fff\" \
     stroke-width=\"2.4\" stroke-linecap=\"round\"/><path d=\"M5.5 23.5h21\" stroke=\"#fff\" \
     stroke-width=\"2.4\" stroke-linecap=\"round\"/><path d=\"M11 23.5v-6.2M16 23.5v-8.6M21 23.5v-6.2\" \
     stroke=\"#fff\" stroke-width=\"2\" stroke-linecap=\"round\"/></svg>";

/// A whole HTML document in fedbridge's layout.
pub fn document(layout: &Layout<'_>) -> String {
    let brand = escape(layout.brand);
    let title = if layout.title == layout.brand {
        brand.clone()
    } else {
        format!("{} \u{b7} {brand}", escape(layout.title))
    };
    let sub = layout
        .brand_sub
        .map(|s| format!(" <span class=\"brand-sub\">{}</span>", escape(s)))
        .unwrap_or_default();
    let banner = layout
        .banner
        .map(|b| format!("<p class=\"dev-banner\" role=\"note\">{}</p>\n", escape(b)))
        .unwrap_or_default();
    let width = match layout.width {
        Width::Narrow => "narrow",
        Width::Medium => "medium",
        Width::Wide => "wide",
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">\n</head>\n\
         <body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n{banner}\
         <header class=\"bar\"><div class=\"bar-inner\"><a class=\"brand\" href=\"{home}\">\
         {BRAND_MARK}<span>{brand}</span>{sub}</a>{nav}</div></header>\n\
         <main id=\"main\" class=\"{width}\">\n{body}\n</main>\n</body>\n</html>\n",
        home = escape(layout.home),
        nav = layout.nav,
        body = layout.body,
    )
}

/// `title` (escaped) and `body` (already HTML) as a page of the plain layout: a heading and a
/// card. Every simple page goes through here, so it looks like the others without work of its
/// own.
pub fn page(title: &str, body: &str) -> String {
    card_page(Width::Narrow, title, body)
}

/// [`page`] at another width.
fn card_page(width: Width, title: &str, body: &str) -> String {
    let content = format!(
        "<div class=\"card\">\n<h1>{}</h1>\n{body}\n</div>",
        escape(title)
    );
    document(&Layout {
        width,
        ..Layout::plain(title, &content)
    })
}

/// `GET /assets/fedbridge.css`: the stylesheet, cacheable for a day.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        ))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(STYLESHEET)
}

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
    let body = format!(
        "<p class=\"lead\">fedbridge starts serving logins once the settings in the \
             <code>CONFIGURATIONENTITY</code> table are complete and valid.</p>\n\
             <div class=\"notice warn\"><strong>What is missing or wrong:</strong>\n<ul>\n{items}</ul></div>\n\
             <p>Fix it with <code>fedbridge config set</code> (or SQL); this page picks up the \
             change within seconds, no restart needed. <code>fedbridge config check</code> \
             lists the same problems.</p>"
    );
    card_page(Width::Medium, "fedbridge is not configured yet", &body)
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
            "<div class=\"notice error\" role=\"alert\">{}</div>\n\
             <p>If this keeps happening, give your administrator this reference:</p>\n\
             <p class=\"reference\"><strong><code>{}</code></strong></p>\n\
             <p class=\"actions\"><a class=\"button\" href=\"/\">Try again</a></p>",
            escape(sentence),
            escape(correlation_id)
        ),
    )
}

/// The login page: the "Log in using SSO" button (a form that GETs `/saml/login`, with the
/// target when there is one), who is signed in when the browser has a valid xsession (or that
/// the person has just signed out), and the product or company name (`FEDBRIDGE_PRODUCT_NAME`)
/// when one is configured.
pub fn login_page(
    target: Option<&str>,
    signed_in_as: Option<&str>,
    signed_out: bool,
    product: Option<&str>,
) -> String {
    let status = match signed_in_as {
        Some(name) => format!(
            "<p class=\"status-line\">You are signed in as <strong>{}</strong>. \
             <a href=\"/logout\">Log out</a></p>\n",
            escape(name)
        ),
        None if signed_out => {
            "<p class=\"status-line\" role=\"status\">You have signed out.</p>\n".to_owned()
        }
        None => String::new(),
    };
    let target = match target {
        Some(target) => format!(
            "<input type=\"hidden\" name=\"target\" value=\"{}\">",
            escape(target)
        ),
        None => String::new(),
    };
    let brand = product.unwrap_or(DEFAULT_BRAND);
    let heading = match product {
        Some(product) => format!("Sign in to {}", escape(product)),
        None => "Sign in".to_owned(),
    };
    let body = format!(
        "<div class=\"card signin\">\n<h1>{heading}</h1>\n{status}\
         <p class=\"lead\">Use your organisation's account: you are sent to your identity \
         provider and brought back here.</p>\n\
         <form method=\"get\" action=\"/saml/login\">{target}\
         <button type=\"submit\" id=\"sso-login\" class=\"block\">Log in using SSO</button></form>\n\
         <p class=\"fine\">Single sign-on with SAML 2.0. Trouble signing in? Contact your IT \
         service desk.</p>\n</div>"
    );
    document(&Layout {
        brand,
        ..Layout::plain("Sign in", &body)
    })
}

/// The admin console's answer to someone who is signed in but in no administrator group.
pub fn not_admin(login_name: &str) -> String {
    page(
        "No access to the admin console",
        &format!(
            "<div class=\"notice warn\">You are signed in as <strong>{}</strong>, who is not in \
             a group named by <code>FEDBRIDGE_ADMIN_GROUPS</code>.</div>\n\
             <p>Ask an administrator to add you to one of those groups (at the IdP, or with \
             <code>fedbridge</code> locally), then sign in again.</p>\n\
             <p class=\"actions\"><a class=\"button secondary\" href=\"/logout\">Sign out</a>\
             <a href=\"/\">Back to sign-in</a></p>",
            escape(login_name)
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

/// The Content-Security-Policy of fedbridge's pages: the stylesheet from our own origin, no
/// script, no frames.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The one script of the auto-post and same-site hop pages: submits the page's one form at once.
pub const SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

/// The page of the HTTP-POST binding: a form with `fields` (escaped) that the browser submits to
/// `action` at once, with a button for browsers without scripts. Its CSP allows exactly the
/// page's one inline script (by hash), nothing else; no `form-action`, which some browsers
/// also apply to the IdP's redirects after the submission.
pub fn auto_post(action: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let body = submitting_page(
        "Signing in",
        action,
        fields,
        "Your browser does not run scripts: continue to your identity provider.",
    );
    html_submitting(HttpResponse::Ok(), body)
}

/// A page titled `title` whose form posts `fields` (escaped; empty ones left out) to `action`,
/// submitted at once by [`SUBMIT_SCRIPT`], with `no_script` and a Continue button for browsers
/// without scripts.
fn submitting_page(title: &str, action: &str, fields: &[(&str, &str)], no_script: &str) -> String {
    let inputs: String = fields
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    page(
        title,
        &format!(
            "<form method=\"post\" action=\"{}\">{inputs}<noscript><p>{}</p>\
             <button type=\"submit\">Continue</button></noscript></form>\n\
             <script>{SUBMIT_SCRIPT}</script>",
            escape(action),
            escape(no_script)
        ),
    )
}

/// [`html`] with the page's own Content-Security-Policy `csp` instead of the no-script one
/// (should `csp` not be a valid header value, the no-script one).
pub fn html_with_csp(mut response: HttpResponseBuilder, body: String, csp: &str) -> HttpResponse {
    let policy = HeaderValue::from_str(csp)
        .unwrap_or_else(|_| HeaderValue::from_static(CONTENT_SECURITY_POLICY));
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

/// The CSP source of an inline script: `sha256-` and the base64 of its SHA-256.
fn script_hash(script: &str) -> String {
    use base64::Engine as _;
    let digest = openssl::sha::sha256(script.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Sends `body` as HTML that is never cached, never sniffed, and runs no script.
pub fn html(response: HttpResponseBuilder, body: String) -> HttpResponse {
    html_with_csp(response, body, CONTENT_SECURITY_POLICY)
}

/// The same-site hop: a page on fedbridge's origin whose form posts `fields` to `action` (a
/// path of ours) again, submitted at once by [`SUBMIT_SCRIPT`] (a Continue button without
/// script). The IdP's cross-site POST carries no `SameSite=Lax` cookie; this POST is
/// same-site, so the browser's login cookie goes with it. Every value is escaped.
pub fn same_site_hop(action: &str, fields: &[(&str, &str)]) -> String {
    submitting_page(
        "Signing you in",
        action,
        fields,
        "Your browser does not run scripts: continue to finish signing in.",
    )
}

/// Sends a page whose one script is [`SUBMIT_SCRIPT`] ([`auto_post`], [`same_site_hop`]): as
/// [`html`], but the policy allows that script (by its hash, nothing else). No `form-action`:
/// Chromium applies it to the redirects that follow the submission too (the IdP's, or ours to a
/// downstream application).
pub fn html_submitting(response: HttpResponseBuilder, body: String) -> HttpResponse {
    let csp = format!(
        "default-src 'none'; script-src '{}'; style-src 'self'; frame-ancestors 'none'",
        script_hash(SUBMIT_SCRIPT)
    );
    html_with_csp(response, body, &csp)
}

/// Escapes `text` for HTML element content and quoted attribute values: the one escape of
/// fedbridge, [`crate::saml::xml::escape`].
pub use crate::saml::xml::escape;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Problem;

    #[test]
    fn the_auto_post_page_escapes_its_fields_and_allows_only_its_script() {
        let response = auto_post(
            "https://idp.example.com/sso?a=1&b=\"2\"",
            &[("SAMLRequest", "PHNhbWw+"), ("RelayState", "<x>")],
        );
        let csp = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // The hash of the one script, as a browser computes it.
        assert_eq!(
            csp,
            "default-src 'none'; script-src 'sha256-8lDeP0UDwCO6/RhblgeH/ctdBzjVpJxrXizsnIk3cEQ='; \
             style-src 'self'; frame-ancestors 'none'"
        );
        let body = actix_web::body::to_bytes(response.into_body());
        let body = futures_executor(body);
        assert!(body.contains("action=\"https://idp.example.com/sso?a=1&amp;b=&quot;2&quot;\""));
        assert!(
            body.contains("name=\"RelayState\" value=\"&lt;x&gt;\""),
            "{body}"
        );
        assert!(body.contains(&format!("<script>{SUBMIT_SCRIPT}</script>")));
    }

    /// The body of a response, without a runtime (the body is in memory).
    fn futures_executor(
        body: impl std::future::Future<Output = Result<actix_web::web::Bytes, impl std::fmt::Debug>>,
    ) -> String {
        let bytes = actix_web::rt::System::new().block_on(body).unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

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
        assert!(page.contains(&format!("<script>{SUBMIT_SCRIPT}</script>")));
        let response = html_submitting(HttpResponse::Ok(), page);
        let policy = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap();
        // The hash of the one inline script, as a browser computes it (CSP Level 2).
        let expected = {
            use base64::Engine as _;
            let digest = openssl::hash::hash(
                openssl::hash::MessageDigest::sha256(),
                SUBMIT_SCRIPT.as_bytes(),
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

    #[test]
    fn every_page_links_the_stylesheet_and_the_policy_allows_it() {
        for page in [
            message("A <title>", "text"),
            login_page(None, None, false, Some("Example <Corp>")),
            login_failed(ErrorKind::Refused, "abc123"),
            not_configured(&ConfigHealth::default()),
        ] {
            assert!(
                page.contains(&format!(
                    "<link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">"
                )),
                "{page}"
            );
            assert!(
                !page.contains("<Corp>") && !page.contains("<title>A <title>"),
                "{page}"
            );
            assert!(
                !page.contains("style=\""),
                "inline styles are blocked by the CSP: {page}"
            );
        }
        assert!(CONTENT_SECURITY_POLICY.contains("style-src 'self'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src"));
    }

    #[test]
    fn the_product_name_heads_the_login_page() {
        let page = login_page(None, None, false, Some("Example Corp"));
        assert!(page.contains("<h1>Sign in to Example Corp</h1>"), "{page}");
        assert!(
            page.contains("<title>Sign in \u{b7} Example Corp</title>"),
            "{page}"
        );
        let plain = login_page(None, None, false, None);
        assert!(plain.contains("<h1>Sign in</h1>"), "{plain}");
    }
}

//! The admin console's HTML, pure: data in, a page out, every value escaped. The pages share
//! [`console`] (the wide layout with the navigation) and render rows from structs, so that a
//! new column (issue 12's audit `flags`, group IdP ids) is one more field shown here.

use std::fmt::Write as _;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::display::{MASK, default_value, not_set, shown};
use crate::config::schema::Schema;
use crate::login::{LoginReason, TestReport};
use crate::saml::RejectionReason;
use crate::saml::metadata::{SsoBinding, SsoEndpoint};
use crate::store::{AuditFilter, AuditRecord, GroupMembers, SessionInfo, UserDetail};
use crate::sync::GroupClaim;
use crate::web::certs::Expiry;
use crate::web::pages::{self, Layout, Width, escape};
use crate::web::state::{ActiveConfig, ConfigHealth, MetadataStatus};

/// A page of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `/admin`.
    Status,
    /// `/admin/attempts`.
    Attempts,
    /// `/admin/users`.
    Users,
    /// `/admin/groups`.
    Groups,
}

/// Who is looking, for the navigation and the forms.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The administrator's login name.
    pub login_name: &'a str,
    /// The anti-forgery token of this session's forms.
    pub form_token: &'a str,
    /// `FEDBRIDGE_PRODUCT_NAME`, when set.
    pub product: Option<&'a str>,
}

/// A console page: the navigation, `title` and `body` (HTML).
pub fn console(viewer: &Viewer<'_>, section: Section, title: &str, body: &str) -> String {
    let link = |href: &str, label: &str, here: Section| {
        let current = if here == section {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<li><a href=\"{href}\"{current}>{label}</a></li>")
    };
    let nav = format!(
        "<nav aria-label=\"Admin console\"><ul class=\"nav\">{}{}{}{}</ul></nav>\
         <span class=\"who\">{} \u{b7} <a href=\"/logout\">Sign out</a></span>",
        link("/admin", "Status", Section::Status),
        link("/admin/attempts", "Login attempts", Section::Attempts),
        link("/admin/users", "Users", Section::Users),
        link("/admin/groups", "Groups", Section::Groups),
        escape(viewer.login_name),
    );
    pages::document(&Layout {
        brand: viewer.product.unwrap_or(pages::DEFAULT_BRAND),
        brand_sub: Some("Admin console"),
        home: "/admin",
        nav: &nav,
        width: Width::Wide,
        ..Layout::plain(title, body)
    })
}

/// An epoch-seconds time as `2026-12-05 10:01:02 UTC`.
pub fn when(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map(|t| t.replacen('T', " ", 1).replacen('Z', " UTC", 1))
        .unwrap_or_else(|| at.to_string())
}

fn when_odt(at: OffsetDateTime) -> String {
    when(at.unix_timestamp())
}

/// A clock offset in words: `+3 s (the IdP is ahead)`.
pub fn offset_words(seconds: i64) -> String {
    match seconds {
        0 => "0 s (in step)".to_owned(),
        s if s > 0 => format!("+{s} s (the IdP's clock is ahead)"),
        s => format!("{s} s (the IdP's clock is behind)"),
    }
}

fn outcome_badge(outcome: &str, dry_run: bool) -> String {
    let class = match outcome {
        "accepted" => "ok",
        "rejected" => "bad",
        _ => "warn",
    };
    let test = if dry_run {
        " <span class=\"badge test\">test</span>"
    } else {
        ""
    };
    format!(
        "<span class=\"badge {class}\">{}</span>{test}",
        escape(outcome)
    )
}

/// The reason code in words, for the administrator.
pub fn reason_in_words(code: &str) -> &'static str {
    if let Some(reason) = RejectionReason::from_code(code) {
        return rejection_words(reason);
    }
    match LoginReason::from_code(code) {
        Some(reason) => login_words(reason),
        None => "A reason this version of fedbridge does not describe.",
    }
}

fn login_words(reason: LoginReason) -> &'static str {
    use LoginReason as L;
    match reason {
        L::SamlResponseMissing => "The post to the ACS had no SAMLResponse field.",
        L::RelayStateMismatch => {
            "The RelayState that came back is not the one sent with the request."
        }
        L::TargetNotAllowed => {
            "The login's target is neither on fedbridge's origin nor in FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS."
        }
        L::LoginNameMissing => "The assertion has no value for SAML_USER_ID_ATTRIBUTE.",
        L::LoginNameAmbiguous => "SAML_USER_ID_ATTRIBUTE has several values; one is required.",
        L::LoginNameEmpty => "The login name taken from the assertion is empty.",
        L::LoginNameInvalid => {
            "The login name has an invisible or control character, or a space at either end."
        }
        L::UserDisabled => "The user exists and is disabled.",
        L::UserNotProvisioned => {
            "No account matches, and FEDBRIDGE_EXISTING_USERS_ONLY=1 creates none."
        }
        L::ExternalIdAmbiguous => {
            "The NameID and the login name are the external IDs of two different accounts."
        }
        L::LoginNameAmbiguousCase => {
            "Several accounts spell the login name in other letter cases, none exactly as sent."
        }
        L::IdpMetadataUnavailable => "The IdP metadata has never been fetched.",
        L::IdpSsoUrlMissing => {
            "The IdP metadata names no SSO service with a binding the settings allow."
        }
        L::DatabaseError => "The database failed (see the log under the correlation ID).",
        L::InternalError => "fedbridge failed (see the log under the correlation ID).",
        L::BodyRejected => {
            "The post was refused unread: no Content-Length, not a form, or it broke off."
        }
        L::BodyTooLarge => "The post was longer than any allowed response can be (unread).",
        L::BodyTimeout => "The post's body did not arrive within FEDBRIDGE_REQUEST_BODY_TIMEOUT.",
        L::RateLimited => "The client's rate limit or its cap of posts in flight was used up.",
        L::Overloaded => "The memory budget of request bodies or the validation slots were full.",
        L::LoginCapacityExceeded => {
            "FEDBRIDGE_MAX_OUTSTANDING_REQUESTS logins were already waiting for the IdP."
        }
        L::RelayStateTooLong => "The RelayState was longer than 1 KiB (none of ours is).",
        L::BrowserBindingMissing => {
            "The browser that posted the response had no login cookie (login CSRF defence)."
        }
        L::BrowserBindingMismatch => {
            "Another browser than the one that started the login posted the response."
        }
    }
}

fn rejection_words(reason: RejectionReason) -> &'static str {
    use RejectionReason as R;
    match reason {
        R::EmptyInput => "The SAMLResponse was empty.",
        R::InputTooLarge => "The response is larger than FEDBRIDGE_MAX_RESPONSE_BYTES.",
        R::InvalidBase64 => "The SAMLResponse is not valid base64.",
        R::MalformedXml => "The response is not well-formed XML.",
        R::DtdForbidden => "The response has a DTD or entity declaration (refused: XXE).",
        R::TooDeep => "The XML nests deeper than fedbridge allows.",
        R::NotAResponse => "The document is not a SAML 2.0 Response.",
        R::UnsupportedVersion => "The message is not SAML 2.0.",
        R::MissingId => "The Response or Assertion has no ID.",
        R::InvalidId => "An ID of the Response or Assertion is not a valid xs:ID.",
        R::NulByte => "The response contains a NUL byte.",
        R::DuplicateId => "An ID is used twice in the document (a wrapping attack sign).",
        R::StatusNotSuccess => "The IdP answered with an error status, not Success.",
        R::NoAssertion => "The response carries no assertion.",
        R::MultipleAssertions => "The response carries more than one assertion.",
        R::SignatureMissing => "Neither the Response nor the Assertion is signed.",
        R::SignatureMalformed => "The XML signature is malformed.",
        R::ReferenceInvalid => "The signature does not cover the signed element.",
        R::TransformNotAllowed => "The signature uses a transform fedbridge does not allow.",
        R::AlgorithmNotAllowed => "The signature or digest algorithm is not allowed.",
        R::InsecureAlgorithm => {
            "SHA-1 was used; it is refused unless FEDBRIDGE_INSECURE_ALLOW_SHA1=1."
        }
        R::WeakKey => "The IdP's signing key is too short.",
        R::CanonicalizationFailed => "The signed XML could not be canonicalised.",
        R::DigestMismatch => "The signed content was changed after signing (digest mismatch).",
        R::SignatureInvalid => {
            "The signature does not verify with any trusted IdP certificate (a rolled certificate?)."
        }
        R::NoSuitableKey => "No trusted IdP certificate fits the signature's algorithm.",
        R::DecryptionFailed => {
            "The encrypted assertion could not be decrypted with fedbridge's key."
        }
        R::KeyTransportNotAllowed => "The encryption's key transport is not allowed.",
        R::IssuerMismatch => "The Issuer is not the IdP fedbridge trusts.",
        R::IssuerMissing => "The assertion names no Issuer.",
        R::DestinationMismatch => "The Destination is not SAML_CONSUMER_URL.",
        R::RecipientMismatch => "The Recipient is not SAML_CONSUMER_URL.",
        R::SubjectConfirmationInvalid => "The bearer SubjectConfirmation is missing or invalid.",
        R::ConditionsMissing => "The assertion has no Conditions.",
        R::AudienceMismatch => {
            "The Audience does not name fedbridge's entityID (FEDBRIDGE_SP_ENTITY_ID)."
        }
        R::NotYetValid => {
            "The assertion is not valid yet: the clocks differ by more than FEDBRIDGE_CLOCK_SKEW."
        }
        R::Expired => "The assertion has expired (a slow login, or clocks out of step).",
        R::InvalidTimestamp => "A time in the assertion does not parse.",
        R::InResponseToUnknown => {
            "It answers no outstanding request (expired after 10 minutes, answered, or unknown)."
        }
        R::InResponseToMismatch => "InResponseTo differs between the Response and the Assertion.",
        R::UnsolicitedNotAllowed => {
            "An IdP-initiated login, and FEDBRIDGE_ALLOW_IDP_INITIATED is 0."
        }
        R::Replay => "The assertion was used before (a replay, or a double submit).",
        R::NameIdMissing => {
            "The Subject has no NameID, and SAML_USER_ID_ATTRIBUTE does not name the login."
        }
        R::AssertionSignatureMissing => {
            "The assertion is not signed itself, and FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS=1."
        }
        R::AuthnStatementMissing => "The assertion has no AuthnStatement.",
        R::EncryptedAttributeUnsupported => "Encrypted attributes are not supported.",
        R::DuplicateAttribute => "An attribute is sent twice.",
        R::SchemaViolation => "The message breaks the SAML schema.",
    }
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

/// Everything the status page shows.
#[derive(Debug)]
pub struct Status<'a> {
    /// The configuration in service.
    pub active: &'a ActiveConfig,
    /// The settings as last polled.
    pub health: &'a ConfigHealth,
    /// The IdP metadata status (metadata scenario).
    pub metadata: Option<&'a MetadataStatus>,
    /// The schema (to show defaults).
    pub schema: &'a Schema,
    /// The IdP's entityID and SSO URL in use.
    pub idp_entity_id: Option<String>,
    /// Where AuthnRequests go, and how.
    pub sso: Option<SsoEndpoint>,
    /// Every certificate and key, and when it expires.
    pub expiries: &'a [Expiry],
    /// Accepted and refused logins per hour: (hour start, accepted, refused).
    pub per_hour: &'a [(i64, i64, i64)],
    /// The first hour of the chart.
    pub chart_from: i64,
    /// Now (epoch seconds).
    pub now: i64,
}

/// `/admin`: warnings first, then the chart, the IdP, the settings in service.
pub fn status(viewer: &Viewer<'_>, s: &Status<'_>) -> String {
    let config = &s.active.config;
    let mut body = String::from(
        "<div class=\"page-head\"><h1>Status</h1>\
         <form method=\"post\" action=\"/admin/test-login\" class=\"inline\">",
    );
    let _ = write!(
        body,
        "<input type=\"hidden\" name=\"token\" value=\"{}\">\
         <button type=\"submit\" id=\"test-login\" class=\"secondary\">Start a test login</button>\
         </form></div>",
        escape(viewer.form_token)
    );

    // Warnings: problems of the last reload, certificates, metadata errors.
    let mut notices = String::new();
    for problem in &s.health.problems {
        let _ = write!(
            notices,
            "<div class=\"notice error\"><strong>Refused at the last reload</strong> (the \
             configuration below stays in service): <code>{}</code>: {}</div>",
            escape(&problem.key),
            escape(&problem.message)
        );
    }
    if let Some(error) = &s.health.database_error {
        let _ = write!(
            notices,
            "<div class=\"notice error\"><strong>The settings cannot be read:</strong> {}</div>",
            escape(error)
        );
    }
    for expiry in s.expiries {
        if expiry.is_due(s.now, config.cert_expiry_warning) {
            let days = expiry.days_left(s.now).unwrap_or_default();
            let when = if days < 0.0 {
                format!("expired {:.0} days ago", -days)
            } else {
                format!("expires in {days:.0} days")
            };
            let _ = write!(
                notices,
                "<div class=\"notice warn\" data-kind=\"{}\"><strong>{} {when}</strong>: {} \
                 \u{2013} {}.</div>",
                expiry.kind.label(),
                escape(expiry.kind.name()),
                escape(&expiry.subject),
                escape(expiry.kind.remedy())
            );
        }
    }
    if let Some(error) = s.metadata.and_then(|m| m.error.as_deref()) {
        let _ = write!(
            notices,
            "<div class=\"notice warn\"><strong>The last IdP metadata fetch failed:</strong> {}</div>",
            escape(error)
        );
    }
    if notices.is_empty() {
        notices.push_str(
            "<div class=\"notice ok\">Everything is in order: the settings are valid, the IdP's \
             keys are at hand, no certificate expires soon.</div>",
        );
    }
    body.push_str(&notices);

    // The chart.
    let accepted: i64 = s.per_hour.iter().map(|(_, a, _)| a).sum();
    let refused: i64 = s.per_hour.iter().map(|(_, _, r)| r).sum();
    let _ = write!(
        body,
        "<div class=\"panel\"><div class=\"page-head\"><h2>Logins per hour, last 7 days</h2>\
         <span class=\"muted small\">{accepted} accepted \u{b7} {refused} refused</span></div>{}\
         <div class=\"legend\"><span><span class=\"key accepted\"></span>accepted</span>\
         <span><span class=\"key refused\"></span>refused</span></div></div>",
        chart(s.per_hour, s.chart_from, s.now)
    );

    // The IdP.
    let source = match (&config.idp, s.metadata) {
        (crate::config::IdpSource::PublicKey { .. }, _) => {
            "pinned in SAML_SIGNING_CERTIFICATE (public-key scenario)".to_owned()
        }
        (crate::config::IdpSource::Metadata { url, .. }, metadata) => {
            let mut text = format!("metadata from <code>{}</code>", escape(url.as_str()));
            if let Some(m) = metadata {
                if let Some(good) = &m.good {
                    let _ = write!(
                        text,
                        "; fetched {} ({})",
                        when_odt(good.fetched_at),
                        good.source.as_str()
                    );
                }
                let next = crate::web::idp::next_fetch_at(
                    m.attempted_at,
                    config.metadata_refresh,
                    m.error.is_some(),
                );
                let _ = write!(text, "; next fetch {}", when_odt(next));
                if let Some(error) = &m.error {
                    let _ = write!(text, "; last error: {}", escape(error));
                }
            }
            text
        }
    };
    let mut certs = String::new();
    for expiry in s.expiries {
        let days = expiry
            .days_left(s.now)
            .map(|d| format!("{d:.0} days"))
            .unwrap_or_else(|| "unknown".into());
        let due = if expiry.is_due(s.now, config.cert_expiry_warning) {
            "<span class=\"badge warn\">soon</span>"
        } else {
            "<span class=\"badge ok\">ok</span>"
        };
        let _ = write!(
            certs,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{days}</td><td>{due}</td></tr>",
            escape(expiry.kind.name()),
            escape(&expiry.subject),
            expiry.not_after.map(when).unwrap_or_else(|| "-".into()),
        );
    }
    let _ = write!(
        body,
        "<div class=\"panels\"><div class=\"panel\"><h2>Identity provider</h2><dl class=\"facts\">\
         <dt>entityID</dt><dd>{}</dd><dt>SSO URL</dt><dd>{}</dd><dt>Binding</dt>\
         <dd>{} (AuthnRequest), HTTP-POST (response)</dd><dt>Trust</dt><dd>{source}</dd>\
         </dl></div><div class=\"panel\"><h2>This service provider</h2><dl class=\"facts\">\
         <dt>entityID</dt><dd>{}</dd><dt>ACS</dt><dd>{}</dd><dt>Loaded</dt><dd>{}</dd>\
         <dt>Metadata</dt><dd><a href=\"/saml/metadata\">/saml/metadata</a></dd></dl></div></div>",
        escape(s.idp_entity_id.as_deref().unwrap_or("(not known yet)")),
        escape(
            s.sso
                .as_ref()
                .map_or("(not known yet)", |sso| sso.url.as_str())
        ),
        match s.sso.as_ref().map(|sso| sso.binding) {
            Some(SsoBinding::Post) => "HTTP-POST",
            Some(SsoBinding::Redirect) | None => "HTTP-Redirect",
        },
        escape(&config.sp_entity_id),
        escape(config.consumer_url.as_str()),
        when_odt(s.active.loaded_at),
    );
    let _ = write!(
        body,
        "<div class=\"panel\"><h2>Certificates and keys</h2><p class=\"muted small\">Warnings \
         {:.0} days ahead (FEDBRIDGE_CERT_EXPIRY_WARNING).</p><div class=\"table-wrap\"><table>\
         <thead><tr><th>What</th><th>Subject</th><th>Expires</th><th class=\"num\">Left</th>\
         <th></th></tr></thead><tbody>{certs}</tbody></table></div></div>",
        config.cert_expiry_warning.whole_days() as f64,
    );

    // The settings in service.
    let mut rows = String::new();
    let mut settings: Vec<_> = s.schema.settings.iter().collect();
    settings.sort_by_key(|d| d.installer.order);
    for def in settings {
        let (value, source) = match s.active.rows.get(&def.name) {
            Some(Some(_)) if def.secret => (MASK.to_owned(), "row"),
            Some(Some(value)) => (shown(value), "row"),
            Some(None) => ("(NULL)".to_owned(), "row"),
            None => match default_value(def, &s.active.rows) {
                Some(default) => (default, "default"),
                None => (not_set(def, &s.active.rows), "not set"),
            },
        };
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td class=\"mono\">{}</td><td>{source}</td></tr>",
            escape(&def.name),
            escape(&value).replace('\n', "<br>"),
        );
    }
    let mut ignored = String::new();
    for warning in &s.active.warnings {
        let _ = write!(
            ignored,
            "<li><code>{}</code>: {}</li>",
            escape(&warning.key),
            escape(&warning.message)
        );
    }
    if !ignored.is_empty() {
        ignored = format!("<h3>Ignored rows and warnings</h3><ul>{ignored}</ul>");
    }
    let _ = write!(
        body,
        "<div class=\"panel\"><h2>Configuration in service</h2>{ignored}<div class=\"table-wrap\">\
         <table><thead><tr><th>Setting</th><th>Effective value</th><th>From</th></tr></thead>\
         <tbody>{rows}</tbody></table></div></div>"
    );
    console(viewer, Section::Status, "Status", &body)
}

/// The logins-per-hour chart: one stacked bar per hour (refused on top of accepted), inline
/// SVG with classes only (the CSP allows no inline style).
pub fn chart(per_hour: &[(i64, i64, i64)], from: i64, now: i64) -> String {
    const W: f64 = 840.0;
    const H: f64 = 160.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 20.0;
    let hours = ((now - from) / 3600 + 1).max(1);
    let peak = per_hour
        .iter()
        .map(|(_, a, r)| a + r)
        .max()
        .unwrap_or(0)
        .max(1);
    let bar = (W - LEFT) / hours as f64;
    let plot = H - BOTTOM - 8.0;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Logins per hour \
         over the last 7 days, accepted and refused\">"
    );
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{y}\" x2=\"{W}\" y2=\"{y}\"/>\
         <line class=\"grid\" x1=\"{LEFT}\" y1=\"8\" x2=\"{W}\" y2=\"8\"/>\
         <text x=\"{tx}\" y=\"12\" text-anchor=\"end\">{peak}</text>\
         <text x=\"{tx}\" y=\"{y}\" text-anchor=\"end\">0</text>",
        y = H - BOTTOM,
        tx = LEFT - 6.0,
    );
    for (hour, accepted, refused) in per_hour {
        let i = (hour - from) / 3600;
        if i < 0 || i >= hours {
            continue;
        }
        let x = LEFT + i as f64 * bar;
        let width = (bar - 0.6).max(0.8);
        let ha = plot * *accepted as f64 / peak as f64;
        let hr = plot * *refused as f64 / peak as f64;
        let base = H - BOTTOM;
        if *accepted > 0 {
            let _ = write!(
                svg,
                "<rect class=\"accepted\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{ha:.1}\"><title>{}: {accepted} accepted</title></rect>",
                base - ha,
                when(*hour)
            );
        }
        if *refused > 0 {
            let _ = write!(
                svg,
                "<rect class=\"refused\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{hr:.1}\"><title>{}: {refused} refused</title></rect>",
                base - ha - hr,
                when(*hour)
            );
        }
    }
    // A label under each day.
    let mut day = from - from.rem_euclid(86_400) + 86_400;
    while day <= now {
        let x = LEFT + ((day - from) / 3600) as f64 * bar;
        let label = when(day).get(5..10).unwrap_or_default().to_owned();
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"8\" x2=\"{x:.1}\" y2=\"{}\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
            H - BOTTOM,
            H - 5.0
        );
        day += 86_400;
    }
    svg.push_str("</svg>");
    svg
}

// ---------------------------------------------------------------------------------------------
// Login attempts
// ---------------------------------------------------------------------------------------------

/// `/admin/attempts`: the filter form and the newest matching attempts.
pub fn attempts(
    viewer: &Viewer<'_>,
    filter: &AuditFilter,
    form: &AttemptsForm,
    rows: &[AuditRecord],
    more: Option<i64>,
) -> String {
    let option = |value: &str, label: &str, current: Option<&str>| {
        let selected = if current == Some(value) {
            " selected"
        } else {
            ""
        };
        format!("<option value=\"{value}\"{selected}>{label}</option>")
    };
    let outcome = filter.outcome.as_deref();
    let mut body = format!(
        "<div class=\"page-head\"><h1>Login attempts</h1></div>\
         <form method=\"get\" action=\"/admin/attempts\" class=\"panel\"><div class=\"filters\">\
         <div class=\"field\"><label for=\"f-outcome\">Outcome</label><select id=\"f-outcome\" name=\"outcome\">{}{}{}{}</select></div>\
         <div class=\"field\"><label for=\"f-reason\">Reason code</label><input id=\"f-reason\" name=\"reason\" value=\"{}\" placeholder=\"e.g. expired\"></div>\
         <div class=\"field\"><label for=\"f-login\">Login name</label><input id=\"f-login\" name=\"login\" value=\"{}\"></div>\
         <div class=\"field\"><label for=\"f-since\">From (UTC)</label><input id=\"f-since\" name=\"since\" value=\"{}\" placeholder=\"2026-12-01 08:00\"></div>\
         <div class=\"field\"><label for=\"f-until\">Until (UTC)</label><input id=\"f-until\" name=\"until\" value=\"{}\"></div>\
         <div class=\"field\"><button type=\"submit\">Filter</button></div></div></form>\
         <form method=\"get\" action=\"/admin/attempts\" class=\"panel\"><div class=\"filters\">\
         <div class=\"field\"><label for=\"f-cid\">Correlation ID</label><input id=\"f-cid\" name=\"correlation\" value=\"{}\" placeholder=\"from the sign-in failed page\"></div>\
         <div class=\"field\"><button type=\"submit\" class=\"secondary\">Find</button></div></div></form>",
        option("", "any", outcome.or(Some(""))),
        option("accepted", "accepted", outcome),
        option("rejected", "rejected", outcome),
        option("error", "error", outcome),
        escape(filter.reason.as_deref().unwrap_or_default()),
        escape(filter.login_name.as_deref().unwrap_or_default()),
        escape(&form.since),
        escape(&form.until),
        escape(&form.correlation),
    );
    if rows.is_empty() {
        body.push_str("<div class=\"notice info\">No login attempt matches.</div>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>When</th><th>Outcome</th>\
             <th>Login name</th><th>Reason</th><th class=\"num\">Clock offset</th>\
             <th>Correlation ID</th></tr></thead><tbody>",
        );
        for row in rows {
            let reason = match &row.reason_code {
                Some(code) => format!(
                    "<code>{}</code><br><span class=\"muted small\">{}</span>",
                    escape(code),
                    escape(reason_in_words(code))
                ),
                None => "<span class=\"muted\">\u{2013}</span>".to_owned(),
            };
            let _ = write!(
                body,
                "<tr><td><a href=\"/admin/attempts/{}\">{}</a></td><td>{}</td><td>{}</td><td>{reason}</td>\
                 <td class=\"num\">{}</td><td class=\"mono\">{}</td></tr>",
                row.id,
                when(row.at),
                outcome_badge(&row.outcome, row.dry_run),
                escape(row.login_name.as_deref().unwrap_or("\u{2013}")),
                row.clock_offset
                    .map(|o| format!("{o:+} s"))
                    .unwrap_or_else(|| "\u{2013}".into()),
                escape(row.correlation_id.as_deref().unwrap_or_default()),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    if let Some(before) = more {
        let mut query = form.query.clone();
        query.push(("before".into(), before.to_string()));
        let href: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let _ = write!(
            body,
            "<p class=\"actions\"><a class=\"button secondary\" href=\"/admin/attempts?{}\">Older attempts</a></p>",
            escape(&href)
        );
    }
    console(viewer, Section::Attempts, "Login attempts", &body)
}

/// The filter form as the administrator typed it (shown back) and its query pairs.
#[derive(Debug, Clone, Default)]
pub struct AttemptsForm {
    /// The `since` field as typed.
    pub since: String,
    /// The `until` field as typed.
    pub until: String,
    /// The `correlation` field as typed.
    pub correlation: String,
    /// Every non-empty field, for the "older" link.
    pub query: Vec<(String, String)>,
}

/// `/admin/attempts/{id}` and a correlation ID search: one attempt in full.
pub fn attempt(viewer: &Viewer<'_>, row: &AuditRecord) -> String {
    let mut facts = format!(
        "<dt>When</dt><dd>{}</dd><dt>Outcome</dt><dd>{}</dd>",
        when(row.at),
        outcome_badge(&row.outcome, row.dry_run)
    );
    if let Some(code) = &row.reason_code {
        let _ = write!(
            facts,
            "<dt>Reason</dt><dd><strong>{}</strong><br><code>{}</code></dd>",
            escape(reason_in_words(code)),
            escape(code)
        );
    }
    if let Some(detail) = &row.detail {
        let _ = write!(facts, "<dt>Detail</dt><dd>{}</dd>", escape(detail));
    }
    let _ = write!(
        facts,
        "<dt>Login name</dt><dd>{}</dd><dt>IdP</dt><dd>{}</dd><dt>Clock offset</dt><dd>{}</dd>\
         <dt>Correlation ID</dt><dd class=\"mono\">{}</dd>",
        match &row.login_name {
            Some(name) => format!(
                "<a href=\"/admin/user?login={}\">{}</a>",
                escape(&encode(name)),
                escape(name)
            ),
            None => "\u{2013}".into(),
        },
        escape(row.idp.as_deref().unwrap_or("\u{2013}")),
        row.clock_offset
            .map(offset_words)
            .unwrap_or_else(|| "not measured (refused before the signature was verified)".into()),
        escape(row.correlation_id.as_deref().unwrap_or_default()),
    );
    let mut body = format!(
        "<div class=\"page-head\"><h1>Login attempt</h1><a href=\"/admin/attempts\">All attempts</a></div>\
         <div class=\"panels\"><div class=\"panel\"><dl class=\"facts\">{facts}</dl></div>"
    );
    body.push_str("<div class=\"panel\"><h2>Attributes that arrived</h2>");
    body.push_str(&attributes_table(row.attributes.as_deref()));
    body.push_str("</div></div><div class=\"panel\"><h2>");
    body.push_str(if row.dry_run {
        "Changes the sync would make (test: none made)"
    } else {
        "Changes the sync made"
    });
    body.push_str("</h2>");
    body.push_str(&changes_list(row.changes.as_deref()));
    body.push_str("</div>");
    console(viewer, Section::Attempts, "Login attempt", &body)
}

/// The audit row's attribute JSON as a table: names, and values of the mapped ones.
fn attributes_table(json: Option<&str>) -> String {
    let Some(list) = json
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|v| v.as_array().cloned())
    else {
        return "<p class=\"muted\">Not recorded (the response was refused before its \
                attributes were read).</p>"
            .into();
    };
    if list.is_empty() {
        return "<p class=\"muted\">No attributes.</p>".into();
    }
    let mut out = String::from(
        "<div class=\"table-wrap\"><table><thead><tr><th>Name</th><th>Mapped by</th>\
         <th>Values</th></tr></thead><tbody>",
    );
    for item in list {
        let text = |key: &str| item.get(key).and_then(|v| v.as_str()).unwrap_or_default();
        let values = match item.get("values").and_then(|v| v.as_array()) {
            Some(values) => values
                .iter()
                .filter_map(|v| v.as_str())
                .map(|v| format!("<code>{}</code>", escape(v)))
                .collect::<Vec<_>>()
                .join(" "),
            None => format!(
                "<span class=\"muted\">{} value(s), not mapped: not recorded</span>",
                item.get("value_count")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0)
            ),
        };
        let friendly = match text("friendly_name") {
            "" => String::new(),
            f => format!("<br><span class=\"muted small\">{}</span>", escape(f)),
        };
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}{friendly}</td><td>{}</td><td>{values}</td></tr>",
            escape(text("name")),
            match text("mapped_by") {
                "" => "\u{2013}".to_owned(),
                m => format!("<code>{}</code>", escape(m)),
            },
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The audit row's plan JSON as a list of changes.
fn changes_list(json: Option<&str>) -> String {
    let Some(plan) = json.and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok()) else {
        return "<p class=\"muted\">None (the login did not reach the sync).</p>".into();
    };
    let mut out = String::from("<ul class=\"diff\">");
    let mut any = false;
    if plan.get("create_user").and_then(|v| v.as_bool()) == Some(true) {
        out.push_str("<li class=\"add\">+ create the user</li>");
        any = true;
    }
    if let Some(fields) = plan.get("fields").and_then(|v| v.as_object()) {
        for (name, value) in fields {
            if let Some(value) = value.as_str() {
                let _ = write!(
                    out,
                    "<li class=\"change\">~ {} = {}</li>",
                    escape(name),
                    escape(value)
                );
                any = true;
            }
        }
    }
    for (key, sign, class, words) in [
        ("create_groups", "+", "add", "create group"),
        ("add_memberships", "+", "add", "add to group"),
        (
            "remove_memberships",
            "\u{2212}",
            "remove",
            "remove from group",
        ),
    ] {
        for name in plan
            .get(key)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
        {
            let _ = write!(
                out,
                "<li class=\"{class}\">{sign} {words} {}</li>",
                escape(name)
            );
            any = true;
        }
    }
    if !any {
        out.push_str("<li class=\"muted\">no change</li>");
    }
    out.push_str("</ul>");
    let unknown: Vec<String> = plan
        .get("unknown_groups")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .map(|g| format!("<code>{}</code>", escape(g)))
        .collect();
    if !unknown.is_empty() {
        let _ = write!(
            out,
            "<p><span class=\"badge warn\">flag</span> unknown groups, ignored (no local group \
             of that name): {}</p>",
            unknown.join(" ")
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Users and groups
// ---------------------------------------------------------------------------------------------

/// `/admin/users`: every user, with a search by login name.
pub fn users(viewer: &Viewer<'_>, users: &[crate::store::UserSummary], query: &str) -> String {
    let mut body = format!(
        "<div class=\"page-head\"><h1>Users</h1></div>\
         <form method=\"get\" action=\"/admin/users\" class=\"panel\"><div class=\"filters\">\
         <div class=\"field\"><label for=\"q\">Login name contains</label><input id=\"q\" name=\"q\" value=\"{}\"></div>\
         <div class=\"field\"><button type=\"submit\">Search</button></div></div></form>",
        escape(query)
    );
    body.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th>Login name</th><th>Full name</th>\
         <th>E-mail</th><th class=\"num\">Groups</th><th>Last login</th><th></th></tr></thead><tbody>",
    );
    for user in users {
        let _ = write!(
            body,
            "<tr><td><a href=\"/admin/user?login={}\">{}</a></td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&encode(&user.login_name)),
            escape(&user.login_name),
            escape(user.full_name.as_deref().unwrap_or("\u{2013}")),
            escape(user.email.as_deref().unwrap_or("\u{2013}")),
            user.groups,
            user.last_login.map(when).unwrap_or_else(|| "never".into()),
            if user.disabled {
                "<span class=\"badge bad\">disabled</span>"
            } else {
                ""
            },
        );
    }
    if users.is_empty() {
        body.push_str("<tr><td colspan=\"6\" class=\"muted\">No user.</td></tr>");
    }
    body.push_str("</tbody></table></div>");
    console(viewer, Section::Users, "Users", &body)
}

/// `/admin/user?login=`: attributes, groups, sessions with a revoke button each.
pub fn user(viewer: &Viewer<'_>, detail: &UserDetail, sessions: &[SessionInfo]) -> String {
    let user = &detail.user;
    let opt = |v: &Option<String>| escape(v.as_deref().unwrap_or("\u{2013}"));
    let groups = |names: &[String]| {
        if names.is_empty() {
            "<span class=\"muted\">none</span>".to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("<span class=\"badge\">{}</span>", escape(n)))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    let mut body = format!(
        "<div class=\"page-head\"><h1>{}</h1>{}</div>\
         <div class=\"panels\"><div class=\"panel\"><h2>Attributes</h2><dl class=\"facts\">\
         <dt>Full name</dt><dd>{}</dd><dt>E-mail</dt><dd>{}</dd><dt>Description</dt><dd>{}</dd>\
         <dt>External ID</dt><dd class=\"mono\">{}</dd><dt>Created</dt><dd>{}</dd><dt>Updated</dt><dd>{}</dd>\
         </dl></div><div class=\"panel\"><h2>Groups</h2><dl class=\"facts\">\
         <dt>Federated</dt><dd>{}</dd><dt>Local</dt><dd>{}</dd></dl></div></div>",
        escape(&user.login_name),
        if user.disabled {
            "<span class=\"badge bad\">disabled</span>"
        } else {
            "<span class=\"badge ok\">enabled</span>"
        },
        opt(&user.full_name),
        opt(&user.email),
        opt(&user.description),
        opt(&user.external_id),
        when(user.created_at),
        when(user.updated_at),
        groups(&detail.federated_groups),
        groups(&detail.local_groups),
    );
    body.push_str("<div class=\"panel\"><h2>Sessions</h2>");
    if sessions.is_empty() {
        body.push_str("<p class=\"muted\">No session that has not expired.</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>Session</th><th>Signed in</th>\
             <th>Expires</th><th>State</th><th></th></tr></thead><tbody>",
        );
        for session in sessions {
            let action = if session.revoked {
                "<span class=\"badge bad\">revoked</span>".to_owned()
            } else {
                format!(
                    "<form method=\"post\" action=\"/admin/sessions/revoke\" class=\"inline\">\
                     <input type=\"hidden\" name=\"token\" value=\"{}\">\
                     <input type=\"hidden\" name=\"jti\" value=\"{}\">\
                     <input type=\"hidden\" name=\"login\" value=\"{}\">\
                     <button type=\"submit\" class=\"danger small\">Revoke</button></form>",
                    escape(viewer.form_token),
                    escape(&session.jti),
                    escape(&user.login_name),
                )
            };
            let _ = write!(
                body,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                escape(&session.sid),
                when(session.issued_at),
                when(session.expires_at),
                if session.revoked {
                    "ended"
                } else {
                    "<span class=\"badge ok\">active</span>"
                },
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div><div class=\"panel\"><h2>Recent logins</h2>");
    if detail.recent_logins.is_empty() {
        body.push_str("<p class=\"muted\">None.</p>");
    } else {
        body.push_str("<ul>");
        for entry in &detail.recent_logins {
            let _ = write!(
                body,
                "<li>{} {} {}</li>",
                when(entry.at),
                outcome_badge(&entry.outcome, false),
                entry
                    .reason_code
                    .as_deref()
                    .map(|c| format!("<code>{}</code>", escape(c)))
                    .unwrap_or_default()
            );
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        "<p><a href=\"/admin/attempts?login={}\">Every login attempt of this user</a></p></div>",
        escape(&encode(&user.login_name))
    );
    console(viewer, Section::Users, &user.login_name, &body)
}

/// A group as the groups page shows it. `idp_ids` stays empty until groups carry IdP ids.
#[derive(Debug, Clone, Default)]
pub struct GroupView {
    /// The group and its members.
    pub group: GroupMembers,
    /// Whether `FEDERATEDLY_MANAGED_GROUPS` manages it.
    pub managed: bool,
    /// The IdP's identifiers of the group.
    pub idp_ids: Vec<String>,
}

/// `/admin/groups`: every local group, managed or not, its members, its IdP ids.
pub fn groups(viewer: &Viewer<'_>, groups: &[GroupView]) -> String {
    let with_ids = groups.iter().any(|g| !g.idp_ids.is_empty());
    let mut body = String::from(
        "<div class=\"page-head\"><h1>Groups</h1><span class=\"muted small\">Local groups, \
         matched with the IdP's group names at login</span></div><div class=\"table-wrap\"><table>\
         <thead><tr><th>Group</th><th>Managed</th>",
    );
    if with_ids {
        body.push_str("<th>IdP ids</th>");
    }
    body.push_str(
        "<th class=\"num\">Members</th><th>Members (federated, local)</th></tr></thead><tbody>",
    );
    for view in groups {
        let members: Vec<String> = view
            .group
            .members
            .iter()
            .map(|(login, federated)| {
                format!(
                    "<a href=\"/admin/user?login={}\">{}</a>{}",
                    escape(&encode(login)),
                    escape(login),
                    if *federated {
                        ""
                    } else {
                        " <span class=\"badge\">local</span>"
                    }
                )
            })
            .collect();
        let _ = write!(
            body,
            "<tr><td><strong>{}</strong></td><td>{}</td>",
            escape(&view.group.name),
            if view.managed {
                "<span class=\"badge ok\">by the IdP</span>"
            } else {
                "<span class=\"badge\">locally</span>"
            }
        );
        if with_ids {
            let ids: Vec<String> = view
                .idp_ids
                .iter()
                .map(|id| format!("<code>{}</code>", escape(id)))
                .collect();
            let _ = write!(body, "<td>{}</td>", ids.join(" "));
        }
        let _ = write!(
            body,
            "<td class=\"num\">{}</td><td>{}</td></tr>",
            view.group.members.len(),
            if members.is_empty() {
                "<span class=\"muted\">none</span>".to_owned()
            } else {
                members.join(", ")
            }
        );
    }
    if groups.is_empty() {
        body.push_str(
            "<tr><td colspan=\"4\" class=\"muted\">No local group yet: \
             <code>fedbridge groups add NAME</code>.</td></tr>",
        );
    }
    body.push_str("</tbody></table></div>");
    console(viewer, Section::Groups, "Groups", &body)
}

// ---------------------------------------------------------------------------------------------
// The test login's result
// ---------------------------------------------------------------------------------------------

/// The result of a test login that went through: the verified assertion, the mapped profile
/// and the exact changes the sync would make. Nothing of it was applied.
pub fn test_result(report: &TestReport, correlation_id: &str) -> String {
    let plan = &report.dry_run.plan;
    let opt = |v: &Option<String>| escape(v.as_deref().unwrap_or("\u{2013}"));
    let mut attributes = String::new();
    for attribute in &report.attributes {
        let values: Vec<String> = attribute
            .values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(v)))
            .collect();
        let _ = write!(
            attributes,
            "<tr><td class=\"mono\">{}{}</td><td>{}</td></tr>",
            escape(&attribute.name),
            attribute
                .friendly_name
                .as_deref()
                .map(|f| format!("<br><span class=\"muted small\">{}</span>", escape(f)))
                .unwrap_or_default(),
            values.join(" ")
        );
    }
    let groups = match &report.identity.groups {
        GroupClaim::NotMapped => {
            "<span class=\"muted\">not mapped: memberships are never touched</span>".to_owned()
        }
        GroupClaim::Absent => {
            "<span class=\"muted\">the groups attribute is absent: memberships are left as \
             they are</span>"
                .to_owned()
        }
        GroupClaim::Overage { marker } => format!(
            "<span class=\"muted\">group overage ({}): memberships are left as they are</span>",
            escape(marker)
        ),
        GroupClaim::Present(groups) if groups.is_empty() => {
            "<span class=\"muted\">none</span>".to_owned()
        }
        GroupClaim::Present(groups) => groups
            .iter()
            .map(|g| format!("<span class=\"badge\">{}</span>", escape(g)))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let changes = changes_list(serde_json::to_string(plan).ok().as_deref());
    let before = match &report.dry_run.current {
        None => "<p class=\"muted\">No such user yet: the login would create it.</p>".to_owned(),
        Some(current) => {
            let names: Vec<String> = current
                .memberships
                .iter()
                .map(|(g, federated)| {
                    format!(
                        "<span class=\"badge\">{}{}</span>",
                        escape(g),
                        if *federated { "" } else { " (local)" }
                    )
                })
                .collect();
            format!(
                "<p>Stored user <strong>{}</strong>, groups now: {}</p>",
                escape(&current.user.login_name),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(" ")
                }
            )
        }
    };
    let body = format!(
        "<div class=\"page-head\"><h1>Test login: would be accepted</h1>\
         <span class=\"badge test\">test \u{b7} nothing applied</span></div>\
         <div class=\"notice info\">This was a test login started from the admin console. The \
         answer of the IdP was verified like any login; nothing was written but the audit row \
         (<span class=\"mono\">{cid}</span>), marked as a test. No user, membership or token \
         was made.</div>\
         <div class=\"panels\"><div class=\"panel\"><h2>Verified assertion</h2><dl class=\"facts\">\
         <dt>Issuer</dt><dd>{issuer}</dd><dt>NameID</dt><dd class=\"mono\">{name_id}</dd>\
         <dt>NameID Format</dt><dd class=\"mono\">{format}</dd><dt>Clock offset</dt><dd>{offset}</dd>\
         </dl></div><div class=\"panel\"><h2>Mapped profile</h2><dl class=\"facts\">\
         <dt>Login name</dt><dd class=\"mono\">{login}</dd>\
         <dt>Full name</dt><dd>{full}</dd><dt>E-mail</dt><dd>{email}</dd><dt>Description</dt><dd>{desc}</dd>\
         <dt>Groups</dt><dd>{groups}</dd></dl></div></div>\
         <div class=\"panel\" id=\"sync-diff\"><h2>What the sync would change</h2>{before}{changes}</div>\
         <div class=\"panel\"><h2>Every attribute</h2><div class=\"table-wrap\"><table><thead><tr>\
         <th>Name</th><th>Values</th></tr></thead><tbody>{attributes}</tbody></table></div></div>\
         <p class=\"actions\"><a class=\"button\" href=\"/admin\">Back to the console</a>\
         <a href=\"/admin/attempts?correlation={cid_q}\">The audit row</a></p>",
        cid = escape(correlation_id),
        cid_q = escape(&encode(correlation_id)),
        issuer = escape(&report.issuer),
        name_id = opt(&report.name_id),
        format = opt(&report.name_id_format),
        offset = report
            .clock_offset
            .map(offset_words)
            .unwrap_or_else(|| "not measured".into()),
        login = escape(&report.identity.login_name),
        full = opt(&report.identity.full_name),
        email = opt(&report.identity.email),
        desc = opt(&report.identity.description),
    );
    test_page("Test login result", &body)
}

/// The result of a test login that would be refused: the reason in words and its code; the
/// detail is on the audit row (it may quote the message: not echoed here).
pub fn test_refused(code: &str, correlation_id: &str) -> String {
    let body = format!(
        "<div class=\"page-head\"><h1>Test login: would be refused</h1>\
         <span class=\"badge test\">test \u{b7} nothing applied</span></div>\
         <div class=\"notice error\"><strong>{}</strong><br>Reason code <code>{}</code></div>\
         <p>The detail is on the audit row <span class=\"mono\">{}</span>.</p>\
         <p class=\"actions\"><a class=\"button\" href=\"/admin/attempts?correlation={}\">Open the audit row</a>\
         <a href=\"/admin\">Back to the console</a></p>",
        escape(reason_in_words(code)),
        escape(code),
        escape(correlation_id),
        escape(&encode(correlation_id)),
    );
    test_page("Test login result", &body)
}

fn test_page(title: &str, body: &str) -> String {
    pages::document(&Layout {
        brand_sub: Some("Admin console"),
        home: "/admin",
        nav: "<nav aria-label=\"Admin console\"><ul class=\"nav\"><li><a href=\"/admin\">Status</a></li>\
              <li><a href=\"/admin/attempts\">Login attempts</a></li></ul></nav>",
        width: Width::Wide,
        ..Layout::plain(title, body)
    })
}

/// `text` percent-encoded for a query value.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_code_has_words() {
        for code in crate::login::all_reason_codes() {
            assert_ne!(
                reason_in_words(code),
                "A reason this version of fedbridge does not describe.",
                "{code}"
            );
        }
    }

    #[test]
    fn the_chart_draws_one_bar_per_hour_with_logins() {
        let svg = chart(&[(3600, 3, 1), (7200, 0, 2)], 0, 4 * 3600);
        assert_eq!(svg.matches("class=\"accepted\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("class=\"refused\"").count(), 2, "{svg}");
        assert!(!svg.contains("style="), "{svg}");
    }
}

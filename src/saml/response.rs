//! The Response and Assertion rules of SPEC section 4, in the order an administrator would
//! want to hear about them: is it XML, is it a SAML success, is it signed by our IdP, is it for
//! us, is it valid now, did we ask for it, is it new.

use std::borrow::Cow;
use std::collections::HashSet;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{Rejection, RejectionReason as R, quote};
use super::ns::{SAML, SAMLP};
use super::xml::{self, Element, XmlDocument, XmlError};
use super::xmldsig::{self, DSIG_NS};
use super::xmlenc;
use super::{Claim, MessageLedger, SpSettings, TrustedIdp, ValidationError};

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// An assertion that passed every check. Only the validator can build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    issuer: String,
    name_id: Option<String>,
    name_id_format: Option<String>,
    session_index: Option<String>,
    not_on_or_after: OffsetDateTime,
    attributes: Vec<SamlAttribute>,
    assertion_id: String,
    in_response_to: Option<String>,
    issue_instant: Option<OffsetDateTime>,
}

/// One `saml:Attribute` with all its values (full text content of each `AttributeValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlAttribute {
    /// `Name`.
    pub name: String,
    /// `FriendlyName`, when given.
    pub friendly_name: Option<String>,
    /// Every value, in order.
    pub values: Vec<String>,
}

impl VerifiedAssertion {
    /// The IdP entityID that issued the assertion.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The `Subject/NameID` text; `None` when the Subject has none (allowed only when
    /// [`SpSettings::name_id_required`] is off).
    pub fn name_id(&self) -> Option<&str> {
        self.name_id.as_deref()
    }
    /// The NameID `Format`, when given.
    pub fn name_id_format(&self) -> Option<&str> {
        self.name_id_format.as_deref()
    }
    /// The `SessionIndex` of the first AuthnStatement, when given.
    pub fn session_index(&self) -> Option<&str> {
        self.session_index.as_deref()
    }
    /// When the assertion stops being valid (the earliest `NotOnOrAfter`).
    pub fn not_on_or_after(&self) -> OffsetDateTime {
        self.not_on_or_after
    }
    /// The attributes, in document order.
    pub fn attributes(&self) -> &[SamlAttribute] {
        &self.attributes
    }
    /// The Assertion `ID` (recorded in the replay cache).
    pub fn assertion_id(&self) -> &str {
        &self.assertion_id
    }
    /// The request this answers; `None` for an IdP-initiated login.
    pub fn in_response_to(&self) -> Option<&str> {
        self.in_response_to.as_deref()
    }
    /// The Assertion's `IssueInstant` (signed), when it parses: the IdP's clock at issue.
    pub fn issue_instant(&self) -> Option<OffsetDateTime> {
        self.issue_instant
    }
}

/// Every rule of SPEC section 4, then the ledger (last, so that nothing is claimed for a
/// response that fails any other rule).
pub(super) fn validate<L: MessageLedger + ?Sized>(
    bytes: &[u8],
    sp: &SpSettings,
    idp: &TrustedIdp,
    ledger: &mut L,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, ValidationError<L::Error>> {
    let verified = check(bytes, sp, idp, now)?;
    let expires = verified.not_on_or_after + sp.clock_skew;
    let claim = ledger
        .claim(
            &verified.assertion_id,
            expires,
            verified.in_response_to.as_deref(),
        )
        .map_err(ValidationError::Ledger)?;
    match claim {
        Claim::Taken => {}
        Claim::AssertionUsed => {
            return Err(Rejection::new(
                R::Replay,
                format!(
                    "the assertion {} was already used",
                    quote(&verified.assertion_id)
                ),
            )
            .into());
        }
        Claim::RequestUnknown => {
            let request = verified.in_response_to.as_deref().unwrap_or_default();
            return Err(Rejection::new(
                R::InResponseToUnknown,
                format!(
                    "InResponseTo {} names no outstanding request of ours (unknown, answered or expired)",
                    quote(request)
                ),
            )
            .into());
        }
    }
    Ok(verified)
}

/// The rules of SPEC section 4 but the ledger's.
fn check(
    bytes: &[u8],
    sp: &SpSettings,
    idp: &TrustedIdp,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, Rejection> {
    let doc = xml::parse(bytes, sp.max_response_bytes).map_err(xml_rejection)?;
    let response = doc
        .root()
        .ok_or_else(|| Rejection::new(R::MalformedXml, "the document has no root element"))?;
    if !response.is(SAMLP, "Response") {
        return Err(Rejection::new(
            R::NotAResponse,
            format!(
                "the root element is <{}> in namespace {}, not a SAML 2.0 protocol Response",
                response.local_name(),
                quote(response.namespace())
            ),
        ));
    }
    check_version_and_id(response, "Response")?;
    let mut ids = HashSet::new();
    check_unique_ids(response, &mut ids)?;
    check_status(response)?;

    let response_signed = verify_own_signature(&doc, response, idp, sp)?;
    let holder = the_one_assertion(response)?;
    let decrypted;
    let assertion = if holder.is(SAML, "EncryptedAssertion") {
        decrypted = xmlenc::decrypt_element(holder, &sp.decryption_keys, sp.max_response_bytes)?;
        // AES-CBC does not protect the ciphertext: unless the Response signature covered it,
        // what follows about the plaintext must not tell an attacker more than "it failed"
        // (Jager & Somorovsky's attack on XML Encryption reads exactly such differences).
        let uniform = !response_signed && !decrypted.authenticated;
        let checked = decrypted_assertion(&decrypted.doc, &mut ids).and_then(|assertion| {
            let signed = verify_own_signature(&decrypted.doc, assertion, idp, sp)?;
            require_signature(signed, response_signed, sp)?;
            Ok(assertion)
        });
        checked.map_err(|r| {
            if uniform {
                xmlenc::decryption_failed()
            } else {
                r
            }
        })?
    } else {
        check_version_and_id(holder, "Assertion")?;
        let signed = verify_own_signature(&doc, holder, idp, sp)?;
        require_signature(signed, response_signed, sp)?;
        holder
    };

    // The IdP's clock, from the verified assertion: every refusal from here on says how far
    // it is from ours (the first thing to look at when a time rule refuses).
    let issue_instant = assertion
        .attr("IssueInstant")
        .and_then(|text| parse_instant(&text));
    let offset = issue_instant.map(|at| (at - now).whole_seconds());
    read_verified(
        response,
        assertion,
        response_signed,
        issue_instant,
        sp,
        idp,
        now,
    )
    .map_err(|rejection| rejection.with_clock_offset(offset))
}

/// The rules that read the verified `response` and `assertion`, and the assertion they give.
fn read_verified(
    response: Element<'_>,
    assertion: Element<'_>,
    response_signed: bool,
    issue_instant: Option<OffsetDateTime>,
    sp: &SpSettings,
    idp: &TrustedIdp,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, Rejection> {
    // From here on, every value is read from `response` or `assertion`: the elements whose
    // signatures were verified (or, for Response attributes, the element holding the verified
    // assertion, whose values are cross-checked against the signed assertion).
    let issuer = check_issuers(response, assertion, idp)?;
    check_destination(response, sp)?;
    let subject = read_subject(assertion, sp)?;
    let confirmation = check_subject_confirmation(subject.element, sp, now)?;
    let conditions_end = check_conditions(assertion, sp, now)?;
    let session_index = check_authn_statement(assertion, sp, now)?;
    let attributes = read_attributes(assertion)?;

    let in_response_to = effective_in_response_to(
        response,
        response_signed,
        confirmation.in_response_to.as_deref(),
    )?;
    let not_on_or_after = conditions_end.map_or(confirmation.not_on_or_after, |c| {
        c.min(confirmation.not_on_or_after)
    });
    let assertion_id = assertion.attr("ID").unwrap_or_default().into_owned();

    if in_response_to.is_none() && !sp.allow_unsolicited {
        return Err(Rejection::new(
            R::UnsolicitedNotAllowed,
            "the response answers no request (IdP-initiated login), and IdP-initiated login is not allowed",
        ));
    }
    Ok(VerifiedAssertion {
        issuer,
        name_id: subject.name_id,
        name_id_format: subject.name_id_format,
        session_index,
        not_on_or_after,
        attributes,
        assertion_id,
        in_response_to,
        issue_instant,
    })
}

fn xml_rejection(error: XmlError) -> Rejection {
    let reason = match &error {
        XmlError::Empty => R::EmptyInput,
        XmlError::TooLarge { .. } => R::InputTooLarge,
        XmlError::DtdForbidden => R::DtdForbidden,
        XmlError::TooDeep => R::TooDeep,
        XmlError::NulByte => R::NulByte,
        XmlError::Malformed(_) => R::MalformedXml,
    };
    Rejection::new(reason, error.to_string())
}

fn check_version_and_id(element: Element<'_>, what: &str) -> Result<(), Rejection> {
    match element.attr("Version").as_deref() {
        Some("2.0") => {}
        other => {
            return Err(Rejection::new(
                R::UnsupportedVersion,
                format!(
                    "the {what} has Version {}, only SAML 2.0 is supported",
                    quote(other.unwrap_or("(none)"))
                ),
            ));
        }
    }
    let id = element.attr("ID").unwrap_or_default();
    if id.trim().is_empty() {
        return Err(Rejection::new(
            R::MissingId,
            format!("the {what} has no ID attribute"),
        ));
    }
    if !xml::is_ncname(&id) {
        return Err(Rejection::new(
            R::InvalidId,
            format!(
                "the {what} ID {} is not an xs:ID (it must start with a letter or _)",
                quote(&id)
            ),
        ));
    }
    // IssueInstant is required (SAML core 3.2.2, 2.3.3); its format is checked, its value is
    // not (the validity window comes from the conditions and the confirmation).
    match element.attr("IssueInstant") {
        Some(text) if parse_instant(&text).is_some() => Ok(()),
        Some(text) => Err(Rejection::new(
            R::InvalidTimestamp,
            format!(
                "the {what} IssueInstant is {}, not an xs:dateTime in UTC",
                quote(&text)
            ),
        )),
        None => Err(Rejection::new(
            R::InvalidTimestamp,
            format!("the {what} has no IssueInstant"),
        )),
    }
}

/// At least one of the Assertion's and the Response's signatures; the Assertion's own when
/// the settings require it.
fn require_signature(
    assertion_signed: bool,
    response_signed: bool,
    sp: &SpSettings,
) -> Result<(), Rejection> {
    if !assertion_signed && !response_signed {
        return Err(Rejection::new(
            R::SignatureMissing,
            "neither the Response nor the Assertion is signed; the IdP must sign at least one of them",
        ));
    }
    if !assertion_signed && sp.require_signed_assertion {
        return Err(Rejection::new(
            R::AssertionSignatureMissing,
            "only the Response is signed, and FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS asks for a signature of the Assertion itself",
        ));
    }
    Ok(())
}

/// The saml:Assertion of a decrypted EncryptedAssertion, its IDs added to `ids`.
fn decrypted_assertion<'a>(
    doc: &'a XmlDocument,
    ids: &mut HashSet<String>,
) -> Result<Element<'a>, Rejection> {
    let wrapper = doc.root().ok_or_else(xmlenc::decryption_failed)?;
    let assertion = wrapper
        .children()
        .next()
        .filter(|e| e.is(SAML, "Assertion"))
        .ok_or_else(|| {
            Rejection::new(
                R::SchemaViolation,
                "the EncryptedAssertion does not decrypt to a saml:Assertion",
            )
        })?;
    check_unique_ids(wrapper, ids)?;
    check_version_and_id(assertion, "Assertion")?;
    Ok(assertion)
}

/// Every `ID`/`Id` attribute must be unique (SPEC: the signed ID is unique), across the
/// Response and, through `seen`, the assertion decrypted from it.
fn check_unique_ids(root: Element<'_>, seen: &mut HashSet<String>) -> Result<(), Rejection> {
    for element in std::iter::once(root).chain(root.descendants()) {
        for value in [element.attr("ID"), element.attr("Id")]
            .into_iter()
            .flatten()
        {
            if !seen.insert(value.to_string()) {
                return Err(Rejection::new(
                    R::DuplicateId,
                    format!("the ID {} is used twice in the document", quote(&value)),
                ));
            }
        }
    }
    Ok(())
}

fn check_status(response: Element<'_>) -> Result<(), Rejection> {
    let status = response.only_child(SAMLP, "Status").map_err(|n| {
        Rejection::new(
            R::SchemaViolation,
            format!("the Response must have one Status, it has {n}"),
        )
    })?;
    let code = status
        .first_child(SAMLP, "StatusCode")
        .and_then(|c| c.attr("Value"))
        .ok_or_else(|| Rejection::new(R::SchemaViolation, "the Status has no StatusCode value"))?;
    if code == STATUS_SUCCESS {
        return Ok(());
    }
    let sub = status
        .first_child(SAMLP, "StatusCode")
        .and_then(|c| c.first_child(SAMLP, "StatusCode"))
        .and_then(|c| c.attr("Value"))
        .map(|v| format!(" / {}", quote(last_segment(&v))))
        .unwrap_or_default();
    let message = status
        .first_child(SAMLP, "StatusMessage")
        .map(|m| format!(": {}", quote(m.text().trim())))
        .unwrap_or_default();
    Err(Rejection::new(
        R::StatusNotSuccess,
        format!(
            "the IdP answered with status {}{sub}{message}",
            quote(last_segment(&code))
        ),
    ))
}

fn last_segment(uri: &str) -> &str {
    uri.rsplit(':').next().unwrap_or(uri)
}

/// Verifies the `ds:Signature` that is a direct child of `element`, if there is one.
/// Returns whether `element` is signed; a present but invalid signature is a rejection.
fn verify_own_signature(
    doc: &XmlDocument,
    element: Element<'_>,
    idp: &TrustedIdp,
    sp: &SpSettings,
) -> Result<bool, Rejection> {
    let mut signatures = element.children_named(DSIG_NS, "Signature");
    let Some(signature) = signatures.next() else {
        return Ok(false);
    };
    if signatures.next().is_some() {
        return Err(Rejection::new(
            R::SignatureMalformed,
            format!(
                "the {} carries more than one Signature",
                element.local_name()
            ),
        ));
    }
    xmldsig::verify_enveloped(doc, element, signature, &idp.signing_keys, sp.algorithms)?;
    Ok(true)
}

/// The single Assertion or EncryptedAssertion: a child of the Response, and the only one in
/// the whole document (wrapped copies hidden elsewhere are refused, not ignored).
fn the_one_assertion(response: Element<'_>) -> Result<Element<'_>, Rejection> {
    let is_assertion =
        |e: &Element<'_>| e.is(SAML, "Assertion") || e.is(SAML, "EncryptedAssertion");
    let total = response.descendants().filter(is_assertion).count();
    let direct: Vec<Element<'_>> = response.children().filter(is_assertion).collect();
    if total > 1 {
        return Err(Rejection::new(
            R::MultipleAssertions,
            format!("the document holds {total} assertions; exactly one is accepted"),
        ));
    }
    match direct.first() {
        Some(one) => Ok(*one),
        None if total == 1 => Err(Rejection::new(
            R::SchemaViolation,
            "the assertion is not a direct child of the Response",
        )),
        None => Err(Rejection::new(
            R::NoAssertion,
            "the Response holds no Assertion",
        )),
    }
}

fn issuer_of(element: Element<'_>) -> Option<String> {
    element
        .first_child(SAML, "Issuer")
        .map(|i| i.text().trim().to_string())
}

fn check_issuers(
    response: Element<'_>,
    assertion: Element<'_>,
    idp: &TrustedIdp,
) -> Result<String, Rejection> {
    let assertion_issuer = issuer_of(assertion)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| Rejection::new(R::IssuerMissing, "the Assertion has no Issuer"))?;
    let expected = idp.entity_id.as_deref().unwrap_or(&assertion_issuer);
    if assertion_issuer != expected {
        return Err(Rejection::new(
            R::IssuerMismatch,
            format!(
                "the Assertion Issuer is {}, expected {}",
                quote(&assertion_issuer),
                quote(expected)
            ),
        ));
    }
    if let Some(response_issuer) = issuer_of(response)
        && response_issuer != expected
    {
        return Err(Rejection::new(
            R::IssuerMismatch,
            format!(
                "the Response Issuer is {}, expected {}",
                quote(&response_issuer),
                quote(expected)
            ),
        ));
    }
    Ok(assertion_issuer)
}

fn check_destination(response: Element<'_>, sp: &SpSettings) -> Result<(), Rejection> {
    if let (Some(destination), Some(acs)) = (response.attr("Destination"), sp.acs_url.value())
        && destination != acs
    {
        return Err(Rejection::new(
            R::DestinationMismatch,
            format!(
                "the Response Destination is {}, our consumer URL is {}",
                quote(&destination),
                quote(acs)
            ),
        ));
    }
    Ok(())
}

struct Subject<'a> {
    element: Element<'a>,
    name_id: Option<String>,
    name_id_format: Option<String>,
}

fn read_subject<'a>(assertion: Element<'a>, sp: &SpSettings) -> Result<Subject<'a>, Rejection> {
    let subject = assertion
        .only_child(SAML, "Subject")
        .map_err(|_| Rejection::new(R::NameIdMissing, "the Assertion has no (single) Subject"))?;
    if subject.first_child(SAML, "EncryptedID").is_some() {
        return read_encrypted_name_id(subject, sp);
    }
    let name_id = match subject.only_child(SAML, "NameID") {
        Ok(name_id) => name_id,
        // SAML makes the identifier optional; without one, the login name comes from the
        // attribute the settings name (and every other Subject rule still applies).
        Err(0) if !sp.name_id_required => {
            return Ok(Subject {
                element: subject,
                name_id: None,
                name_id_format: None,
            });
        }
        Err(n) => {
            return Err(Rejection::new(
                R::NameIdMissing,
                format!("the Subject must hold one NameID, it holds {n}"),
            ));
        }
    };
    // Exactly as sent, never trimmed (SPEC section 5): the login name rules refuse blanks.
    let value = name_id.text().into_owned();
    if value.is_empty() {
        return Err(Rejection::new(R::NameIdMissing, "the NameID is empty"));
    }
    check_sp_name_qualifier(name_id, sp)?;
    Ok(Subject {
        element: subject,
        name_id: Some(value),
        name_id_format: name_id.attr("Format").map(Cow::into_owned),
    })
}

fn read_encrypted_name_id<'a>(
    subject: Element<'a>,
    sp: &SpSettings,
) -> Result<Subject<'a>, Rejection> {
    let encrypted = subject
        .first_child(SAML, "EncryptedID")
        .ok_or_else(|| Rejection::new(R::NameIdMissing, "no EncryptedID"))?;
    let doc = xmlenc::decrypt_element(encrypted, &sp.decryption_keys, sp.max_response_bytes)?;
    let name_id = doc
        .doc
        .root()
        .and_then(|w| w.children().next())
        .filter(|e| e.is(SAML, "NameID"))
        .ok_or_else(|| {
            Rejection::new(
                R::NameIdMissing,
                "the EncryptedID does not decrypt to a NameID",
            )
        })?;
    let value = name_id.text().into_owned();
    if value.is_empty() {
        return Err(Rejection::new(
            R::NameIdMissing,
            "the decrypted NameID is empty",
        ));
    }
    check_sp_name_qualifier(name_id, sp)?;
    Ok(Subject {
        element: subject,
        name_id: Some(value),
        name_id_format: name_id.attr("Format").map(Cow::into_owned),
    })
}

/// An `SPNameQualifier`, when present, names the SP the identifier was made for: us.
fn check_sp_name_qualifier(name_id: Element<'_>, sp: &SpSettings) -> Result<(), Rejection> {
    if let (Some(qualifier), Some(ours)) = (name_id.attr("SPNameQualifier"), sp.entity_id.value())
        && qualifier != ours
    {
        return Err(Rejection::new(
            R::AudienceMismatch,
            format!(
                "the NameID was issued for SP {}, not for us ({})",
                quote(&qualifier),
                quote(ours)
            ),
        ));
    }
    Ok(())
}

struct Confirmation {
    not_on_or_after: OffsetDateTime,
    in_response_to: Option<String>,
}

/// At least one bearer SubjectConfirmation must hold: Recipient is our ACS, it is within its
/// validity window. When none holds, the first bearer confirmation's problem is reported.
fn check_subject_confirmation(
    subject: Element<'_>,
    sp: &SpSettings,
    now: OffsetDateTime,
) -> Result<Confirmation, Rejection> {
    let mut first_problem = None;
    for confirmation in subject.children_named(SAML, "SubjectConfirmation") {
        if confirmation.attr("Method").as_deref() != Some(BEARER) {
            continue;
        }
        match check_bearer(confirmation, sp, now) {
            Ok(ok) => return Ok(ok),
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(first_problem.unwrap_or_else(|| {
        Rejection::new(
            R::SubjectConfirmationInvalid,
            "the Subject has no bearer SubjectConfirmation",
        )
    }))
}

fn check_bearer(
    confirmation: Element<'_>,
    sp: &SpSettings,
    now: OffsetDateTime,
) -> Result<Confirmation, Rejection> {
    let data = confirmation
        .first_child(SAML, "SubjectConfirmationData")
        .ok_or_else(|| {
            Rejection::new(
                R::SubjectConfirmationInvalid,
                "the bearer SubjectConfirmation has no SubjectConfirmationData",
            )
        })?;
    if let Some(acs) = sp.acs_url.value() {
        let recipient = data.attr("Recipient");
        if recipient.as_deref() != Some(acs) {
            return Err(Rejection::new(
                R::RecipientMismatch,
                format!(
                    "the Recipient is {}, our consumer URL is {}",
                    quote(recipient.as_deref().unwrap_or("(none)")),
                    quote(acs)
                ),
            ));
        }
    }
    if let Some(not_before) = timestamp(data, "NotBefore")?
        && now + sp.clock_skew < not_before
    {
        return Err(not_yet_valid("SubjectConfirmationData", not_before));
    }
    let not_on_or_after = timestamp(data, "NotOnOrAfter")?.ok_or_else(|| {
        Rejection::new(
            R::SubjectConfirmationInvalid,
            "the bearer SubjectConfirmationData has no NotOnOrAfter",
        )
    })?;
    if now - sp.clock_skew >= not_on_or_after {
        return Err(expired("SubjectConfirmationData", not_on_or_after));
    }
    Ok(Confirmation {
        not_on_or_after,
        in_response_to: data.attr("InResponseTo").map(Cow::into_owned),
    })
}

/// Checks Conditions: the time window and that every AudienceRestriction names us.
/// Returns the Conditions' NotOnOrAfter, when given.
fn check_conditions(
    assertion: Element<'_>,
    sp: &SpSettings,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, Rejection> {
    let conditions = assertion.only_child(SAML, "Conditions").map_err(|_| {
        Rejection::new(
            R::ConditionsMissing,
            "the Assertion has no Conditions (audience and validity window)",
        )
    })?;
    if let Some(not_before) = timestamp(conditions, "NotBefore")?
        && now + sp.clock_skew < not_before
    {
        return Err(not_yet_valid("Conditions", not_before));
    }
    let not_on_or_after = timestamp(conditions, "NotOnOrAfter")?;
    if let Some(end) = not_on_or_after
        && now - sp.clock_skew >= end
    {
        return Err(expired("Conditions", end));
    }
    if let Some(ours) = sp.entity_id.value() {
        let mut restrictions = conditions
            .children_named(SAML, "AudienceRestriction")
            .peekable();
        if restrictions.peek().is_none() {
            return Err(Rejection::new(
                R::AudienceMismatch,
                "the Conditions have no AudienceRestriction naming us",
            ));
        }
        for restriction in restrictions {
            if restriction
                .children_named(SAML, "Audience")
                .any(|a| a.text().trim() == ours)
            {
                continue;
            }
            let seen: Vec<String> = restriction
                .children_named(SAML, "Audience")
                .map(|a| quote(a.text().trim()))
                .collect();
            return Err(Rejection::new(
                R::AudienceMismatch,
                format!(
                    "the audience is {}, not our entityID {}",
                    seen.join(", "),
                    quote(ours)
                ),
            ));
        }
    }
    Ok(not_on_or_after)
}

fn check_authn_statement(
    assertion: Element<'_>,
    sp: &SpSettings,
    now: OffsetDateTime,
) -> Result<Option<String>, Rejection> {
    let statement = assertion
        .first_child(SAML, "AuthnStatement")
        .ok_or_else(|| {
            Rejection::new(
                R::AuthnStatementMissing,
                "the Assertion has no AuthnStatement",
            )
        })?;
    if let Some(session_end) = timestamp(statement, "SessionNotOnOrAfter")?
        && now - sp.clock_skew >= session_end
    {
        return Err(expired("AuthnStatement SessionNotOnOrAfter", session_end));
    }
    Ok(statement.attr("SessionIndex").map(Cow::into_owned))
}

/// The NameFormat an Attribute without one has (SAML core 2.7.3.1).
const UNSPECIFIED_NAME_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";

/// The attributes of every AttributeStatement, in document order. An Attribute repeated with
/// the same Name and NameFormat (Keycloak's role list mapper sends one element per role) is one
/// attribute: its values are merged in document order, a value repeated by a later element
/// dropped. The same Name with another NameFormat, or another FriendlyName, is two attributes
/// that a lookup by Name could not tell apart: refused.
fn read_attributes(assertion: Element<'_>) -> Result<Vec<SamlAttribute>, Rejection> {
    let mut attributes: Vec<SamlAttribute> = Vec::new();
    let mut formats: Vec<String> = Vec::new();
    for statement in assertion.children_named(SAML, "AttributeStatement") {
        for child in statement.children() {
            if child.is(SAML, "EncryptedAttribute") {
                return Err(Rejection::new(
                    R::EncryptedAttributeUnsupported,
                    "the Assertion holds an EncryptedAttribute; encrypt the whole assertion instead",
                ));
            }
            if !child.is(SAML, "Attribute") {
                continue;
            }
            let name = child
                .attr("Name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Rejection::new(R::SchemaViolation, "an Attribute has no Name"))?
                .into_owned();
            let format = child
                .attr("NameFormat")
                .map_or_else(|| UNSPECIFIED_NAME_FORMAT.to_owned(), Cow::into_owned);
            let friendly_name = child.attr("FriendlyName").map(Cow::into_owned);
            let values: Vec<String> = child
                .children_named(SAML, "AttributeValue")
                .map(|v| v.text().into_owned())
                .collect();
            let Some(index) = attributes.iter().position(|a| a.name == name) else {
                attributes.push(SamlAttribute {
                    name,
                    friendly_name,
                    values,
                });
                formats.push(format);
                continue;
            };
            let first = &mut attributes[index];
            let other_friendly_name = matches!(
                (&first.friendly_name, &friendly_name),
                (Some(a), Some(b)) if a != b
            );
            if formats[index] != format || other_friendly_name {
                return Err(Rejection::new(
                    R::DuplicateAttribute,
                    format!(
                        "the attribute {} appears twice with another NameFormat or FriendlyName",
                        quote(&name)
                    ),
                ));
            }
            if first.friendly_name.is_none() {
                first.friendly_name = friendly_name;
            }
            for value in values {
                if !first.values.contains(&value) {
                    first.values.push(value);
                }
            }
        }
    }
    Ok(attributes)
}

/// The request a response answers. The signed assertion's SubjectConfirmationData is the
/// authority; an unsigned Response may not add an `InResponseTo` the assertion lacks (that
/// would let an unsolicited assertion pass as solicited).
fn effective_in_response_to(
    response: Element<'_>,
    response_signed: bool,
    confirmed: Option<&str>,
) -> Result<Option<String>, Rejection> {
    let on_response = response.attr("InResponseTo");
    match (on_response.as_deref(), confirmed) {
        (Some(r), Some(c)) if r != c => Err(Rejection::new(
            R::InResponseToMismatch,
            format!(
                "the Response answers {} but the Assertion answers {}",
                quote(r),
                quote(c)
            ),
        )),
        (_, Some(c)) => Ok(Some(c.to_string())),
        (Some(r), None) if response_signed => Ok(Some(r.to_string())),
        (Some(_), None) => Err(Rejection::new(
            R::InResponseToMismatch,
            "the unsigned Response names a request but the signed Assertion does not",
        )),
        (None, None) => Ok(None),
    }
}

fn timestamp(element: Element<'_>, attribute: &str) -> Result<Option<OffsetDateTime>, Rejection> {
    let Some(text) = element.attr(attribute) else {
        return Ok(None);
    };
    parse_instant(&text).map(Some).ok_or_else(|| {
        Rejection::new(
            R::InvalidTimestamp,
            format!(
                "{}/@{attribute} is {}, not an xs:dateTime in UTC",
                element.local_name(),
                quote(&text)
            ),
        )
    })
}

/// Parses an `xs:dateTime` as SAML uses it (UTC, optional fraction); a missing zone is UTC.
pub(crate) fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        let zoned = format!("{text}Z");
        OffsetDateTime::parse(&zoned, &Rfc3339).ok()
    })
}

fn not_yet_valid(what: &str, at: OffsetDateTime) -> Rejection {
    Rejection::new(
        R::NotYetValid,
        format!("the {what} is not valid before {}", rfc3339(at)),
    )
}

fn expired(what: &str, at: OffsetDateTime) -> Rejection {
    Rejection::new(R::Expired, format!("the {what} expired at {}", rfc3339(at)))
}

/// Formats an instant as RFC 3339 (UTC).
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_saml_instants() {
        assert!(parse_instant("2014-02-19T01:37:01Z").is_some());
        assert!(parse_instant("2011-06-22T12:49:30.348Z").is_some());
        assert!(parse_instant("2011-06-22T12:49:30").is_some());
        assert!(parse_instant("yesterday").is_none());
    }
}

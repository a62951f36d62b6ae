//! `fedbridge saml check`: validate captured SAMLResponses offline, one JSON line per file.
//!
//! Exit status: 0 all accepted, 1 at least one rejected, 2 usage or I/O error. Content that is
//! not an acceptable SAMLResponse is a rejection (1), never a usage error.

use std::borrow::Cow;

use crate::out::errln;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use fedbridge::clock::{Clock, FixedClock, SystemClock};
use fedbridge::saml::metadata::{DEFAULT_MAX_METADATA_BYTES, parse_idp_metadata};
use fedbridge::saml::{
    AlgorithmPolicy, DEFAULT_MAX_RESPONSE_BYTES, DecryptionKey, Expected, MemoryLedger, Rejection,
    RejectionReason, SigningKey, SpSettings, TrustedIdp, VerifiedAssertion, decode_post_binding,
    validate_response,
};
use fedbridge::sync::find_attribute;

/// Options of `saml check`; the interface is relied on by outside tools: extend, never change.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A captured SAMLResponse: raw XML, or the base64 form value as POSTed; "-" = stdin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Trusted IdP signing certificate, PEM (repeatable; a file may hold several).
    #[arg(long, value_name = "PEM_FILE")]
    idp_cert: Vec<PathBuf>,
    /// IdP metadata: signing certificates and entityID come from it (alternative to --idp-cert).
    #[arg(long, value_name = "XML_FILE", conflicts_with = "idp_cert")]
    idp_metadata: Option<PathBuf>,
    /// Expected IdP entityID (the Issuer); selects the entity in an aggregate. Without it and
    /// without metadata the Issuer is not compared: the pinned certificate is the trust anchor.
    #[arg(long, value_name = "ID")]
    idp_entity_id: Option<String>,
    /// Our SP entityID (the expected Audience).
    #[arg(long, value_name = "ID")]
    sp_entity_id: Option<String>,
    /// Our ACS URL (the expected Destination and Recipient).
    #[arg(long, value_name = "URL")]
    acs_url: Option<String>,
    /// SP private key for EncryptedAssertion (repeatable).
    #[arg(long, value_name = "PEM_FILE")]
    sp_key: Vec<PathBuf>,
    /// An outstanding AuthnRequest ID (repeatable); consumed by the response that answers it.
    #[arg(long, value_name = "ID")]
    request_id: Vec<String>,
    /// Accept responses without InResponseTo (IdP-initiated).
    #[arg(long)]
    allow_unsolicited: bool,
    /// Validation time (default: the system clock).
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<OffsetDateTime>,
    /// Allowed clock skew in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    clock_skew: u32,
    /// Accept SHA-1 digests and signatures (refused by default).
    #[arg(long)]
    insecure_allow_sha1: bool,
    /// Accept RSA signing keys shorter than 2048 bits (refused by default).
    #[arg(long)]
    insecure_allow_weak_keys: bool,
    /// Largest response accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_RESPONSE_BYTES)]
    max_bytes: usize,
    /// The attribute holding the login name (SAML_USER_ID_ATTRIBUTE): then the Subject needs
    /// no NameID (AD FS sends none without a NameID rule), and the line shows the login name.
    #[arg(long, value_name = "NAME")]
    user_id_attribute: Option<String>,
}

fn parse_now(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time ({e}), e.g. 2026-01-15T10:00:00Z"))
}

/// One line of output, borrowing from the verdict (nothing is copied to print it).
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Verdict<'a> {
    Accepted(Accepted<'a>),
    Rejected(Rejected<'a>),
}

#[derive(Debug, Serialize)]
struct Accepted<'a> {
    file: String,
    accepted: bool,
    issuer: &'a str,
    name_id: Option<&'a str>,
    name_id_format: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_name: Option<String>,
    session_index: Option<&'a str>,
    not_on_or_after: String,
    attributes: BTreeMap<&'a str, &'a [String]>,
    assertion_id: &'a str,
    in_response_to: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    unchecked: &'a [&'static str],
}

#[derive(Debug, Serialize)]
struct Rejected<'a> {
    file: String,
    accepted: bool,
    reason: &'static str,
    detail: &'a str,
}

/// Runs the command.
pub fn run(args: &CheckArgs) -> ExitCode {
    let (sp, idp) = match settings(args) {
        Ok(s) => s,
        Err(message) => {
            errln!("fedbridge saml check: {message}");
            return ExitCode::from(2);
        }
    };
    let clock: Box<dyn Clock> = match args.now {
        Some(at) => Box::new(FixedClock(at)),
        None => Box::new(SystemClock),
    };
    let mut ledger = MemoryLedger::with_requests(args.request_id.iter().cloned());
    let unchecked = unchecked_rules(&sp, &idp);
    let mut io_error = false;
    let mut rejected = false;
    // One buffered writer for the whole run (a write(2) per 64 KiB, not per line), flushed
    // before anything goes to stderr so that the two stay in order.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut line = Vec::with_capacity(4096);
    // One input buffer for the whole run.
    let mut bytes = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        if let Err(e) = read_input(file, args.max_bytes, &mut bytes) {
            let _ = out.flush();
            errln!("fedbridge saml check: cannot read {name}: {e}");
            io_error = true;
            continue;
        }
        let outcome = to_xml(&bytes, args.max_bytes).and_then(|xml| {
            validate_response(&xml, &sp, &idp, &mut ledger, clock.now()).map_err(Rejection::from)
        });
        let verdict = match &outcome {
            Ok(assertion) => Verdict::Accepted(accepted(
                name,
                assertion,
                args.user_id_attribute.as_deref(),
                &unchecked,
            )),
            Err(rejection) => {
                rejected = true;
                Verdict::Rejected(Rejected {
                    file: name,
                    accepted: false,
                    reason: rejection.reason.code(),
                    detail: &rejection.detail,
                })
            }
        };
        line.clear();
        if serde_json::to_writer(&mut line, &verdict).is_err() {
            line.clear();
            line.extend_from_slice(b"{}");
        }
        // Attacker text may hold hidden characters: escaped, so the line stays readable JSON.
        match std::str::from_utf8(&line) {
            Ok(json) if !json.is_ascii() => {
                let _ = out.write_all(crate::out::json_line(json).as_bytes());
            }
            _ => {
                let _ = out.write_all(&line);
                let _ = out.write_all(b"\n");
            }
        }
    }
    let _ = out.flush();
    ExitCode::from(if io_error {
        2
    } else if rejected {
        1
    } else {
        0
    })
}

fn settings(args: &CheckArgs) -> Result<(SpSettings, TrustedIdp), String> {
    let (entity_id, signing_keys) = if let Some(path) = &args.idp_metadata {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let md = parse_idp_metadata(
            &bytes,
            args.idp_entity_id.as_deref(),
            DEFAULT_MAX_METADATA_BYTES,
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        (Some(md.entity_id), md.signing_keys)
    } else if !args.idp_cert.is_empty() {
        let mut keys = Vec::new();
        for path in &args.idp_cert {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            keys.extend(
                SigningKey::from_certificates(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            );
        }
        (args.idp_entity_id.clone(), keys)
    } else {
        return Err("give the IdP's signing certificate (--idp-cert PEM_FILE) or its metadata (--idp-metadata XML_FILE)".into());
    };
    let mut decryption_keys = Vec::new();
    for path in &args.sp_key {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        decryption_keys
            .push(DecryptionKey::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let sp = SpSettings {
        entity_id: expected(args.sp_entity_id.as_ref()),
        acs_url: expected(args.acs_url.as_ref()),
        clock_skew: time::Duration::seconds(i64::from(args.clock_skew)),
        max_response_bytes: args.max_bytes,
        allow_unsolicited: args.allow_unsolicited,
        algorithms: AlgorithmPolicy {
            insecure_allow_sha1: args.insecure_allow_sha1,
            insecure_allow_weak_rsa_keys: args.insecure_allow_weak_keys,
        },
        decryption_keys,
        name_id_required: args.user_id_attribute.is_none(),
        require_signed_assertion: false,
    };
    Ok((
        sp,
        TrustedIdp {
            entity_id,
            signing_keys,
        },
    ))
}

/// The value an option gives, or unchecked when the option was left out (the accepted line says
/// so under `unchecked`).
fn expected(option: Option<&String>) -> Expected {
    option.map_or(Expected::Unchecked, |value| {
        Expected::Exactly(value.clone())
    })
}

/// Rules skipped because an option was not given, so an accepted line says what it did not check.
fn unchecked_rules(sp: &SpSettings, idp: &TrustedIdp) -> Vec<&'static str> {
    let mut rules = Vec::new();
    if idp.entity_id.is_none() {
        rules.push("issuer");
    }
    if sp.entity_id == Expected::Unchecked {
        rules.push("audience");
    }
    if sp.acs_url == Expected::Unchecked {
        rules.extend(["destination", "recipient"]);
    }
    rules
}

/// Reads a file (or stdin for "-") into `bytes` (emptied first), at most a little more than the
/// base64 form of `max_bytes`.
fn read_input(path: &Path, max_bytes: usize, bytes: &mut Vec<u8>) -> std::io::Result<()> {
    let cap = u64::try_from(max_bytes.saturating_mul(2).saturating_add(1024)).unwrap_or(u64::MAX);
    bytes.clear();
    if path == Path::new("-") {
        std::io::stdin().lock().take(cap).read_to_end(bytes)?;
    } else {
        std::fs::File::open(path)?.take(cap).read_to_end(bytes)?;
    }
    Ok(())
}

/// Raw XML passes through (borrowed); anything else is taken as the (possibly URL-encoded)
/// base64 form value.
fn to_xml(bytes: &[u8], max_bytes: usize) -> Result<Cow<'_, [u8]>, Rejection> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let body = &bytes[start..];
    if body.is_empty() {
        return Err(Rejection::new(
            RejectionReason::EmptyInput,
            "the file is empty",
        ));
    }
    if body.starts_with(b"<") || body.starts_with(b"\xEF\xBB\xBF") {
        return Ok(Cow::Borrowed(bytes));
    }
    let body = body.strip_prefix(b"SAMLResponse=").unwrap_or(body);
    let decoded = if body.contains(&b'%') {
        decode_post_binding(&percent_decode(body), max_bytes)
    } else {
        decode_post_binding(body, max_bytes)
    };
    decoded.map(Cow::Owned)
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            input[i],
            input.get(i + 1).copied().and_then(hex),
            input.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'&', _, _) => break,
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn accepted<'a>(
    file: String,
    assertion: &'a VerifiedAssertion,
    user_id_attribute: Option<&str>,
    unchecked: &'a [&'static str],
) -> Accepted<'a> {
    // The values of the login-name attribute, joined as the login would see them (one value
    // is required there).
    let login_name = user_id_attribute.map(|name| {
        find_attribute(assertion.attributes(), name)
            .map(|a| a.values.join(", "))
            .unwrap_or_default()
    });
    Accepted {
        file,
        accepted: true,
        issuer: assertion.issuer(),
        name_id: assertion.name_id(),
        login_name,
        name_id_format: assertion.name_id_format(),
        session_index: assertion.session_index(),
        not_on_or_after: assertion
            .not_on_or_after()
            .format(&Rfc3339)
            .unwrap_or_default(),
        attributes: assertion
            .attributes()
            .iter()
            .map(|a| (a.name.as_str(), a.values.as_slice()))
            .collect(),
        assertion_id: assertion.assertion_id(),
        in_response_to: assertion.in_response_to(),
        unchecked,
    }
}

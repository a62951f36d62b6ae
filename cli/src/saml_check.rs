//! `fedbridge saml check`: validate captured SAMLResponses offline, one JSON line per file.
//!
//! Exit status: 0 all accepted, 1 at least one rejected, 2 usage or I/O error. Content that is
//! not an acceptable SAMLResponse is a rejection (1), never a usage error.

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
}

fn parse_now(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time ({e}), e.g. 2026-01-15T10:00:00Z"))
}

/// One line of output.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Verdict {
    Accepted(Accepted),
    Rejected(Rejected),
}

#[derive(Debug, Serialize)]
struct Accepted {
    file: String,
    accepted: bool,
    issuer: String,
    name_id: String,
    name_id_format: Option<String>,
    session_index: Option<String>,
    not_on_or_after: String,
    attributes: BTreeMap<String, Vec<String>>,
    assertion_id: String,
    in_response_to: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unchecked: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct Rejected {
    file: String,
    accepted: bool,
    reason: &'static str,
    detail: String,
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
    let stdout = std::io::stdout();
    for file in &args.files {
        let name = file.display().to_string();
        let bytes = match read_input(file, args.max_bytes) {
            Ok(b) => b,
            Err(e) => {
                errln!("fedbridge saml check: cannot read {name}: {e}");
                io_error = true;
                continue;
            }
        };
        let outcome = to_xml(&bytes, args.max_bytes).and_then(|xml| {
            validate_response(&xml, &sp, &idp, &mut ledger, clock.now()).map_err(Rejection::from)
        });
        let verdict = match outcome {
            Ok(assertion) => Verdict::Accepted(accepted(name, &assertion, unchecked.clone())),
            Err(rejection) => {
                rejected = true;
                Verdict::Rejected(Rejected {
                    file: name,
                    accepted: false,
                    reason: rejection.reason.code(),
                    detail: rejection.detail,
                })
            }
        };
        let line = serde_json::to_string(&verdict).unwrap_or_else(|_| "{}".into());
        let _ = stdout
            .lock()
            .write_all(crate::out::json_line(&line).as_bytes());
    }
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

/// Reads a file (or stdin for "-"), at most a little more than the base64 form of `max_bytes`.
fn read_input(path: &Path, max_bytes: usize) -> std::io::Result<Vec<u8>> {
    let cap = u64::try_from(max_bytes.saturating_mul(2).saturating_add(1024)).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(path)?
            .take(cap)
            .read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// Raw XML passes through; anything else is taken as the (possibly URL-encoded) base64 form value.
fn to_xml(bytes: &[u8], max_bytes: usize) -> Result<Vec<u8>, Rejection> {
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
        return Ok(bytes.to_vec());
    }
    let body = body.strip_prefix(b"SAMLResponse=").unwrap_or(body);
    if body.contains(&b'%') {
        return decode_post_binding(&percent_decode(body), max_bytes);
    }
    decode_post_binding(body, max_bytes)
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

fn accepted(file: String, assertion: &VerifiedAssertion, unchecked: Vec<&'static str>) -> Accepted {
    Accepted {
        file,
        accepted: true,
        issuer: assertion.issuer().to_string(),
        name_id: assertion.name_id().to_string(),
        name_id_format: assertion.name_id_format().map(str::to_string),
        session_index: assertion.session_index().map(str::to_string),
        not_on_or_after: assertion
            .not_on_or_after()
            .format(&Rfc3339)
            .unwrap_or_default(),
        attributes: assertion
            .attributes()
            .iter()
            .map(|a| (a.name.clone(), a.values.clone()))
            .collect(),
        assertion_id: assertion.assertion_id().to_string(),
        in_response_to: assertion.in_response_to().map(str::to_string),
        unchecked,
    }
}

//! `fedbridge saml check` run as an administrator would: the binary, files, stdout, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use serde_json::Value;

use crate::support::*;

fn fedbridge(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fedbridge"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the fedbridge binary runs");
    if let Some(input) = stdin {
        // The command stops reading at its size cap; a broken pipe past it is expected.
        let _ = child.stdin.take().unwrap().write_all(input);
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn path(name: &str) -> String {
    xmlsec_dir().join("signed").join(name).display().to_string()
}

fn common() -> Vec<String> {
    let cert = xmlsec_dir().join("keys/idp-rsa.crt").display().to_string();
    let key = xmlsec_dir().join("keys/sp-enc.key").display().to_string();
    [
        "saml",
        "check",
        "--idp-cert",
        &cert,
        "--idp-entity-id",
        xmlsec::IDP,
        "--sp-entity-id",
        xmlsec::SP,
        "--acs-url",
        xmlsec::ACS,
        "--sp-key",
        &key,
        "--now",
        xmlsec::NOW,
        "--request-id",
        xmlsec::REQUEST_ID,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run(extra: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut args = common();
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    fedbridge(&refs, stdin)
}

#[test]
fn accepted_response_prints_the_identity_and_exits_0() {
    let out = run(&[&path("azure-6k.xml")], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = &lines(&out)[0];
    assert_eq!(line["accepted"], true);
    assert_eq!(line["name_id"], xmlsec::NAME_ID);
    assert_eq!(line["issuer"], xmlsec::IDP);
    assert_eq!(line["session_index"], "_session-0001");
    assert_eq!(
        line["name_id_format"],
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    );
    assert!(
        line["not_on_or_after"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-15T10:05:00")
    );
    let groups =
        &line["attributes"]["http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"];
    assert_eq!(groups.as_array().unwrap().len(), 20);
}

#[test]
fn base64_form_value_on_stdin_is_accepted() {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(xmlsec_fixture("rsa-sha256-both.xml"));
    let out = run(&["-"], Some(encoded.as_bytes()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(lines(&out)[0]["file"], "-");
}

#[test]
fn rejection_gives_reason_and_detail_and_exits_1() {
    let out = run(
        &[&path("rsa-sha256-both.xml"), &path("attacker-signed.xml")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let all = lines(&out);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["accepted"], true);
    assert_eq!(all[1]["accepted"], false);
    assert_eq!(all[1]["reason"], "signature_invalid");
    assert!(!all[1]["detail"].as_str().unwrap().is_empty());
}

#[test]
fn the_same_assertion_twice_is_a_replay() {
    let file = path("rsa-sha256-unsolicited.xml");
    let out = run(&["--allow-unsolicited", &file, &file], None);
    assert_eq!(out.status.code(), Some(1));
    let all = lines(&out);
    assert_eq!(all[0]["accepted"], true);
    assert_eq!(all[1]["reason"], "replay");
}

#[test]
fn garbage_is_a_rejection_not_a_usage_error() {
    for (input, reason) in [
        (&b""[..], "empty_input"),
        (b"   \n", "empty_input"),
        (b"<Response", "malformed_xml"),
        (b"not base64 at all!!", "invalid_base64"),
        (b"<a/>", "not_a_response"),
    ] {
        let out = run(&["-"], Some(input));
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert_eq!(lines(&out)[0]["reason"], reason, "{input:?}");
    }
}

#[test]
fn oversize_input_is_rejected_before_parsing() {
    let big = vec![b'<'; 3 * 1024 * 1024];
    let out = run(&["-"], Some(&big));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out)[0]["reason"], "input_too_large");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = run(&["/nonexistent/response.xml"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/response.xml"));
    let no_trust = fedbridge(&["saml", "check", &path("rsa-sha256-both.xml")], None);
    assert_eq!(no_trust.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_trust.stderr).contains("--idp-cert"));
    let bad_now = run(&["--now", "yesterday", &path("rsa-sha256-both.xml")], None);
    assert_eq!(bad_now.status.code(), Some(2));
}

#[test]
fn metadata_gives_trust_and_issuer() {
    let md = shared()
        .join("idp-samples/pysaml2/idp-metadata.xml")
        .display()
        .to_string();
    let sample = shared()
        .join("idp-samples/pysaml2/response-idp-initiated.xml")
        .display()
        .to_string();
    let text = String::from_utf8(read(&sample)).unwrap();
    let instant = text
        .split("IssueInstant=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let out = fedbridge(
        &[
            "saml",
            "check",
            "--idp-metadata",
            &md,
            "--sp-entity-id",
            "http://127.0.0.1:8080/saml/metadata",
            "--acs-url",
            "http://127.0.0.1:8080/EnticeServices/rest/authenticate/saml",
            "--allow-unsolicited",
            "--now",
            &instant,
            &sample,
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(lines(&out)[0]["issuer"], "http://127.0.0.1:8082/metadata");
}

#[test]
fn skipped_checks_are_listed() {
    let cert = xmlsec_dir().join("keys/idp-rsa.crt").display().to_string();
    let out = fedbridge(
        &[
            "saml",
            "check",
            "--idp-cert",
            &cert,
            "--now",
            xmlsec::NOW,
            "--allow-unsolicited",
            &path("rsa-sha256-unsolicited.xml"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let unchecked = lines(&out)[0]["unchecked"].clone();
    assert_eq!(
        unchecked,
        serde_json::json!(["issuer", "audience", "destination", "recipient"])
    );
}

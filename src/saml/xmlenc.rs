//! XML Encryption of assertions: RSA-OAEP key transport and AES-CBC/GCM content encryption.
//!
//! Every failure after the algorithm checks is the same [`DecryptionFailed`](super::RejectionReason::DecryptionFailed)
//! with the same detail, so that a response never tells an attacker which step failed.

use std::borrow::Cow;

use base64::Engine as _;
use openssl::md::{Md, MdRef};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode, decrypt_aead};

use super::error::{Rejection, RejectionReason as R};
use super::keys::DecryptionKey;
use super::xml::{self, Element, XmlDocument};
use super::xmldsig::DSIG_NS;
use super::xmldsig::algorithms::short;

/// The XML Encryption 1.0 namespace.
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
const ENCRYPTED_KEY_TYPE: &str = "http://www.w3.org/2001/04/xmlenc#EncryptedKey";

/// A decrypted element: a new document whose root's only child element is the plaintext.
pub struct Decrypted {
    /// The parsed plaintext, inside a wrapper element.
    pub doc: XmlDocument,
    /// True when the content encryption authenticates the ciphertext (AES-GCM). With AES-CBC an
    /// attacker can alter the ciphertext, so every later failure about the plaintext must stay
    /// as uniform as [`decryption_failed`] unless a signature outside the ciphertext covers it.
    pub authenticated: bool,
}

/// Decrypts the `EncryptedData` inside `container` (an `EncryptedAssertion` or `EncryptedID`)
/// and parses the plaintext with the same hardened parser, in the namespace context of
/// `container`. Every failure after the algorithm checks is [`decryption_failed`], whatever
/// went wrong: key unwrap, padding, tag, or a plaintext that is not one XML element.
pub fn decrypt_element(
    container: Element<'_>,
    keys: &[DecryptionKey],
    max_bytes: usize,
) -> Result<Decrypted, Rejection> {
    let data = container
        .only_child(XENC_NS, "EncryptedData")
        .map_err(|n| {
            Rejection::new(
                R::SchemaViolation,
                format!(
                    "<{}> must hold one EncryptedData, it holds {n}",
                    container.local_name()
                ),
            )
        })?;
    let content = ContentAlgorithm::from_uri(&algorithm_of(data)?)?;
    let encrypted_keys = encrypted_keys_for(container, data);
    for key in &encrypted_keys {
        // Refuse RSA PKCS#1 v1.5 up front: it is a padding oracle by design.
        KeyTransport::read(*key)?;
    }
    if keys.is_empty() {
        return Err(Rejection::new(
            R::DecryptionFailed,
            "the assertion is encrypted but no SP decryption key is configured",
        ));
    }
    let ciphertext = cipher_value(data).ok_or_else(decryption_failed)?;
    let session_key = encrypted_keys
        .iter()
        .flat_map(|ek| keys.iter().map(move |k| (*ek, k)))
        .find_map(|(ek, k)| unwrap_key(ek, k).filter(|sk| sk.len() == content.key_len()))
        .ok_or_else(decryption_failed)?;
    let plaintext = content
        .decrypt(&session_key, &ciphertext)
        .ok_or_else(decryption_failed)?;
    let doc = parse_in_context(container, &plaintext, max_bytes).ok_or_else(decryption_failed)?;
    Ok(Decrypted {
        doc,
        authenticated: matches!(content, ContentAlgorithm::Gcm(_)),
    })
}

/// The one rejection for every decryption failure (no padding or format oracle).
pub fn decryption_failed() -> Rejection {
    Rejection::new(
        R::DecryptionFailed,
        "the encrypted assertion could not be decrypted and verified with the SP key (wrong key, corrupt or altered data, or a problem inside it); fedbridge names the exact cause only when the IdP signs the Response or encrypts with AES-GCM",
    )
}

fn algorithm_of(element: Element<'_>) -> Result<Cow<'_, str>, Rejection> {
    element
        .first_child(XENC_NS, "EncryptionMethod")
        .and_then(|m| m.attr("Algorithm"))
        .ok_or_else(decryption_failed)
}

/// The EncryptedKeys that may hold the session key: inside `ds:KeyInfo`, reached by a
/// same-document `RetrievalMethod` among the container's children, or siblings of the data.
fn encrypted_keys_for<'a>(container: Element<'a>, data: Element<'a>) -> Vec<Element<'a>> {
    let siblings: Vec<Element<'a>> = container.children_named(XENC_NS, "EncryptedKey").collect();
    let Some(key_info) = data.first_child(DSIG_NS, "KeyInfo") else {
        return siblings;
    };
    let mut found: Vec<Element<'a>> = key_info.children_named(XENC_NS, "EncryptedKey").collect();
    for retrieval in key_info.children_named(DSIG_NS, "RetrievalMethod") {
        let is_key = retrieval
            .attr("Type")
            .is_none_or(|t| t == ENCRYPTED_KEY_TYPE);
        let target = retrieval
            .attr("URI")
            .and_then(|u| u.strip_prefix('#').map(str::to_string));
        if let (true, Some(id)) = (is_key, target) {
            found.extend(
                siblings
                    .iter()
                    .filter(|s| s.attr("Id").as_deref() == Some(id.as_str())),
            );
        }
    }
    if found.is_empty() { siblings } else { found }
}

/// RSA key transport parameters of one `EncryptedKey`.
struct KeyTransport {
    digest: &'static MdRef,
    mgf1: &'static MdRef,
    label: Option<Vec<u8>>,
}

impl KeyTransport {
    fn read(encrypted_key: Element<'_>) -> Result<KeyTransport, Rejection> {
        let method = encrypted_key
            .first_child(XENC_NS, "EncryptionMethod")
            .ok_or_else(decryption_failed)?;
        let algorithm = method.attr("Algorithm").unwrap_or_default();
        let digest = match method
            .first_child(DSIG_NS, "DigestMethod")
            .and_then(|d| d.attr("Algorithm"))
        {
            None => Md::sha1(),
            Some(uri) => oaep_digest(&uri)?,
        };
        let label = method
            .first_child(XENC_NS, "OAEPparams")
            .map(|p| decode(&p.text()).ok_or_else(decryption_failed))
            .transpose()?;
        let mgf1 = match &*algorithm {
            "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" => Md::sha1(),
            "http://www.w3.org/2009/xmlenc11#rsa-oaep" => match method
                .first_child(XENC11_NS, "MGF")
                .and_then(|m| m.attr("Algorithm"))
            {
                None => Md::sha1(),
                Some(uri) => mgf_digest(&uri)?,
            },
            "http://www.w3.org/2001/04/xmlenc#rsa-1_5" => {
                return Err(Rejection::new(
                    R::KeyTransportNotAllowed,
                    "RSA PKCS#1 v1.5 key transport (rsa-1_5) is refused; configure the IdP for RSA-OAEP",
                ));
            }
            other => {
                return Err(Rejection::new(
                    R::AlgorithmNotAllowed,
                    format!(
                        "key transport {} is not supported; use RSA-OAEP",
                        short(other)
                    ),
                ));
            }
        };
        Ok(KeyTransport {
            digest,
            mgf1,
            label,
        })
    }
}

fn oaep_digest(uri: &str) -> Result<&'static MdRef, Rejection> {
    Ok(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Md::sha1(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => Md::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Md::sha384(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Md::sha512(),
        other => {
            return Err(Rejection::new(
                R::AlgorithmNotAllowed,
                format!("OAEP digest {} is not supported", short(other)),
            ));
        }
    })
}

fn mgf_digest(uri: &str) -> Result<&'static MdRef, Rejection> {
    Ok(match uri {
        "http://www.w3.org/2009/xmlenc11#mgf1sha1" => Md::sha1(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha256" => Md::sha256(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha384" => Md::sha384(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha512" => Md::sha512(),
        other => {
            return Err(Rejection::new(
                R::AlgorithmNotAllowed,
                format!("OAEP mask function {} is not supported", short(other)),
            ));
        }
    })
}

/// Unwraps the session key of `encrypted_key` with `key`; `None` on any failure.
fn unwrap_key(encrypted_key: Element<'_>, key: &DecryptionKey) -> Option<Vec<u8>> {
    let transport = KeyTransport::read(encrypted_key).ok()?;
    let wrapped = cipher_value(encrypted_key)?;
    let mut ctx = PkeyCtx::new(key.private_key()).ok()?;
    ctx.decrypt_init().ok()?;
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).ok()?;
    ctx.set_rsa_oaep_md(transport.digest).ok()?;
    ctx.set_rsa_mgf1_md(transport.mgf1).ok()?;
    if let Some(label) = &transport.label {
        ctx.set_rsa_oaep_label(label).ok()?;
    }
    let mut out = Vec::new();
    ctx.decrypt_to_vec(&wrapped, &mut out).ok()?;
    Some(out)
}

fn cipher_value(element: Element<'_>) -> Option<Vec<u8>> {
    let value = element
        .first_child(XENC_NS, "CipherData")?
        .first_child(XENC_NS, "CipherValue")?;
    decode(&value.text())
}

fn decode(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Content encryption algorithms of `EncryptedData`.
#[derive(Debug, Clone, Copy)]
enum ContentAlgorithm {
    Cbc(usize),
    Gcm(usize),
}

impl ContentAlgorithm {
    fn from_uri(uri: &str) -> Result<Self, Rejection> {
        Ok(match uri {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => ContentAlgorithm::Cbc(16),
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => ContentAlgorithm::Cbc(24),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => ContentAlgorithm::Cbc(32),
            "http://www.w3.org/2009/xmlenc11#aes128-gcm" => ContentAlgorithm::Gcm(16),
            "http://www.w3.org/2009/xmlenc11#aes192-gcm" => ContentAlgorithm::Gcm(24),
            "http://www.w3.org/2009/xmlenc11#aes256-gcm" => ContentAlgorithm::Gcm(32),
            other => {
                return Err(Rejection::new(
                    R::AlgorithmNotAllowed,
                    format!(
                        "content encryption {} is not supported; use AES-CBC or AES-GCM",
                        short(other)
                    ),
                ));
            }
        })
    }

    fn key_len(self) -> usize {
        match self {
            ContentAlgorithm::Cbc(n) | ContentAlgorithm::Gcm(n) => n,
        }
    }

    fn decrypt(self, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        match self {
            ContentAlgorithm::Cbc(n) => {
                let cipher = match n {
                    16 => Cipher::aes_128_cbc(),
                    24 => Cipher::aes_192_cbc(),
                    _ => Cipher::aes_256_cbc(),
                };
                decrypt_cbc(cipher, key, data)
            }
            ContentAlgorithm::Gcm(n) => {
                let cipher = match n {
                    16 => Cipher::aes_128_gcm(),
                    24 => Cipher::aes_192_gcm(),
                    _ => Cipher::aes_256_gcm(),
                };
                const IV: usize = 12;
                const TAG: usize = 16;
                if data.len() < IV + TAG {
                    return None;
                }
                let (iv, rest) = data.split_at(IV);
                let (body, tag) = rest.split_at(rest.len() - TAG);
                decrypt_aead(cipher, key, Some(iv), &[], body, tag).ok()
            }
        }
    }
}

/// AES-CBC with the XML Encryption padding rule: the last byte says how many bytes to strip;
/// the other padding bytes are arbitrary (so this is not PKCS#7).
fn decrypt_cbc(cipher: Cipher, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    const BLOCK: usize = 16;
    if data.len() < 2 * BLOCK || !data.len().is_multiple_of(BLOCK) {
        return None;
    }
    let (iv, body) = data.split_at(BLOCK);
    let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).ok()?;
    crypter.pad(false);
    let mut out = vec![0u8; body.len() + BLOCK];
    let mut n = crypter.update(body, &mut out).ok()?;
    n += crypter.finalize(&mut out[n..]).ok()?;
    out.truncate(n);
    let pad = usize::from(*out.last()?);
    if pad == 0 || pad > BLOCK || pad > out.len() {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// Parses decrypted bytes inside a wrapper that re-declares the namespaces in scope at
/// `container`, so prefixes the IdP relied on still resolve. The XML declaration, if any, goes.
fn parse_in_context(
    container: Element<'_>,
    plaintext: &[u8],
    max_bytes: usize,
) -> Option<XmlDocument> {
    let mut body = plaintext;
    if body.starts_with(b"<?xml") {
        let end = body.windows(2).position(|w| w == b"?>")?;
        body = &body[end + 2..];
    }
    let mut wrapped = Vec::with_capacity(body.len() + 512);
    wrapped.extend_from_slice(b"<fedbridge-decrypted");
    for (prefix, uri) in container.namespaces_in_scope() {
        if uri.contains('"') || uri.contains('<') || uri.contains('&') {
            continue;
        }
        if prefix.is_empty() {
            wrapped.extend_from_slice(format!(" xmlns=\"{uri}\"").as_bytes());
        } else {
            wrapped.extend_from_slice(format!(" xmlns:{prefix}=\"{uri}\"").as_bytes());
        }
    }
    wrapped.push(b'>');
    wrapped.extend_from_slice(body);
    wrapped.extend_from_slice(b"</fedbridge-decrypted>");
    let doc = xml::parse(&wrapped, max_bytes.saturating_add(4096)).ok()?;
    let root = doc.root()?;
    if root.local_name() != "fedbridge-decrypted" || root.children().count() != 1 {
        return None;
    }
    Some(doc)
}

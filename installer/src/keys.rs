//! The SP key pair the installer generates: an RSA-2048 key and a self-signed certificate of
//! its public key, as `FEDBRIDGE_SP_PRIVATE_KEY` and `FEDBRIDGE_SP_CERTIFICATE` expect.

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};

use crate::plan::SpKeyPem;

/// RSA modulus size of the generated key.
pub const RSA_BITS: u32 = 2048;
/// Validity of the generated certificate, in days (IdPs do not check an SP certificate's
/// dates for encryption and request signing; ten years avoids a silent expiry).
pub const VALID_DAYS: u32 = 3650;

/// Generates the key pair; `common_name` is the certificate's subject and issuer CN (the host
/// name of fedbridge).
pub fn generate_sp_key(common_name: &str) -> Result<SpKeyPem, ErrorStack> {
    let rsa = Rsa::generate(RSA_BITS)?;
    let key = PKey::from_rsa(rsa)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", common_name)?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let mut cert = X509Builder::new()?;
    cert.set_version(2)?;
    cert.set_serial_number(Asn1Integer::from_bn(&serial)?.as_ref())?;
    cert.set_subject_name(&name)?;
    cert.set_issuer_name(&name)?;
    cert.set_pubkey(&key)?;
    cert.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    cert.set_not_after(Asn1Time::days_from_now(VALID_DAYS)?.as_ref())?;
    cert.sign(&key, MessageDigest::sha256())?;
    let private_key = String::from_utf8_lossy(&key.private_key_to_pem_pkcs8()?).into_owned();
    let certificate = String::from_utf8_lossy(&cert.build().to_pem()?).into_owned();
    Ok(SpKeyPem {
        private_key: private_key.trim().to_owned(),
        certificate: certificate.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedbridge::config::keys::{
        FEDBRIDGE_SP_CERTIFICATE, FEDBRIDGE_SP_PRIVATE_KEY, SAML_CONSUMER_URL,
    };
    use fedbridge::store::ConfigRows;

    #[test]
    fn the_generated_pair_is_accepted_by_the_loader() {
        let pair = generate_sp_key("sso.example.com").unwrap();
        let rows = ConfigRows::from([
            (
                SAML_CONSUMER_URL.into(),
                Some("https://sso.example.com/acs".into()),
            ),
            (
                "SAML_REDIRECT_URL".into(),
                Some("https://idp.example.com/sso".into()),
            ),
            (
                "SAML_SIGNING_CERTIFICATE".into(),
                Some(pair.certificate.clone()),
            ),
            (FEDBRIDGE_SP_PRIVATE_KEY.into(), Some(pair.private_key)),
            (FEDBRIDGE_SP_CERTIFICATE.into(), Some(pair.certificate)),
        ]);
        let loaded = fedbridge::config::load(&rows).unwrap();
        assert!(loaded.config.sp_key_pair.is_some());
    }
}

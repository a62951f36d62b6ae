//! Random identifiers from OpenSSL's generator: token IDs, session IDs, RelayState handles,
//! correlation IDs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// 128 random bits, base64url without padding (22 characters): unguessable handles and IDs.
pub fn random_id() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// 256 random bits, base64url without padding (43 characters): a secret only its holder knows
/// (the browser binding of a login).
pub fn random_secret() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 32];
    openssl::rand::rand_bytes(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// 48 random bits as 12 lower-case hex digits: a correlation ID short enough to read out over
/// the phone, long enough to find one login among millions in the log.
pub fn correlation_id() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 6];
    openssl::rand::rand_bytes(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_and_url_safe() {
        let (a, b) = (random_id().unwrap(), random_id().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        let secret = random_secret().unwrap();
        assert_eq!(secret.len(), 43);
        assert_ne!(secret, random_secret().unwrap());
        let c = correlation_id().unwrap();
        assert_eq!(c.len(), 12);
        assert!(c.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

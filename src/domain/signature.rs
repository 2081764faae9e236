//! The Merge webhook signature: HMAC-SHA256 over the raw body, base64url-encoded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of an unpadded base64url HMAC-SHA256 tag. Anything else cannot be a signature,
/// so it is rejected before decoding.
const ENCODED_TAG_LEN: usize = 43;

/// Which configured key verified a delivery.
///
/// Logged with each decision so operators can see when deliveries signed with the
/// previous key stop arriving and the rotation can be finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsed {
    /// `MERGE_WEBHOOK_SIGNATURE_KEY`.
    Current,
    /// `MERGE_WEBHOOK_SIGNATURE_KEY_PREVIOUS`.
    Previous,
}

impl KeyUsed {
    /// The name used in log records.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyUsed::Current => "current",
            KeyUsed::Previous => "previous",
        }
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFailure {
    /// The header was absent or empty.
    Missing,
    /// The header was present but did not verify under any configured key.
    Mismatch,
}

/// Verifies `X-Merge-Webhook-Signature` values against one or two keys.
///
/// The HMAC key schedule is computed once, at construction; each verification clones
/// that state, so a request costs only the hash of its body.
#[derive(Clone)]
pub struct Verifier {
    current: HmacSha256,
    previous: Option<HmacSha256>,
}

impl std::fmt::Debug for Verifier {
    // The derived form would print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("previous_key", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds a verifier for the current key and, during a rotation, the previous one.
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Self {
        Verifier {
            current: keyed(current),
            previous: previous.map(keyed),
        }
    }

    /// Checks `signature` (the header value, padded or not) against `body`.
    ///
    /// The tag is decoded and compared with `Mac::verify_slice`, which compares in
    /// constant time and rejects a tag of the wrong length, so a truncated signature
    /// never matches a prefix.
    pub fn verify(
        &self,
        body: &[u8],
        signature: Option<&[u8]>,
    ) -> Result<KeyUsed, SignatureFailure> {
        let signature = signature.unwrap_or_default();
        if signature.is_empty() {
            return Err(SignatureFailure::Missing);
        }
        let tag = decode_tag(signature).ok_or(SignatureFailure::Mismatch)?;
        if self
            .current
            .clone()
            .chain_update(body)
            .verify_slice(&tag)
            .is_ok()
        {
            return Ok(KeyUsed::Current);
        }
        match &self.previous {
            Some(previous)
                if previous
                    .clone()
                    .chain_update(body)
                    .verify_slice(&tag)
                    .is_ok() =>
            {
                Ok(KeyUsed::Previous)
            }
            _ => Err(SignatureFailure::Mismatch),
        }
    }
}

/// Signs `body` the way Merge does: base64url without padding.
///
/// Used to produce the sample events and test deliveries.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let tag = keyed(key).chain_update(body).finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(tag)
}

/// A short identifier for one delivery, derived from its signature header.
///
/// Merge sends no delivery id and suggests the signature. Retries and replays of the same
/// body carry the same signature, so they share this id. It is a hash, padding removed,
/// so the log holds no replayable signature.
pub fn delivery_id(signature: &[u8]) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(strip_padding(signature));
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; the error type exists only for fixed-key MACs.
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn decode_tag(signature: &[u8]) -> Option<Vec<u8>> {
    let unpadded = strip_padding(signature);
    if unpadded.len() != ENCODED_TAG_LEN {
        return None;
    }
    // The engine rejects non-zero trailing bits, so each tag has exactly one encoding
    // and a changed last character cannot decode to the same bytes.
    URL_SAFE_NO_PAD.decode(unpadded).ok()
}

fn strip_padding(signature: &[u8]) -> &[u8] {
    let end = signature
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |i| i + 1);
    &signature[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answer computed independently:
    //   printf '%s' '{"hook":{"event":"Employee.changed"}}' \
    //     | openssl dgst -sha256 -hmac 'test-key' -binary | basenc --base64url
    const BODY: &[u8] = br#"{"hook":{"event":"Employee.changed"}}"#;
    const KEY: &[u8] = b"test-key";

    #[test]
    fn sign_matches_the_known_answer() {
        assert_eq!(sign(KEY, BODY), KNOWN_TAG);
    }

    #[test]
    fn rfc4231_case_2_known_answer() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        let expected_hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let tag = URL_SAFE_NO_PAD
            .decode(sign(b"Jefe", b"what do ya want for nothing?"))
            .unwrap();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected_hex);
    }

    const KNOWN_TAG: &str = "HnMT2eEnKIa6uxrsJ6K08QRuV-eSzICMUmYQLiIvSd8";

    #[test]
    fn accepts_the_known_signature_with_and_without_padding() {
        let verifier = Verifier::new(KEY, None);
        assert_eq!(
            verifier.verify(BODY, Some(KNOWN_TAG.as_bytes())),
            Ok(KeyUsed::Current)
        );
        let padded = format!("{KNOWN_TAG}=");
        assert_eq!(
            verifier.verify(BODY, Some(padded.as_bytes())),
            Ok(KeyUsed::Current)
        );
    }

    #[test]
    fn accepts_the_previous_key_during_rotation() {
        let verifier = Verifier::new(b"new-key", Some(KEY));
        assert_eq!(
            verifier.verify(BODY, Some(KNOWN_TAG.as_bytes())),
            Ok(KeyUsed::Previous)
        );
    }

    #[test]
    fn rejects_the_previous_key_once_rotation_is_over() {
        let verifier = Verifier::new(b"new-key", None);
        assert_eq!(
            verifier.verify(BODY, Some(KNOWN_TAG.as_bytes())),
            Err(SignatureFailure::Mismatch)
        );
    }

    #[test]
    fn missing_or_empty_signature_is_reported_as_missing() {
        let verifier = Verifier::new(KEY, None);
        assert_eq!(verifier.verify(BODY, None), Err(SignatureFailure::Missing));
        assert_eq!(
            verifier.verify(BODY, Some(b"")),
            Err(SignatureFailure::Missing)
        );
    }

    #[test]
    fn truncated_signature_is_rejected() {
        let verifier = Verifier::new(KEY, None);
        for len in [1, 10, 42] {
            let truncated = &KNOWN_TAG.as_bytes()[..len];
            assert_eq!(
                verifier.verify(BODY, Some(truncated)),
                Err(SignatureFailure::Mismatch),
                "prefix of length {len}"
            );
        }
    }

    #[test]
    fn standard_base64_alphabet_is_not_base64url() {
        let verifier = Verifier::new(KEY, None);
        let standard = KNOWN_TAG.replace('-', "+").replace('_', "/");
        assert_ne!(
            standard, KNOWN_TAG,
            "the known tag must contain a url-safe character"
        );
        assert_eq!(
            verifier.verify(BODY, Some(standard.as_bytes())),
            Err(SignatureFailure::Mismatch)
        );
    }

    #[test]
    fn signature_over_a_reserialised_body_is_rejected() {
        let verifier = Verifier::new(KEY, None);
        let reformatted = br#"{ "hook": { "event": "Employee.changed" } }"#;
        assert_eq!(
            verifier.verify(reformatted, Some(KNOWN_TAG.as_bytes())),
            Err(SignatureFailure::Mismatch)
        );
    }

    #[test]
    fn the_delivery_id_ignores_padding_and_tells_signatures_apart() {
        let padded = format!("{KNOWN_TAG}=");
        assert_eq!(
            delivery_id(KNOWN_TAG.as_bytes()),
            delivery_id(padded.as_bytes())
        );
        assert_eq!(delivery_id(KNOWN_TAG.as_bytes()).len(), 16);
        assert_ne!(
            delivery_id(KNOWN_TAG.as_bytes()),
            delivery_id(sign(KEY, b"{}").as_bytes())
        );
        assert!(!KNOWN_TAG.contains(&delivery_id(KNOWN_TAG.as_bytes())));
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let shown = format!("{:?}", Verifier::new(b"super-secret-key", None));
        assert!(!shown.contains("super-secret-key"));
    }
}

//! JWT signing keys: generation, parsing once from PKCS#8, and compact JWS
//! signing with ring.
//!
//! A [`SigningKey`] is parsed once and then only used; the token path
//! never parses a key or allocates beyond the token it builds.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rsa::PublicKeyComponents;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde::Serialize;

use crate::crypto::jwk::PublicJwk;
use crate::crypto::random;

/// The JWS algorithms keymint signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// ECDSA over P-256 with SHA-256; the default.
    Es256,
    /// Ed25519 (RFC 8037).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys.
    Rs256,
}

impl SigningAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::EdDsa => "EdDSA",
            SigningAlgorithm::Rs256 => "RS256",
        }
    }
}

impl FromStr for SigningAlgorithm {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ES256" => Ok(SigningAlgorithm::Es256),
            "EdDSA" => Ok(SigningAlgorithm::EdDsa),
            "RS256" => Ok(SigningAlgorithm::Rs256),
            other => Err(format!("`{other}` is not one of ES256, EdDSA, RS256")),
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why key material could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PKCS#8 document does not hold a usable key of the algorithm.
    #[error("the stored private key is not a valid {0} PKCS#8 key")]
    Rejected(SigningAlgorithm),
    /// Generation failed inside the crypto library.
    #[error("failed to generate a {0} key")]
    Generation(SigningAlgorithm),
    /// Signing failed inside the crypto library.
    #[error("failed to sign with the {0} key")]
    Signing(SigningAlgorithm),
    /// The claims could not be serialised.
    #[error("failed to serialise the token claims")]
    Claims(#[source] serde_json::Error),
}

/// A private key as a PKCS#8 DER document. Its `Debug` hides the bytes.
pub struct Pkcs8Der(Vec<u8>);

impl Pkcs8Der {
    /// Wraps DER bytes (freshly generated or just decrypted).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The DER bytes, for sealing or parsing.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pkcs8Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs8Der(<hidden>)")
    }
}

enum Pair {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

/// A parsed private signing key with its public JWK and pre-encoded JWS
/// header (`alg`, `typ: at+jwt`, `kid`).
pub struct SigningKey {
    algorithm: SigningAlgorithm,
    pair: Pair,
    jwk: PublicJwk,
    header_b64: String,
}

impl SigningKey {
    /// Generates a new key of `algorithm`, returning its parsed form and the
    /// PKCS#8 document to store.
    pub fn generate(algorithm: SigningAlgorithm) -> Result<(Self, Pkcs8Der), KeyError> {
        let der = match algorithm {
            SigningAlgorithm::Es256 => {
                let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
                EcdsaKeyPair::generate_pkcs8(alg, random::rng()).map(|doc| doc.as_ref().to_vec())
            }
            SigningAlgorithm::EdDsa => {
                Ed25519KeyPair::generate_pkcs8(random::rng()).map(|doc| doc.as_ref().to_vec())
            }
            SigningAlgorithm::Rs256 => generate_rsa_pkcs8().map_err(|()| ring::error::Unspecified),
        }
        .map_err(|_| KeyError::Generation(algorithm))?;
        let der = Pkcs8Der::new(der);
        Ok((Self::from_pkcs8(algorithm, &der)?, der))
    }

    /// Parses a stored PKCS#8 key. Done once per key, at load time.
    pub fn from_pkcs8(algorithm: SigningAlgorithm, der: &Pkcs8Der) -> Result<Self, KeyError> {
        let rejected = |_| KeyError::Rejected(algorithm);
        let bytes = der.expose_secret();
        let name = algorithm.as_str();
        let (pair, jwk) = match algorithm {
            SigningAlgorithm::Es256 => {
                let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
                let pair = EcdsaKeyPair::from_pkcs8(alg, bytes, random::rng()).map_err(rejected)?;
                let jwk = PublicJwk::ec_p256(name, pair.public_key().as_ref())
                    .ok_or(KeyError::Rejected(algorithm))?;
                (Pair::Es256(pair), jwk)
            }
            SigningAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(bytes).map_err(rejected)?;
                let jwk = PublicJwk::okp_ed25519(name, pair.public_key().as_ref());
                (Pair::EdDsa(pair), jwk)
            }
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(bytes).map_err(rejected)?;
                let public = PublicKeyComponents::<Vec<u8>>::from(pair.public());
                let jwk = PublicJwk::rsa(name, &public.n, &public.e);
                (Pair::Rs256(pair), jwk)
            }
        };
        let header = format!(r#"{{"alg":"{name}","typ":"at+jwt","kid":"{}"}}"#, jwk.kid);
        let header_b64 = URL_SAFE_NO_PAD.encode(header);
        Ok(Self {
            algorithm,
            pair,
            jwk,
            header_b64,
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    /// The public half, as published in the JWKS.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// Signs `claims` into a compact JWS (RFC 7515 §7.1).
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(KeyError::Claims)?;
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 360);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self.sign_bytes(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Signing(self.algorithm);
        match &self.pair {
            Pair::Es256(pair) => pair
                .sign(random::rng(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(failed),
            Pair::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Rs256(pair) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                let padding = &signature::RSA_PKCS1_SHA256;
                pair.sign(padding, random::rng(), message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.jwk.kid)
            .finish_non_exhaustive()
    }
}

/// ring verifies and signs RSA but cannot generate RSA keys; the `rsa` crate
/// generates the 2048-bit key and hands it over as PKCS#8, after which ring
/// alone uses it.
fn generate_rsa_pkcs8() -> Result<Vec<u8>, ()> {
    use rsa::pkcs8::EncodePrivateKey;

    let mut rng = rsa::rand_core::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|_| ())?;
    let doc = key.to_pkcs8_der().map_err(|_| ())?;
    Ok(doc.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(algorithm: SigningAlgorithm) {
        let (key, der) = SigningKey::generate(algorithm).unwrap();
        let reloaded = SigningKey::from_pkcs8(algorithm, &der).unwrap();

        let token = reloaded.sign(&serde_json::json!({"sub": "x"})).unwrap();

        assert_eq!(key.kid(), reloaded.kid());
        assert_eq!(token.split('.').count(), 3);
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], algorithm.as_str());
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["kid"], key.kid());
    }

    #[test]
    fn es256_keys_round_trip_and_sign() {
        round_trip(SigningAlgorithm::Es256);
    }

    #[test]
    fn eddsa_keys_round_trip_and_sign() {
        round_trip(SigningAlgorithm::EdDsa);
    }

    #[test]
    fn wrong_algorithm_for_a_key_is_rejected() {
        let (_, der) = SigningKey::generate(SigningAlgorithm::EdDsa).unwrap();

        let result = SigningKey::from_pkcs8(SigningAlgorithm::Es256, &der);

        assert!(matches!(
            result,
            Err(KeyError::Rejected(SigningAlgorithm::Es256))
        ));
    }
}

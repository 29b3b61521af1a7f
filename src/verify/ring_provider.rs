//! A ring-backed [`CryptoProvider`] for the `jsonwebtoken` crate, so that
//! verifying tokens uses the same crypto library that signs them instead of
//! a second stack.
//!
//! Supports HS256/384/512, ES256/384, RS256/384/512, PS256/384/512 and
//! EdDSA (Ed25519). Call [`install`] once before the first `decode`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind, Result};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use ring::{digest, hmac};

/// The provider; pass it to [`CryptoProvider::install_default`] or call
/// [`install`].
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::InvalidKeyFormat.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::InvalidKeyFormat.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
        compute_digest,
    },
};

/// Installs [`PROVIDER`] as the process default; harmless if a provider is
/// already installed.
pub fn install() {
    let _ = PROVIDER.install_default();
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}

fn bad_key() -> Error {
    ErrorKind::InvalidKeyFormat.into()
}

fn require_family(actual: AlgorithmFamily, wanted: AlgorithmFamily) -> Result<()> {
    if actual == wanted {
        Ok(())
    } else {
        Err(bad_key())
    }
}

enum SigningPair {
    Hmac(hmac::Key),
    Ecdsa(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair, &'static dyn sig::RsaEncoding),
}

struct RingSigner {
    algorithm: Algorithm,
    pair: SigningPair,
}

impl Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let rng = SystemRandom::new();
        match &self.pair {
            SigningPair::Hmac(key) => Ok(hmac::sign(key, msg).as_ref().to_vec()),
            SigningPair::Ecdsa(pair) => pair
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| signature::Error::new()),
            SigningPair::Ed(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
            SigningPair::Rsa(pair, padding) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(*padding, &rng, msg, &mut out)
                    .map_err(|_| signature::Error::new())?;
                Ok(out)
            }
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    let bytes = key.as_bytes();
    let rng = SystemRandom::new();
    let hmac_key = |alg| -> Result<SigningPair> {
        require_family(key.family(), AlgorithmFamily::Hmac)?;
        Ok(SigningPair::Hmac(hmac::Key::new(alg, bytes)))
    };
    let ecdsa = |alg| -> Result<SigningPair> {
        require_family(key.family(), AlgorithmFamily::Ec)?;
        EcdsaKeyPair::from_pkcs8(alg, bytes, &rng)
            .map(SigningPair::Ecdsa)
            .map_err(|_| bad_key())
    };
    let rsa = |padding| -> Result<SigningPair> {
        require_family(key.family(), AlgorithmFamily::Rsa)?;
        let pair = RsaKeyPair::from_pkcs8(bytes).or_else(|_| RsaKeyPair::from_der(bytes));
        pair.map(|pair| SigningPair::Rsa(pair, padding))
            .map_err(|_| bad_key())
    };
    let pair = match algorithm {
        Algorithm::HS256 => hmac_key(hmac::HMAC_SHA256)?,
        Algorithm::HS384 => hmac_key(hmac::HMAC_SHA384)?,
        Algorithm::HS512 => hmac_key(hmac::HMAC_SHA512)?,
        Algorithm::ES256 => ecdsa(&sig::ECDSA_P256_SHA256_FIXED_SIGNING)?,
        Algorithm::ES384 => ecdsa(&sig::ECDSA_P384_SHA384_FIXED_SIGNING)?,
        Algorithm::RS256 => rsa(&sig::RSA_PKCS1_SHA256)?,
        Algorithm::RS384 => rsa(&sig::RSA_PKCS1_SHA384)?,
        Algorithm::RS512 => rsa(&sig::RSA_PKCS1_SHA512)?,
        Algorithm::PS256 => rsa(&sig::RSA_PSS_SHA256)?,
        Algorithm::PS384 => rsa(&sig::RSA_PSS_SHA384)?,
        Algorithm::PS512 => rsa(&sig::RSA_PSS_SHA512)?,
        Algorithm::EdDSA => {
            require_family(key.family(), AlgorithmFamily::Ed)?;
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(bytes).map_err(|_| bad_key())?;
            SigningPair::Ed(pair)
        }
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(RingSigner {
        algorithm: *algorithm,
        pair,
    }))
}

enum PublicKey {
    Hmac(hmac::Key),
    Raw(&'static dyn sig::VerificationAlgorithm, Vec<u8>),
    RsaComponents(&'static sig::RsaParameters, Vec<u8>, Vec<u8>),
}

struct RingVerifier {
    algorithm: Algorithm,
    key: PublicKey,
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let checked = match &self.key {
            PublicKey::Hmac(key) => hmac::verify(key, msg, signature),
            PublicKey::Raw(alg, bytes) => {
                UnparsedPublicKey::new(*alg, bytes).verify(msg, signature)
            }
            PublicKey::RsaComponents(params, n, e) => {
                RsaPublicKeyComponents { n, e }.verify(params, msg, signature)
            }
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let raw = |family, alg: &'static dyn sig::VerificationAlgorithm| -> Result<PublicKey> {
        require_family(key.family(), family)?;
        Ok(PublicKey::Raw(alg, key.try_get_as_bytes()?.to_vec()))
    };
    let hmac_key = |alg| -> Result<PublicKey> {
        require_family(key.family(), AlgorithmFamily::Hmac)?;
        Ok(PublicKey::Hmac(hmac::Key::new(
            alg,
            key.try_get_as_bytes()?,
        )))
    };
    let rsa = |params: &'static sig::RsaParameters| -> Result<PublicKey> {
        require_family(key.family(), AlgorithmFamily::Rsa)?;
        Ok(match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => PublicKey::Raw(params, der.clone()),
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                PublicKey::RsaComponents(params, n.clone(), e.clone())
            }
        })
    };
    let public = match algorithm {
        Algorithm::HS256 => hmac_key(hmac::HMAC_SHA256)?,
        Algorithm::HS384 => hmac_key(hmac::HMAC_SHA384)?,
        Algorithm::HS512 => hmac_key(hmac::HMAC_SHA512)?,
        Algorithm::ES256 => raw(AlgorithmFamily::Ec, &sig::ECDSA_P256_SHA256_FIXED)?,
        Algorithm::ES384 => raw(AlgorithmFamily::Ec, &sig::ECDSA_P384_SHA384_FIXED)?,
        Algorithm::RS256 => rsa(&sig::RSA_PKCS1_2048_8192_SHA256)?,
        Algorithm::RS384 => rsa(&sig::RSA_PKCS1_2048_8192_SHA384)?,
        Algorithm::RS512 => rsa(&sig::RSA_PKCS1_2048_8192_SHA512)?,
        Algorithm::PS256 => rsa(&sig::RSA_PSS_2048_8192_SHA256)?,
        Algorithm::PS384 => rsa(&sig::RSA_PSS_2048_8192_SHA384)?,
        Algorithm::PS512 => rsa(&sig::RSA_PSS_2048_8192_SHA512)?,
        Algorithm::EdDSA => raw(AlgorithmFamily::Ed, &sig::ED25519)?,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(RingVerifier {
        algorithm: *algorithm,
        key: public,
    }))
}

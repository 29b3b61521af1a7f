//! A parsed JWKS: key id → public key and the one algorithm it verifies.

use std::collections::HashMap;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

/// A public key ready to verify, bound to one algorithm.
pub(crate) struct CachedKey {
    pub(crate) key: DecodingKey,
    pub(crate) alg: Algorithm,
}

/// The verification keys of a JWKS, parsed once.
#[derive(Default)]
pub struct KeyCache {
    keys: HashMap<String, CachedKey>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The algorithm a key verifies: its `alg` when given, else the one its
/// type implies. Symmetric (`oct`) keys never qualify.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let declared = jwk.common.key_algorithm.and_then(|alg| match alg {
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::ES384 => Some(Algorithm::ES384),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::RS384 => Some(Algorithm::RS384),
        KeyAlgorithm::RS512 => Some(Algorithm::RS512),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::PS384 => Some(Algorithm::PS384),
        KeyAlgorithm::PS512 => Some(Algorithm::PS512),
        _ => None,
    });
    let implied = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => {
            (okp.curve == EllipticCurve::Ed25519).then_some(Algorithm::EdDSA)
        }
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        _ => None,
    }?;
    match declared {
        // A declared algorithm must belong to the key's type.
        Some(alg) if alg.family() == implied.family() => Some(alg),
        Some(_) => None,
        None => Some(implied),
    }
}

impl KeyCache {
    /// Parses every usable signing key of `set`; keys without a `kid`, of
    /// a symmetric type, or marked for encryption are skipped.
    pub fn from_set(set: &JwkSet) -> Self {
        let keys = set
            .keys
            .iter()
            .filter(|jwk| {
                jwk.common
                    .public_key_use
                    .as_ref()
                    .is_none_or(|u| *u == PublicKeyUse::Signature)
            })
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let alg = algorithm_of(jwk)?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, CachedKey { key, alg }))
            })
            .collect();
        Self { keys }
    }

    /// Parses a JWKS document.
    pub fn from_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(Self::from_set(&serde_json::from_slice(json)?))
    }

    pub(crate) fn get(&self, kid: &str) -> Option<&CachedKey> {
        self.keys.get(kid)
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is cached.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

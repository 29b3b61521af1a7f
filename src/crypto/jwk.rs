//! Public JSON Web Keys (RFC 7517) and their thumbprints (RFC 7638).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use serde::{Deserialize, Serialize};

/// A public key as published in the JWKS. Never carries a private part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Key type: `EC`, `OKP` or `RSA`.
    pub kty: String,
    /// RFC 7638 thumbprint of the key.
    pub kid: String,
    /// The one JWS algorithm this key signs with.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Curve (`P-256`, `Ed25519`) for EC and OKP keys.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub crv: Option<String>,
    /// Public point x (EC) or public key (OKP), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub x: Option<String>,
    /// Public point y (EC), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
    /// RSA modulus, base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e: Option<String>,
}

impl PublicJwk {
    /// An EC P-256 key from its uncompressed SEC1 point (`04 || x || y`).
    pub fn ec_p256(alg: &str, point: &[u8]) -> Option<Self> {
        let (tag, xy) = point.split_first()?;
        if *tag != 4 || xy.len() != 64 {
            return None;
        }
        let (x, y) = xy.split_at(32);
        let members = [("crv", "P-256"), ("kty", "EC")];
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        let kid = thumbprint(&[members[0], members[1], ("x", &x), ("y", &y)]);
        Some(Self {
            crv: Some("P-256".into()),
            x: Some(x),
            y: Some(y),
            ..Self::base("EC", alg, kid)
        })
    }

    /// An Ed25519 key (RFC 8037) from its 32 public bytes.
    pub fn okp_ed25519(alg: &str, public: &[u8]) -> Self {
        let x = URL_SAFE_NO_PAD.encode(public);
        let kid = thumbprint(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", &x)]);
        Self {
            crv: Some("Ed25519".into()),
            x: Some(x),
            ..Self::base("OKP", alg, kid)
        }
    }

    /// An RSA key from its big-endian modulus and exponent.
    pub fn rsa(alg: &str, modulus: &[u8], exponent: &[u8]) -> Self {
        let n = URL_SAFE_NO_PAD.encode(modulus);
        let e = URL_SAFE_NO_PAD.encode(exponent);
        let kid = thumbprint(&[("e", &e), ("kty", "RSA"), ("n", &n)]);
        Self {
            n: Some(n),
            e: Some(e),
            ..Self::base("RSA", alg, kid)
        }
    }

    fn base(kty: &str, alg: &str, kid: String) -> Self {
        Self {
            kty: kty.into(),
            kid,
            alg: alg.into(),
            use_: "sig".into(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        }
    }
}

/// RFC 7638 §3: SHA-256 over the required members, in lexicographic order,
/// as JSON with no white space; base64url without padding. Every member
/// value we pass is base64url or a fixed name, so none needs escaping.
fn thumbprint(members: &[(&str, &str)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    let canonical = format!("{{{}}}", body.join(","));
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 7638 §3.1.
    #[test]
    fn rsa_thumbprint_matches_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let modulus = URL_SAFE_NO_PAD.decode(n).unwrap();
        let exponent = URL_SAFE_NO_PAD.decode("AQAB").unwrap();

        let jwk = PublicJwk::rsa("RS256", &modulus, &exponent);

        assert_eq!(jwk.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn jwk_json_has_no_private_members() {
        let jwk = PublicJwk::okp_ed25519("EdDSA", &[7u8; 32]);

        let json = serde_json::to_value(&jwk).unwrap();

        assert_eq!(json["use"], "sig");
        assert!(json.get("d").is_none());
        assert!(json.get("n").is_none());
    }
}

//! `GET /.well-known/jwks.json`: every public key a valid token may be
//! signed with (RFC 7517 §5), including the next key ahead of its use.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::http::AppState;

/// How long verifiers may cache the JWKS. Key rotation publishes the next
/// key at least this long before it signs anything.
pub const JWKS_MAX_AGE_SECS: u32 = 300;

// What the key ring renders from `PublicJwk`s, described for the OpenAPI
// document; the test below keeps the two in step.
/// The JWKS document (RFC 7517 §5).
#[derive(utoipa::ToSchema)]
#[schema(as = JwkSet)]
#[expect(dead_code, reason = "the key ring renders the JWKS; this describes it")]
pub(crate) struct JwkSetDoc {
    /// Every key a valid token may be signed with.
    keys: Vec<JwkDoc>,
}

/// One public key (RFC 7517 §4); never a private part.
#[derive(utoipa::ToSchema)]
#[schema(as = Jwk)]
#[expect(dead_code, reason = "the key ring renders the JWKS; this describes it")]
struct JwkDoc {
    /// Key type: `EC`, `OKP` or `RSA`.
    #[schema(example = "EC")]
    kty: String,
    /// RFC 7638 thumbprint of the key; the `kid` of the tokens it signs.
    kid: String,
    /// The one JWS algorithm this key signs with: `ES256`, `EdDSA` or `RS256`.
    #[schema(example = "ES256")]
    alg: String,
    /// Always `sig`.
    #[schema(rename = "use", example = "sig")]
    use_: String,
    /// Curve (`P-256`, `Ed25519`) for EC and OKP keys.
    crv: Option<String>,
    /// Public point x (EC) or public key (OKP), base64url.
    x: Option<String>,
    /// Public point y (EC), base64url.
    y: Option<String>,
    /// RSA modulus, base64url.
    n: Option<String>,
    /// RSA public exponent, base64url.
    e: Option<String>,
}

/// Serves the JWKS, rendered once per key change.
#[utoipa::path(
    tag = "oauth",
    summary = "Public signing keys (JWKS)",
    description = "RFC 7517. Every public key a valid token may be signed with, including \
        the next key ahead of its use. Cacheable (`Cache-Control: public, max-age=300`).",
    security(()),
    responses(
        (status = 200, description = "The key set.", body = JwkSetDoc,
            content_type = "application/jwk-set+json", headers(("Cache-Control" = String))),
    ),
)]
#[get("/.well-known/jwks.json")]
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.keys.snapshot();
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
        .content_type("application/jwk-set+json")
        .body(keys.jwks_json().to_vec())
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;
    use utoipa::openapi::{RefOr, schema::Schema};

    use super::*;
    use crate::crypto::jwk::PublicJwk;

    fn properties() -> Vec<String> {
        let RefOr::T(Schema::Object(object)) = JwkDoc::schema() else {
            unreachable!("a JWK is an object schema");
        };
        object.properties.keys().cloned().collect()
    }

    /// The documented members are those every kind of key serialises.
    #[test]
    fn documented_jwk_matches_the_published_keys() {
        let keys = [
            PublicJwk::ec_p256("ES256", &[4; 65]).unwrap(),
            PublicJwk::okp_ed25519("EdDSA", &[7; 32]),
            PublicJwk::rsa("RS256", &[9; 256], &[1, 0, 1]),
        ];
        let mut documented = properties();
        documented.sort();

        let mut seen = Vec::new();
        for key in keys {
            let serde_json::Value::Object(members) = serde_json::to_value(key).unwrap() else {
                unreachable!("a JWK serialises as an object");
            };
            seen.extend(members.keys().cloned());
        }
        seen.sort();
        seen.dedup();

        assert_eq!(seen, documented);
    }
}

//! The OpenAPI document of keymint's HTTP API, served at
//! `GET /openapi.json`.
//!
//! The paths are collected from the route registrations themselves:
//! [`documented_routes`] registers every handler through `utoipa_actix_web`,
//! whose `service` takes each one's `#[utoipa::path]` as it registers it and
//! accepts no handler without one, so a handler served there cannot be
//! missing from the document. (The only routes registered there otherwise,
//! through `map`, answer 405 to the methods no handler takes.) Schemas come
//! from the request and response types' `ToSchema`. This module adds what no
//! handler knows: the title, the security schemes and the tags.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{App, HttpResponse, get};
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::documented_routes;

/// Path of the document.
pub const OPENAPI_PATH: &str = "/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "keymint",
        description = "OAuth 2.0 authorization server for machine-to-machine access. Account \
            owners create API keys (OAuth clients) under `/admin/v1`; API consumers exchange \
            them at `/oauth/token` for short-lived JWT access tokens (RFC 9068), which \
            downstream APIs verify against the JWKS.\n\n\
            Admin errors are RFC 9457 problem details (`application/problem+json`) with a \
            stable `code`; OAuth errors follow RFC 6749 §5.2. On the OAuth endpoints and under \
            `/admin/v1`, a method not listed answers 405 with `Allow`.",
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "oauth", description = "Tokens for API clients: RFC 6749, 7662, 7517, 8414."),
        (name = "admin: sessions", description = "Signing in and out of the admin API."),
        (name = "admin: me", description = "The signed-in user and their second factor."),
        (name = "admin: clients", description = "API keys (OAuth clients). Owners only."),
        (name = "admin: audit", description = "The account's audit trail. Owners only."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
    ),
)]
struct ApiDoc;

/// The security schemes the operations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_secret_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "RFC 6749 §2.3.1: the client id and secret, each form-urlencoded, as \
                         HTTP Basic credentials. The alternative, `client_secret_post`, sends \
                         `client_id` and `client_secret` in the form body instead.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("opaque")
                    .description(Some(
                        "The `token` of `POST /admin/v1/sessions` or `/admin/v1/sessions/sso`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document: the routes as [`documented_routes`] registers them,
/// on top of [`ApiDoc`].
pub fn document() -> Document {
    let (_, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(documented_routes)
        .split_for_parts();
    document
}

/// Registers `GET /openapi.json`.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(get_openapi);
}

/// Serves the document, rendered once.
#[utoipa::path(
    tag = "operations",
    summary = "This OpenAPI document",
    security(()),
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json")),
)]
#[get("/openapi.json")]
pub async fn get_openapi() -> HttpResponse {
    static RENDERED: OnceLock<Vec<u8>> = OnceLock::new();
    let body = RENDERED.get_or_init(|| {
        serde_json::to_vec(&document()).expect("an OpenAPI document always serialises")
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("application/json")
        .body(body.as_slice())
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::HttpMethod;

    use super::*;
    use crate::http::oauth::{INTROSPECT_PATH, JWKS_PATH, METADATA_PATH, TOKEN_PATH};

    fn has(document: &Document, path: &str, method: HttpMethod) -> bool {
        let Some(item) = document.paths.paths.get(path) else {
            return false;
        };
        match method {
            HttpMethod::Get => item.get.is_some(),
            HttpMethod::Post => item.post.is_some(),
            _ => false,
        }
    }

    #[test]
    fn oauth_paths_match_the_published_urls() {
        let document = document();

        assert!(has(&document, TOKEN_PATH, HttpMethod::Post));
        assert!(has(&document, INTROSPECT_PATH, HttpMethod::Post));
        assert!(has(&document, JWKS_PATH, HttpMethod::Get));
        assert!(has(&document, METADATA_PATH, HttpMethod::Get));
        assert!(has(&document, OPENAPI_PATH, HttpMethod::Get));
    }

    /// Every `$ref` names a schema the document holds.
    #[test]
    fn every_reference_resolves() {
        let json = serde_json::to_value(document()).unwrap();
        let schemas = json["components"]["schemas"].as_object().unwrap();
        let mut refs = Vec::new();
        collect_refs(&json, &mut refs);

        assert!(!refs.is_empty());
        for reference in refs {
            let name = reference.trim_start_matches("#/components/schemas/");
            assert!(schemas.contains_key(name), "{reference}");
        }
    }

    fn collect_refs(value: &serde_json::Value, refs: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    refs.push(target.clone());
                }
                map.values().for_each(|value| collect_refs(value, refs));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
            _ => {}
        }
    }
}

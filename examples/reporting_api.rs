//! A downstream Reporting API protected by keymint tokens.
//!
//! Run keymint (`cargo run --release -- serve`), then:
//!
//! ```text
//! KEYMINT_ISSUER=http://127.0.0.1:8080 cargo run --example reporting_api
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8090/reports/usage
//! ```
//!
//! The route declares the scope it needs in its signature; a request
//! without a valid token holding `reporting` never reaches the handler.

use actix_web::{App, HttpResponse, HttpServer, get, web};
use keymint::verify::actix::{Reporting, Scoped};
use keymint::verify::{Verifier, VerifierConfig};
use serde_json::json;

/// Usage figures for the caller's own account.
#[get("/reports/usage")]
async fn usage_report(token: Scoped<Reporting>) -> HttpResponse {
    let claims = token.claims();
    HttpResponse::Ok().json(json!({
        "account": claims.account_id(),
        "requested_by": claims.client_id(),
        "api_calls_this_month": 1234,
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let issuer = std::env::var("KEYMINT_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let audience = std::env::var("KEYMINT_AUDIENCE").unwrap_or_else(|_| format!("{issuer}/api"));
    let listen = std::env::var("REPORTING_LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".into());

    let verifier = Verifier::connect(VerifierConfig::new(issuer, audience))
        .await
        .map_err(std::io::Error::other)?;
    verifier.spawn_refresh();
    println!(
        "reporting API on http://{listen}, keys from {}",
        verifier.jwks_uri()
    );

    let verifier = web::Data::from(verifier);
    HttpServer::new(move || App::new().app_data(verifier.clone()).service(usage_report))
        .bind(listen)?
        .run()
        .await
}

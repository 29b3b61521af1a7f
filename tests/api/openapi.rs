//! The OpenAPI document at `/openapi.json` describes exactly the routes
//! keymint serves, and Swagger UI at `/docs` renders it from the binary
//! alone, under a Content-Security-Policy that forbids inline scripts.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::PathItem;

use crate::helpers::{TestApp, assert_problem, spawn_app};

/// Every operation keymint serves.
const SERVED: [(&str, &str); 19] = [
    ("POST", "/oauth/token"),
    ("POST", "/oauth/introspect"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("POST", "/admin/v1/sessions"),
    ("POST", "/admin/v1/sessions/sso"),
    ("DELETE", "/admin/v1/sessions/current"),
    ("GET", "/admin/v1/me"),
    ("POST", "/admin/v1/me/totp"),
    ("POST", "/admin/v1/me/totp/confirm"),
    ("GET", "/admin/v1/clients"),
    ("POST", "/admin/v1/clients"),
    ("GET", "/admin/v1/clients/{id}"),
    ("DELETE", "/admin/v1/clients/{id}"),
    ("GET", "/admin/v1/audit-events"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

/// An id no client has.
const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";

/// The served document, checked to be OpenAPI 3 by utoipa's own model.
async fn document(app: &TestApp) -> OpenApi {
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    let version = body["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi: {version}");
    serde_json::from_value(body).expect("the document has the OpenAPI 3 structure")
}

/// The methods an item documents.
fn methods(item: &PathItem) -> BTreeSet<&'static str> {
    let operations = [
        ("GET", &item.get),
        ("PUT", &item.put),
        ("POST", &item.post),
        ("DELETE", &item.delete),
        ("OPTIONS", &item.options),
        ("HEAD", &item.head),
        ("PATCH", &item.patch),
        ("TRACE", &item.trace),
    ];
    operations
        .into_iter()
        .filter(|(_, operation)| operation.is_some())
        .map(|(method, _)| method)
        .collect()
}

/// Every `(method, path)` the document describes.
fn operations(document: &OpenApi) -> BTreeSet<(String, String)> {
    document
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            methods(item)
                .into_iter()
                .map(move |method| (method.to_owned(), path.clone()))
        })
        .collect()
}

async fn send(app: &TestApp, method: &str, path: &str, session: &str) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    app.http
        .request(method, app.url(path))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
}

#[actix_rt::test]
async fn openapi_json_is_an_openapi_3_document() {
    let app = spawn_app().await;

    let document = document(&app).await;

    assert_eq!(document.info.title, "keymint");
    let schemes = document.components.unwrap().security_schemes;
    assert!(schemes.contains_key("client_secret_basic"));
    assert!(schemes.contains_key("session"));
}

#[actix_rt::test]
async fn document_lists_exactly_the_served_operations() {
    let app = spawn_app().await;

    let documented = operations(&document(&app).await);

    let served: BTreeSet<(String, String)> = SERVED
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, served);
}

#[actix_rt::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    app.client_in(&owner.account_id, &["reporting"]).await;
    let listed: Value = app
        .admin_get(&session, "/clients")
        .await
        .json()
        .await
        .unwrap();
    let client = listed["clients"][0]["id"].as_str().unwrap().to_owned();

    for (method, path) in operations(&document(&app).await) {
        let token = if path == "/admin/v1/sessions/current" {
            app.login(&owner).await
        } else {
            session.clone()
        };

        let concrete = path.replace("{id}", &client);
        let response = send(&app, &method, &concrete, &token).await;

        let status = response.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {concrete}: {status}"
        );
        if path.contains("{id}") {
            // An unknown id gets the documented 404, a problem of ours.
            let unknown = path.replace("{id}", UNKNOWN_ID);
            let response = send(&app, &method, &unknown, &session).await;
            assert_problem(response, 404, "not_found").await;
        }
    }
}

/// The 405 answers name exactly the documented methods, so the fallbacks
/// registered beside the handlers stay in step with them.
#[actix_rt::test]
async fn other_methods_get_405_allowing_the_documented_ones() {
    let app = spawn_app().await;
    let document = document(&app).await;

    for (path, item) in &document.paths.paths {
        if !(path.starts_with("/oauth/") || path.starts_with("/admin/v1/")) {
            continue;
        }
        let path = path.replace("{id}", UNKNOWN_ID);

        let response = send(&app, "PATCH", &path, "none").await;

        assert_eq!(response.status(), 405, "PATCH {path}");
        let allow: BTreeSet<&str> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(str::trim)
            .collect();
        assert_eq!(allow, methods(item), "{path}");
    }
}

/// `src="…"` and `href="…"` values of an HTML page.
fn linked_urls(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

fn expected_content_type(url: &str) -> &'static str {
    let path = url.split('?').next().unwrap();
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("png") => "image/png",
        other => panic!("unexpected asset {url} ({other:?})"),
    }
}

#[actix_rt::test]
async fn docs_page_loads_only_same_origin_assets_without_inline_script() {
    let app = spawn_app().await;

    let response = app.http.get(app.url("/docs")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let content_type = headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src "))
        .expect("a script-src directive");
    assert!(script_src.contains("'self'"), "{csp}");
    assert!(!script_src.contains("'unsafe-inline'"), "{csp}");
    assert!(!script_src.contains("'unsafe-eval'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");

    let html = response.text().await.unwrap();
    for script in html.split("<script").skip(1) {
        let (tag, rest) = script.split_once('>').unwrap();
        assert!(tag.contains("src=\""), "an inline script: {script}");
        assert!(rest.starts_with("</script>"), "an inline script: {script}");
    }
    let urls = linked_urls(&html);
    assert!(urls.len() >= 3, "{urls:?}");
    for url in urls {
        assert!(
            url.starts_with('/') && !url.starts_with("//"),
            "not same-origin relative: {url}"
        );

        let asset = app.http.get(app.url(&url)).send().await.unwrap();

        assert_eq!(asset.status(), 200, "{url}");
        let content_type = asset.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with(expected_content_type(&url)),
            "{url}: {content_type}"
        );
        let cache = asset.headers()["cache-control"].to_str().unwrap();
        assert!(cache.contains("max-age=31536000"), "{url}: {cache}");
        assert!(asset.headers().contains_key("content-security-policy"));
    }
}

#[actix_rt::test]
async fn swagger_ui_is_started_without_any_other_origin() {
    let app = spawn_app().await;

    let init = app.http.get(app.url("/docs/init.js")).send().await.unwrap();
    let css = app
        .http
        .get(app.url("/docs/swagger-ui.css"))
        .send()
        .await
        .unwrap();

    let init = init.text().await.unwrap();
    assert!(init.contains(r#"url: "/openapi.json""#), "{init}");
    assert!(init.contains("validatorUrl: null"), "{init}");
    assert!(!init.contains("://"), "{init}");
    let css = css.text().await.unwrap();
    assert!(
        !css.contains("url(http"),
        "the stylesheet loads from elsewhere"
    );
    assert!(
        !css.contains("@import"),
        "the stylesheet imports from elsewhere"
    );
}

//! The API Keys page at `/ui/`, over HTTP: served from the binary with a
//! strict Content-Security-Policy, no inline script or style, and only
//! same-origin assets of the right types. What it does in a browser is
//! tested by `tests/e2e` (Chromium driven by Playwright).

use crate::helpers::{TestApp, spawn_app};

/// The policy the page and each asset must carry, directive by directive.
const STRICT_CSP: [&str; 8] = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
];

fn assert_strict_csp(response: &reqwest::Response, what: &str) {
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    assert_eq!(directives, STRICT_CSP, "{what}: {csp}");
}

/// Values of `attribute="…"` in `html`.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    html.split(&format!(" {attribute}=\""))
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect()
}

/// The assets the page loads: script sources and stylesheet links.
fn loaded_assets(html: &str) -> Vec<&str> {
    let scripts = html
        .split("<script")
        .skip(1)
        .flat_map(|tag| attribute_values(tag.split('>').next().unwrap(), "src"));
    let styles = html
        .split("<link")
        .skip(1)
        .map(|tag| tag.split('>').next().unwrap())
        .filter(|tag| tag.contains("rel=\"stylesheet\""))
        .flat_map(|tag| attribute_values(tag, "href"));
    scripts.chain(styles).collect()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).send().await.unwrap()
}

#[actix_rt::test]
async fn ui_page_is_served_with_a_strict_csp_and_no_inline_script_or_style() {
    let app = spawn_app().await;

    let response = get(&app, "/ui/").await;

    assert_eq!(response.status(), 200);
    assert_strict_csp(&response, "/ui/");
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let html = response.text().await.unwrap();
    for script in html.split("<script").skip(1) {
        let (tag, rest) = script.split_once('>').unwrap();
        assert!(tag.contains(" src=\""), "an inline script: {script:.80}");
        assert!(
            rest.starts_with("</script>"),
            "an inline script: {script:.80}"
        );
    }
    assert!(!html.contains("<style"), "an inline stylesheet");
    assert!(!html.contains(" style=\""), "an inline style attribute");
    assert!(!html.contains("javascript:"), "a javascript: URL");
}

#[actix_rt::test]
async fn every_linked_url_is_same_origin() {
    let app = spawn_app().await;

    let html = get(&app, "/ui/").await.text().await.unwrap();

    let links = [
        attribute_values(&html, "src"),
        attribute_values(&html, "href"),
    ]
    .concat();
    assert!(links.len() >= 3, "{links:?}");
    for url in links {
        let same_origin = url.starts_with("/ui/") || url == "/docs" || url.starts_with('#');
        // The icon is an empty `data:` URL, so the browser asks for no favicon.
        assert!(same_origin || url == "data:,", "not same-origin: {url}");
    }
}

#[actix_rt::test]
async fn every_asset_is_served_with_its_content_type_and_the_strict_csp() {
    let app = spawn_app().await;
    let html = get(&app, "/ui/").await.text().await.unwrap();

    let assets = loaded_assets(&html);

    assert_eq!(assets.len(), 3, "{assets:?}");
    for url in assets {
        let response = get(&app, url).await;

        assert_eq!(response.status(), 200, "{url}");
        assert_strict_csp(&response, url);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        let path = url.split('?').next().unwrap();
        let expected = match path.rsplit_once('.').map(|(_, extension)| extension) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            other => panic!("unexpected asset {url} ({other:?})"),
        };
        assert_eq!(content_type, expected, "{url}");
        let cache = response.headers()["cache-control"].to_str().unwrap();
        assert_eq!(cache, "public, max-age=31536000, immutable", "{url}");
    }
}

#[actix_rt::test]
async fn the_app_keeps_nothing_in_browser_storage_and_loads_nothing_from_elsewhere() {
    let app = spawn_app().await;

    let js = get(&app, "/ui/app.js").await.text().await.unwrap();
    let css = get(&app, "/ui/app.css").await.text().await.unwrap();

    for stored in [
        "localStorage",
        "sessionStorage",
        "document.cookie",
        "indexedDB",
    ] {
        assert!(!js.contains(stored), "app.js uses {stored}");
    }
    assert!(!js.contains("://"), "app.js names another origin");
    assert!(!js.contains("innerHTML"), "app.js writes HTML");
    assert!(!css.contains("url("), "the stylesheet loads something");
    assert!(!css.contains("@import"), "the stylesheet imports something");
}

#[actix_rt::test]
async fn ui_without_slash_redirects_to_the_page() {
    let app = spawn_app().await;

    let response = get(&app, "/ui").await;

    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], "/ui/");
}

#[actix_rt::test]
async fn unknown_asset_is_404_and_an_old_version_is_revalidated() {
    let app = spawn_app().await;

    let unknown = get(&app, "/ui/secrets.js").await;
    let traversal = get(&app, "/ui/..%2FCargo.toml").await;
    let unversioned = get(&app, "/ui/app.js?v=0000").await;

    assert_eq!(unknown.status(), 404);
    assert_eq!(traversal.status(), 404);
    assert_eq!(unversioned.status(), 200);
    assert_eq!(unversioned.headers()["cache-control"], "no-cache");
}

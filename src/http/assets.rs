//! Pages served from files embedded in the binary, for `/docs` and `/ui`:
//! each asset's URL carries a version (the start of its SHA-256), so a new
//! build's assets get new URLs and the current ones may be cached for good.
//! Every answer carries the page's own Content-Security-Policy.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use ring::digest;

use crate::http::problem::Problem;

/// The content type of JavaScript files.
pub const JS: &str = "text/javascript; charset=utf-8";

/// A file a page loads.
#[derive(Debug)]
pub struct Asset {
    /// Its name in the URL and in the page's `{name}` placeholder.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// A page and its assets; the page names each asset's version as
/// `{name}`, which is replaced once, on first use.
#[derive(Debug)]
pub struct Bundle {
    csp: &'static str,
    template: &'static str,
    assets: &'static [Asset],
    versions: OnceLock<Vec<(&'static Asset, String)>>,
    page: OnceLock<String>,
}

impl Bundle {
    /// A page from `template` and `assets`, served under `csp`.
    pub const fn new(csp: &'static str, template: &'static str, assets: &'static [Asset]) -> Self {
        Self {
            csp,
            template,
            assets,
            versions: OnceLock::new(),
            page: OnceLock::new(),
        }
    }

    /// Each asset with its version, computed once.
    pub fn versions(&self) -> &[(&'static Asset, String)] {
        self.versions.get_or_init(|| {
            self.assets
                .iter()
                .map(|asset| {
                    let hash = digest::digest(&digest::SHA256, asset.bytes);
                    let hex = hash
                        .as_ref()
                        .iter()
                        .take(8)
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    (asset, hex)
                })
                .collect()
        })
    }

    /// The page, with each asset's URL carrying its version.
    pub fn page(&self) -> &str {
        self.page.get_or_init(|| {
            self.versions()
                .iter()
                .fold(self.template.to_owned(), |page, (asset, version)| {
                    page.replace(&format!("{{{}}}", asset.name), version)
                })
        })
    }

    /// The page as an answer, cached as `cache_control` says.
    pub fn page_response(&'static self, cache_control: &'static str) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_SECURITY_POLICY, self.csp))
            .insert_header((header::CACHE_CONTROL, cache_control))
            .content_type("text/html; charset=utf-8")
            .body(self.page())
    }

    /// One asset: cacheable for a year when asked for its current version,
    /// as the page does, else to be revalidated; 404 for an unknown name.
    pub fn asset_response(
        &self,
        request: &HttpRequest,
        name: &str,
    ) -> Result<HttpResponse, Problem> {
        let (asset, version) = self
            .versions()
            .iter()
            .find(|(asset, _)| asset.name == name)
            .ok_or_else(Problem::not_found)?;
        let current = request.query_string() == format!("v={version}");
        let cache = if current {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_SECURITY_POLICY, self.csp))
            .insert_header((header::CACHE_CONTROL, cache))
            .content_type(asset.content_type)
            .body(asset.bytes))
    }

    /// Test support: asserts that the page names every asset by its
    /// current version under `prefix` and holds no inline script.
    #[cfg(test)]
    pub fn assert_well_formed(&'static self, prefix: &str) {
        let page = self.page();
        for (asset, version) in self.versions() {
            let url = format!("{prefix}/{}?v={version}", asset.name);
            assert!(page.contains(&url), "{url}");
        }
        assert!(!page.contains("?v={"), "an unreplaced placeholder");
        for script in page.split("<script").skip(1) {
            let (tag, rest) = script.split_once('>').unwrap();
            assert!(tag.contains(" src=\""), "{tag}");
            assert!(rest.starts_with("</script>"), "{rest}");
        }
    }
}

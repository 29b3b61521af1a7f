//! Swagger UI over `/openapi.json`: the page at `GET /docs` and its assets
//! at `GET /docs/{asset}`, all served from the binary.
//!
//! `swagger-ui-bundle.js`, `swagger-ui.css` and `favicon-32x32.png` are
//! vendored unchanged from the npm package `swagger-ui-dist` 5.35.0
//! (Apache-2.0: its `LICENSE`, `NOTICE` and the bundle's third-party notices
//! lie beside them), so a browser without internet access renders the page,
//! and it loads nothing from another origin. `index.html` and `init.js` are
//! ours. To update, `npm pack swagger-ui-dist@5` and copy the same files.
//!
//! Every answer here sets [`CSP`] itself, so the stricter default of
//! [`crate::http::middleware`] does not apply: Swagger UI needs its own
//! scripts, inline styles and `data:` images, but never an inline script.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::assets::{Asset, Bundle, JS};
use crate::http::problem::Problem;

/// The Content-Security-Policy of the page and its assets: scripts only
/// from files of this origin, requests only to this origin.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

static ASSETS: [Asset; 4] = [
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: JS,
        bytes: include_bytes!("swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("swagger-ui.css"),
    },
    Asset {
        name: "favicon-32x32.png",
        content_type: "image/png",
        bytes: include_bytes!("favicon-32x32.png"),
    },
    Asset {
        name: "init.js",
        content_type: JS,
        bytes: include_bytes!("init.js"),
    },
];

/// The page and its assets.
static BUNDLE: Bundle = Bundle::new(CSP, include_str!("index.html"), &ASSETS);

/// Registers `/docs` and `/docs/{asset}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/docs", web::get().to(get_docs))
        .route("/docs/{asset}", web::get().to(get_docs_asset));
}

/// Serves the Swagger UI page.
pub async fn get_docs() -> HttpResponse {
    BUNDLE.page_response("no-cache")
}

/// Serves one asset of the page: for a year when asked for its current
/// version, as the page does, else to be revalidated.
pub async fn get_docs_asset(
    request: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    BUNDLE.asset_response(&request, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_every_asset_by_version_and_has_no_inline_script() {
        BUNDLE.assert_well_formed("/docs");
        assert!(!BUNDLE.page().contains('{'), "an unreplaced placeholder");
    }
}

//! The API Keys page: a small browser app over `/admin/v1` at `GET /ui/`,
//! its assets at `GET /ui/{asset}`, all served from the binary. `GET /ui`
//! redirects to `/ui/`.
//!
//! The app signs in (password, TOTP code, or an SSO ID token), lists the
//! account's API keys, creates and revokes them, and sets up TOTP. It
//! keeps the session token in a JavaScript variable only: never in a
//! cookie, `localStorage`, `sessionStorage` or a URL, so a reload signs
//! out. The server side is nothing but these files; every rule stays in
//! the admin API.
//!
//! `index.html`, `app.js` and `app.css` are ours. `qrcode.js` is vendored
//! unchanged from the npm package `qrcode-generator` 2.0.4 (MIT; its
//! licence lies beside it as `LICENSE.qrcode-generator`), so the TOTP QR
//! code is drawn in the browser and never by another service. To update,
//! `npm pack qrcode-generator` and copy `dist/qrcode.js`.
//!
//! Assets are versioned and cached as those of [`crate::http::docs`] are.
//! Every answer here sets [`CSP`] itself: scripts and styles only from
//! these files (no inline script, no inline style), images from them or
//! `data:` URLs (the QR code), requests only to this origin.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::assets::{Asset, Bundle, JS};
use crate::http::problem::Problem;

/// The Content-Security-Policy of the page and its assets.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'none'";

static ASSETS: [Asset; 3] = [
    Asset {
        name: "app.js",
        content_type: JS,
        bytes: include_bytes!("app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("app.css"),
    },
    Asset {
        name: "qrcode.js",
        content_type: JS,
        bytes: include_bytes!("qrcode.js"),
    },
];

/// The page and its assets.
static BUNDLE: Bundle = Bundle::new(CSP, include_str!("index.html"), &ASSETS);

/// Registers `/ui`, `/ui/` and `/ui/{asset}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ui", web::get().to(redirect_to_ui))
        .route("/ui/", web::get().to(get_ui))
        .route("/ui/{asset}", web::get().to(get_ui_asset));
}

/// Sends `/ui` to `/ui/`, where the page's relative links resolve.
pub async fn redirect_to_ui() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/ui/"))
        .finish()
}

/// Serves the page. `no-store`: it holds nothing secret, but it is where
/// secrets are shown, and a fresh copy costs little.
pub async fn get_ui() -> HttpResponse {
    BUNDLE.page_response("no-store")
}

/// Serves one asset of the page: for a year when asked for its current
/// version, as the page does, else to be revalidated.
pub async fn get_ui_asset(
    request: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    BUNDLE.asset_response(&request, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_no_inline_script_or_style() {
        BUNDLE.assert_well_formed("/ui");
        let page = BUNDLE.page();

        assert!(!page.contains("<style"));
        assert!(!page.contains(" style="));
        for (at, _) in page.match_indices(" on") {
            let rest = &page[at + 3..];
            let name = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            assert!(
                !name.starts_with('='),
                "an inline event handler: {rest:.40}"
            );
        }
    }
}

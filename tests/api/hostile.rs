//! Hostile input on every endpoint: malformed, oversized and mis-encoded
//! bodies, bad Basic headers, JSON of the wrong shape or absurd depth,
//! garbage ids and cursors, unknown methods and paths, and malformed HTTP.
//! Each case must get a 4xx in the format of its part of the API (OAuth
//! JSON on `/oauth/*`, problem details on `/admin/v1` and unknown paths)
//! within a hang bound, and afterwards the server must still issue tokens
//! to the client made before, whose stored record is unchanged.
//!
//! The apps here run without the per-address failure limit, so that the
//! many refused authentications from one address are answered rather than
//! slowed and refused with 429.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keymint::domain::Role;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app_with};

mod admin;
mod http;
mod oauth;
mod raw;

use raw::{Answer, Expect, check, exchange, request};

const FORM: (&str, &[u8]) = ("Content-Type", b"application/x-www-form-urlencoded");
const JSON: (&str, &[u8]) = ("Content-Type", b"application/json");

/// One hostile request and what it must get.
struct Case {
    what: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn case(what: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        what: what.into(),
        bytes,
        expect,
    }
}

fn post(path: &str, headers: &[(&str, &[u8])], body: impl AsRef<[u8]>) -> Vec<u8> {
    request("POST", path, headers, body.as_ref())
}

fn get(path: &str, headers: &[(&str, &[u8])]) -> Vec<u8> {
    request("GET", path, headers, b"")
}

fn basic(raw: impl AsRef<[u8]>) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(raw)).into_bytes()
}

/// A request of these head lines and body, exactly as given.
fn wire(lines: &[&str], body: &str) -> Vec<u8> {
    format!("{}\r\n\r\n{body}", lines.join("\r\n")).into_bytes()
}

/// JSON nested 10,000 arrays deep in a member no endpoint reads, so that
/// only the parser's depth limit can stop it.
fn deep() -> String {
    format!(r#"{{"x":{}"#, "[".repeat(10_000))
}

/// A JWS-shaped string with these header and claims, and a junk signature.
fn jws(header: &str, claims: &str) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// 52 bytes of brotli that inflate to 64 MiB of spaces. With actix-web's
/// `compress-brotli` feature on, a JSON extractor inflated them in full
/// before its 16 KiB limit applied (a 1 GiB one of 809 bytes grew a test
/// server by 1 GiB).
const BROTLI_BOMB: [u8; 52] = [
    207, 255, 255, 127, 0, 36, 64, 226, 177, 64, 114, 239, 255, 249, 255, 255, 15, 128, 4, 64, 28,
    22, 128, 238, 253, 63, 255, 255, 255, 1, 144, 0, 136, 195, 2, 208, 189, 255, 231, 255, 255, 63,
    0, 18, 0, 113, 88, 0, 186, 247, 255, 3,
];

/// `data` as a gzip member of one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let length = u16::try_from(data.len()).unwrap();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&(!length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// A running app with an owner, a client made through the API, and a
/// second user whose TOTP enrolment is started but not confirmed.
struct Fixture {
    app: TestApp,
    authority: String,
    owner_token: String,
    enrolling_token: String,
    client_id: String,
    client_secret: String,
    clients_before: Value,
}

impl Fixture {
    async fn new() -> Self {
        let app = spawn_app_with(|settings| settings.auth_failures_per_minute = None).await;
        let (owner, owner_token) = app.owner_with_mfa_session().await;
        let created = app
            .create_client(&owner_token, "hostile", &["reporting"])
            .await;
        let enrolling = app.user_in(&owner.account_id, Role::Member).await;
        let enrolling_token = app.login(&enrolling).await;
        app.start_totp(&enrolling_token).await;
        let clients_before = clients(&app, &owner_token).await;
        Self {
            authority: app.address.trim_start_matches("http://").to_owned(),
            owner_token,
            enrolling_token,
            client_id: created["client_id"].as_str().unwrap().to_owned(),
            client_secret: created["client_secret"].as_str().unwrap().to_owned(),
            clients_before,
            app,
        }
    }

    fn basic(&self) -> Vec<u8> {
        basic(format!("{}:{}", self.client_id, self.client_secret))
    }

    async fn run(&self, cases: Vec<Case>) {
        assert!(!cases.is_empty());
        let mut failures = Vec::new();
        for case in cases {
            let answer = exchange(&self.authority, &case.bytes).await;
            if let Err(failure) = checked(&case.what, case.expect, &answer) {
                failures.push(failure);
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
        self.assert_still_serving().await;
    }

    /// The client's stored record is unchanged, and it still gets tokens
    /// that introspect as active.
    async fn assert_still_serving(&self) {
        let app = &self.app;
        assert_eq!(clients(app, &self.owner_token).await, self.clients_before);
        let credentials = Some((self.client_id.as_str(), self.client_secret.as_str()));

        let issued = app
            .post_token("grant_type=client_credentials", credentials)
            .await;

        assert_eq!(issued.status(), 200);
        let token: Value = issued.json().await.unwrap();
        assert_eq!(token["scope"], "reporting");
        let introspected = app
            .http
            .post(app.url("/oauth/introspect"))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("token", token["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(introspected.status(), 200);
        let body: Value = introspected.json().await.unwrap();
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["client_id"], self.client_id.as_str());
    }
}

/// [`check`], with a failure returned as its message so that a table
/// reports every failing case at once.
fn checked(what: &str, expect: Expect, answer: &Answer) -> Result<(), String> {
    std::panic::catch_unwind(|| check(what, expect, answer)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_else(|| format!("{what}: failed"))
    })
}

async fn clients(app: &TestApp, token: &str) -> Value {
    let response = app.admin_get(token, "/clients").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[actix_rt::test]
async fn oauth_endpoints_answer_hostile_input_in_the_oauth_error_format() {
    let fixture = Fixture::new().await;
    let mut cases = oauth::token_cases(&fixture);
    cases.extend(oauth::introspect_cases(&fixture));

    fixture.run(cases).await;
}

#[actix_rt::test]
async fn admin_endpoints_answer_hostile_input_with_problem_details() {
    let fixture = Fixture::new().await;
    let mut cases = admin::login_cases();
    cases.extend(admin::sso_cases());
    cases.extend(admin::session_cases());
    cases.extend(admin::totp_cases(&fixture));
    cases.extend(admin::client_cases(&fixture));
    cases.extend(admin::audit_cases(&fixture));

    fixture.run(cases).await;
}

#[actix_rt::test]
async fn unknown_paths_and_wrong_methods_get_a_4xx() {
    use Expect::{Method, Problem};
    let fixture = Fixture::new().await;
    let not_found = Problem(404, "not_found");
    let mut cases = vec![
        case(
            "POST jwks",
            post("/.well-known/jwks.json", &[FORM], "x=1"),
            Method("GET"),
        ),
        case(
            "FOO jwks",
            request("FOO", "/.well-known/jwks.json", &[], b""),
            Method("GET"),
        ),
        case(
            "DELETE metadata",
            request(
                "DELETE",
                "/.well-known/oauth-authorization-server",
                &[],
                b"",
            ),
            Method("GET"),
        ),
        case(
            "jwks with a suffix",
            get("/.well-known/jwks.json/x", &[]),
            not_found,
        ),
        case(
            "FOO on an unknown path",
            request("FOO", "/nope", &[], b""),
            not_found,
        ),
        case(
            "a path of 8,000 characters",
            get(&format!("/{}", "p".repeat(8000)), &[]),
            not_found,
        ),
    ];
    for path in [
        "/nope",
        "/%00",
        "/%FF%FE",
        "/..%2F..%2Fetc%2Fpasswd",
        "/.well-known/%00",
        "/oauth/nope",
        "/admin/v1/nope",
        "/admin/v2/clients",
        "/admin/v1/clients/x/y",
    ] {
        cases.push(case(format!("GET {path}"), get(path, &[]), not_found));
    }

    fixture.run(cases).await;
}

#[actix_rt::test]
async fn malformed_http_is_refused_or_closed_and_the_server_keeps_serving() {
    let fixture = Fixture::new().await;
    let cases = http::malformed_cases();

    let mut failures = Vec::new();
    for Case {
        what,
        bytes,
        expect,
    } in cases
    {
        let answer = exchange(&fixture.authority, &bytes).await;
        let outcome = checked(&what, expect, &answer);
        // The next request on a fresh connection is served as usual.
        let health = exchange(&fixture.authority, &get("/healthz", &[])).await;

        failures.extend(outcome.err());
        assert!(
            matches!(health, Answer::Response { status: 200, .. }),
            "after {what}: {health:?}"
        );
    }

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    fixture.assert_still_serving().await;
}

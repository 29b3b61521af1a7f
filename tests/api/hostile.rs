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

fn token_cases(f: &Fixture) -> Vec<Case> {
    use Expect::{OAuth, OAuthMethod};
    const T: &str = "/oauth/token";
    let good = f.basic();
    let with_basic = |value: &[u8], body: &str| post(T, &[FORM, ("Authorization", value)], body);
    let grant = "grant_type=client_credentials";
    let bad_request = OAuth(400, "invalid_request");
    vec![
        case("empty body", post(T, &[FORM], ""), bad_request),
        case("only separators", post(T, &[FORM], "&&=&==&"), bad_request),
        case(
            "raw invalid UTF-8 in a value",
            post(
                T,
                &[FORM],
                b"grant_type=client_credentials&client_id=\xff\xfe&client_secret=x",
            ),
            bad_request,
        ),
        case(
            "raw invalid UTF-8 in a name",
            post(T, &[FORM], b"grant_type=client_credentials&\xc3\x28=1"),
            bad_request,
        ),
        case(
            "%zz inside grant_type",
            post(T, &[FORM], "grant_type=client%zzcredentials"),
            OAuth(400, "unsupported_grant_type"),
        ),
        case(
            "%00 in client_id",
            post(T, &[FORM], format!("{grant}&client_id=%00&client_secret=x")),
            bad_request,
        ),
        case(
            "percent-encoded invalid UTF-8",
            post(
                T,
                &[FORM],
                format!("{grant}&client_id=%FF%FE&client_secret=x"),
            ),
            bad_request,
        ),
        case(
            "truncated %4 in scope",
            with_basic(&good, &format!("{grant}&scope=%4")),
            OAuth(400, "invalid_scope"),
        ),
        case(
            "double-encoded grant_type",
            post(T, &[FORM], "grant_type=client%255Fcredentials"),
            OAuth(400, "unsupported_grant_type"),
        ),
        case(
            "+ in grant_type",
            post(T, &[FORM], "grant_type=client+credentials"),
            OAuth(400, "unsupported_grant_type"),
        ),
        case(
            "percent-encoded name, no credentials",
            post(T, &[FORM], "grant%5Ftype=client_credentials"),
            OAuth(401, "invalid_client"),
        ),
        case(
            "repeated grant_type",
            post(T, &[FORM], format!("{grant}&{grant}")),
            bad_request,
        ),
        case(
            "grant_type repeated once percent-encoded",
            post(
                T,
                &[FORM],
                format!("{grant}&grant%5Ftype=client_credentials"),
            ),
            bad_request,
        ),
        case(
            "repeated client_secret",
            post(
                T,
                &[FORM],
                format!("{grant}&client_id=a&client_secret=a&client_secret=b"),
            ),
            bad_request,
        ),
        case(
            "empty grant_type",
            post(T, &[FORM], "grant_type=&scope="),
            bad_request,
        ),
        case(
            "grant_type without =",
            post(T, &[FORM], "grant_type"),
            bad_request,
        ),
        case(
            "an empty name",
            post(T, &[FORM], "=client_credentials"),
            bad_request,
        ),
        case(
            "a newline in scope",
            with_basic(&good, &format!("{grant}&scope=reporting%0Aconfiguration")),
            bad_request,
        ),
        case(
            "a scope of 4,000 characters",
            with_basic(&good, &format!("{grant}&scope={}", "x".repeat(4000))),
            OAuth(400, "invalid_scope"),
        ),
        case(
            "a body of 5,000 bytes",
            with_basic(&good, &format!("{grant}&pad={}", "a".repeat(5000))),
            OAuth(413, "invalid_request"),
        ),
        case(
            "a JSON body",
            post(T, &[JSON], r#"{"grant_type":1}"#),
            bad_request,
        ),
        case("no Content-Type", post(T, &[], grant), bad_request),
        case(
            "multipart Content-Type",
            post(
                T,
                &[("Content-Type", b"multipart/form-data; boundary=x")],
                grant,
            ),
            bad_request,
        ),
        case(
            "raw bytes in Content-Type",
            post(
                T,
                &[(
                    "Content-Type",
                    b"application/x-www-form-urlencoded; charset=\xff",
                )],
                grant,
            ),
            bad_request,
        ),
        case(
            "Basic that is not base64",
            with_basic(b"Basic !!!notbase64", grant),
            bad_request,
        ),
        case(
            "Basic without a colon",
            with_basic(&basic("no-colon"), grant),
            bad_request,
        ),
        case(
            "Basic with a control character",
            with_basic(&basic("kmc_a\x01:secret"), grant),
            bad_request,
        ),
        case(
            "Basic with a NUL byte",
            with_basic(&basic("id\0:secret"), grant),
            bad_request,
        ),
        case(
            "Basic with invalid percent-encoding",
            with_basic(&basic("kmc_%zz:secret"), grant),
            OAuth(401, "invalid_client"),
        ),
        case(
            "Basic with an encoded NUL",
            with_basic(&basic("kmc_a:se%00cret"), grant),
            bad_request,
        ),
        case(
            "Basic with encoded invalid UTF-8",
            with_basic(&basic("kmc_a:%FF"), grant),
            bad_request,
        ),
        case(
            "Basic decoding to invalid UTF-8",
            with_basic(&basic([0xff, b':', b'x']), grant),
            bad_request,
        ),
        case(
            "Basic with nothing",
            with_basic(b"Basic ", grant),
            bad_request,
        ),
        case(
            "Basic of 2,000 characters",
            with_basic(&basic("x".repeat(1500)), grant),
            bad_request,
        ),
        case(
            "Bearer instead of Basic",
            with_basic(b"Bearer abc", grant),
            bad_request,
        ),
        case(
            "raw bytes in Authorization",
            with_basic(b"Basic \xc3\x28\xff\xfe", grant),
            bad_request,
        ),
        case(
            "Basic and a body secret",
            with_basic(&good, &format!("{grant}&client_secret=x")),
            bad_request,
        ),
        case(
            "Basic and a different body client_id",
            with_basic(&good, &format!("{grant}&client_id=kmc_other")),
            bad_request,
        ),
        case("GET", get(T, &[]), OAuthMethod),
        case(
            "GET with the form as query",
            get(&format!("{T}?{grant}"), &[]),
            OAuthMethod,
        ),
        case(
            "FOO",
            request("FOO", T, &[FORM], grant.as_bytes()),
            OAuthMethod,
        ),
        case("TRACE", request("TRACE", T, &[], b""), OAuthMethod),
        case(
            "PATCH",
            request("PATCH", T, &[FORM], grant.as_bytes()),
            OAuthMethod,
        ),
        case(
            "PUT",
            request("PUT", T, &[FORM], grant.as_bytes()),
            OAuthMethod,
        ),
    ]
}

fn introspect_cases(f: &Fixture) -> Vec<Case> {
    use Expect::{Inactive, OAuth, OAuthMethod};
    const I: &str = "/oauth/introspect";
    let good = f.basic();
    let auth = |body: &str| post(I, &[FORM, ("Authorization", &good)], body);
    let bad_request = OAuth(400, "invalid_request");
    let none_token = jws(r#"{"alg":"none","typ":"at+jwt"}"#, r#"{"sub":"x"}"#);
    let huge_claims = jws(
        r#"{"alg":"ES256"}"#,
        &format!(r#"{{"x":"{}"}}"#, "y".repeat(2500)),
    );
    vec![
        case("a raw NUL byte", auth("token=\u{0}"), bad_request),
        case(
            "raw invalid UTF-8 bytes",
            post(I, &[FORM, ("Authorization", &good)], b"token=\xff\xfe"),
            bad_request,
        ),
        case("repeated token", auth("token=a&token=b"), bad_request),
        case(
            "no token",
            auth("token_type_hint=access_token"),
            bad_request,
        ),
        case(
            "a JSON body",
            post(I, &[JSON, ("Authorization", &good)], r#"{"token":"a"}"#),
            bad_request,
        ),
        case(
            "a body of 5,000 bytes",
            auth(&format!("token={}", "a".repeat(5000))),
            OAuth(413, "invalid_request"),
        ),
        case(
            "Basic that is not base64",
            post(I, &[FORM, ("Authorization", b"Basic %%%")], "token=a"),
            bad_request,
        ),
        case(
            "no credentials",
            post(I, &[FORM], "token=a"),
            OAuth(401, "invalid_client"),
        ),
        case("a token of junk", auth("token=a.b.c"), Inactive),
        case(
            "a token of dots",
            auth(&format!("token={}", ".".repeat(3000))),
            Inactive,
        ),
        case("an empty JWS", auth("token=e30.e30."), Inactive),
        case(
            "an alg=none token",
            auth(&format!("token={none_token}")),
            Inactive,
        ),
        case(
            "a token with huge claims",
            auth(&format!("token={huge_claims}")),
            Inactive,
        ),
        case("FOO", request("FOO", I, &[FORM], b"token=a"), OAuthMethod),
        case("GET", get(I, &[]), OAuthMethod),
    ]
}

#[actix_rt::test]
async fn oauth_endpoints_answer_hostile_input_in_the_oauth_error_format() {
    let fixture = Fixture::new().await;
    let mut cases = token_cases(&fixture);
    cases.extend(introspect_cases(&fixture));

    fixture.run(cases).await;
}

fn login_cases() -> Vec<Case> {
    use Expect::{Problem, ProblemMethod};
    const S: &str = "/admin/v1/sessions";
    let json = |body: &[u8]| post(S, &[JSON], body);
    let malformed = Problem(400, "malformed_request");
    let invalid = Problem(422, "validation_failed");
    let wrong = Problem(401, "invalid_credentials");
    let login = br#"{"email":"nobody@example.com","password":"wrong"}"#;
    vec![
        case("not JSON", json(b"{"), malformed),
        case("an empty body", json(b""), malformed),
        case("JSON null", json(b"null"), invalid),
        case("an empty array", json(b"[]"), invalid),
        case(
            "wrong types",
            json(br#"{"email":1,"password":[]}"#),
            invalid,
        ),
        // A struct also deserialises from an array, so the first `[` is
        // already of the wrong shape.
        case(
            "10,000 nested arrays",
            json("[".repeat(10_000).as_bytes()),
            invalid,
        ),
        case(
            "3,000 nested objects",
            json(r#"{"a":"#.repeat(3_000).as_bytes()),
            malformed,
        ),
        case(
            "10,000 nested arrays in a member",
            json(deep().as_bytes()),
            malformed,
        ),
        case(
            "an email of 15,000 characters",
            json(
                format!(
                    r#"{{"email":"{}@x.io","password":"x"}}"#,
                    "a".repeat(15_000)
                )
                .as_bytes(),
            ),
            wrong,
        ),
        case(
            "a body over 16 KiB",
            json(format!(r#"{{"email":"{}","password":"x"}}"#, "a".repeat(20_000)).as_bytes()),
            Problem(413, "payload_too_large"),
        ),
        case(
            "a body of 1 MiB declared, never sent",
            post(S, &[JSON, ("Content-Length", b"1048576")], b""),
            Problem(413, "payload_too_large"),
        ),
        case(
            "text/plain",
            post(S, &[("Content-Type", b"text/plain")], login),
            Problem(415, "unsupported_media_type"),
        ),
        case(
            "no Content-Type",
            post(S, &[], login),
            Problem(415, "unsupported_media_type"),
        ),
        case(
            "form-encoded",
            post(S, &[FORM], "email=a%40b.io&password=x"),
            Problem(415, "unsupported_media_type"),
        ),
        case(
            "raw invalid UTF-8 in a string",
            json(b"{\"email\":\"\xff\xfe@x.io\",\"password\":\"x\"}"),
            malformed,
        ),
        case(
            "an escaped NUL in the email",
            json(br#"{"email":"a\u0000b@x.io","password":"x"}"#),
            wrong,
        ),
        case(
            "a lone surrogate",
            json(br#"{"email":"\ud800@x.io","password":"x"}"#),
            malformed,
        ),
        case(
            "a number out of range",
            json(br#"{"email":1e999999,"password":"x"}"#),
            malformed,
        ),
        case(
            "a repeated member",
            json(br#"{"email":"a@x.io","email":"b@x.io","password":"x"}"#),
            invalid,
        ),
        case(
            "gzip-encoded (bodies are never inflated)",
            post(
                S,
                &[JSON, ("Content-Encoding", b"gzip")],
                gzip_stored(login),
            ),
            malformed,
        ),
        case("GET", get(S, &[]), ProblemMethod("POST")),
        case(
            "FOO",
            request("FOO", S, &[JSON], login),
            ProblemMethod("POST"),
        ),
        case(
            "TRACE",
            request("TRACE", S, &[], b""),
            ProblemMethod("POST"),
        ),
    ]
}

fn sso_cases() -> Vec<Case> {
    use Expect::Problem;
    const SSO: &str = "/admin/v1/sessions/sso";
    let id_token = |token: &str| {
        post(
            SSO,
            &[JSON],
            serde_json::json!({ "id_token": token }).to_string(),
        )
    };
    let wrong = Problem(401, "invalid_credentials");
    let rs256 = r#"{"alg":"RS256","typ":"JWT"}"#;
    vec![
        case("garbage", id_token("garbage"), wrong),
        case("empty", id_token(""), wrong),
        case("three junk segments", id_token("a.b.c"), wrong),
        case(
            "alg=none",
            id_token(&jws(r#"{"alg":"none"}"#, r#"{"iss":"x"}"#)),
            wrong,
        ),
        case(
            "an issuer with a NUL",
            id_token(&jws(
                rs256,
                r#"{"iss":"https://idp.example\u0000x","aud":"a"}"#,
            )),
            wrong,
        ),
        case(
            "an issuer of 8,000 characters",
            id_token(&jws(
                rs256,
                &format!(r#"{{"iss":"https://{}"}}"#, "i".repeat(8000)),
            )),
            wrong,
        ),
        case(
            "a kid of 8,000 characters",
            id_token(&jws(
                &format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(8000)),
                "{}",
            )),
            wrong,
        ),
        case(
            "a number",
            post(SSO, &[JSON], r#"{"id_token":5}"#),
            Problem(422, "validation_failed"),
        ),
        case(
            "10,000 nested arrays in a member",
            post(SSO, &[JSON], deep()),
            Problem(400, "malformed_request"),
        ),
        case(
            "text/plain",
            post(
                SSO,
                &[("Content-Type", b"text/plain")],
                r#"{"id_token":"x"}"#,
            ),
            Problem(415, "unsupported_media_type"),
        ),
    ]
}

fn totp_cases(f: &Fixture) -> Vec<Case> {
    use Expect::{Problem, ProblemMethod};
    const C: &str = "/admin/v1/me/totp/confirm";
    let bearer = format!("Bearer {}", f.enrolling_token);
    let session = ("Authorization", bearer.as_bytes());
    let confirm = |body: &[u8]| post(C, &[JSON, session], body);
    let wrong_code = Problem(422, "invalid_otp");
    let no_session = Problem(401, "session_required");
    let unknown = format!("Bearer kmsess_{}", "x".repeat(43));
    vec![
        case(
            "no session, garbage body",
            post(C, &[JSON], "[[[["),
            no_session,
        ),
        case(
            "an unknown bearer token",
            post(C, &[JSON, ("Authorization", unknown.as_bytes())], "{}"),
            no_session,
        ),
        case(
            "a percent-encoded bearer token",
            post(C, &[JSON, ("Authorization", b"Bearer kmsess_%00")], "{}"),
            no_session,
        ),
        case(
            "raw bytes as bearer token",
            post(C, &[JSON, ("Authorization", b"Bearer \xff\xfe")], "{}"),
            no_session,
        ),
        case(
            "Basic instead of Bearer",
            post(C, &[JSON, ("Authorization", b"Basic YTpi")], "{}"),
            no_session,
        ),
        case(
            "a number",
            confirm(br#"{"otp":123456}"#),
            Problem(422, "validation_failed"),
        ),
        case("a NUL", confirm(br#"{"otp":"\u0000"}"#), wrong_code),
        case(
            "15,000 digits",
            confirm(format!(r#"{{"otp":"{}"}}"#, "1".repeat(15_000)).as_bytes()),
            wrong_code,
        ),
        case(
            "full-width digits",
            confirm("{\"otp\":\"１２３４５６\"}".as_bytes()),
            wrong_code,
        ),
        case(
            "10,000 nested arrays in a member",
            confirm(deep().as_bytes()),
            Problem(400, "malformed_request"),
        ),
        case(
            "text/plain",
            post(
                C,
                &[("Content-Type", b"text/plain"), session],
                r#"{"otp":"1"}"#,
            ),
            Problem(415, "unsupported_media_type"),
        ),
        case(
            "a body over 16 KiB",
            confirm(format!(r#"{{"otp":"{}"}}"#, "1".repeat(20_000)).as_bytes()),
            Problem(413, "payload_too_large"),
        ),
        case(
            "FOO",
            request("FOO", C, &[session], b""),
            ProblemMethod("POST"),
        ),
    ]
}

fn client_cases(f: &Fixture) -> Vec<Case> {
    use Expect::{Problem, ProblemMethod};
    const CL: &str = "/admin/v1/clients";
    let bearer = format!("Bearer {}", f.owner_token);
    let session = ("Authorization", bearer.as_bytes());
    let create = |body: &[u8]| post(CL, &[JSON, session], body);
    let invalid = Problem(422, "validation_failed");
    let not_found = Problem(404, "not_found");
    let many_scopes = format!(
        r#"{{"name":"x","scopes":[{}"reporting"]}}"#,
        r#""reporting","#.repeat(1000)
    );
    let mut cases = vec![
        case(
            "wrong types",
            create(br#"{"name":1,"scopes":"reporting"}"#),
            invalid,
        ),
        case(
            "a repeated scope",
            create(br#"{"name":"x","scopes":["reporting","reporting"]}"#),
            invalid,
        ),
        case(
            "a NUL in the name",
            create(br#"{"name":"a\u0000b","scopes":["reporting"]}"#),
            invalid,
        ),
        case(
            "a NUL as scope",
            create(br#"{"name":"x","scopes":["\u0000"]}"#),
            invalid,
        ),
        case(
            "a name of 15,000 characters",
            create(
                format!(
                    r#"{{"name":"{}","scopes":["reporting"]}}"#,
                    "n".repeat(15_000)
                )
                .as_bytes(),
            ),
            invalid,
        ),
        case("1,001 scopes", create(many_scopes.as_bytes()), invalid),
        case(
            "10,000 nested arrays in a member",
            create(deep().as_bytes()),
            Problem(400, "malformed_request"),
        ),
        case(
            "text/plain",
            post(
                CL,
                &[("Content-Type", b"text/plain"), session],
                r#"{"name":"x"}"#,
            ),
            Problem(415, "unsupported_media_type"),
        ),
        case(
            "a body over 16 KiB",
            create(format!(r#"{{"name":"{}","scopes":[]}}"#, "n".repeat(20_000)).as_bytes()),
            Problem(413, "payload_too_large"),
        ),
        case(
            "no session",
            post(CL, &[JSON], r#"{"name":"x","scopes":["reporting"]}"#),
            Problem(401, "session_required"),
        ),
        case(
            "PATCH",
            request("PATCH", CL, &[session], b""),
            ProblemMethod("GET, POST"),
        ),
        case(
            "FOO by id",
            request("FOO", &format!("{CL}/x"), &[session], b""),
            ProblemMethod("GET, DELETE"),
        ),
    ];
    let long_id = "a".repeat(5000);
    let ids = [
        "%00",
        "%FF%FE",
        "%",
        "%4",
        "..%2F..%2Fmetrics",
        "'%20OR%20'1'='1",
        "00000000-0000-0000-0000-000000000000",
        "x%0Ay",
        &long_id,
    ];
    for id in ids {
        let path = format!("{CL}/{id}");
        let short: String = id.chars().take(40).collect();
        cases.push(case(
            format!("GET client {short}"),
            get(&path, &[session]),
            not_found,
        ));
        cases.push(case(
            format!("DELETE client {short}"),
            request("DELETE", &path, &[session], b""),
            not_found,
        ));
    }
    cases
}

fn audit_cases(f: &Fixture) -> Vec<Case> {
    use Expect::{Problem, Status};
    let bearer = format!("Bearer {}", f.owner_token);
    let session = ("Authorization", bearer.as_bytes());
    let audit = |query: &str| get(&format!("/admin/v1/audit-events?{query}"), &[session]);
    let invalid = Problem(422, "validation_failed");
    vec![
        case("a garbage cursor", audit("before=garbage"), invalid),
        case("a NUL cursor", audit("before=%00"), invalid),
        case("an invalid UTF-8 cursor", audit("before=%FF%FE"), invalid),
        case(
            "a cursor of 5,000 characters",
            audit(&format!("before={}", "c".repeat(5000))),
            invalid,
        ),
        case("a repeated cursor", audit("before=a&before=b"), invalid),
        case("limit not a number", audit("limit=abc"), invalid),
        case("limit 0", audit("limit=0"), invalid),
        case("limit -1", audit("limit=-1"), invalid),
        case(
            "limit over i64",
            audit("limit=99999999999999999999"),
            invalid,
        ),
        case("a repeated limit", audit("limit=1&limit=2"), invalid),
        // Unknown query parameters are ignored, as everywhere; `cursor` is
        // not this endpoint's parameter (`before` is).
        case(
            "an unknown parameter",
            audit("cursor=garbage&%zz=%00"),
            Status(200),
        ),
    ]
}

#[actix_rt::test]
async fn admin_endpoints_answer_hostile_input_with_problem_details() {
    let fixture = Fixture::new().await;
    let mut cases = login_cases();
    cases.extend(sso_cases());
    cases.extend(totp_cases(&fixture));
    cases.extend(client_cases(&fixture));
    cases.extend(audit_cases(&fixture));

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
    use Expect::{RefusedOrClosed, Status};
    let fixture = Fixture::new().await;
    let big_value = vec![b'v'; 64 * 1024];
    let huge_value = vec![b'v'; 200 * 1024];
    let many_headers: Vec<String> = (0..3000).map(|n| format!("X-Junk-{n}")).collect();
    let many: Vec<(&str, &[u8])> = many_headers
        .iter()
        .map(|name| (name.as_str(), &b"1"[..]))
        .collect();
    let token_head = ["POST /oauth/token HTTP/1.1", "Host: x", "Connection: close"];
    let token = |extra: &[&str], body: &str| {
        let lines: Vec<&str> = token_head.iter().chain(extra).copied().collect();
        wire(&lines, body)
    };
    let chunked_big = format!("1400\r\n{}\r\n0\r\n\r\n", "a".repeat(0x1400));
    let form = "Content-Type: application/x-www-form-urlencoded";
    let grant = "grant_type=client_credentials";
    let cases = vec![
        // actix-http bounds a request head at 128 KiB and 96 headers; within
        // those bounds a big header is served, beyond them refused.
        case(
            "a 64 KiB header",
            get("/healthz", &[("X-Big", &big_value)]),
            Status(200),
        ),
        case(
            "a 200 KiB header",
            get("/healthz", &[("X-Big", &huge_value)]),
            RefusedOrClosed,
        ),
        case(
            "a 64 KiB Authorization at the token endpoint",
            post(
                "/oauth/token",
                &[FORM, ("Authorization", &big_value)],
                grant,
            ),
            RefusedOrClosed,
        ),
        case("3,000 headers", get("/healthz", &many), RefusedOrClosed),
        case(
            "a 64 KiB path",
            get(&format!("/{}", "p".repeat(64 * 1024)), &[]),
            RefusedOrClosed,
        ),
        case(
            "a header line without a colon",
            wire(&["GET /healthz HTTP/1.1", "Host: x", "nocolon"], ""),
            RefusedOrClosed,
        ),
        case(
            "a space in a header name",
            wire(&["GET /healthz HTTP/1.1", "Host: x", "Bad Name: 1"], ""),
            RefusedOrClosed,
        ),
        case(
            "a control character in a bearer token",
            get("/admin/v1/me", &[("Authorization", b"Bearer kmsess_\x01")]),
            RefusedOrClosed,
        ),
        case(
            "a NUL in a header value",
            get("/healthz", &[("X-Nul", b"a\0b")]),
            RefusedOrClosed,
        ),
        case(
            "binary garbage",
            b"\x00\x01\x02\x03\xff\r\n\r\n".to_vec(),
            RefusedOrClosed,
        ),
        case(
            "an unknown HTTP version",
            wire(&["GET /healthz HTTP/9.9", "Host: x"], ""),
            RefusedOrClosed,
        ),
        case(
            "an absent request target",
            wire(&["GET HTTP/1.1", "Host: x"], ""),
            RefusedOrClosed,
        ),
        case(
            "two different Content-Lengths",
            token(&["Content-Length: 1", "Content-Length: 2"], "ab"),
            RefusedOrClosed,
        ),
        case(
            "a negative Content-Length",
            token(&["Content-Length: -1"], ""),
            RefusedOrClosed,
        ),
        case(
            "a Content-Length of text",
            token(&["Content-Length: abc"], ""),
            RefusedOrClosed,
        ),
        case(
            "Content-Length and chunked together",
            token(
                &[form, "Content-Length: 4", "Transfer-Encoding: chunked"],
                "0\r\n\r\n",
            ),
            RefusedOrClosed,
        ),
        case(
            "a bad chunk size",
            token(&["Transfer-Encoding: chunked"], "zz\r\n\r\n"),
            RefusedOrClosed,
        ),
        case(
            "a chunked body over 4 KiB",
            token(&[form, "Transfer-Encoding: chunked"], &chunked_big),
            RefusedOrClosed,
        ),
        case(
            "CONNECT",
            wire(&["CONNECT 127.0.0.1:1 HTTP/1.1", "Host: 127.0.0.1:1"], ""),
            RefusedOrClosed,
        ),
        case(
            "OPTIONS *",
            wire(&["OPTIONS * HTTP/1.1", "Host: x", "Connection: close"], ""),
            RefusedOrClosed,
        ),
    ];
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

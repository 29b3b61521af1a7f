//! Hostile requests to `/admin/v1`: sign-in, SSO, TOTP confirmation,
//! clients and the audit trail.

use super::raw::{Expect, request};
use super::{BROTLI_BOMB, Case, FORM, Fixture, JSON, case, deep, get, gzip_stored, jws, post};

pub(super) fn login_cases() -> Vec<Case> {
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
            "a brotli bomb (bodies are never inflated)",
            post(S, &[JSON, ("Content-Encoding", b"br")], BROTLI_BOMB),
            malformed,
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

pub(super) fn sso_cases() -> Vec<Case> {
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

pub(super) fn totp_cases(f: &Fixture) -> Vec<Case> {
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

pub(super) fn client_cases(f: &Fixture) -> Vec<Case> {
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

/// Session-only endpoints without a usable session.
pub(super) fn session_cases() -> Vec<Case> {
    use Expect::{Problem, ProblemMethod};
    let no_session = Problem(401, "session_required");
    let unknown = format!("Bearer kmsess_{}", "x".repeat(43));
    let long = format!("Bearer {}", "t".repeat(10_000));
    vec![
        case(
            "sign-out without a session",
            request("DELETE", "/admin/v1/sessions/current", &[], b""),
            no_session,
        ),
        case(
            "sign-out with an unknown session",
            request(
                "DELETE",
                "/admin/v1/sessions/current",
                &[("Authorization", unknown.as_bytes())],
                b"",
            ),
            no_session,
        ),
        case(
            "/me with Basic",
            get("/admin/v1/me", &[("Authorization", b"Basic YTpi")]),
            no_session,
        ),
        case(
            "/me with a bearer token of 10,000 characters",
            get("/admin/v1/me", &[("Authorization", long.as_bytes())]),
            no_session,
        ),
        case(
            "/me with an empty bearer token",
            get("/admin/v1/me", &[("Authorization", b"Bearer")]),
            no_session,
        ),
        case(
            "TOTP enrolment without a session",
            post("/admin/v1/me/totp", &[JSON], "[[[["),
            no_session,
        ),
        case(
            "PUT /me",
            request("PUT", "/admin/v1/me", &[JSON], b"{}"),
            ProblemMethod("GET"),
        ),
    ]
}

pub(super) fn audit_cases(f: &Fixture) -> Vec<Case> {
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

//! Hostile requests to `/oauth/token` and `/oauth/introspect`.

use super::raw::{Expect, request};
use super::{Case, FORM, Fixture, JSON, basic, case, get, jws, post};

pub(super) fn token_cases(f: &Fixture) -> Vec<Case> {
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

pub(super) fn introspect_cases(f: &Fixture) -> Vec<Case> {
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

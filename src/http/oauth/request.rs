//! Parsing token requests (RFC 6749 §4.4.2) and introspection requests
//! (RFC 7662 §2.1) from their headers and body, with no I/O, so that every
//! malformed shape is refused in one place.

use crate::domain::{ScopeError, ScopeSet};
use crate::http::oauth::OAuthError;
use crate::http::oauth::credentials::{self, PresentedCredentials};

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
}

/// The client credentials of a request, as presented.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The credentials and how they came; `None` when none were sent.
    pub presented: Option<(PresentedCredentials, AuthMethod)>,
    /// Whether a Basic header was sent (for `WWW-Authenticate`).
    pub basic_attempted: bool,
}

/// A well-formed client-credentials token request.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// Who asks.
    pub client: ClientCredentials,
    /// The requested scopes; `None` when the parameter was absent or empty.
    pub scope: Option<ScopeSet>,
    /// The unknown scope, if `scope` named one (answered after client
    /// authentication, so that an unauthenticated caller learns nothing).
    pub scope_error: Option<ScopeError>,
}

/// A well-formed token introspection request.
#[derive(Debug, PartialEq, Eq)]
pub struct IntrospectionRequest {
    /// Who asks.
    pub client: ClientCredentials,
    /// The token to describe.
    pub token: String,
}

// What `TokenRequest::parse` reads, described for the OpenAPI document.
/// The form body of a token request (RFC 6749 §4.4.2, §2.3.1).
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "the parser reads the form by hand; this describes it"
)]
pub(crate) struct TokenForm {
    /// Must be `client_credentials`; any other grant type is
    /// `unsupported_grant_type`.
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// Space-delimited scopes, all held by the client; absent or empty for
    /// every scope the client holds.
    #[schema(example = "configuration reporting")]
    scope: Option<String>,
    /// `client_secret_post`: the client id. With HTTP Basic it may be sent
    /// too, but must then equal the Basic one.
    client_id: Option<String>,
    /// `client_secret_post`: the client secret. Never together with HTTP
    /// Basic credentials.
    #[schema(format = Password)]
    client_secret: Option<String>,
}

// What `IntrospectionRequest::parse` reads, described for the OpenAPI
// document.
/// The form body of an introspection request (RFC 7662 §2.1).
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "the parser reads the form by hand; this describes it"
)]
pub(crate) struct IntrospectionForm {
    /// The access token to describe.
    token: String,
    /// Accepted and ignored: keymint has access tokens only.
    token_type_hint: Option<String>,
    /// `client_secret_post`: the calling client's id.
    client_id: Option<String>,
    /// `client_secret_post`: the calling client's secret. Never together
    /// with HTTP Basic credentials.
    #[schema(format = Password)]
    client_secret: Option<String>,
}

#[derive(Default)]
struct Params {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    token: Option<String>,
    token_type_hint: Option<String>,
}

fn invalid(description: &'static str) -> OAuthError {
    OAuthError::InvalidRequest(description)
}

fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|value| {
        let essence = value.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

fn parse_params(content_type: Option<&str>, body: &[u8]) -> Result<Params, OAuthError> {
    if !is_form(content_type) {
        return Err(invalid(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(invalid("the request body is not valid UTF-8"));
    }
    let mut params = Params::default();
    for (name, value) in form_urlencoded::parse(body) {
        let slot = match name.as_ref() {
            "grant_type" => &mut params.grant_type,
            "scope" => &mut params.scope,
            "client_id" => &mut params.client_id,
            "client_secret" => &mut params.client_secret,
            "token" => &mut params.token,
            "token_type_hint" => &mut params.token_type_hint,
            // RFC 6749 §3.2: unrecognised parameters are ignored.
            _ => continue,
        };
        if slot.is_some() {
            return Err(invalid("a request parameter is repeated"));
        }
        if value.contains('\u{FFFD}') || value.chars().any(char::is_control) {
            return Err(invalid("a request parameter holds invalid characters"));
        }
        *slot = Some(value.into_owned());
    }
    // RFC 6749 §3.1: a parameter sent without a value counts as omitted.
    for slot in [
        &mut params.grant_type,
        &mut params.scope,
        &mut params.client_id,
        &mut params.token,
    ] {
        if slot.as_deref() == Some("") {
            *slot = None;
        }
    }
    if params.client_secret.as_deref() == Some("") {
        params.client_secret = None;
    }
    Ok(params)
}

fn credentials(
    authorization: Option<&[u8]>,
    params: Params,
) -> Result<ClientCredentials, OAuthError> {
    let presented = presented(authorization, params)?;
    let basic_attempted = authorization.is_some_and(credentials::is_basic);
    Ok(ClientCredentials {
        presented,
        basic_attempted,
    })
}

fn presented(
    authorization: Option<&[u8]>,
    params: Params,
) -> Result<Option<(PresentedCredentials, AuthMethod)>, OAuthError> {
    let basic = match authorization {
        Some(value) if credentials::is_basic(value) => Some(credentials::parse_basic(value)?),
        Some(_) => {
            return Err(invalid(
                "only HTTP Basic client authentication is supported",
            ));
        }
        None => None,
    };
    match (basic, params.client_id, params.client_secret) {
        (Some(_), _, Some(_)) => Err(invalid(
            "use one client authentication method, not Basic and the body both",
        )),
        (Some(basic), Some(id), None) if id != basic.client_id => Err(invalid(
            "client_id in the body differs from the Basic credentials",
        )),
        (Some(basic), _, None) => Ok(Some((basic, AuthMethod::Basic))),
        (None, Some(client_id), Some(client_secret)) => Ok(Some((
            PresentedCredentials {
                client_id,
                client_secret,
            },
            AuthMethod::Post,
        ))),
        (None, None, Some(_)) => Err(invalid("client_secret was sent without client_id")),
        (None, _, None) => Ok(None),
    }
}

impl TokenRequest {
    /// Parses a request. Errors are `invalid_request` or
    /// `unsupported_grant_type`; scope and credential checks come later.
    pub fn parse(
        content_type: Option<&str>,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Result<Self, OAuthError> {
        let mut params = parse_params(content_type, body)?;
        match params.grant_type.as_deref() {
            None => return Err(invalid("grant_type is missing")),
            Some("client_credentials") => {}
            Some(_) => return Err(OAuthError::UnsupportedGrantType),
        }
        let (scope, scope_error) = match params.scope.take().map(|s| ScopeSet::parse_request(&s)) {
            None => (None, None),
            Some(Ok(set)) if set.is_empty() => (None, None),
            Some(Ok(set)) => (Some(set), None),
            Some(Err(err)) => (None, Some(err)),
        };
        let client = credentials(authorization, params)?;
        Ok(Self {
            client,
            scope,
            scope_error,
        })
    }
}

impl IntrospectionRequest {
    /// Parses a request; `token` is required (RFC 7662 §2.1).
    pub fn parse(
        content_type: Option<&str>,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Result<Self, OAuthError> {
        let mut params = parse_params(content_type, body)?;
        let token = params
            .token
            .take()
            .ok_or_else(|| invalid("token is missing"))?;
        let client = credentials(authorization, params)?;
        Ok(Self { client, token })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn code(result: Result<TokenRequest, OAuthError>) -> String {
        result
            .map(|_| "ok".to_owned())
            .unwrap_or_else(|err| err.to_string())
    }

    #[test]
    fn post_credentials_and_scope_are_read() {
        let body = b"grant_type=client_credentials&client_id=a&client_secret=b&scope=reporting";

        let request = TokenRequest::parse(FORM, None, body).unwrap();

        let (presented, method) = request.client.presented.unwrap();
        assert_eq!(
            (presented.client_id.as_str(), method),
            ("a", AuthMethod::Post)
        );
        assert_eq!(request.scope.unwrap().to_string(), "reporting");
    }

    #[test]
    fn malformed_requests_are_invalid_request() {
        let basic = format!("Basic {}", STANDARD.encode("a:b"));
        type Case<'a> = (Option<&'a str>, Option<&'a [u8]>, &'a [u8]);
        let cases: [Case<'_>; 7] = [
            (FORM, None, b"client_id=a&client_secret=b"),
            (
                FORM,
                None,
                b"grant_type=client_credentials&grant_type=client_credentials",
            ),
            (FORM, None, b"grant_type=client_credentials&scope=a&scope=b"),
            (Some("application/json"), None, b"{}"),
            (None, None, b"grant_type=client_credentials"),
            (
                FORM,
                Some(basic.as_bytes()),
                b"grant_type=client_credentials&client_secret=b",
            ),
            (FORM, Some(b"Basic %%%"), b"grant_type=client_credentials"),
        ];
        for (content_type, authorization, body) in cases {
            let result = TokenRequest::parse(content_type, authorization, body);

            assert_eq!(
                code(result),
                "invalid_request",
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn other_grant_types_are_unsupported() {
        let result = TokenRequest::parse(FORM, None, b"grant_type=password&username=x");

        assert_eq!(code(result), "unsupported_grant_type");
    }

    #[test]
    fn empty_parameters_count_as_omitted() {
        let body = b"grant_type=client_credentials&scope=&client_id=&client_secret=";

        let request = TokenRequest::parse(FORM, None, body).unwrap();

        assert_eq!(request.scope, None);
        assert!(request.client.presented.is_none());
    }

    #[test]
    fn introspection_needs_a_token() {
        let missing = IntrospectionRequest::parse(FORM, None, b"client_id=a&client_secret=b");
        let present = IntrospectionRequest::parse(FORM, None, b"token=abc&token_type_hint=x");

        assert!(matches!(missing, Err(OAuthError::InvalidRequest(_))));
        assert_eq!(present.unwrap().token, "abc");
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let raw: &[u8] = b"grant_type=client_credentials&client_id=\xff";
        let encoded: &[u8] = b"grant_type=client_credentials&client_id=%FF";

        assert_eq!(
            code(TokenRequest::parse(FORM, None, raw)),
            "invalid_request"
        );
        assert_eq!(
            code(TokenRequest::parse(FORM, None, encoded)),
            "invalid_request"
        );
    }

    /// The documented form fields are exactly ones the parser reads: each
    /// one sent twice is refused as repeated, where an unknown one would be
    /// ignored.
    #[test]
    fn documented_form_fields_are_parsed() {
        use utoipa::PartialSchema;
        use utoipa::openapi::{RefOr, schema::Schema};

        for schema in [TokenForm::schema(), IntrospectionForm::schema()] {
            let RefOr::T(Schema::Object(object)) = schema else {
                panic!("a form is an object schema");
            };
            for name in object.properties.keys() {
                let body = format!("{name}=a&{name}=b");

                let result = parse_params(FORM, body.as_bytes());

                assert!(
                    matches!(result, Err(OAuthError::InvalidRequest(d)) if d.contains("repeated")),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn content_type_parameters_are_allowed() {
        let content_type = Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8");

        let result = TokenRequest::parse(content_type, None, b"grant_type=client_credentials");

        assert_eq!(code(result), "ok");
    }
}

/// Properties of the parser over generated input: nothing panics, every
/// well-formed request reads back as sent, and a repeated parameter is
/// refused however it is spelled.
#[cfg(test)]
mod proptests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;
    use proptest::sample::{select, subsequence};

    use super::*;
    use crate::domain::Scope;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const KNOWN: [&str; 6] = [
        "grant_type",
        "scope",
        "client_id",
        "client_secret",
        "token",
        "token_type_hint",
    ];

    /// A value the parser keeps: no control characters, no U+FFFD.
    fn value() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[^\\p{Cc}\u{FFFD}]{1,20}").unwrap()
    }

    /// Parameters the parser ignores (RFC 6749 §3.2), with any values.
    fn unknown_params() -> impl Strategy<Value = Vec<(String, String)>> {
        let name = "[a-z_]{1,12}".prop_filter("unknown", |name| !KNOWN.contains(&name.as_str()));
        prop::collection::vec((name, any::<String>()), 0..4)
    }

    fn encode(pairs: &[(String, String)]) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    fn is_parse_error(err: &OAuthError) -> bool {
        matches!(
            err,
            OAuthError::InvalidRequest(_) | OAuthError::UnsupportedGrantType
        )
    }

    /// Bytes rich in what form encoding and Basic headers care about.
    fn formish() -> impl Strategy<Value = Vec<u8>> {
        let alphabet = b"=&%+_:;aAzZ059 \x00\x7f\xc3\xa9\xff".to_vec();
        prop::collection::vec(select(alphabet), 0..200)
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            content_type in prop::option::of(any::<String>()),
            authorization in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
            body in prop::collection::vec(any::<u8>(), 0..512),
        ) {
            let content_type = content_type.as_deref();
            let authorization = authorization.as_deref();

            let token = TokenRequest::parse(content_type, authorization, &body);
            let introspection = IntrospectionRequest::parse(content_type, authorization, &body);

            prop_assert!(token.err().is_none_or(|err| is_parse_error(&err)));
            prop_assert!(introspection.err().is_none_or(|err| is_parse_error(&err)));
        }

        #[test]
        fn form_shaped_input_never_panics(
            body in formish(),
            basic in prop::option::of(formish()),
        ) {
            let body = [b"grant_type=client_credentials&".as_slice(), &body].concat();
            let authorization =
                basic.map(|raw| format!("Basic {}", STANDARD.encode(raw)).into_bytes());

            let token = TokenRequest::parse(FORM, authorization.as_deref(), &body);
            let introspection = IntrospectionRequest::parse(FORM, authorization.as_deref(), &body);

            prop_assert!(token.err().is_none_or(|err| is_parse_error(&err)));
            prop_assert!(introspection.err().is_none_or(|err| is_parse_error(&err)));
        }

        #[test]
        fn a_well_formed_post_request_reads_back_as_sent(
            scopes in subsequence(Scope::ALL.to_vec(), 0..=3).prop_shuffle(),
            credentials in prop::option::of((value(), value())),
            unknown in unknown_params(),
            seed in any::<u64>(),
        ) {
            let mut pairs = unknown;
            pairs.push(("grant_type".into(), "client_credentials".into()));
            let words: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
            pairs.push(("scope".into(), words.join(" ")));
            if let Some((id, secret)) = &credentials {
                pairs.push(("client_id".into(), id.clone()));
                pairs.push(("client_secret".into(), secret.clone()));
            }
            // Any order: rotate by the seed.
            let turn = usize::try_from(seed % pairs.len() as u64).unwrap();
            pairs.rotate_left(turn);

            let request = TokenRequest::parse(FORM, None, encode(&pairs).as_bytes()).unwrap();

            let expected_scope = scopes.iter().fold(ScopeSet::EMPTY, |set, s| set.with(*s));
            prop_assert_eq!(request.scope, (!scopes.is_empty()).then_some(expected_scope));
            prop_assert!(request.scope_error.is_none());
            prop_assert!(!request.client.basic_attempted);
            let expected = credentials.map(|(client_id, client_secret)| {
                (PresentedCredentials { client_id, client_secret }, AuthMethod::Post)
            });
            prop_assert_eq!(request.client.presented, expected);
        }

        #[test]
        fn well_formed_basic_credentials_read_back_as_sent(
            id in value(),
            secret in value(),
            scheme in select(vec!["Basic", "basic", "BASIC"]),
        ) {
            let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
            let joined = format!("{}:{}", encode(&id), encode(&secret));
            let header = format!("{scheme} {}", STANDARD.encode(joined));

            let request =
                TokenRequest::parse(FORM, Some(header.as_bytes()), b"grant_type=client_credentials")
                    .unwrap();

            prop_assert!(request.client.basic_attempted);
            let expected = PresentedCredentials { client_id: id, client_secret: secret };
            prop_assert_eq!(request.client.presented, Some((expected, AuthMethod::Basic)));
        }

        #[test]
        fn any_repeated_parameter_is_refused(
            name in select(KNOWN.to_vec()),
            spelling in any::<(bool, bool)>(),
            first in value(),
            second in value(),
            unknown in unknown_params(),
        ) {
            // Either occurrence may percent-encode its name's `_`.
            let spell = |encoded: bool| if encoded { name.replace('_', "%5F") } else { name.to_owned() };
            let mut body = encode(&unknown);
            for (encoded, value) in [(spelling.0, &first), (spelling.1, &second)] {
                let value: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
                body.push_str(&format!("&{}={value}", spell(encoded)));
            }

            let token = TokenRequest::parse(FORM, None, body.as_bytes());
            let introspection = IntrospectionRequest::parse(FORM, None, body.as_bytes());

            let repeated = |err: Option<OAuthError>| {
                matches!(err, Some(OAuthError::InvalidRequest(d)) if d.contains("repeated"))
            };
            prop_assert!(repeated(token.err()), "{}", body);
            prop_assert!(repeated(introspection.err()), "{}", body);
        }
    }
}

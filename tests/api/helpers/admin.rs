//! Builders for the admin API: users, sessions (password, TOTP), TOTP
//! codes, requests to `/admin/v1` and assertions on its problem details.

use keymint::crypto::totp::{TotpSecret, code_at, step_at};
use keymint::domain::Role;
use keymint::service::audit::Actor;
use keymint::service::users;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A user made for a test, with the password it signs in with.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub account_id: String,
}

/// The authenticator app of a test user: the enrolled secret and the last
/// step whose code was used, since the server accepts each step only once.
pub struct TestTotp {
    /// The base32 secret as `POST /admin/v1/me/totp` returned it.
    pub base32: String,
    secret: TotpSecret,
    last_step: u64,
}

impl TestTotp {
    /// The authenticator for a base32 secret from the enrolment answer.
    pub fn from_base32(base32: &str) -> Self {
        let bytes = decode_base32(base32).expect("the secret is RFC 4648 base32");
        Self {
            base32: base32.to_owned(),
            secret: TotpSecret::from_bytes(bytes).expect("the secret has 128 to 512 bits"),
            last_step: 0,
        }
    }

    /// The raw secret bytes, to look for them in storage.
    pub fn bytes(&self) -> &[u8] {
        self.secret.expose_bytes()
    }

    /// The six-digit code of `step`.
    pub fn code_at_step(&self, step: u64) -> String {
        format!("{:06}", code_at(&self.secret, step))
    }

    /// The code of the current step, as an app shows it now.
    pub fn current_code(&mut self) -> String {
        self.last_step = now_step();
        self.code_at_step(self.last_step)
    }

    /// A code never used before that the server still accepts: the step
    /// after the last used one, which is at most one step ahead of the
    /// clock (RFC 6238 §5.2 allows one step of skew).
    pub fn next_code(&mut self) -> String {
        let step = (self.last_step + 1).max(now_step());
        assert!(
            step <= now_step() + 1,
            "no fresh code is accepted until the clock reaches the next step"
        );
        self.last_step = step;
        self.code_at_step(step)
    }

    /// Six digits that match none of the steps the server accepts now.
    pub fn wrong_code(&self) -> String {
        let now = now_step();
        let valid: Vec<String> = (now.saturating_sub(2)..=now + 2)
            .map(|step| self.code_at_step(step))
            .collect();
        (0..)
            .map(|n: u32| format!("{:06}", (123_456 + n * 7_919) % 1_000_000))
            .find(|code| !valid.contains(code))
            .unwrap()
    }
}

fn now_step() -> u64 {
    step_at(chrono::Utc::now().timestamp())
}

/// RFC 4648 §6 base32, upper case, padding optional.
pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for symbol in text.trim_end_matches('=').bytes() {
        let value = match symbol {
            b'A'..=b'Z' => symbol - b'A',
            b'2'..=b'7' => symbol - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

impl TestApp {
    /// A new user of `account_id` with a random email and password.
    pub async fn user_in(&self, account_id: &str, role: Role) -> TestUser {
        let tag = keymint::crypto::random::token::<6>().to_lowercase();
        let email = format!("{}-{tag}@example.com", role.as_str());
        let password = format!("pw {}", keymint::crypto::random::token::<12>());
        let (account, address, clear) = (account_id.to_owned(), email.clone(), password.clone());
        let (view, _) = self
            .db
            .run(move |conn| {
                users::create(conn, &account, &address, role, Some(&clear), &Actor::Cli)
            })
            .await
            .unwrap();
        TestUser {
            id: view.id,
            email: view.email,
            password,
            account_id: account_id.to_owned(),
        }
    }

    /// The owner of a new regular account.
    pub async fn owner(&self) -> TestUser {
        let account = self.account(false).await;
        self.user_in(&account.id, Role::Owner).await
    }

    /// A member of a new regular account.
    pub async fn member(&self) -> TestUser {
        let account = self.account(false).await;
        self.user_in(&account.id, Role::Member).await
    }

    /// `POST /admin/v1/sessions` with `body`.
    pub async fn post_login(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/admin/v1/sessions"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Signs `user` in with email and password; the session token.
    pub async fn login(&self, user: &TestUser) -> String {
        let body = json!({"email": user.email, "password": user.password});
        session_token(self.post_login(&body).await).await
    }

    /// Signs `user` in with email, password and `otp`; the session token.
    pub async fn login_with_otp(&self, user: &TestUser, otp: &str) -> String {
        let body = json!({"email": user.email, "password": user.password, "otp": otp});
        session_token(self.post_login(&body).await).await
    }

    /// Starts TOTP enrolment from the session `token`, asserting 201; the
    /// authenticator for the new secret.
    pub async fn start_totp(&self, token: &str) -> TestTotp {
        let started = self.admin_post(token, "/me/totp", &json!({})).await;
        assert_eq!(started.status(), 201);
        let body: Value = started.json().await.unwrap();
        TestTotp::from_base32(body["secret"].as_str().unwrap())
    }

    /// `POST /admin/v1/me/totp/confirm` with `otp`.
    pub async fn confirm_totp(&self, token: &str, otp: &str) -> reqwest::Response {
        self.admin_post(token, "/me/totp/confirm", &json!({ "otp": otp }))
            .await
    }

    /// Enrols and confirms TOTP from the session `token`.
    pub async fn enable_totp(&self, token: &str) -> TestTotp {
        let mut totp = self.start_totp(token).await;
        let confirmed = self.confirm_totp(token, &totp.current_code()).await;
        assert_eq!(confirmed.status(), 204);
        totp
    }

    /// A new user of `account_id` signed in with password and TOTP, and
    /// that session's token.
    pub async fn user_with_mfa_session(&self, account_id: &str, role: Role) -> (TestUser, String) {
        let user = self.user_in(account_id, role).await;
        let password_session = self.login(&user).await;
        let mut totp = self.enable_totp(&password_session).await;
        let token = self.login_with_otp(&user, &totp.next_code()).await;
        (user, token)
    }

    /// The owner of a new regular account, signed in with MFA.
    pub async fn owner_with_mfa_session(&self) -> (TestUser, String) {
        let account = self.account(false).await;
        self.user_with_mfa_session(&account.id, Role::Owner).await
    }

    /// `GET /admin/v1{path}` with the session `token`.
    pub async fn admin_get(&self, token: &str, path: &str) -> reqwest::Response {
        let url = self.url(&format!("/admin/v1{path}"));
        self.http.get(url).bearer_auth(token).send().await.unwrap()
    }

    /// `POST /admin/v1{path}` with the session `token` and a JSON `body`.
    pub async fn admin_post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        let url = self.url(&format!("/admin/v1{path}"));
        self.http
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `DELETE /admin/v1{path}` with the session `token`.
    pub async fn admin_delete(&self, token: &str, path: &str) -> reqwest::Response {
        let url = self.url(&format!("/admin/v1{path}"));
        self.http
            .delete(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `GET /admin/v1/me`, asserting 200.
    pub async fn me(&self, token: &str) -> Value {
        let response = self.admin_get(token, "/me").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.unwrap()
    }

    /// Creates a client through the API, asserting 201; the answer.
    pub async fn create_client(&self, token: &str, name: &str, scopes: &[&str]) -> Value {
        let body = json!({"name": name, "scopes": scopes});
        let response = self.admin_post(token, "/clients", &body).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// Every audit event `token`'s account shows, newest first.
    pub async fn audit_events(&self, token: &str) -> Vec<Value> {
        let response = self.admin_get(token, "/audit-events?limit=200").await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        assert!(page["next_cursor"].is_null(), "fewer than 200 events");
        page["events"].as_array().unwrap().clone()
    }
}

/// The token of a 201 login answer, after checking its shape.
async fn session_token(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().expect("a token").to_owned();
    assert!(token.starts_with("kmsess_"), "{token}");
    token
}

/// Asserts an RFC 9457 problem answer of `/admin/v1` with `status` and
/// `code`, and the headers that go with it; returns the body.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    let headers = response.headers().clone();
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{text}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    let body: Value = serde_json::from_str(&text).expect("a JSON body");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    for member in ["type", "title", "detail"] {
        assert!(
            body[member].as_str().is_some_and(|text| !text.is_empty()),
            "{member} in {body}"
        );
    }
    if code == "session_required" {
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
    }
    if status == 429 {
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    body
}

/// The sorted member names of a JSON object.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Seconds from now to an RFC 3339 time (negative in the past).
pub fn seconds_from_now(rfc3339: &Value) -> i64 {
    let text = rfc3339.as_str().expect("an RFC 3339 string");
    let at = chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339");
    at.timestamp() - chrono::Utc::now().timestamp()
}

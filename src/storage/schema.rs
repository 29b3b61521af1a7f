//! Table definitions shared by the SQLite and PostgreSQL backends. Only
//! types both map the same way are used: text, boolean and timestamp.

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        partner -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        account_id -> Text,
        email -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        totp_secret -> Nullable<Text>,
        totp_pending -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        method -> Text,
        mfa -> Bool,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        source_ip -> Nullable<Text>,
    }
}

diesel::table! {
    sso_providers (account_id) {
        account_id -> Text,
        issuer -> Text,
        audience -> Text,
        jwks -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        client_id -> Text,
        account_id -> Text,
        name -> Text,
        secret_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        account_id -> Nullable<Text>,
        actor -> Text,
        action -> Text,
        target -> Nullable<Text>,
        source_ip -> Nullable<Text>,
        occurred_at -> Timestamp,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        status -> Text,
        public_jwk -> Text,
        private_key -> Nullable<Text>,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        retire_after -> Nullable<Timestamp>,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(clients -> accounts (account_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sso_providers -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    users,
    clients,
    audit_events,
    signing_keys,
    sessions,
    sso_providers,
);

//! `/admin/v1/clients`: the account's API keys. Owners only; creating one
//! also needs a session established with MFA or SSO.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};

use crate::domain::{ClientRecordId, CreateBlocked, Scope, create_blocked_reason};
use crate::http::AppState;
use crate::http::admin::{JsonBody, Owner, source_ip};
use crate::http::problem::{
    Body as ProblemDetails, JsonBodyFailures, Problem, ServerFailures, SessionRequired,
};
use crate::service::audit::Actor;
use crate::service::clients::{
    self, ClientView, CreateClientError, CreatedClient, NewClientRequest, RevokeClientError,
};
use crate::storage::{StorageError, clients as client_rows, users};

/// The account's clients.
#[derive(Serialize, utoipa::ToSchema)]
struct ClientList {
    /// Newest first; never a secret.
    clients: Vec<ClientView>,
}

/// Lists the account's clients, newest first; never a secret.
///
/// Owners only.
#[utoipa::path(
    tag = "admin: clients",
    summary = "List the account's API keys",
    security(("session" = [])),
    responses(
        (status = 200, description = "The clients, newest first.", body = ClientList),
        (status = 403, description = "`owner_role_required`: the user is a member.",
            body = ProblemDetails, content_type = "application/problem+json"),
        SessionRequired, ServerFailures,
    ),
)]
#[get("/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    Owner(context): Owner,
) -> Result<HttpResponse, Problem> {
    let account_id = context.account.id;

    let (rows, emails) = state
        .db
        .run(move |conn| {
            let rows = client_rows::list_for_account(conn, &account_id)?;
            let emails = users::emails_in_account(conn, &account_id)?;
            Ok::<_, StorageError>((rows, emails))
        })
        .await?;

    let clients = rows
        .into_iter()
        .map(|row| ClientView::with_creator(row, &emails))
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(ClientList { clients }))
}

/// What an owner asks for when creating a client.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewClient)]
pub struct CreateClientBody {
    /// Display name, 1 to 100 characters, not blank.
    #[schema(example = "CI deploy key")]
    name: String,
    /// At least one scope, none repeated; `account-management` only for
    /// partner accounts.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    scopes: Vec<String>,
}

/// Creates a client; the response is the only time its secret is shown.
///
/// Owners only, from a session established with MFA or SSO.
#[utoipa::path(
    tag = "admin: clients",
    summary = "Create an API key",
    description = "Owners only, from a session established with MFA (TOTP) or SSO. The \
        response is the only time the secret is ever shown.",
    security(("session" = [])),
    request_body = CreateClientBody,
    responses(
        (status = 201, description = "The new client, with its secret.", body = CreatedClient,
            headers(("Location" = String, description = "`/admin/v1/clients/{id}`"))),
        (status = 403, description = "`owner_role_required`: the user is a member. \
            `mfa_or_sso_required`: the session was established with a password alone. \
            `scope_not_allowed`: `account-management` for a regular account.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: empty, unknown or repeated scopes, \
            a blank name or one over 100 characters, or JSON of the wrong shape.",
            body = ProblemDetails, content_type = "application/problem+json"),
        JsonBodyFailures, SessionRequired, ServerFailures,
    ),
)]
#[post("/clients")]
pub async fn create_client(
    request: HttpRequest,
    state: web::Data<AppState>,
    Owner(context): Owner,
    body: JsonBody<CreateClientBody>,
) -> Result<HttpResponse, Problem> {
    if create_blocked_reason(context.role, context.method) == Some(CreateBlocked::MfaOrSsoRequired)
    {
        return Err(Problem::mfa_or_sso_required());
    }
    let CreateClientBody { name, scopes } = body.into_inner()?;
    let (account_id, actor, ip) = (
        context.account.id,
        Actor::User(context.user.id),
        source_ip(&request),
    );

    let created = state
        .db
        .run(move |conn| {
            let request = NewClientRequest {
                account_id: &account_id,
                name: &name,
                scopes: &scopes,
                actor: &actor,
                source_ip: Some(&ip),
            };
            clients::create(conn, &request)
        })
        .await
        .map_err(|err| match err {
            CreateClientError::InvalidName | CreateClientError::InvalidScopes(_) => {
                Problem::validation_failed(format!("{err}."))
            }
            CreateClientError::ScopeNotAllowed => Problem::scope_not_allowed(),
            CreateClientError::AccountNotFound(_) => Problem::not_found(),
            CreateClientError::Storage(err) => err.into(),
        })?;

    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/admin/v1/clients/{}", created.id),
        ))
        .json(created))
}

/// The record id in the path; an id that cannot be one is a plain 404,
/// answered without a query (PostgreSQL refuses text holding NUL with an
/// error, not a miss).
fn record_id(path: web::Path<String>) -> Result<ClientRecordId, Problem> {
    ClientRecordId::parse(&path.into_inner()).ok_or_else(Problem::not_found)
}

/// One client of the account; another account's is a plain 404.
///
/// Owners only.
#[utoipa::path(
    tag = "admin: clients",
    summary = "One API key",
    security(("session" = [])),
    params(("id" = String, Path, description = "The client's record `id` (not its `client_id`).")),
    responses(
        (status = 200, description = "The client; never its secret.", body = ClientView),
        (status = 403, description = "`owner_role_required`: the user is a member.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such client in the account (another \
            account's client too).", body = ProblemDetails, content_type = "application/problem+json"),
        SessionRequired, ServerFailures,
    ),
)]
#[get("/clients/{id}")]
pub async fn get_client(
    state: web::Data<AppState>,
    Owner(context): Owner,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let (account_id, id) = (context.account.id, record_id(path)?);

    let (row, emails) = state
        .db
        .run(move |conn| {
            let row = client_rows::find_in_account(conn, &account_id, id.as_str())?;
            let emails = users::emails_in_account(conn, &account_id)?;
            Ok::<_, StorageError>((row, emails))
        })
        .await?;
    let row = row.ok_or_else(Problem::not_found)?;

    Ok(HttpResponse::Ok().json(ClientView::with_creator(row, &emails)?))
}

/// Revokes a client: the token endpoint refuses it from the next request.
///
/// Owners only.
#[utoipa::path(
    tag = "admin: clients",
    summary = "Revoke an API key",
    description = "The token endpoint refuses the client from then on, and introspection \
        reports its tokens inactive. Revoking a revoked client succeeds.",
    security(("session" = [])),
    params(("id" = String, Path, description = "The client's record `id` (not its `client_id`).")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 403, description = "`owner_role_required`: the user is a member.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such client in the account (another \
            account's client too).", body = ProblemDetails, content_type = "application/problem+json"),
        SessionRequired, ServerFailures,
    ),
)]
#[delete("/clients/{id}")]
pub async fn revoke_client(
    request: HttpRequest,
    state: web::Data<AppState>,
    Owner(context): Owner,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let (account_id, id) = (context.account.id, record_id(path)?);
    let (actor, ip) = (Actor::User(context.user.id), source_ip(&request));

    let client_id = state
        .db
        .run(move |conn| {
            let row = client_rows::find_in_account(conn, &account_id, id.as_str())
                .map_err(StorageError::from)?
                .ok_or(RevokeClientError::NotFound)?;
            clients::revoke(conn, &row, &actor, Some(&ip)).map(|()| row.client_id)
        })
        .await
        .map_err(|err| match err {
            RevokeClientError::NotFound => Problem::not_found(),
            RevokeClientError::Storage(err) => err.into(),
        })?;
    // This instance refuses the client from its very next request; the
    // others within their revocation poll.
    state.clients.evict(&client_id);

    Ok(HttpResponse::NoContent().finish())
}

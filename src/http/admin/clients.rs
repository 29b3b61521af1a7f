//! `/admin/v1/clients`: the account's API keys. Owners only; creating one
//! also needs a session established with MFA or SSO.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::domain::{CreateBlocked, create_blocked_reason};
use crate::http::AppState;
use crate::http::admin::{Owner, source_ip};
use crate::http::problem::Problem;
use crate::service::audit::Actor;
use crate::service::clients::{
    self, ClientView, CreateClientError, NewClientRequest, RevokeClientError,
};
use crate::storage::{StorageError, clients as client_rows};

#[derive(Serialize)]
struct ClientList {
    clients: Vec<ClientView>,
}

/// Lists the account's clients, newest first; never a secret.
pub async fn list_clients(
    state: web::Data<AppState>,
    Owner(context): Owner,
) -> Result<HttpResponse, Problem> {
    let account_id = context.account.id;

    let rows = state
        .db
        .run(move |conn| {
            client_rows::list_for_account(conn, &account_id).map_err(StorageError::from)
        })
        .await?;

    let clients = rows
        .into_iter()
        .map(ClientView::from_row)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(ClientList { clients }))
}

/// What an owner asks for when creating a client.
#[derive(Deserialize)]
pub struct CreateClientBody {
    name: String,
    scopes: Vec<String>,
}

/// Creates a client; the response is the only time its secret is shown.
pub async fn create_client(
    request: HttpRequest,
    state: web::Data<AppState>,
    Owner(context): Owner,
    body: web::Json<CreateClientBody>,
) -> Result<HttpResponse, Problem> {
    if create_blocked_reason(context.role, context.method) == Some(CreateBlocked::MfaOrSsoRequired)
    {
        return Err(Problem::mfa_or_sso_required());
    }
    let CreateClientBody { name, scopes } = body.into_inner();
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

/// One client of the account; another account's is a plain 404.
pub async fn get_client(
    state: web::Data<AppState>,
    Owner(context): Owner,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let (account_id, id) = (context.account.id, path.into_inner());

    let row = state
        .db
        .run(move |conn| {
            client_rows::find_in_account(conn, &account_id, &id).map_err(StorageError::from)
        })
        .await?
        .ok_or_else(Problem::not_found)?;

    Ok(HttpResponse::Ok().json(ClientView::from_row(row)?))
}

/// Revokes a client: the token endpoint refuses it from the next request.
pub async fn revoke_client(
    request: HttpRequest,
    state: web::Data<AppState>,
    Owner(context): Owner,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let (account_id, id) = (context.account.id, path.into_inner());
    let (actor, ip) = (Actor::User(context.user.id), source_ip(&request));

    state
        .db
        .run(move |conn| {
            let row = client_rows::find_in_account(conn, &account_id, &id)
                .map_err(StorageError::from)?
                .ok_or(RevokeClientError::NotFound)?;
            clients::revoke(conn, &row, &actor, Some(&ip))
        })
        .await
        .map_err(|err| match err {
            RevokeClientError::NotFound => Problem::not_found(),
            RevokeClientError::Storage(err) => err.into(),
        })?;

    Ok(HttpResponse::NoContent().finish())
}

//! The OpenAPI documents of the client and admin APIs, derived from the
//! handlers' annotations ([`utoipa`]), served at `GET /openapi.json` on each
//! listener. A test checks that every route in [`crate::ROUTES`] and
//! [`crate::admin::ROUTES`] is in its document.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Corridor client API",
        description = "Quotes, transfers and the providers' callbacks."
    ),
    paths(
        crate::create_quote,
        crate::create_transfer,
        crate::list_transfers,
        crate::get_transfer,
        crate::health,
        crate::callbacks::transfer_route,
        crate::callbacks::connector_route,
        crate::client_openapi,
    )
)]
struct ClientDoc;

#[derive(OpenApi)]
#[openapi(
    info(title = "Corridor admin API", description = "Operators: transfers, held transfers, the audit log."),
    paths(
        crate::health,
        crate::admin::ready,
        crate::admin::transfers::list,
        crate::admin::transfers::retry,
        crate::admin::transfers::resolve,
        crate::admin::transfers::audit,
        crate::admin::metrics,
        crate::admin::versions::list,
        crate::admin::versions::install,
        crate::admin::versions::activate,
        crate::admin::versions::rollback,
        crate::admin::versions::migrate,
        crate::admin::versions::retire,
        crate::admin_openapi,
    ),
    components(schemas(
        crate::admin::transfers::RetryBody,
        crate::admin::transfers::ResolveBody,
        crate::admin::versions::InstallBody,
        crate::admin::versions::ActivateBody,
        crate::admin::versions::MigrateBody,
        crate::admin::versions::ReasonBody,
    )),
    modifiers(&Bearer)
)]
struct AdminDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The client API's document.
pub fn client() -> utoipa::openapi::OpenApi {
    ClientDoc::openapi()
}

/// The admin API's document.
pub fn admin() -> utoipa::openapi::OpenApi {
    AdminDoc::openapi()
}

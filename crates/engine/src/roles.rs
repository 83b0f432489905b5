//! Tenant roles (`provision-tenant --create-role`): a `NOLOGIN` role per tenant, named like its schema,
//! that its migrations run as, so that it owns everything they create and nothing of any other tenant.
//!
//! - The schema and its tracking table belong to the connecting user. The role gets `USAGE` and `CREATE`
//!   on its own schema and nothing on the tracking table: it can neither drop nor forge its migration
//!   history, and it has no privilege at all on any other tenant's schema or on the registry.
//! - The role, the membership that lets a non-superuser connecting user `SET ROLE` to it, the schema
//!   and the registry's record of the role are made in the provisioning transaction: all or nothing.
//!   On another shard than the registry, the role is recorded first (see [`create_schema`]).
//! - Roles are cluster-wide. A role of the tenant's name that the registry does not record for this
//!   tenant (another database's tenant, or one made by hand) is never adopted.

use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use crate::identity::quote_ident;
use crate::registry::Tenant;
use crate::runner::Failure;
use crate::settings::TenantRoles;
use crate::statements::{in_transaction, query, query_as};
use crate::{EngineError, error::Context};

/// What the catalog and the registry say about a tenant about to get its schema.
struct Found {
    /// The role the registry records for the tenant.
    recorded: Option<String>,
    role_exists: bool,
    schema_exists: bool,
    superuser: bool,
}

/// In the provisioning transaction: creates the tenant's schema and, when `roles` asks for one and the
/// registry records none yet, its role. Returns the role its migrations run as.
///
/// On another shard than the registry (`control`), the role is recorded in the registry *before* the
/// shard's transaction, which creates it on the shard: a role recorded there but missing on the
/// shard is then one whose transaction did not commit, and is created on the next attempt; a crash
/// after the shard's commit finds the role recorded and adopts it.
pub(crate) async fn create_schema(
    conn: &mut PgConnection,
    tenant: &Tenant,
    roles: &TenantRoles,
    control: &PgPool,
) -> Result<Option<String>, Failure> {
    let found = look_up(conn, tenant).await.map_err(|e| Failure::db(Some("looking up the tenant's role"), &e))?;
    let schema = tenant.schema.quoted();
    let mut statements = Vec::new();
    let role = match found.recorded.clone() {
        // Recorded before a shard transaction that did not commit.
        Some(role) if tenant.remote() && !found.role_exists => {
            statements.extend(new_role(&role, roles, found.superuser));
            role
        }
        // Made by an earlier step of this provisioning (before a no-transaction migration), or a resumed one.
        Some(role) => role,
        None if !roles.create => return plain_schema(conn, tenant).await,
        None => {
            refuse_unsafe(tenant, &found)?;
            let role = tenant.schema.as_str().to_owned();
            statements.extend(new_role(&role, roles, found.superuser));
            if tenant.remote() {
                record_role(control, tenant, &role).await?;
            }
            role
        }
    };
    let created = !statements.is_empty();
    statements.push(format!("CREATE SCHEMA IF NOT EXISTS {schema}"));
    statements.push(format!("GRANT USAGE, CREATE ON SCHEMA {schema} TO {}", quote_ident(&role)));
    run(conn, &statements.join(";\n"), "creating the tenant's role and schema").await?;
    if created && !tenant.remote() {
        query("UPDATE public.tenants SET role_name = $2 WHERE id = $1")
            .bind(tenant.id)
            .bind(&role)
            .execute(&mut *conn)
            .await
            .map_err(|e| Failure::db(Some("recording the tenant's role"), &e))?;
    }
    Ok(Some(role))
}

/// What the tenant's database says about its role and schema; the role the registry records is read
/// with them when the registry is there, else taken from the registry row the run read.
async fn look_up(conn: &mut PgConnection, tenant: &Tenant) -> Result<Found, sqlx::Error> {
    const CATALOG: &str = "EXISTS (SELECT FROM pg_roles WHERE rolname = $1), \
         EXISTS (SELECT FROM pg_namespace WHERE nspname = $1), (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)";
    let schema = tenant.schema.as_str();
    let (role_exists, schema_exists, superuser, recorded) = match tenant.remote() {
        true => {
            let (role_exists, schema_exists, superuser): (bool, bool, bool) =
                query_as(AssertSqlSafe(format!("SELECT {CATALOG}"))).bind(schema).fetch_one(conn).await?;
            (role_exists, schema_exists, superuser, tenant.role.clone())
        }
        false => {
            let sql = format!("SELECT {CATALOG}, (SELECT role_name FROM public.tenants WHERE id = $2)");
            query_as(AssertSqlSafe(sql)).bind(schema).bind(tenant.id).fetch_one(conn).await?
        }
    };
    Ok(Found { recorded, role_exists, schema_exists, superuser })
}

/// The statements that create the tenant's role.
fn new_role(role: &str, roles: &TenantRoles, superuser: bool) -> Vec<String> {
    let mut statements = vec![match &roles.group {
        Some(group) => format!("CREATE ROLE {} NOLOGIN IN ROLE {}", quote_ident(role), quote_ident(group)),
        None => format!("CREATE ROLE {} NOLOGIN", quote_ident(role)),
    }];
    // SET ROLE needs membership, which creating a role does not give (PostgreSQL 15 and older)
    // or gives without the SET option (16 and newer); a superuser needs none.
    if !superuser {
        statements.push(format!("GRANT {} TO CURRENT_USER", quote_ident(role)));
    }
    statements
}

/// Records the role of a tenant of another shard in the registry, before its shard's transaction.
async fn record_role(control: &PgPool, tenant: &Tenant, role: &str) -> Result<(), Failure> {
    in_transaction(control, async |conn| {
        query("UPDATE public.tenants SET role_name = $2 WHERE id = $1").bind(tenant.id).bind(role).execute(conn).await
    })
    .await
    .map(|_| ())
    .map_err(|e| Failure::db(Some("recording the tenant's role"), &e))
}

/// Creates the tenant's schema, owned by the connecting user; its migrations run as that user.
async fn plain_schema(conn: &mut PgConnection, tenant: &Tenant) -> Result<Option<String>, Failure> {
    let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", tenant.home().quoted());
    run(conn, &sql, "creating the schema").await?;
    Ok(None)
}

/// A new role is made only with a new schema, and only under a name nobody uses yet.
fn refuse_unsafe(tenant: &Tenant, found: &Found) -> Result<(), Failure> {
    let role = &tenant.schema;
    if found.schema_exists {
        return Err(Failure::fatal(format!(
            "schema {role} already exists from a provisioning without --create-role, and its objects belong to the \
             connecting user: a role is created only with a new schema (provision this tenant with --create-role=false)"
        )));
    }
    if found.role_exists {
        return Err(Failure::fatal(format!(
            "role {role} already exists but is not this tenant's (roles are cluster-wide: another database's tenant, \
             or made by hand); nothing was created and the role was left alone: drop it if it is unused, or give each \
             database on the cluster its own schema_prefix"
        )));
    }
    Ok(())
}

async fn run(conn: &mut PgConnection, sql: &str, context: &str) -> Result<(), Failure> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| Failure::db(Some(context), &e))
}

/// Makes `role` the current user until [`reset`] or, with `local`, the end of the transaction.
pub(crate) async fn assume(conn: &mut PgConnection, role: &str, local: bool) -> Result<(), Failure> {
    set(conn, role, local).await.map_err(|e| {
        let context = format!(
            "switching to the tenant's role {role} (the connecting user must be a member of it: GRANT {} TO <user>)",
            quote_ident(role)
        );
        Failure::db(Some(&context), &e)
    })
}

/// Back to the session user.
pub(crate) async fn reset(conn: &mut PgConnection, local: bool) -> Result<(), Failure> {
    set(conn, "none", local).await.map_err(|e| Failure::db(Some("leaving the tenant's role"), &e))
}

async fn set(conn: &mut PgConnection, role: &str, local: bool) -> Result<(), sqlx::Error> {
    query("SELECT set_config('role', $1, $2)").bind(role).bind(local).execute(conn).await.map(|_| ())
}

/// With `roles.create`: refuses, before anything changes, a connecting user that may not create roles
/// and a `role_group` that does not exist.
pub(crate) async fn check(conn: &mut PgConnection, roles: &TenantRoles) -> Result<(), EngineError> {
    if !roles.create {
        return Ok(());
    }
    let group = roles.group.as_deref().unwrap_or_default();
    // In a transaction of its own: a statement with parameters never goes out alone (statements.rs).
    let (user, may_create, group_exists): (String, bool, bool) = in_transaction(&mut *conn, async |conn| {
        query_as(
            "SELECT current_user::text, (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user),
                    EXISTS (SELECT FROM pg_roles WHERE rolname = $1)",
        )
        .bind(group)
        .fetch_one(conn)
        .await
    })
    .await
    .context("looking up the connecting user's privileges")?;
    if !may_create {
        return Err(EngineError::TenantRoles(format!(
            "the connecting user {user} has neither CREATEROLE nor SUPERUSER (ALTER ROLE {} CREATEROLE, or provision \
             without --create-role)",
            quote_ident(&user)
        )));
    }
    match &roles.group {
        Some(group) if !group_exists => Err(EngineError::TenantRoles(format!(
            "role_group `{group}` does not exist (create it with CREATE ROLE {} NOLOGIN, and grant it what tenant \
             migrations need on shared tables)",
            quote_ident(group)
        ))),
        _ => Ok(()),
    }
}

/// In `drop-tenant`'s transaction, after the schema: drops the tenant's role. A role that still holds
/// something outside its schema is not dropped, and neither is anything else.
pub(crate) async fn drop_role(conn: &mut PgConnection, role: &str) -> Result<(), EngineError> {
    let result = sqlx::raw_sql(AssertSqlSafe(format!("DROP ROLE IF EXISTS {}", quote_ident(role)))).execute(conn).await;
    let Err(error) = result else {
        return Ok(());
    };
    let held = error
        .as_database_error()
        .filter(|d| d.code().as_deref() == Some("2BP01"))
        .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        .map(|d| d.detail().unwrap_or_default().replace('\n', "; "));
    let context = match held {
        Some(held) => format!(
            "dropping role {role}, nothing was dropped: it still holds {held} (revoke that, or REASSIGN OWNED BY / \
             DROP OWNED BY {} in the database concerned, then run drop-tenant again)",
            quote_ident(role)
        ),
        None => format!("dropping role {role}"),
    };
    Err(EngineError::Database { context, error })
}

/// `move-tenant`: creates the tenant's role on the target server when it is not there (roles are per
/// server), as provisioning does, without a group: memberships are not copied.
pub(crate) async fn ensure_role(conn: &mut PgConnection, role: &str) -> Result<(), EngineError> {
    let (exists, superuser): (bool, bool) = in_transaction(&mut *conn, async |conn| {
        query_as(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1), \
                    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
        )
        .bind(role)
        .fetch_one(conn)
        .await
    })
    .await
    .context("looking up the tenant's role on the target")?;
    if exists {
        return Ok(());
    }
    let statements = new_role(role, &TenantRoles { create: true, group: None }, superuser).join(";\n");
    sqlx::raw_sql(AssertSqlSafe(statements))
        .execute(conn)
        .await
        .context(format!("creating role {role} on the target"))?;
    Ok(())
}

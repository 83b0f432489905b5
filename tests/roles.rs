//! Tenant roles (`provision-tenant --create-role`): a NOLOGIN role per tenant owns what its migrations
//! create, provisioning, fan-outs and rollbacks alike; it reaches no other tenant, nor its own migration
//! history; `drop-tenant` drops it; and all of it works for a connecting user that is no superuser.
//! Roles are cluster-wide: every role here is named for its test and dropped by a guard at the end.

use crate::support::{Roles, TestDb, report::summary};

/// Two org ids unique to the test (their hashes name cluster-wide roles).
fn two_orgs(db: &TestDb) -> (String, String) {
    (db.unique("org-a"), db.unique("org-b"))
}

/// A fresh org provisioned with `--create-role` on the example migrations: the org, its role, and
/// the roles that go when the test ends (the tenant's and the group's).
fn provisioned_with_role(db: &TestDb) -> (String, String, Roles<'_>) {
    let (org, _) = two_orgs(db);
    let role = db.role_for(&org);
    let mut roles = Roles::new(db, &[&role]);
    let group = db.tenant_role_group(&mut roles);
    db.migrate_master();
    db.tenantctl(&["provision-tenant", "--create-role", "--role-group", &group, &org]).succeeds();
    (org, role, roles)
}

/// `select count(*) from <schema of org>.<table>`.
fn count_in(db: &TestDb, org: &str, table: &str) -> String {
    format!("select count(*) from {}.{table}", db.schema_for(org))
}

/// A tenant migration that creates a table, a view and (in its down file, before dropping them) an
/// archive table; and a no-transaction migration that builds an index and a sequence.
fn write_notes_migrations(db: &TestDb) {
    db.write(
        "tenant_migrations/0005_notes.up.sql",
        "CREATE TABLE notes (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
         author_id bigint REFERENCES org_users (id),\n    body text NOT NULL\n);\n\n\
         CREATE VIEW recent_notes AS SELECT id, body FROM notes ORDER BY id DESC LIMIT 50;\n",
    );
    db.write(
        "tenant_migrations/0005_notes.down.sql",
        "CREATE TABLE archived_notes AS SELECT * FROM notes;\nDROP VIEW recent_notes;\nDROP TABLE notes;\n",
    );
    db.write(
        "tenant_migrations/0006_notes_body_idx.up.sql",
        "-- tenantctl:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS notes_body_idx;\n\
         CREATE INDEX CONCURRENTLY notes_body_idx ON notes (body);\nCREATE SEQUENCE IF NOT EXISTS note_numbers;\n",
    );
    db.write(
        "tenant_migrations/0006_notes_body_idx.down.sql",
        "-- tenantctl:no-transaction\nDROP SEQUENCE IF EXISTS note_numbers;\n\
         DROP INDEX CONCURRENTLY IF EXISTS notes_body_idx;\n",
    );
}

/// Asserts that `role` owns every relation of `org`'s schema but the tracking table, and that those
/// include `names`.
#[track_caller]
fn assert_owned_by(db: &TestDb, org: &str, role: &str, names: &[&str]) {
    let owners = db.owners_in(&db.schema_for(org));
    assert!(owners.iter().all(|(_, owner)| owner == role), "{org}'s objects belong to {role}: {owners:?}");
    for name in names {
        assert!(owners.iter().any(|(n, _)| n == name), "{org} has {name}: {owners:?}");
    }
}

#[test]
fn each_tenant_role_owns_its_objects_and_reaches_no_other_tenant() {
    let db = TestDb::with_examples();
    let (a, b) = two_orgs(&db);
    let (role_a, role_b) = (db.role_for(&a), db.role_for(&b));
    let mut roles = Roles::new(&db, &[&role_a, &role_b]);
    let group = db.tenant_role_group(&mut roles);
    db.migrate_master();

    let out = db.tenantctl(&["provision-tenant", "--create-role", "--role-group", &group, &a, &b, "--format", "json"]);
    out.succeeds();
    assert_eq!(summary(&out.json()), [2, 0, 0]);

    let me: String = db.scalar("select current_user::text");
    for (org, role) in [(&a, &role_a), (&b, &role_b)] {
        let schema = db.schema_for(org);
        assert_eq!(db.tenant(org)["role_name"], role.as_str());
        assert_owned_by(&db, org, role, &["org_users", "org_users_pkey", "org_users_id_seq", "chat_messages"]);
        let (login, in_group): (bool, bool) = (
            db.scalar_with("select rolcanlogin from pg_roles where rolname = $1", role),
            db.scalar(&format!("select pg_has_role('{role}', '{group}', 'MEMBER')")),
        );
        assert!(!login && in_group, "{role}: NOLOGIN, member of {group}");
        let schema_owner: String =
            db.scalar_with("select nspowner::regrole::text from pg_namespace where nspname = $1", &schema);
        assert_eq!(schema_owner, me, "the schema belongs to the connecting user");
        let history_owner: String = db.scalar(&format!(
            "select relowner::regrole::text from pg_class where oid = '{schema}.tenantctl_migrations'::regclass"
        ));
        assert_eq!(history_owner, me, "the tracking table belongs to the connecting user");
    }

    assert_eq!(db.scalar_as(&role_a, &count_in(&db, &a, "org_users")), Ok(0));
    assert_eq!(db.scalar_as(&role_b, &count_in(&db, &b, "org_settings")), Ok(3));
    for (role, other) in [(&role_a, &b), (&role_b, &a)] {
        let denied = db.scalar_as(role, &count_in(&db, other, "org_users")).unwrap_err();
        assert!(denied.contains("permission denied for schema"), "{role} reading {other}: {denied}");
    }
    let forged = format!(
        "with i as (insert into {}.tenantctl_migrations (version, name, checksum, batch, duration_ms) \
         values (99, 'forged', 'x', 1, 0) returning 1) select count(*) from i",
        db.schema_for(&a)
    );
    let denied = db.scalar_as(&role_a, &forged).unwrap_err();
    assert!(denied.contains("permission denied for table tenantctl_migrations"), "{denied}");
    let denied = db.scalar_as(&role_a, "select count(*) from public.tenants").unwrap_err();
    assert!(denied.contains("permission denied for table tenants"), "{denied}");

    let status = db.tenantctl(&["status", "--tenant", &a, "--format", "json"]);
    assert_eq!(status.succeeds().json()["role"], role_a.as_str());
    db.tenantctl(&["status", "--tenant", &a]).succeeds().mentions(&format!("role: {role_a}"));
    db.tenantctl(&["verify"]).succeeds();
}

#[test]
fn later_migrations_and_rollbacks_run_as_the_tenant_role() {
    let db = TestDb::with_examples();
    let (org, role, _roles) = provisioned_with_role(&db);

    write_notes_migrations(&db);
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(db.applied(&org), [1, 2, 3, 4, 5, 6]);
    let new = ["notes", "notes_pkey", "notes_id_seq", "recent_notes", "notes_body_idx", "note_numbers"];
    assert_owned_by(&db, &org, &role, &new);

    db.tenantctl(&["rollback-tenants", "--to", "4"]).succeeds();
    assert_eq!(db.applied(&org), [1, 2, 3, 4]);
    assert!(!db.exists(&format!("{}.notes", db.schema_for(&org))));
    assert_owned_by(&db, &org, &role, &["archived_notes"]);

    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_owned_by(&db, &org, &role, &new);
    assert_eq!(db.status_of(&org), "ACTIVE");
}

#[test]
fn a_resumed_provisioning_keeps_the_role_it_created() {
    let db = TestDb::with_examples();
    let (org, _) = two_orgs(&db);
    let role = db.role_for(&org);
    let mut roles = Roles::new(&db, &[&role]);
    let group = db.tenant_role_group(&mut roles);
    db.migrate_master();
    let index = "tenant_migrations/0005_org_users_name_idx.up.sql";
    db.write(index, "-- tenantctl:no-transaction\nCREATE INDEX CONCURRENTLY org_users_name_idx ON org_users (nme);\n");

    db.tenantctl(&["provision-tenant", "--create-role", "--role-group", &group, &org]).exits(1);
    assert_eq!(db.status_of(&org), "FAILED");
    assert_eq!(db.applied(&org), [1, 2, 3, 4], "the first transaction, with the role, committed");
    assert_eq!(db.tenant(&org)["role_name"], role.as_str());

    db.write(
        index,
        "-- tenantctl:no-transaction\nCREATE INDEX CONCURRENTLY org_users_name_idx ON org_users (display_name);\n",
    );
    db.tenantctl(&["provision-tenant", &org]).succeeds();
    assert_eq!(db.status_of(&org), "ACTIVE");
    assert_eq!(db.tenant(&org)["role_name"], role.as_str(), "the registry's role wins over the missing flag");
    assert_owned_by(&db, &org, &role, &["org_users_name_idx"]);
}

#[test]
fn create_role_comes_from_the_config_file_unless_a_flag_or_the_environment_says_otherwise() {
    let db = TestDb::with_examples();
    let (by_file, by_env) = two_orgs(&db);
    let by_flag = db.unique("org-c");
    let mut roles = Roles::new(&db, &[db.role_for(&by_file), db.role_for(&by_env), db.role_for(&by_flag)]);
    let group = db.tenant_role_group(&mut roles);
    db.write("tenantctl.toml", format!("create_role = true\nrole_group = \"{group}\"\n"));
    db.migrate_master();

    db.provision(&[&by_file]);
    db.command(&["provision-tenant", &by_env]).env("TENANTCTL_CREATE_ROLE", "false").run().succeeds();
    db.tenantctl(&["provision-tenant", "--create-role=false", &by_flag]).succeeds();

    assert_eq!(db.tenant(&by_file)["role_name"], db.role_for(&by_file).as_str());
    assert_owned_by(&db, &by_file, &db.role_for(&by_file), &["org_users"]);
    let me: String = db.scalar("select current_user::text");
    for org in [&by_env, &by_flag] {
        assert!(db.tenant(org)["role_name"].is_null(), "{org} has no role");
        assert_owned_by(&db, org, &me, &["org_users"]);
        let role_exists: bool =
            db.scalar_with("select exists (select from pg_roles where rolname = $1)", &db.role_for(org));
        assert!(!role_exists, "no role for {org}");
    }
}

#[test]
fn bad_role_settings_are_refused_before_anything_changes() {
    let db = TestDb::with_examples();
    let (org, _) = two_orgs(&db);
    let _roles = Roles::new(&db, &[db.role_for(&org)]);
    db.migrate_master();
    let before = db.snapshot();

    db.write("tenantctl.toml", "create_role = \"yes\"\n");
    let out = db.tenantctl(&["provision-tenant", &org]);
    assert!(out.exits(2).one_error_line().contains("create_role"), "{}", out.stderr);
    db.remove("tenantctl.toml");

    let out = db.command(&["provision-tenant", &org]).env("TENANTCTL_CREATE_ROLE", "maybe").run();
    assert!(out.exits(2).one_error_line().contains("--create-role"), "{}", out.stderr);
    let out = db.tenantctl(&["provision-tenant", "--create-role=sometimes", &org]);
    assert!(out.exits(2).one_error_line().contains("expected true, false, 1 or 0"), "{}", out.stderr);
    let missing = db.unique("missing");
    let out = db.tenantctl(&["provision-tenant", "--create-role", "--role-group", &missing, &org]);
    assert!(out.exits(2).one_error_line().contains(&format!("role_group `{missing}` does not exist")));
    let out = db.tenantctl(&["provision-tenant", "--create-role", "--role-group", "", &org]);
    assert!(out.exits(2).one_error_line().contains("must name a role"), "{}", out.stderr);

    assert_eq!(db.snapshot(), before, "nothing changed");
    let role_exists: bool =
        db.scalar_with("select exists (select from pg_roles where rolname = $1)", &db.role_for(&org));
    assert!(!role_exists);
}

#[test]
fn a_role_of_the_same_name_that_is_not_the_tenants_is_left_alone() {
    let db = TestDb::with_examples();
    let (org, _) = two_orgs(&db);
    let role = db.role_for(&org);
    let _roles = Roles::new(&db, &[&role]);
    db.execute(&format!("CREATE ROLE \"{role}\" NOLOGIN"));
    db.migrate_master();

    let out = db.tenantctl(&["provision-tenant", "--create-role", &org]);
    out.exits(1).mentions(&format!("role {role} already exists but is not this tenant's"));
    assert_eq!(db.status_of(&org), "FAILED");
    assert!(db.tenant(&org)["role_name"].is_null());
    assert!(db.schemas_named(&db.schema_for(&org)).is_empty(), "no schema was created");
    let members: i64 = db.scalar_with(
        "select count(*) from pg_auth_members where roleid = (select oid from pg_roles where rolname = $1)",
        &role,
    );
    assert_eq!(members, 0, "the role was left alone");
}

#[test]
fn drop_tenant_drops_the_role_with_the_schema_or_neither() {
    let db = TestDb::with_examples();
    let (org, role, _roles) = provisioned_with_role(&db);
    let schema = db.schema_for(&org);
    db.tenantctl(&["archive-tenant", &org]).succeeds();
    let role_exists = || -> bool { db.scalar_with("select exists (select from pg_roles where rolname = $1)", &role) };

    db.execute(&format!("GRANT SELECT ON public.categories TO \"{role}\""));
    let out = db.tenantctl(&["drop-tenant", &org, "--confirm", &schema]);
    out.exits(1).mentions("nothing was dropped").mentions("privileges for table categories");
    assert!(role_exists() && db.schemas_named(&schema) == [schema.clone()], "neither was dropped");
    assert_eq!(db.tenant(&org)["role_name"], role.as_str());

    db.execute(&format!("REVOKE SELECT ON public.categories FROM \"{role}\""));
    db.tenantctl(&["drop-tenant", &org, "--confirm", &schema]).succeeds().mentions("schema and role dropped");
    assert!(!role_exists() && db.schemas_named(&schema).is_empty());
    let tenant = db.tenant(&org);
    assert!(tenant["role_name"].is_null());
    assert!(tenant["note"].as_str().unwrap().contains(&format!("schema {schema} and role {role} dropped")), "{tenant}");
}

#[test]
fn a_user_that_is_not_a_member_of_the_tenant_role_is_told_to_grant_it() {
    let db = TestDb::with_examples();
    let (org, role, mut roles) = provisioned_with_role(&db);
    // A deployer that owns, through the provisioning superuser, everything but the tenant role.
    let deployer = db.unique("deployer");
    roles.create(&deployer, "LOGIN PASSWORD 'deployer-pw'");
    let me: String = db.scalar("select current_user::text");
    db.execute(&format!("GRANT \"{me}\" TO \"{deployer}\""));
    let url = db.url_as(&deployer, "deployer-pw");
    write_notes_migrations(&db);

    let out = db.command(&["migrate-tenants"]).env("DATABASE_URL", &url).run();
    out.exits(1).mentions(&format!("the connecting user must be a member of it: GRANT \"{role}\" TO <user>"));
    assert_eq!(db.status_of(&org), "FAILED");
    assert_eq!(db.applied(&org), [1, 2, 3, 4], "nothing was applied");

    db.execute(&format!("GRANT \"{role}\" TO \"{deployer}\""));
    db.command(&["migrate-tenants", "--include-failed"]).env("DATABASE_URL", &url).run().succeeds();
    assert_owned_by(&db, &org, &role, &["notes", "note_numbers"]);
}

#[test]
fn a_connecting_user_without_superuser_runs_every_command() {
    let db = TestDb::with_examples();
    let (a, b) = two_orgs(&db);
    let (role_a, role_b) = (db.role_for(&a), db.role_for(&b));
    let mut roles = Roles::new(&db, &[&role_a, &role_b]);
    // What a managed PostgreSQL gives: CREATEROLE and CREATE on the database, no superuser.
    let migrator = db.unique("migrator");
    roles.create(&migrator, "LOGIN PASSWORD 'migrator-pw' CREATEROLE");
    db.execute(&format!(
        "GRANT CREATE ON DATABASE \"{}\" TO \"{migrator}\"; GRANT CREATE ON SCHEMA public TO \"{migrator}\"",
        db.name()
    ));
    let group = db.tenant_role_group(&mut roles);
    db.execute(&format!("GRANT \"{group}\" TO \"{migrator}\" WITH ADMIN OPTION"));
    db.write("tenantctl.toml", format!("extensions = [\"pgcrypto\"]\ncreate_role = true\nrole_group = \"{group}\"\n"));
    let url = db.url_as(&migrator, "migrator-pw");
    let run = |args: &[&str]| db.command(args).env("DATABASE_URL", &url).run();

    run(&["migrate-master"]).succeeds();
    assert!(db.exists("public.tenants") && db.exists("public.categories"));
    let pgcrypto: bool = db.scalar("select exists (select from pg_extension where extname = 'pgcrypto')");
    assert!(pgcrypto, "a trusted extension needs only CREATE on the database");
    db.execute(&format!("ALTER ROLE \"{migrator}\" NOCREATEROLE"));
    let refused = run(&["provision-tenant", &a, &b]);
    assert!(refused.exits(2).one_error_line().contains("neither CREATEROLE nor SUPERUSER"), "{}", refused.stderr);
    assert!(db.registry_order().is_empty(), "nothing was registered");
    db.execute(&format!("ALTER ROLE \"{migrator}\" CREATEROLE"));
    run(&["provision-tenant", &a, &b]).succeeds();
    for (org, role) in [(&a, &role_a), (&b, &role_b)] {
        assert_owned_by(&db, org, role, &["org_users", "chat_messages"]);
        let member: bool = db.scalar(&format!("select pg_has_role('{migrator}', '{role}', 'MEMBER')"));
        assert!(member, "{migrator} was made a member of {role}, so it can SET ROLE");
    }

    write_notes_migrations(&db);
    run(&["migrate-tenants"]).succeeds();
    assert_owned_by(&db, &a, &role_a, &["notes", "notes_body_idx", "note_numbers"]);
    run(&["rollback-tenants", "--steps", "2"]).succeeds();
    assert_eq!(db.applied(&a), [1, 2, 3, 4]);
    let read_only: [&[&str]; 3] = [&["status"], &["status", "--tenant", &a], &["verify"]];
    for args in read_only {
        run(args).succeeds();
    }
    run(&["archive-tenant", &b]).succeeds();
    run(&["drop-tenant", &b, "--confirm", &db.schema_for(&b)]).succeeds();
    let gone: bool = db.scalar_with("select not exists (select from pg_roles where rolname = $1)", &role_b);
    assert!(gone, "the migrator dropped {role_b}");

    // `status` needs nothing but SELECT on tenantctl's tables in public.
    let reader = db.unique("reader");
    roles.create(&reader, "LOGIN PASSWORD 'reader-pw'");
    db.execute(&format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{reader}\""));
    db.command(&["status"]).env("DATABASE_URL", &db.url_as(&reader, "reader-pw")).run().succeeds();
}

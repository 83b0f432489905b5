//! The repository's example migrations (`master_migrations/`, `tenant_migrations/`), which
//! `make demo` runs: they apply and revert cleanly through the binary.

use crate::support::{TestDb, org_ids};

#[test]
fn the_example_migrations_apply_and_revert_cleanly() {
    let db = TestDb::with_examples();
    let mut up_files = 0;
    for dir in ["master_migrations", "tenant_migrations"] {
        let files = db.files(dir);
        up_files = files.iter().filter(|f| f.ends_with(".up.sql")).count();
        assert_eq!(up_files * 2, files.len(), "every example in {dir} has a down file: {files:?}");
    }
    let orgs = org_ids(3);
    db.migrate_master();
    db.provision(&orgs);
    for org in &orgs {
        assert_eq!(db.applied(org).len(), up_files, "{org} has every tenant migration");
    }
    let schema = db.schema_for(&orgs[0]);
    db.execute(&format!(
        "insert into {schema}.org_users (email, display_name) values ('ada@example.com', 'Ada');
         insert into {schema}.chat_messages (author_id, category_id, body)
         select u.id, c.id, 'hello' from {schema}.org_users u, public.categories c where c.slug = 'general'"
    ));

    db.tenantctl(&["rollback-tenants", "--to", "0"]).succeeds();
    db.tenantctl(&["rollback-master", "--to", "0"]).succeeds();
    for org in &orgs {
        assert_eq!(db.applied(org), Vec::<i64>::new());
    }
    assert!(!db.exists("public.categories") && !db.exists("public.focus_areas"));
}

//! The rules of LINT_RULES.md, one per file, in catalog order.

use crate::catalog::RuleInfo;

mod add_check_without_not_valid;
mod add_column_generated_or_serial;
mod add_column_required;
mod add_column_volatile_default;
mod add_exclusion_constraint;
mod add_foreign_key_without_not_valid;
mod add_primary_key;
mod add_unique_constraint;
mod alter_column_type;
mod backfill_with_ddl;
mod cluster_or_vacuum_full;
mod create_index_non_concurrent;
mod cross_tenant_reference;
mod delete_without_where;
mod detach_partition_non_concurrent;
mod drop_column;
mod drop_index_non_concurrent;
mod drop_schema;
mod drop_table;
mod enum_value_used_before_commit;
mod grant_to_public;
pub(crate) mod invalid_lint_directive;
mod no_transaction_unneeded;
mod non_transactional_statement;
mod opaque_do_block;
mod reindex_non_concurrent;
mod rename_column;
mod rename_table;
mod session_set;
mod set_not_null;
mod set_search_path;
pub(crate) mod syntax_error;
mod table_storage_rewrite;
mod tenant_create_extension;
mod tenant_escapes_schema;
mod tenant_global_object;
mod transaction_control;
mod truncate;
mod update_without_where;
mod validate_in_same_transaction;

/// Every rule, in the order of the catalog.
pub(crate) static ALL: [RuleInfo; 40] = [
    create_index_non_concurrent::RULE,
    drop_index_non_concurrent::RULE,
    reindex_non_concurrent::RULE,
    add_column_volatile_default::RULE,
    add_column_generated_or_serial::RULE,
    add_column_required::RULE,
    set_not_null::RULE,
    add_check_without_not_valid::RULE,
    add_foreign_key_without_not_valid::RULE,
    validate_in_same_transaction::RULE,
    add_unique_constraint::RULE,
    add_primary_key::RULE,
    add_exclusion_constraint::RULE,
    alter_column_type::RULE,
    table_storage_rewrite::RULE,
    cluster_or_vacuum_full::RULE,
    detach_partition_non_concurrent::RULE,
    drop_table::RULE,
    drop_column::RULE,
    rename_column::RULE,
    rename_table::RULE,
    truncate::RULE,
    delete_without_where::RULE,
    update_without_where::RULE,
    backfill_with_ddl::RULE,
    non_transactional_statement::RULE,
    transaction_control::RULE,
    enum_value_used_before_commit::RULE,
    no_transaction_unneeded::RULE,
    opaque_do_block::RULE,
    tenant_escapes_schema::RULE,
    cross_tenant_reference::RULE,
    set_search_path::RULE,
    session_set::RULE,
    tenant_create_extension::RULE,
    tenant_global_object::RULE,
    grant_to_public::RULE,
    drop_schema::RULE,
    syntax_error::RULE,
    invalid_lint_directive::RULE,
];

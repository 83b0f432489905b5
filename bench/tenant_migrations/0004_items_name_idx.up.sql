-- tenantctl:allow create-index-non-concurrent reason="benchmark fixture: items is empty in every tenant"
CREATE INDEX items_name_idx ON items (name);

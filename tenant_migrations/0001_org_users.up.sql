-- The people of one organisation. Runs in the tenant's schema (search_path = tenant, public).
CREATE TABLE org_users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text NOT NULL,
    display_name   text NOT NULL,
    role           text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz
);

CREATE UNIQUE INDEX org_users_email_key ON org_users (lower(email));

-- Per-organisation settings, and the shared focus areas the organisation works on.
CREATE TABLE org_settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_by bigint REFERENCES org_users (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO org_settings (key, value) VALUES
    ('timezone', '"UTC"'),
    ('locale', '"en"'),
    ('retention_days', '365');

CREATE TABLE org_focus_areas (
    focus_area_id integer PRIMARY KEY REFERENCES public.focus_areas (id),
    added_by      bigint REFERENCES org_users (id) ON DELETE SET NULL,
    added_at      timestamptz NOT NULL DEFAULT now()
);

-- Shared reference data: the categories every tenant files its conversations under.
CREATE TABLE public.categories (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text NOT NULL UNIQUE,
    name       text NOT NULL,
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO public.categories (slug, name, position) VALUES
    ('general',   'General',          10),
    ('support',   'Customer support', 20),
    ('sales',     'Sales',            30),
    ('product',   'Product feedback', 40),
    ('incidents', 'Incidents',        50);

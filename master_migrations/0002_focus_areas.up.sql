-- Shared reference data: focus areas within a category, which tenants pick from.
CREATE TABLE public.focus_areas (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id integer NOT NULL REFERENCES public.categories (id),
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text
);

CREATE INDEX focus_areas_category_id_idx ON public.focus_areas (category_id);

INSERT INTO public.focus_areas (category_id, slug, name, description)
SELECT c.id, v.slug, v.name, v.description
FROM (VALUES
    ('support',   'onboarding',    'Onboarding',     'Getting new users productive'),
    ('support',   'billing',       'Billing',        'Invoices, payments and refunds'),
    ('sales',     'renewals',      'Renewals',       'Contracts up for renewal'),
    ('product',   'feature-ideas', 'Feature ideas',  'Requests from customers'),
    ('incidents', 'outages',       'Outages',        'Service disruptions and follow-ups')
) AS v (category_slug, slug, name, description)
JOIN public.categories c ON c.slug = v.category_slug;

-- tenantctl:allow drop-table reason="reverts 0001_categories, which created it"
DROP TABLE public.categories;

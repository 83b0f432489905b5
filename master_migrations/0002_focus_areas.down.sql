-- tenantctl:allow drop-table reason="reverts 0002_focus_areas, which created it"
DROP TABLE public.focus_areas;

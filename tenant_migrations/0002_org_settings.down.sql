-- tenantctl:allow drop-table reason="reverts 0002_org_settings, which created it"
DROP TABLE org_focus_areas;
-- tenantctl:allow drop-table reason="reverts 0002_org_settings, which created it"
DROP TABLE org_settings;

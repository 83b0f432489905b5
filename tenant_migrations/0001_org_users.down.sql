-- tenantctl:allow drop-table reason="reverts 0001_org_users, which created it"
DROP TABLE org_users;

ALTER TABLE items ADD COLUMN price numeric(12,2);

-- Every sale updates the stock of the products it sells. A row updated where it lies (a "HOT"
-- update) leaves the eight product indexes alone; that needs free room on the row's page, and
-- pages filled to the brim (the default, and what a bulk import writes) leave none, so every
-- such update wrote a new entry into each index. 15 % of each page stays free for updates.
-- Applies to pages written from now on; `VACUUM FULL products` repacks an existing table.
ALTER TABLE products SET (fillfactor = 85);

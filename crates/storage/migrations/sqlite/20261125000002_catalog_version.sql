-- A version per store's catalog, for product search (see the PostgreSQL migration of the same
-- name): the server keeps what a search filters on in memory and checks this version when it
-- reads the products a search picked. Every change to what a search matches or how it sorts
-- bumps it; stock changes do not.
CREATE TABLE catalog_versions (
    store_id TEXT PRIMARY KEY REFERENCES stores (id),
    version  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER products_catalog_insert AFTER INSERT ON products
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (NEW.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER products_catalog_update
AFTER UPDATE OF name_key, sku, status, category_id, brand_id, show_in_quick_products, created_at, deleted_at
ON products
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (NEW.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER products_catalog_delete AFTER DELETE ON products
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (OLD.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER product_barcodes_catalog_insert AFTER INSERT ON product_barcodes
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (NEW.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER product_barcodes_catalog_update AFTER UPDATE ON product_barcodes
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (NEW.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER product_barcodes_catalog_delete AFTER DELETE ON product_barcodes
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (OLD.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
END;

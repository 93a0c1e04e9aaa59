-- What changed in a store's sellable catalog, for terminals that keep a copy of it (see the
-- PostgreSQL migration of the same name). One row per product: the catalog version of its latest
-- change. A change is anything a terminal sells by (name, sku, price, tax rate, status, quick
-- flag, barcodes, packs, category, brand, unit) or the product's deletion; stock changes are not.
-- Each change bumps the store's catalog version first, so versions grow in the order the changes
-- commit (SQLite has one writer) and a terminal asks for what came after the version it has.
CREATE TABLE catalog_changes (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    product_id BLOB NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (store_id, product_id)
) STRICT;
CREATE INDEX catalog_changes_store_version ON catalog_changes (store_id, version);

CREATE TRIGGER products_changes_insert AFTER INSERT ON products
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (NEW.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
    INSERT INTO catalog_changes (store_id, product_id, version)
    SELECT NEW.store_id, NEW.id, version FROM catalog_versions WHERE store_id = NEW.store_id
    ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER products_changes_update
AFTER UPDATE OF name, sku, price, tax_rate, category_id, brand_id, unit_id, status, show_in_quick_products,
    barcode, alternate_barcodes, units, deleted_at
ON products
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (NEW.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
    INSERT INTO catalog_changes (store_id, product_id, version)
    SELECT NEW.store_id, NEW.id, version FROM catalog_versions WHERE store_id = NEW.store_id
    ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER products_changes_delete AFTER DELETE ON products
BEGIN
    INSERT INTO catalog_versions (store_id, version) VALUES (OLD.store_id, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = version + 1;
    INSERT INTO catalog_changes (store_id, product_id, version)
    SELECT OLD.store_id, OLD.id, version FROM catalog_versions WHERE store_id = OLD.store_id
    ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version;
END;

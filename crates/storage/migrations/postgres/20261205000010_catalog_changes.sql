-- What changed in a store's sellable catalog, for terminals that keep a copy of it to sell while
-- the server is away (`GET /api/v1/catalog/changes`).
--
-- One row per product: the catalog version of its latest change. A change is anything a terminal
-- sells by (name, sku, price, tax rate, status, quick flag, barcodes, packs — the products row
-- holds them as its read model — category, brand, unit) or the product's deletion (soft: it sets
-- deleted_at); stock changes set none of these columns and record nothing. Each change bumps the
-- store's row of catalog_versions first and takes the new number: that row stays locked until
-- the transaction ends, so a store's versions are handed out in the order its changes commit, and
-- a terminal that asks for what came after the version it holds misses nothing. A product
-- changed again only moves its row to the newer version: the table never holds more rows than
-- the store has had products.
CREATE TABLE catalog_changes (
    store_id   text NOT NULL REFERENCES stores (id),
    product_id uuid NOT NULL,
    version    bigint NOT NULL,
    PRIMARY KEY (store_id, product_id)
);
CREATE INDEX catalog_changes_store_version ON catalog_changes (store_id, version);
ALTER TABLE catalog_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE catalog_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY store_isolation ON catalog_changes
    USING (store_id = current_setting('tills.store_id', true))
    WITH CHECK (store_id = current_setting('tills.store_id', true));
GRANT SELECT, INSERT, UPDATE ON catalog_changes TO tills_app;

-- An insert (one product, or an import's thousand) takes one version per store for all its rows,
-- through a statement trigger: a row trigger would update the store's catalog_versions row once a
-- row, and PostgreSQL walks every earlier version of a row updated again in one transaction. So
-- several products may share a version: readers page by (version, product_id).
CREATE FUNCTION tills_catalog_products_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
    v_store text;
    v_version bigint;
BEGIN
    FOR v_store IN SELECT DISTINCT store_id FROM changed LOOP
        INSERT INTO catalog_versions (store_id, version) VALUES (v_store, 1)
        ON CONFLICT (store_id) DO UPDATE SET version = catalog_versions.version + 1
        RETURNING version INTO v_version;
        INSERT INTO catalog_changes (store_id, product_id, version)
        SELECT c.store_id, c.id, v_version FROM changed c WHERE c.store_id = v_store
        ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version;
    END LOOP;
    RETURN NULL;
END
$$;

-- A change or a deletion: one product at a time (an edit, a delete), through a row trigger that
-- fires only when the statement sets one of the columns a till sells by, so a sale's stock
-- update costs nothing here.
CREATE FUNCTION tills_catalog_product_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
    v_store text;
    v_product uuid;
    v_version bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_store := OLD.store_id;
        v_product := OLD.id;
    ELSE
        v_store := NEW.store_id;
        v_product := NEW.id;
    END IF;
    INSERT INTO catalog_versions (store_id, version) VALUES (v_store, 1)
    ON CONFLICT (store_id) DO UPDATE SET version = catalog_versions.version + 1
    RETURNING version INTO v_version;
    INSERT INTO catalog_changes (store_id, product_id, version) VALUES (v_store, v_product, v_version)
    ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version;
    RETURN NULL;
END
$$;

CREATE TRIGGER products_changes_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_products_inserted();
CREATE TRIGGER products_changes_updated
    AFTER UPDATE OF name, sku, price, tax_rate, category_id, brand_id, unit_id, status, show_in_quick_products,
        barcode, alternate_barcodes, units, deleted_at
    ON products FOR EACH ROW EXECUTE FUNCTION tills_catalog_product_changed();
CREATE TRIGGER products_changes_deleted AFTER DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION tills_catalog_product_changed();

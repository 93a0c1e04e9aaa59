-- Row-level security: the second wall behind the storage layer's own store_id conditions.
--
-- The server runs its queries as `tills_app`, a role that neither owns the tables nor bypasses
-- row-level security. Each transaction starts with `SET LOCAL tills.store_id = '<slug>'`; every
-- policy compares the row's store_id with that setting, without subqueries (Citus-friendly).
-- With no setting, a store table shows no rows and takes no writes.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tills_app') THEN
        BEGIN
            CREATE ROLE tills_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile by a concurrent migration of another database
        END;
    END IF;
    -- An owner that is not a superuser must be a member to `SET ROLE tills_app`.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'tills_app', 'MEMBER') THEN
        EXECUTE format('GRANT tills_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO tills_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tills_app;
REVOKE ALL ON _sqlx_migrations FROM tills_app;
-- The audit log is append-only for the server (a trigger stops even the owner).
REVOKE UPDATE, DELETE ON audit_log FROM tills_app;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'categories', 'brands', 'units', 'products', 'product_units',
                             'product_barcodes', 'customers', 'invoice_counters', 'sales',
                             'sale_lines', 'refunds', 'refund_lines', 'payments',
                             'stock_movements', 'idempotency_keys', 'audit_log']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY store_isolation ON %I
                 USING (store_id = current_setting(''tills.store_id'', true))
                 WITH CHECK (store_id = current_setting(''tills.store_id'', true))', t);
    END LOOP;
END
$$;

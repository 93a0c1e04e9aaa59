//! The importer's SQL. Batches unpack a JSON array per table: `json_to_recordset` on
//! PostgreSQL, `json_each` on SQLite, the only SQL of the importer that differs between the
//! backends; every statement lists `store_id` first or conditions on it. Inserts say which rows
//! they really inserted (`RETURNING`): a second run counts 0 on every engine.

use crate::backend::{PgStore, SqliteStore};

/// The statements of one backend.
pub(crate) struct ImportSql {
    /// Run first in each batch's transaction.
    pub(super) prepare: Option<&'static str>,
    pub(super) categories: &'static str,
    pub(super) brands: &'static str,
    pub(super) units: &'static str,
    pub(super) products: &'static str,
    pub(super) product_units: &'static str,
    pub(super) product_barcodes: &'static str,
    pub(super) stock_movements: &'static str,
    pub(super) customers: &'static str,
    pub(super) users: &'static str,
    pub(super) sales: &'static str,
    pub(super) sale_lines: &'static str,
    pub(super) payments: &'static str,
    /// `import_rows`: what the batch wrote, inserted or replaced.
    pub(super) track: &'static str,
    /// A batch of replacements (rows an earlier run wrote, whose legacy document changed).
    pub(super) replace: ReplaceSql,
}

/// The statements that write over rows an earlier run wrote.
pub(crate) struct ReplaceSql {
    pub(super) categories: &'static str,
    pub(super) brands: &'static str,
    pub(super) units: &'static str,
    /// The products' packs and barcodes go (and come again with the insert statements).
    pub(super) delete_barcodes: &'static str,
    pub(super) delete_packs: &'static str,
    /// A changed legacy stock: a movement of the difference (before the product row changes).
    pub(super) stock_movements: &'static str,
    pub(super) products: &'static str,
    pub(super) customers: &'static str,
    pub(super) users: &'static str,
    /// Only a sale's status changes (a legacy sale voided since).
    pub(super) sales: &'static str,
}

impl PgStore {
    pub(crate) const IMPORT_SQL: ImportSql = ImportSql {
        // A batch's commit need not wait for its WAL to reach the disk: a server crash can lose
        // the last batches of a run, which running the import again writes (it is idempotent,
        // and --verify shows what is missing). One fsync fewer per batch.
        prepare: Some("SET LOCAL synchronous_commit = off"),
        categories: "INSERT INTO categories (store_id, id, name, name_key, parent_id, legacy_id, created_at, updated_at) \
             SELECT $1, r.id, r.name, r.name_key, r.parent_id, r.legacy_id, r.created_at, r.updated_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, parent_id uuid, legacy_id text, \
             created_at timestamptz, updated_at timestamptz) ON CONFLICT DO NOTHING RETURNING id",
        brands: "INSERT INTO brands (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, r.id, r.name, r.name_key, r.legacy_id, r.created_at, r.updated_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, legacy_id text, \
             created_at timestamptz, updated_at timestamptz) ON CONFLICT DO NOTHING RETURNING id",
        units: "INSERT INTO units (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, r.id, r.name, r.name_key, r.legacy_id, r.created_at, r.updated_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, legacy_id text, \
             created_at timestamptz, updated_at timestamptz) ON CONFLICT DO NOTHING RETURNING id",
        products: "INSERT INTO products (store_id, id, name, name_key, sku, price, cost, tax_rate, category_id, brand_id, \
             unit_id, stock_milli, status, show_in_quick_products, barcode, alternate_barcodes, units, legacy_id, \
             created_at, updated_at, deleted_at) \
             SELECT $1, r.id, r.name, r.name_key, r.sku, r.price, r.cost, r.tax_rate, r.category_id, r.brand_id, \
             r.unit_id, r.stock_milli, r.status, r.show_in_quick_products, r.barcode, r.alternate_barcodes, r.units, \
             r.legacy_id, r.created_at, r.updated_at, r.deleted_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, sku text, price bigint, cost bigint, \
             tax_rate integer, category_id uuid, brand_id uuid, unit_id uuid, stock_milli bigint, status text, \
             show_in_quick_products boolean, barcode text, alternate_barcodes text, units text, legacy_id text, \
             created_at timestamptz, updated_at timestamptz, deleted_at timestamptz) ON CONFLICT DO NOTHING RETURNING id",
        product_units: "INSERT INTO product_units (store_id, id, product_id, unit_id, factor, price, position) \
             SELECT $1, r.id, r.product_id, r.unit_id, r.factor, r.price, r.position \
             FROM json_to_recordset($2::json) AS r(id uuid, product_id uuid, unit_id uuid, factor bigint, price bigint, \
             position integer) ON CONFLICT DO NOTHING RETURNING 1",
        product_barcodes: "INSERT INTO product_barcodes (store_id, barcode, product_id, kind, product_unit_id, position) \
             SELECT $1, r.barcode, r.product_id, r.kind, r.product_unit_id, r.position \
             FROM json_to_recordset($2::json) AS r(barcode text, product_id uuid, kind text, product_unit_id uuid, \
             position integer) ON CONFLICT DO NOTHING RETURNING 1",
        stock_movements: "INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, created_at) \
             SELECT $1, r.id, r.product_id, r.delta_milli, 'import', r.note, r.created_at \
             FROM json_to_recordset($2::json) AS r(id uuid, product_id uuid, delta_milli bigint, note text, \
             created_at timestamptz) ON CONFLICT DO NOTHING RETURNING 1",
        customers: "INSERT INTO customers (store_id, id, name, name_key, phone, email, note, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, r.id, r.name, r.name_key, r.phone, r.email, r.note, r.legacy_id, r.created_at, r.updated_at, \
             r.deleted_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, phone text, email text, note text, \
             legacy_id text, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz) ON CONFLICT DO NOTHING RETURNING id",
        users: "INSERT INTO users (store_id, id, email, name, role, password_hash, active, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, r.id, r.email, r.name, r.role, r.password_hash, r.active, r.legacy_id, r.created_at, \
             r.updated_at, r.deleted_at \
             FROM json_to_recordset($2::json) AS r(id uuid, email text, name text, role text, password_hash text, \
             active boolean, legacy_id text, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz) \
             ON CONFLICT DO NOTHING RETURNING id",
        sales: "INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, customer_id, cashier_id, note, \
             subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at, voided_at, legacy_id) \
             SELECT $1, r.id, r.invoice_number, r.invoice_seq, r.status, r.customer_id, r.cashier_id, r.note, \
             r.subtotal, r.discount_total, r.tax_total, r.total, r.paid, r.change, false, r.sold_at, r.created_at, \
             r.voided_at, r.legacy_id \
             FROM json_to_recordset($2::json) AS r(id uuid, invoice_number text, invoice_seq bigint, status text, \
             customer_id uuid, cashier_id uuid, note text, subtotal bigint, discount_total bigint, tax_total bigint, \
             total bigint, paid bigint, change bigint, sold_at timestamptz, created_at timestamptz, \
             voided_at timestamptz, legacy_id text) ON CONFLICT DO NOTHING RETURNING id",
        sale_lines: "INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, unit_id, factor, \
             quantity_milli, price, discount, tax_rate, tax, total) \
             SELECT $1, r.id, r.sale_id, r.position, r.product_id, r.name, r.barcode, r.unit_id, r.factor, \
             r.quantity_milli, r.price, r.discount, r.tax_rate, r.tax, r.total \
             FROM json_to_recordset($2::json) AS r(id uuid, sale_id uuid, position integer, product_id uuid, name text, \
             barcode text, unit_id uuid, factor bigint, quantity_milli bigint, price bigint, discount bigint, \
             tax_rate integer, tax bigint, total bigint) ON CONFLICT DO NOTHING RETURNING 1",
        payments: "INSERT INTO payments (store_id, id, sale_id, method, amount, reference, legacy_id, created_at) \
             SELECT $1, r.id, r.sale_id, r.method, r.amount, r.reference, r.legacy_id, r.created_at \
             FROM json_to_recordset($2::json) AS r(id uuid, sale_id uuid, method text, amount bigint, reference text, \
             legacy_id text, created_at timestamptz) ON CONFLICT DO NOTHING RETURNING id",
        track: "INSERT INTO import_rows (store_id, kind, row_id, legacy_id, source_hash, row_hash, written_at, amount, \
             imported_at) \
             SELECT $1, r.kind, r.row_id, r.legacy_id, r.source_hash, r.row_hash, r.written_at, r.amount, $3 \
             FROM json_to_recordset($2::json) AS r(kind text, row_id uuid, legacy_id text, source_hash bigint, \
             row_hash bigint, written_at timestamptz, amount bigint) \
             ON CONFLICT (store_id, kind, row_id) DO UPDATE SET legacy_id = excluded.legacy_id, \
             source_hash = excluded.source_hash, row_hash = excluded.row_hash, written_at = excluded.written_at, \
             amount = excluded.amount, imported_at = excluded.imported_at",
        replace: ReplaceSql {
            categories: "UPDATE categories c SET name = r.name, name_key = r.name_key, parent_id = r.parent_id, \
                 updated_at = r.updated_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, parent_id uuid, \
                 updated_at timestamptz) \
                 WHERE c.store_id = $1 AND c.id = r.id RETURNING c.id",
            brands: "UPDATE brands b SET name = r.name, name_key = r.name_key, updated_at = r.updated_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, updated_at timestamptz) \
                 WHERE b.store_id = $1 AND b.id = r.id RETURNING b.id",
            units: "UPDATE units u SET name = r.name, name_key = r.name_key, updated_at = r.updated_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, updated_at timestamptz) \
                 WHERE u.store_id = $1 AND u.id = r.id RETURNING u.id",
            delete_barcodes: "DELETE FROM product_barcodes WHERE store_id = $1 \
                 AND product_id IN (SELECT r.id FROM json_to_recordset($2::json) AS r(id uuid))",
            delete_packs: "DELETE FROM product_units WHERE store_id = $1 \
                 AND product_id IN (SELECT r.id FROM json_to_recordset($2::json) AS r(id uuid))",
            stock_movements: "INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, created_at) \
                 SELECT $1, r.stock_movement_id, r.id, r.stock_milli - t.amount, 'import', \
                 'stock changed in the legacy system', r.updated_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, stock_movement_id uuid, stock_milli bigint, \
                 updated_at timestamptz) \
                 JOIN import_rows t ON t.store_id = $1 AND t.kind = 'products' AND t.row_id = r.id \
                 WHERE t.amount <> r.stock_milli ON CONFLICT DO NOTHING RETURNING 1",
            products: "UPDATE products p SET name = r.name, name_key = r.name_key, sku = r.sku, price = r.price, \
                 cost = r.cost, tax_rate = r.tax_rate, category_id = r.category_id, brand_id = r.brand_id, \
                 unit_id = r.unit_id, status = r.status, show_in_quick_products = r.show_in_quick_products, \
                 barcode = r.barcode, alternate_barcodes = r.alternate_barcodes, units = r.units, \
                 stock_milli = p.stock_milli + r.stock_milli - COALESCE(t.amount, r.stock_milli), \
                 updated_at = r.updated_at, deleted_at = r.deleted_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, sku text, price bigint, \
                 cost bigint, tax_rate integer, category_id uuid, brand_id uuid, unit_id uuid, stock_milli bigint, \
                 status text, show_in_quick_products boolean, barcode text, alternate_barcodes text, units text, \
                 updated_at timestamptz, deleted_at timestamptz) \
                 LEFT JOIN import_rows t ON t.store_id = $1 AND t.kind = 'products' AND t.row_id = r.id \
                 WHERE p.store_id = $1 AND p.id = r.id RETURNING p.id",
            customers: "UPDATE customers c SET name = r.name, name_key = r.name_key, phone = r.phone, email = r.email, \
                 note = r.note, updated_at = r.updated_at, deleted_at = r.deleted_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, phone text, email text, \
                 note text, updated_at timestamptz, deleted_at timestamptz) \
                 WHERE c.store_id = $1 AND c.id = r.id RETURNING c.id",
            users: "UPDATE users u SET email = r.email, name = r.name, role = r.role, password_hash = r.password_hash, \
                 active = r.active, updated_at = r.updated_at, deleted_at = r.deleted_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, email text, name text, role text, password_hash text, \
                 active boolean, updated_at timestamptz, deleted_at timestamptz) \
                 WHERE u.store_id = $1 AND u.id = r.id RETURNING u.id",
            sales: "UPDATE sales s SET status = r.status, voided_at = r.voided_at \
                 FROM json_to_recordset($2::json) AS r(id uuid, status text, voided_at timestamptz) \
                 WHERE s.store_id = $1 AND s.id = r.id RETURNING s.id",
        },
    };
}

// SQLite: `json_each` yields one `value` per row; `WHERE true` tells the parser that the
// `ON CONFLICT` belongs to the INSERT, not to a join.
impl SqliteStore {
    pub(crate) const IMPORT_SQL: ImportSql = ImportSql {
        prepare: None,
        categories: "INSERT INTO categories (store_id, id, name, name_key, parent_id, legacy_id, created_at, updated_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', unhex(value ->> 'parent_id'), \
             value ->> 'legacy_id', value ->> 'created_at', value ->> 'updated_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        brands: "INSERT INTO brands (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'legacy_id', \
             value ->> 'created_at', value ->> 'updated_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        units: "INSERT INTO units (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'legacy_id', \
             value ->> 'created_at', value ->> 'updated_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        products: "INSERT INTO products (store_id, id, name, name_key, sku, price, cost, tax_rate, category_id, brand_id, \
             unit_id, stock_milli, status, show_in_quick_products, barcode, alternate_barcodes, units, legacy_id, \
             created_at, updated_at, deleted_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'sku', \
             value ->> 'price', value ->> 'cost', value ->> 'tax_rate', unhex(value ->> 'category_id'), \
             unhex(value ->> 'brand_id'), unhex(value ->> 'unit_id'), value ->> 'stock_milli', value ->> 'status', \
             value ->> 'show_in_quick_products', value ->> 'barcode', value ->> 'alternate_barcodes', \
             value ->> 'units', value ->> 'legacy_id', value ->> 'created_at', value ->> 'updated_at', \
             value ->> 'deleted_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        product_units: "INSERT INTO product_units (store_id, id, product_id, unit_id, factor, price, position) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'product_id'), unhex(value ->> 'unit_id'), \
             value ->> 'factor', value ->> 'price', value ->> 'position' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING 1",
        product_barcodes: "INSERT INTO product_barcodes (store_id, barcode, product_id, kind, product_unit_id, position) \
             SELECT $1, value ->> 'barcode', unhex(value ->> 'product_id'), value ->> 'kind', \
             unhex(value ->> 'product_unit_id'), value ->> 'position' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING 1",
        stock_movements: "INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, created_at) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'product_id'), value ->> 'delta_milli', 'import', \
             value ->> 'note', value ->> 'created_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING 1",
        customers: "INSERT INTO customers (store_id, id, name, name_key, phone, email, note, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'phone', \
             value ->> 'email', value ->> 'note', value ->> 'legacy_id', value ->> 'created_at', \
             value ->> 'updated_at', value ->> 'deleted_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        users: "INSERT INTO users (store_id, id, email, name, role, password_hash, active, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'email', value ->> 'name', value ->> 'role', \
             value ->> 'password_hash', value ->> 'active', value ->> 'legacy_id', value ->> 'created_at', \
             value ->> 'updated_at', value ->> 'deleted_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        sales: "INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, customer_id, cashier_id, note, \
             subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at, voided_at, legacy_id) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'invoice_number', value ->> 'invoice_seq', value ->> 'status', \
             unhex(value ->> 'customer_id'), unhex(value ->> 'cashier_id'), value ->> 'note', value ->> 'subtotal', \
             value ->> 'discount_total', value ->> 'tax_total', value ->> 'total', value ->> 'paid', \
             value ->> 'change', 0, value ->> 'sold_at', value ->> 'created_at', value ->> 'voided_at', \
             value ->> 'legacy_id' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        sale_lines: "INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, unit_id, factor, \
             quantity_milli, price, discount, tax_rate, tax, total) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'sale_id'), value ->> 'position', \
             unhex(value ->> 'product_id'), value ->> 'name', value ->> 'barcode', unhex(value ->> 'unit_id'), \
             value ->> 'factor', value ->> 'quantity_milli', value ->> 'price', value ->> 'discount', \
             value ->> 'tax_rate', value ->> 'tax', value ->> 'total' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING 1",
        payments: "INSERT INTO payments (store_id, id, sale_id, method, amount, reference, legacy_id, created_at) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'sale_id'), value ->> 'method', value ->> 'amount', \
             value ->> 'reference', value ->> 'legacy_id', value ->> 'created_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING id",
        track: "INSERT INTO import_rows (store_id, kind, row_id, legacy_id, source_hash, row_hash, written_at, amount, \
             imported_at) \
             SELECT $1, value ->> 'kind', unhex(value ->> 'row_id'), value ->> 'legacy_id', value ->> 'source_hash', \
             value ->> 'row_hash', value ->> 'written_at', value ->> 'amount', $3 \
             FROM json_each($2) WHERE true \
             ON CONFLICT (store_id, kind, row_id) DO UPDATE SET legacy_id = excluded.legacy_id, \
             source_hash = excluded.source_hash, row_hash = excluded.row_hash, written_at = excluded.written_at, \
             amount = excluded.amount, imported_at = excluded.imported_at",
        replace: ReplaceSql {
            categories: "UPDATE categories SET name = value ->> 'name', name_key = value ->> 'name_key', \
                 parent_id = unhex(value ->> 'parent_id'), updated_at = value ->> 'updated_at' \
                 FROM json_each($2) WHERE categories.store_id = $1 AND categories.id = unhex(value ->> 'id') \
                 RETURNING id",
            brands: "UPDATE brands SET name = value ->> 'name', name_key = value ->> 'name_key', \
                 updated_at = value ->> 'updated_at' \
                 FROM json_each($2) WHERE brands.store_id = $1 AND brands.id = unhex(value ->> 'id') RETURNING id",
            units: "UPDATE units SET name = value ->> 'name', name_key = value ->> 'name_key', \
                 updated_at = value ->> 'updated_at' \
                 FROM json_each($2) WHERE units.store_id = $1 AND units.id = unhex(value ->> 'id') RETURNING id",
            delete_barcodes: "DELETE FROM product_barcodes WHERE store_id = $1 \
                 AND product_id IN (SELECT unhex(value ->> 'id') FROM json_each($2))",
            delete_packs: "DELETE FROM product_units WHERE store_id = $1 \
                 AND product_id IN (SELECT unhex(value ->> 'id') FROM json_each($2))",
            stock_movements: "INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, created_at) \
                 SELECT $1, unhex(value ->> 'stock_movement_id'), unhex(value ->> 'id'), \
                 (value ->> 'stock_milli') - t.amount, 'import', 'stock changed in the legacy system', \
                 value ->> 'updated_at' \
                 FROM json_each($2) JOIN import_rows t ON t.store_id = $1 AND t.kind = 'products' \
                 AND t.row_id = unhex(value ->> 'id') \
                 WHERE t.amount <> (value ->> 'stock_milli') ON CONFLICT DO NOTHING RETURNING 1",
            products: "UPDATE products SET name = r.value ->> 'name', name_key = r.value ->> 'name_key', \
                 sku = r.value ->> 'sku', price = r.value ->> 'price', cost = r.value ->> 'cost', \
                 tax_rate = r.value ->> 'tax_rate', category_id = unhex(r.value ->> 'category_id'), \
                 brand_id = unhex(r.value ->> 'brand_id'), unit_id = unhex(r.value ->> 'unit_id'), \
                 status = r.value ->> 'status', show_in_quick_products = r.value ->> 'show_in_quick_products', \
                 barcode = r.value ->> 'barcode', alternate_barcodes = r.value ->> 'alternate_barcodes', \
                 units = r.value ->> 'units', \
                 stock_milli = products.stock_milli + (r.value ->> 'stock_milli') \
                 - COALESCE(t.amount, r.value ->> 'stock_milli'), \
                 updated_at = r.value ->> 'updated_at', deleted_at = r.value ->> 'deleted_at' \
                 FROM json_each($2) AS r LEFT JOIN import_rows t ON t.store_id = $1 AND t.kind = 'products' \
                 AND t.row_id = unhex(r.value ->> 'id') \
                 WHERE products.store_id = $1 AND products.id = unhex(r.value ->> 'id') RETURNING id",
            customers: "UPDATE customers SET name = value ->> 'name', name_key = value ->> 'name_key', \
                 phone = value ->> 'phone', email = value ->> 'email', note = value ->> 'note', \
                 updated_at = value ->> 'updated_at', deleted_at = value ->> 'deleted_at' \
                 FROM json_each($2) WHERE customers.store_id = $1 AND customers.id = unhex(value ->> 'id') \
                 RETURNING id",
            users: "UPDATE users SET email = value ->> 'email', name = value ->> 'name', role = value ->> 'role', \
                 password_hash = value ->> 'password_hash', active = value ->> 'active', \
                 updated_at = value ->> 'updated_at', deleted_at = value ->> 'deleted_at' \
                 FROM json_each($2) WHERE users.store_id = $1 AND users.id = unhex(value ->> 'id') RETURNING id",
            sales: "UPDATE sales SET status = value ->> 'status', voided_at = value ->> 'voided_at' \
                 FROM json_each($2) WHERE sales.store_id = $1 AND sales.id = unhex(value ->> 'id') RETURNING id",
        },
    };
}

pub(super) const INSERT_STORE: &str = "INSERT INTO stores (id, name, currency, currency_decimals, timezone, prices_include_tax, \
     invoice_prefix, scale_barcodes, status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', 'active', $8, $8) ON CONFLICT DO NOTHING";
pub(super) const INSERT_COUNTER: &str =
    "INSERT INTO invoice_counters (store_id, last_number) VALUES ($1, 0) ON CONFLICT DO NOTHING";
/// `GREATEST` is PostgreSQL's and `MAX(a, b)` SQLite's: a CASE is both.
pub(super) const RAISE_COUNTER: &str = "UPDATE invoice_counters SET last_number = CASE WHEN last_number < $2 THEN $2 \
     ELSE last_number END WHERE store_id = $1 RETURNING last_number";

pub(super) const EXISTING_BARCODES: &str = "SELECT barcode, product_id FROM product_barcodes WHERE store_id = $1";
pub(super) const EXISTING_CATEGORIES: &str = "SELECT name_key, id FROM categories WHERE store_id = $1";
pub(super) const EXISTING_BRANDS: &str = "SELECT name_key, id FROM brands WHERE store_id = $1";
pub(super) const EXISTING_UNITS: &str = "SELECT name_key, id FROM units WHERE store_id = $1";
pub(super) const EXISTING_PHONES: &str = "SELECT phone, id FROM customers WHERE store_id = $1 AND deleted_at IS NULL";
pub(super) const EXISTING_EMAILS: &str = "SELECT email, id FROM users WHERE store_id = $1 AND deleted_at IS NULL";
pub(super) const EXISTING_INVOICES: &str = "SELECT invoice_number, id FROM sales WHERE store_id = $1";

pub(super) const COUNT_CATEGORIES: &str =
    "SELECT COUNT(*) FROM categories WHERE store_id = $1 AND legacy_id IS NOT NULL";
pub(super) const COUNT_BRANDS: &str = "SELECT COUNT(*) FROM brands WHERE store_id = $1 AND legacy_id IS NOT NULL";
pub(super) const COUNT_UNITS: &str = "SELECT COUNT(*) FROM units WHERE store_id = $1 AND legacy_id IS NOT NULL";
pub(super) const COUNT_PRODUCTS: &str = "SELECT COUNT(*) FROM products WHERE store_id = $1 AND legacy_id IS NOT NULL";
pub(super) const COUNT_CUSTOMERS: &str = "SELECT COUNT(*) FROM customers WHERE store_id = $1 AND legacy_id IS NOT NULL";
pub(super) const COUNT_USERS: &str = "SELECT COUNT(*) FROM users WHERE store_id = $1 AND legacy_id IS NOT NULL";
pub(super) const SUM_SALES: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM sales \
     WHERE store_id = $1 AND legacy_id IS NOT NULL";
pub(super) const COUNT_SALE_LINES: &str = "SELECT COUNT(*) FROM sale_lines l JOIN sales s ON s.store_id = l.store_id AND s.id = l.sale_id \
     WHERE l.store_id = $1 AND s.legacy_id IS NOT NULL";
pub(super) const SUM_PAYMENTS: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments \
     WHERE store_id = $1 AND legacy_id IS NOT NULL";

pub(super) const COUNT_ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) FROM users WHERE store_id = $1 AND role = 'admin' AND active AND deleted_at IS NULL";

// What an earlier run wrote (`import_rows`), and which of those rows Tills changed since: a row
// whose `updated_at` is not the one the importer wrote (or a sale no longer `completed`), or that
// is gone. The same text on both backends; `views` in mod.rs compares what they hold.
pub(super) const TRACKED: &str =
    "SELECT kind, row_id, legacy_id, source_hash, row_hash, amount FROM import_rows WHERE store_id = $1";
pub(super) const TOUCHED_CATEGORIES: &str = "SELECT r.row_id, r.row_hash, c.id IS NOT NULL AS present, c.name, c.parent_id \
     FROM import_rows r LEFT JOIN categories c ON c.store_id = r.store_id AND c.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'categories' AND (c.id IS NULL OR c.updated_at <> r.written_at)";
pub(super) const TOUCHED_BRANDS: &str = "SELECT r.row_id, r.row_hash, b.id IS NOT NULL AS present, b.name \
     FROM import_rows r LEFT JOIN brands b ON b.store_id = r.store_id AND b.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'brands' AND (b.id IS NULL OR b.updated_at <> r.written_at)";
pub(super) const TOUCHED_UNITS: &str = "SELECT r.row_id, r.row_hash, u.id IS NOT NULL AS present, u.name \
     FROM import_rows r LEFT JOIN units u ON u.store_id = r.store_id AND u.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'units' AND (u.id IS NULL OR u.updated_at <> r.written_at)";
pub(super) const TOUCHED_PRODUCTS: &str = "SELECT r.row_id, r.row_hash, p.id IS NOT NULL AS present, p.name, p.sku, p.price, \
     p.cost, p.tax_rate, p.category_id, p.brand_id, p.unit_id, p.status, p.show_in_quick_products, p.barcode, \
     p.alternate_barcodes, p.units, p.deleted_at IS NOT NULL AS deleted \
     FROM import_rows r LEFT JOIN products p ON p.store_id = r.store_id AND p.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'products' AND (p.id IS NULL OR p.updated_at <> r.written_at)";
pub(super) const TOUCHED_CUSTOMERS: &str = "SELECT r.row_id, r.row_hash, c.id IS NOT NULL AS present, c.name, c.phone, c.email, \
     c.note, c.deleted_at IS NOT NULL AS deleted \
     FROM import_rows r LEFT JOIN customers c ON c.store_id = r.store_id AND c.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'customers' AND (c.id IS NULL OR c.updated_at <> r.written_at)";
pub(super) const TOUCHED_USERS: &str = "SELECT r.row_id, r.row_hash, u.id IS NOT NULL AS present, u.email, u.name, u.role, \
     u.password_hash, u.active, u.deleted_at IS NOT NULL AS deleted \
     FROM import_rows r LEFT JOIN users u ON u.store_id = r.store_id AND u.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'users' AND (u.id IS NULL OR u.updated_at <> r.written_at)";
pub(super) const TOUCHED_SALES: &str = "SELECT r.row_id, r.row_hash, s.id IS NOT NULL AS present, s.status, \
     s.voided_at IS NOT NULL AS voided \
     FROM import_rows r LEFT JOIN sales s ON s.store_id = r.store_id AND s.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'sales' AND (s.id IS NULL OR s.status <> 'completed' OR s.voided_at IS NOT NULL)";
pub(super) const GONE_PAYMENTS: &str = "SELECT r.row_id FROM import_rows r \
     LEFT JOIN payments p ON p.store_id = r.store_id AND p.id = r.row_id \
     WHERE r.store_id = $1 AND r.kind = 'payments' AND p.id IS NULL";

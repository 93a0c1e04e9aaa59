-- A sale's stock movements are its lines (see the PostgreSQL migration of the same name): the
-- list of a product's movements reads them from `sale_lines`, in the order of `moved_at` (when
-- the sale took the stock; NULL for a line that moved none: no product, or a sale brought by the
-- importer), and the rows sales wrote into `stock_movements` so far would show each twice.
ALTER TABLE sale_lines ADD COLUMN moved_at TEXT;
UPDATE sale_lines SET moved_at = (SELECT s.created_at FROM sales s
    WHERE s.store_id = sale_lines.store_id AND s.id = sale_lines.sale_id AND s.legacy_id IS NULL)
    WHERE product_id IS NOT NULL;
DELETE FROM stock_movements WHERE reason = 'sale';
DROP INDEX sale_lines_store_product;
CREATE INDEX sale_lines_store_product ON sale_lines (store_id, product_id, moved_at, id);

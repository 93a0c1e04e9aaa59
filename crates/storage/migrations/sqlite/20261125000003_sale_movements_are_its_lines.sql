-- A sale's stock movements are its lines (see the PostgreSQL migration of the same name): the
-- list of a product's movements reads them from `sale_lines`, and the rows sales wrote into
-- `stock_movements` so far would show each of them twice.
DELETE FROM stock_movements WHERE reason = 'sale';

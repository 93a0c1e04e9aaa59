-- Product search (`q`) matches a name containing the text, or a sku or a barcode starting with
-- it, whatever the case. The barcode part was a subquery per product row read (700 index probes
-- for one search in a 2000-product store); it is now one lookup per search. The prefix index of
-- migration 1 was on the barcode as written, which a case-insensitive match cannot use: this one
-- is on its lower case.
DROP INDEX product_barcodes_store_prefix;
CREATE INDEX product_barcodes_store_prefix ON product_barcodes (store_id, lower(barcode) text_pattern_ops);

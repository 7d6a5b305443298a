-- The aw-enrich tests' data (tests/test_aw_enrich.sh and, copied into
-- MariaDB, tests/test_aw_enrich_mysql.sh): customers 1..100 (some with
-- awkward text), addresses: none for id % 3 = 0, one for id % 3 = 1, three
-- for id % 3 = 2; orders point at customers 1..129, so some have none.
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, balance REAL);
CREATE TABLE addresses(customer_id INTEGER, street TEXT, zip TEXT);
CREATE INDEX addresses_customer ON addresses(customer_id);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, note TEXT);
CREATE TABLE awkward(i INTEGER PRIMARY KEY, s TEXT);
INSERT INTO awkward VALUES
  (1, 'comma, inside'), (2, 'say "hi"'), (3, 'two' || char(10) || 'lines'),
  (4, 'crlf' || char(13) || char(10) || 'inside'), (5, 'Zoë 東京 🎉'), (6, ''),
  (7, NULL), (8, ' leading and trailing '), (9, '"'), (10, ','), (11, '""'),
  (12, 'tab' || char(9) || 'here'), (13, '"quoted", then, commas');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO customers
  SELECT i, CASE WHEN i <= 13 THEN (SELECT s FROM awkward WHERE awkward.i = n.i) ELSE 'name ' || i END,
         CASE WHEN i % 7 = 0 THEN NULL WHEN i % 5 = 0 THEN '' ELSE 'city ' || (i % 11) END,
         CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 9) * 1.5 - 3.25 END
  FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100),
     k(j) AS (VALUES (1), (2), (3))
INSERT INTO addresses
  SELECT i, CASE WHEN j = 2 AND i % 11 = 2 THEN (SELECT s FROM awkward WHERE awkward.i = 1 + i % 13) ELSE 'street ' || i || '-' || j END,
         printf('%05d', i * 10 + j)
  FROM n, k WHERE (i % 3 = 1 AND j = 1) OR i % 3 = 2;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO orders
  SELECT i, 1 + (i * 7919) % 129,
         CASE WHEN i % 17 < 13 THEN (SELECT s FROM awkward WHERE awkward.i = 1 + i % 17) ELSE 'note ' || i END
  FROM n;

-- DuckDB reference for winback's three default churn triggers, used by bench_scan.py to
-- time the same work in a mature columnar engine and to cross-check winback's counts.
--
-- Input: an `en` style export from generate_orders.py. bench_scan.py replaces the quoted
-- placeholders ORDERS_CSV and OUT_CSV with the paths; to run it by hand, edit them in.
--
-- Definitions (as_of = the day after the latest order_date in the file):
--   * an "order" is a row with amount > 0; credit notes (amount < 0) are not orders but
--     do reduce revenue, which is the net sum of all rows;
--   * inactive: no order in the 6 calendar months before as_of;
--   * revenue_drop: revenue in the 12 months before as_of is below 50 % of the customer's
--     peak rolling 12-month revenue, evaluated at every month end from the customer's first
--     month up to the month of the last day before as_of (months without orders count as 0);
--     only customers whose peak is positive;
--   * category_lapse: some category with >= 3 orders by the customer has no order in the
--     4 months before as_of, while the customer did order (something else) in those months.

CREATE TEMP TABLE orders AS
SELECT customer_id, order_date, amount, category
FROM read_csv('ORDERS_CSV', header = true, delim = ',', quote = '"', auto_detect = false,
    columns = {
        'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'order_date': 'DATE',
        'amount': 'DECIMAL(18,2)', 'cost': 'DECIMAL(18,2)', 'category': 'VARCHAR', 'quantity': 'INTEGER'
    });

CREATE TEMP TABLE p AS
SELECT as_of,
       CAST(as_of - INTERVAL 6 MONTH AS DATE) AS inactive_cut,
       CAST(as_of - INTERVAL 12 MONTH AS DATE) AS trailing_cut,
       CAST(as_of - INTERVAL 4 MONTH AS DATE) AS lapse_cut,
       CAST(date_trunc('month', as_of - 1) AS DATE) AS last_month
FROM (SELECT max(order_date) + 1 AS as_of FROM orders);

CREATE TEMP TABLE customers AS
SELECT customer_id,
       max(order_date) FILTER (WHERE amount > 0) AS last_order,
       coalesce(sum(amount) FILTER (WHERE order_date >= (SELECT trailing_cut FROM p)), 0)
           AS trailing_revenue,
       CAST(date_trunc('month', min(order_date)) AS DATE) AS first_month
FROM orders
GROUP BY customer_id;

CREATE TEMP TABLE peaks AS
WITH monthly AS (
    SELECT customer_id, CAST(date_trunc('month', order_date) AS DATE) AS month,
           sum(amount) AS revenue
    FROM orders
    GROUP BY ALL
), months AS (
    -- every month of every customer's history, also those without orders
    SELECT customer_id,
           CAST(unnest(generate_series(first_month, (SELECT last_month FROM p),
                                       INTERVAL 1 MONTH)) AS DATE) AS month
    FROM customers
), rolling AS (
    SELECT m.customer_id,
           sum(coalesce(r.revenue, 0)) OVER (
               PARTITION BY m.customer_id ORDER BY m.month
               ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS revenue_12m
    FROM months m LEFT JOIN monthly r USING (customer_id, month)
)
SELECT customer_id, max(revenue_12m) AS peak
FROM rolling
GROUP BY customer_id;

CREATE TEMP TABLE lapsed AS
WITH per_category AS (
    SELECT customer_id, category, count(*) AS n, max(order_date) AS last_in_category
    FROM orders
    WHERE amount > 0
    GROUP BY ALL
)
SELECT DISTINCT k.customer_id
FROM per_category k JOIN customers c USING (customer_id), p
WHERE k.n >= 3 AND k.last_in_category < p.lapse_cut AND c.last_order >= p.lapse_cut;

CREATE TEMP TABLE flags AS
SELECT c.customer_id,
       c.last_order IS NULL OR c.last_order < p.inactive_cut AS inactive,
       coalesce(k.peak > 0 AND c.trailing_revenue < 0.5 * k.peak, false) AS revenue_drop,
       l.customer_id IS NOT NULL AS category_lapse
FROM customers c CROSS JOIN p
LEFT JOIN peaks k USING (customer_id)
LEFT JOIN lapsed l USING (customer_id);

-- Written out so that no engine can skip the work.
COPY (SELECT * FROM flags ORDER BY customer_id) TO 'OUT_CSV' (HEADER, DELIMITER ',');

SELECT count(*) AS customers,
       count_if(inactive) AS inactive,
       count_if(revenue_drop) AS revenue_drop,
       count_if(category_lapse) AS category_lapse,
       CAST((SELECT as_of FROM p) AS VARCHAR) AS as_of
FROM flags;

-- Up Migration
-- Reporting: refreshed CONCURRENTLY after each import and nightly (unique index required for that).
CREATE MATERIALIZED VIEW report_mortgages_by_partner_day AS
  SELECT partner, closing_date, count(*) AS mortgages, sum(loan_amount) AS total_loan_amount
  FROM mortgages
  GROUP BY partner, closing_date;
CREATE UNIQUE INDEX report_mortgages_by_partner_day_key
  ON report_mortgages_by_partner_day (partner, closing_date) NULLS NOT DISTINCT;

CREATE MATERIALIZED VIEW report_imports_by_day AS
  SELECT created_at::date AS day, source, status, count(*) AS imports,
         coalesce(sum(rows_read), 0) AS rows_read, coalesce(sum(rejected), 0) AS rejected
  FROM imports
  GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX report_imports_by_day_key ON report_imports_by_day (day, source, status) NULLS NOT DISTINCT;

-- Down Migration
DROP MATERIALIZED VIEW report_imports_by_day;
DROP MATERIALIZED VIEW report_mortgages_by_partner_day;

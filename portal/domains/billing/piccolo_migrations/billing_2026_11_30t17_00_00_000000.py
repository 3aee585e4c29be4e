from portal.db.sql_migration import sql_migration

ID = "2026-11-30T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "card billing: a batch file's column of one value kept once"

SQL = r"""
-- A column whose cells are all the same (a file's type, schedule type, empty description…) is kept
-- once, as a one-element array; readers repeat it for every line. Written out, such a column of a
-- 100,000-row file is a megabyte of the same cell, out of line and in the write-ahead log. Every other
-- column still holds one cell per line; the records already kept stay as they are (both read alike).
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'billing_batch_file'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%cardinality(lines)%'
    LOOP
        EXECUTE format('ALTER TABLE billing_batch_file DROP CONSTRAINT %I', name);
    END LOOP;
END
$$;

ALTER TABLE billing_batch_file
    ADD CONSTRAINT billing_batch_file_customer_id_cells
        CHECK (coalesce(cardinality(customer_id), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_billing_number_cells
        CHECK (coalesce(cardinality(billing_number), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_invoice_number_cells
        CHECK (coalesce(cardinality(invoice_number), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_amount_cells
        CHECK (coalesce(cardinality(amount), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_type_cells
        CHECK (coalesce(cardinality(type), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_execute_date_cells
        CHECK (coalesce(cardinality(execute_date), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_schedule_type_cells
        CHECK (coalesce(cardinality(schedule_type), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_day_cells
        CHECK (coalesce(cardinality(day), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_weekdays_cells
        CHECK (coalesce(cardinality(weekdays), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_months_cells
        CHECK (coalesce(cardinality(months), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_dates_cells
        CHECK (coalesce(cardinality(dates), 1) IN (1, cardinality(lines))),
    ADD CONSTRAINT billing_batch_file_description_cells
        CHECK (coalesce(cardinality(description), 1) IN (1, cardinality(lines)));
"""


async def forwards():
    return sql_migration(ID, "billing", DESCRIPTION, SQL)

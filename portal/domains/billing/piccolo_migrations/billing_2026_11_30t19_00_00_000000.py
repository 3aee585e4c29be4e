from portal.db.sql_migration import sql_migration

ID = "2026-11-30T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "card billing: a batch file's columns kept as one text each"

SQL = r"""
-- Each column of a file's record is one text, stored as the upload sends it: a column of one value is
-- that value (repeated on every line by its readers), any other its cells joined by the record's
-- separator, a character none of its cells holds. Splitting a 100,000-row file's columns into arrays
-- on the write measured half of it, and an array spends four to eight bytes on every cell's length and
-- alignment where the joined text spends one.
ALTER TABLE billing_batch_file ADD COLUMN separator text CHECK (separator <> '');

-- The records already kept: the first character none of their cells holds (the upload's own
-- candidates, then the private use area).
DO $$
DECLARE
    kept record;
    candidate integer;
    found text;
BEGIN
    FOR kept IN
        SELECT business_id, batch_id, array_to_string(
            coalesce(customer_id, '{}') || coalesce(billing_number, '{}') || coalesce(invoice_number, '{}')
            || coalesce(amount, '{}') || coalesce(type, '{}') || coalesce(execute_date, '{}')
            || coalesce(schedule_type, '{}') || coalesce(day, '{}') || coalesce(weekdays, '{}')
            || coalesce(months, '{}') || coalesce(dates, '{}') || coalesce(description, '{}'), '') AS cells
        FROM billing_batch_file WHERE cardinality(lines) > 1
    LOOP
        found := NULL;
        FOREACH candidate IN ARRAY ARRAY[31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 64976, 64977] LOOP
            IF strpos(kept.cells, chr(candidate)) = 0 THEN
                found := chr(candidate);
                EXIT;
            END IF;
        END LOOP;
        IF found IS NULL THEN
            FOR candidate IN 57344..63743 LOOP
                IF strpos(kept.cells, chr(candidate)) = 0 THEN
                    found := chr(candidate);
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        IF found IS NULL THEN
            RAISE EXCEPTION 'billing_batch_file % %: no character is free to separate its cells',
                kept.business_id, kept.batch_id;
        END IF;
        UPDATE billing_batch_file SET separator = found
        WHERE business_id = kept.business_id AND batch_id = kept.batch_id;
    END LOOP;
END
$$;

DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'billing_batch_file'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%cardinality(%'
          AND pg_get_constraintdef(oid) NOT LIKE '%array_ndims%'
    LOOP
        EXECUTE format('ALTER TABLE billing_batch_file DROP CONSTRAINT %I', name);
    END LOOP;
END
$$;

-- One element: that value (a column of one value, or a file of one line); none: no row; more: the
-- cells joined (a cell never NULL; were one, it is kept as "").
CREATE FUNCTION pg_temp.packed(cells text[], separator text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE WHEN cardinality(cells) = 0 THEN NULL WHEN cardinality(cells) = 1 THEN cells[1]
        ELSE array_to_string(cells, separator, '') END
$f$;

ALTER TABLE billing_batch_file
    ALTER COLUMN customer_id TYPE text USING pg_temp.packed(customer_id, separator),
    ALTER COLUMN billing_number TYPE text USING pg_temp.packed(billing_number, separator),
    ALTER COLUMN invoice_number TYPE text USING pg_temp.packed(invoice_number, separator),
    ALTER COLUMN amount TYPE text USING pg_temp.packed(amount, separator),
    ALTER COLUMN type TYPE text USING pg_temp.packed(type, separator),
    ALTER COLUMN execute_date TYPE text USING pg_temp.packed(execute_date, separator),
    ALTER COLUMN schedule_type TYPE text USING pg_temp.packed(schedule_type, separator),
    ALTER COLUMN day TYPE text USING pg_temp.packed(day, separator),
    ALTER COLUMN weekdays TYPE text USING pg_temp.packed(weekdays, separator),
    ALTER COLUMN months TYPE text USING pg_temp.packed(months, separator),
    ALTER COLUMN dates TYPE text USING pg_temp.packed(dates, separator),
    ALTER COLUMN description TYPE text USING pg_temp.packed(description, separator);

DROP FUNCTION pg_temp.packed(text[], text);

-- Stored as they are (out of line, not compressed), as the arrays were; and each column of several
-- cells holds one per line: as many separators as lines less one (counted in bytes: no character
-- counting, no array built).
ALTER TABLE billing_batch_file
    ALTER COLUMN customer_id SET STORAGE EXTERNAL,
    ALTER COLUMN billing_number SET STORAGE EXTERNAL,
    ALTER COLUMN invoice_number SET STORAGE EXTERNAL,
    ALTER COLUMN amount SET STORAGE EXTERNAL,
    ALTER COLUMN type SET STORAGE EXTERNAL,
    ALTER COLUMN execute_date SET STORAGE EXTERNAL,
    ALTER COLUMN schedule_type SET STORAGE EXTERNAL,
    ALTER COLUMN day SET STORAGE EXTERNAL,
    ALTER COLUMN weekdays SET STORAGE EXTERNAL,
    ALTER COLUMN months SET STORAGE EXTERNAL,
    ALTER COLUMN dates SET STORAGE EXTERNAL,
    ALTER COLUMN description SET STORAGE EXTERNAL,
    ADD CONSTRAINT billing_batch_file_customer_id_cells CHECK (customer_id IS NULL
        OR strpos(customer_id, separator) = 0 OR octet_length(customer_id)
        - octet_length(replace(customer_id, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_billing_number_cells CHECK (billing_number IS NULL
        OR strpos(billing_number, separator) = 0 OR octet_length(billing_number)
        - octet_length(replace(billing_number, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_invoice_number_cells CHECK (invoice_number IS NULL
        OR strpos(invoice_number, separator) = 0 OR octet_length(invoice_number)
        - octet_length(replace(invoice_number, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_amount_cells CHECK (amount IS NULL
        OR strpos(amount, separator) = 0 OR octet_length(amount)
        - octet_length(replace(amount, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_type_cells CHECK (type IS NULL
        OR strpos(type, separator) = 0 OR octet_length(type)
        - octet_length(replace(type, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_execute_date_cells CHECK (execute_date IS NULL
        OR strpos(execute_date, separator) = 0 OR octet_length(execute_date)
        - octet_length(replace(execute_date, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_schedule_type_cells CHECK (schedule_type IS NULL
        OR strpos(schedule_type, separator) = 0 OR octet_length(schedule_type)
        - octet_length(replace(schedule_type, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_day_cells CHECK (day IS NULL
        OR strpos(day, separator) = 0 OR octet_length(day)
        - octet_length(replace(day, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_weekdays_cells CHECK (weekdays IS NULL
        OR strpos(weekdays, separator) = 0 OR octet_length(weekdays)
        - octet_length(replace(weekdays, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_months_cells CHECK (months IS NULL
        OR strpos(months, separator) = 0 OR octet_length(months)
        - octet_length(replace(months, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_dates_cells CHECK (dates IS NULL
        OR strpos(dates, separator) = 0 OR octet_length(dates)
        - octet_length(replace(dates, separator, '')) = (cardinality(lines) - 1) * octet_length(separator)),
    ADD CONSTRAINT billing_batch_file_description_cells CHECK (description IS NULL
        OR strpos(description, separator) = 0 OR octet_length(description)
        - octet_length(replace(description, separator, '')) = (cardinality(lines) - 1) * octet_length(separator));
"""


async def forwards():
    return sql_migration(ID, "billing", DESCRIPTION, SQL)

from portal.db.sql_migration import sql_migration

ID = "2026-11-30T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts: an upload keeps a batch's cells and results as one text per column"

SQL = r"""
-- An upload writes each column of the file's cells and of the rules' results as ONE text (`packed_…`):
-- a column of one value is that value, any other its cells joined by a character none of them holds
-- (`separator` for the cells, `results_separator` for the results). The arrays stay NULL until a change
-- to rows (a fix, a deletion, the bank's names, the payouts on submission) sets that column: the change
-- writes the whole column as an array and clears its text. A column never set since the upload (the
-- names, the payouts, `deleted`) reads as its starting value on every row. Splitting the texts into
-- arrays on the upload's write measured a third of the upload. Records kept before stay arrays; both
-- shapes read the same through the view `payout_batch_row`.
ALTER TABLE payout_batch_file
    ADD COLUMN lines integer,
    ADD COLUMN separator text CHECK (separator <> ''),
    ADD COLUMN results_separator text CHECK (results_separator <> ''),
    ADD COLUMN packed_row_no text,
    ADD COLUMN packed_reference text,
    ADD COLUMN packed_amount text,
    ADD COLUMN packed_code text,
    ADD COLUMN packed_account_number text,
    ADD COLUMN packed_holder_name text,
    ADD COLUMN packed_description text,
    ADD COLUMN packed_email text,
    ADD COLUMN packed_rail text,
    ADD COLUMN packed_fee text,
    ADD COLUMN packed_errors text;

UPDATE payout_batch_file SET lines = cardinality(row_no);

DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'payout_batch_file'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%cardinality(%'
    LOOP
        EXECUTE format('ALTER TABLE payout_batch_file DROP CONSTRAINT %I', name);
    END LOOP;
END
$$;

ALTER TABLE payout_batch_file
    ALTER COLUMN lines SET NOT NULL,
    ALTER COLUMN row_no DROP NOT NULL, ALTER COLUMN reference DROP NOT NULL,
    ALTER COLUMN amount DROP NOT NULL, ALTER COLUMN code DROP NOT NULL,
    ALTER COLUMN account_number DROP NOT NULL, ALTER COLUMN holder_name DROP NOT NULL,
    ALTER COLUMN description DROP NOT NULL, ALTER COLUMN email DROP NOT NULL,
    ALTER COLUMN rail DROP NOT NULL, ALTER COLUMN fee DROP NOT NULL, ALTER COLUMN errors DROP NOT NULL,
    ALTER COLUMN deleted DROP NOT NULL, ALTER COLUMN payout_id DROP NOT NULL,
    ALTER COLUMN name_status DROP NOT NULL, ALTER COLUMN bank_holder_name DROP NOT NULL,
    ALTER COLUMN name_accepted_by DROP NOT NULL, ALTER COLUMN name_accepted_by_name DROP NOT NULL,
    ALTER COLUMN name_accepted_at DROP NOT NULL,
    ADD CHECK (lines BETWEEN 1 AND 10000),
    ADD CHECK (row_no IS NULL OR 2 <= ALL (row_no)),
    -- an array holds one element per line
    ADD CHECK ((row_no IS NULL OR cardinality(row_no) = lines)
        AND (reference IS NULL OR cardinality(reference) = lines)
        AND (amount IS NULL OR cardinality(amount) = lines) AND (code IS NULL OR cardinality(code) = lines)
        AND (account_number IS NULL OR cardinality(account_number) = lines)
        AND (holder_name IS NULL OR cardinality(holder_name) = lines)
        AND (description IS NULL OR cardinality(description) = lines)
        AND (email IS NULL OR cardinality(email) = lines) AND (rail IS NULL OR cardinality(rail) = lines)
        AND (fee IS NULL OR cardinality(fee) = lines) AND (errors IS NULL OR cardinality(errors) = lines)
        AND (deleted IS NULL OR cardinality(deleted) = lines)
        AND (payout_id IS NULL OR cardinality(payout_id) = lines)
        AND (name_status IS NULL OR cardinality(name_status) = lines)
        AND (bank_holder_name IS NULL OR cardinality(bank_holder_name) = lines)
        AND (name_accepted_by IS NULL OR cardinality(name_accepted_by) = lines)
        AND (name_accepted_by_name IS NULL OR cardinality(name_accepted_by_name) = lines)
        AND (name_accepted_at IS NULL OR cardinality(name_accepted_at) = lines)),
    -- the file's cells are kept, as an array or as a text
    ADD CHECK ((row_no IS NOT NULL OR packed_row_no IS NOT NULL)
        AND (reference IS NOT NULL OR packed_reference IS NOT NULL)
        AND (amount IS NOT NULL OR packed_amount IS NOT NULL) AND (code IS NOT NULL OR packed_code IS NOT NULL)
        AND (account_number IS NOT NULL OR packed_account_number IS NOT NULL)
        AND (holder_name IS NOT NULL OR packed_holder_name IS NOT NULL)
        AND (description IS NOT NULL OR packed_description IS NOT NULL)
        AND (email IS NOT NULL OR packed_email IS NOT NULL));

ALTER TABLE payout_batch_file ALTER COLUMN packed_row_no SET STORAGE EXTERNAL,
    ALTER COLUMN packed_reference SET STORAGE EXTERNAL, ALTER COLUMN packed_amount SET STORAGE EXTERNAL,
    ALTER COLUMN packed_code SET STORAGE EXTERNAL, ALTER COLUMN packed_account_number SET STORAGE EXTERNAL,
    ALTER COLUMN packed_holder_name SET STORAGE EXTERNAL, ALTER COLUMN packed_description SET STORAGE EXTERNAL,
    ALTER COLUMN packed_email SET STORAGE EXTERNAL, ALTER COLUMN packed_rail SET STORAGE EXTERNAL,
    ALTER COLUMN packed_fee SET STORAGE EXTERNAL, ALTER COLUMN packed_errors SET STORAGE EXTERNAL;

-- A packed column as an array of `lines` elements: split by the separator, or its one value repeated
-- (NULL stays NULL).
CREATE FUNCTION packed_cells(packed text, separator text, lines integer) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN packed IS NULL THEN NULL::text[]
        WHEN separator IS NOT NULL AND strpos(packed, separator) > 0 THEN string_to_array(packed, separator)
        ELSE array_fill(packed, ARRAY[lines]) END
$$;

-- One row per line of a batch's record, whichever shape each column is kept in (as `batches._CURRENT`).
CREATE OR REPLACE VIEW payout_batch_row AS
SELECT f.business_id, f.batch_id, r.row_no, r.reference, r.amount, r.code, r.account_number, r.holder_name,
    r.description, r.email, r.rail, r.fee, r.errors::jsonb AS errors, r.deleted, r.payout_id, r.name_status,
    r.bank_holder_name, r.name_accepted_by, r.name_accepted_by_name, r.name_accepted_at
FROM payout_batch_file f
CROSS JOIN LATERAL unnest(
    coalesce(f.row_no, packed_cells(f.packed_row_no, f.separator, f.lines)::integer[]),
    coalesce(f.reference, packed_cells(f.packed_reference, f.separator, f.lines)),
    coalesce(f.amount, packed_cells(f.packed_amount, f.separator, f.lines)),
    coalesce(f.code, packed_cells(f.packed_code, f.separator, f.lines)),
    coalesce(f.account_number, packed_cells(f.packed_account_number, f.separator, f.lines)),
    coalesce(f.holder_name, packed_cells(f.packed_holder_name, f.separator, f.lines)),
    coalesce(f.description, packed_cells(f.packed_description, f.separator, f.lines)),
    coalesce(f.email, packed_cells(f.packed_email, f.separator, f.lines)),
    coalesce(f.rail, array_replace(packed_cells(f.packed_rail, f.results_separator, f.lines), '', NULL)),
    coalesce(f.fee, array_replace(packed_cells(f.packed_fee, f.results_separator, f.lines), '', NULL)::bigint[]),
    coalesce(f.errors, packed_cells(f.packed_errors, f.results_separator, f.lines)),
    coalesce(f.deleted, array_fill(false, ARRAY[f.lines])),
    coalesce(f.payout_id, array_fill(NULL::text, ARRAY[f.lines])),
    coalesce(f.name_status, array_fill('pending'::text, ARRAY[f.lines])),
    coalesce(f.bank_holder_name, array_fill(NULL::text, ARRAY[f.lines])),
    coalesce(f.name_accepted_by, array_fill(NULL::text, ARRAY[f.lines])),
    coalesce(f.name_accepted_by_name, array_fill(NULL::text, ARRAY[f.lines])),
    coalesce(f.name_accepted_at, array_fill(NULL::timestamptz, ARRAY[f.lines])))
    AS r(row_no, reference, amount, code, account_number, holder_name, description, email, rail, fee, errors,
        deleted, payout_id, name_status, bank_holder_name, name_accepted_by, name_accepted_by_name,
        name_accepted_at);
"""


async def forwards():
    return sql_migration(ID, "payouts", DESCRIPTION, SQL)

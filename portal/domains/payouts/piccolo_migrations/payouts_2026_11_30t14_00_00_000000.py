from portal.db.sql_migration import sql_migration

ID = "2026-11-30T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts: a batch's rows kept as one record of arrays (payout_batch_row becomes its view)"

SQL = r"""
-- A batch's rows as ONE record: an array per column, one element per row in file order (row_no
-- ascending). An upload writes one record instead of one row per line; a change to rows (a fix, a
-- deletion, the bank's names, the payouts on submission) sets their elements in one statement
-- (`array_assign`). The rows are read through the view `payout_batch_row`, one row per element.
CREATE TABLE payout_batch_file (
    business_id text NOT NULL,
    batch_id text NOT NULL,
    row_no integer[] NOT NULL,
    reference text[] NOT NULL,
    amount text[] NOT NULL,
    code text[] NOT NULL,
    account_number text[] NOT NULL,
    holder_name text[] NOT NULL,
    description text[] NOT NULL,
    email text[] NOT NULL,
    rail text[] NOT NULL,
    fee bigint[] NOT NULL,
    -- [{"column", "message", "params"}] per row, as JSON text
    errors text[] NOT NULL,
    deleted boolean[] NOT NULL,
    payout_id text[] NOT NULL,
    -- pending → matched | mismatch | not_found | closed | unavailable; null for rows uploaded before the
    -- check existed
    name_status text[] NOT NULL,
    bank_holder_name text[] NOT NULL,
    name_accepted_by text[] NOT NULL,
    name_accepted_by_name text[] NOT NULL,
    name_accepted_at timestamptz[] NOT NULL,
    PRIMARY KEY (business_id, batch_id),
    CHECK (cardinality(row_no) BETWEEN 1 AND 10000 AND 2 <= ALL (row_no)),
    CHECK (cardinality(reference) = cardinality(row_no) AND cardinality(amount) = cardinality(row_no)
        AND cardinality(code) = cardinality(row_no) AND cardinality(account_number) = cardinality(row_no)
        AND cardinality(holder_name) = cardinality(row_no) AND cardinality(description) = cardinality(row_no)
        AND cardinality(email) = cardinality(row_no) AND cardinality(rail) = cardinality(row_no)
        AND cardinality(fee) = cardinality(row_no) AND cardinality(errors) = cardinality(row_no)
        AND cardinality(deleted) = cardinality(row_no) AND cardinality(payout_id) = cardinality(row_no)
        AND cardinality(name_status) = cardinality(row_no)
        AND cardinality(bank_holder_name) = cardinality(row_no)
        AND cardinality(name_accepted_by) = cardinality(row_no)
        AND cardinality(name_accepted_by_name) = cardinality(row_no)
        AND cardinality(name_accepted_at) = cardinality(row_no)),
    CHECK (array_remove(name_status, NULL)
        <@ ARRAY['pending', 'matched', 'mismatch', 'not_found', 'closed', 'unavailable'])
);

INSERT INTO payout_batch_file
SELECT business_id, batch_id, array_agg(row_no ORDER BY row_no), array_agg(reference ORDER BY row_no),
    array_agg(amount ORDER BY row_no), array_agg(code ORDER BY row_no),
    array_agg(account_number ORDER BY row_no), array_agg(holder_name ORDER BY row_no),
    array_agg(description ORDER BY row_no), array_agg(email ORDER BY row_no), array_agg(rail ORDER BY row_no),
    array_agg(fee ORDER BY row_no), array_agg(errors::text ORDER BY row_no), array_agg(deleted ORDER BY row_no),
    array_agg(payout_id ORDER BY row_no), array_agg(name_status ORDER BY row_no),
    array_agg(bank_holder_name ORDER BY row_no), array_agg(name_accepted_by ORDER BY row_no),
    array_agg(name_accepted_by_name ORDER BY row_no), array_agg(name_accepted_at ORDER BY row_no)
FROM payout_batch_row GROUP BY business_id, batch_id;

DROP TABLE payout_batch_row;

-- One row per element of a batch's record, as the rows table had them.
CREATE VIEW payout_batch_row AS
SELECT f.business_id, f.batch_id, r.row_no, r.reference, r.amount, r.code, r.account_number, r.holder_name,
    r.description, r.email, r.rail, r.fee, r.errors::jsonb AS errors, r.deleted, r.payout_id, r.name_status,
    r.bank_holder_name, r.name_accepted_by, r.name_accepted_by_name, r.name_accepted_at
FROM payout_batch_file f
CROSS JOIN LATERAL unnest(f.row_no, f.reference, f.amount, f.code, f.account_number, f.holder_name,
    f.description, f.email, f.rail, f.fee, f.errors, f.deleted, f.payout_id, f.name_status, f.bank_holder_name,
    f.name_accepted_by, f.name_accepted_by_name, f.name_accepted_at)
    AS r(row_no, reference, amount, code, account_number, holder_name, description, email, rail, fee, errors,
        deleted, payout_id, name_status, bank_holder_name, name_accepted_by, name_accepted_by_name,
        name_accepted_at);

-- Stored uncompressed: compressing 10,000 rows' arrays (pglz) measured half of an upload's write.
ALTER TABLE payout_batch_file ALTER COLUMN row_no SET STORAGE EXTERNAL,
    ALTER COLUMN reference SET STORAGE EXTERNAL, ALTER COLUMN amount SET STORAGE EXTERNAL,
    ALTER COLUMN code SET STORAGE EXTERNAL, ALTER COLUMN account_number SET STORAGE EXTERNAL,
    ALTER COLUMN holder_name SET STORAGE EXTERNAL, ALTER COLUMN description SET STORAGE EXTERNAL,
    ALTER COLUMN email SET STORAGE EXTERNAL, ALTER COLUMN rail SET STORAGE EXTERNAL,
    ALTER COLUMN fee SET STORAGE EXTERNAL, ALTER COLUMN errors SET STORAGE EXTERNAL,
    ALTER COLUMN deleted SET STORAGE EXTERNAL, ALTER COLUMN payout_id SET STORAGE EXTERNAL,
    ALTER COLUMN name_status SET STORAGE EXTERNAL, ALTER COLUMN bank_holder_name SET STORAGE EXTERNAL,
    ALTER COLUMN name_accepted_by SET STORAGE EXTERNAL, ALTER COLUMN name_accepted_by_name SET STORAGE EXTERNAL,
    ALTER COLUMN name_accepted_at SET STORAGE EXTERNAL;

-- `target` with `target[positions[k]] := vals[k]` for each k (positions distinct), rebuilt in one pass: a
-- hash join of the positions on the elements' ordinals (setting elements one by one costs a walk from the
-- array's start per element of a text array, quadratic over 10,000 rows).
CREATE FUNCTION array_assign(target anyarray, positions integer[], vals anyarray) RETURNS anyarray
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(CASE WHEN u.p IS NULL THEN t.e ELSE u.v END ORDER BY t.n)
    FROM unnest(target) WITH ORDINALITY AS t(e, n)
    LEFT JOIN unnest(positions, vals) AS u(p, v) ON u.p = t.n
$$;
"""


async def forwards():
    return sql_migration(ID, "payouts", DESCRIPTION, SQL)

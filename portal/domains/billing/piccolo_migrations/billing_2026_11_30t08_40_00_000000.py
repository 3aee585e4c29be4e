from portal.db.sql_migration import sql_migration

ID = "2026-11-30T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "card billing: a batch file's rows kept column by column in one record per file"

SQL = r"""
-- An uploaded file's rows as read, column by column: element i of every array is the row numbered
-- lines[i] (a card number typed into a cell is blanked, never kept; a column the file's kind lacks is
-- NULL), and the reasons of its invalid rows only, by line. One record per file: writing 100,000 rows
-- checks the key and the reference to the batch once, and the rows cannot outlive their file nor be
-- mixed with another's (they are its record's elements).
CREATE TABLE billing_batch_file (
    business_id text NOT NULL,
    batch_id text NOT NULL,
    lines integer[] NOT NULL,
    customer_id text[],
    billing_number text[],
    invoice_number text[],
    amount text[],
    type text[],
    execute_date text[],
    schedule_type text[],
    day text[],
    weekdays text[],
    months text[],
    dates text[],
    description text[],
    errors jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(errors) = 'object'),
    PRIMARY KEY (business_id, batch_id),
    FOREIGN KEY (business_id, batch_id) REFERENCES billing_batch (business_id, id) ON DELETE CASCADE,
    -- Every column holds one cell per line.
    CHECK (array_ndims(lines) IS NULL OR array_ndims(lines) = 1),
    CHECK (coalesce(cardinality(customer_id), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(billing_number), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(invoice_number), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(amount), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(type), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(execute_date), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(schedule_type), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(day), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(weekdays), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(months), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(dates), cardinality(lines)) = cardinality(lines)),
    CHECK (coalesce(cardinality(description), cardinality(lines)) = cardinality(lines))
);

-- Arrays stored as they are (out of line, not compressed): compressing a 100,000-row file's columns
-- took a sixth of its upload; a file is at most 5 MB, its record a few times that at most.
ALTER TABLE billing_batch_file
    ALTER COLUMN lines SET STORAGE EXTERNAL,
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
    ALTER COLUMN description SET STORAGE EXTERNAL;

-- The files already uploaded, row for row (a column the kind lacks stays NULL).
INSERT INTO billing_batch_file (business_id, batch_id, lines, customer_id, billing_number, invoice_number,
    amount, type, execute_date, schedule_type, day, weekdays, months, dates, description, errors)
SELECT r.business_id, r.batch_id, array_agg(r.line ORDER BY r.line),
    CASE WHEN b.kind = 'registration' THEN array_agg(r.data ->> 'customer_id' ORDER BY r.line) END,
    array_agg(r.data ->> 'billing_number' ORDER BY r.line),
    CASE WHEN b.kind = 'transaction' THEN array_agg(r.data ->> 'invoice_number' ORDER BY r.line) END,
    array_agg(r.data ->> 'amount' ORDER BY r.line),
    CASE WHEN b.kind = 'registration' THEN array_agg(r.data ->> 'type' ORDER BY r.line) END,
    CASE WHEN b.kind = 'transaction' THEN array_agg(r.data ->> 'execute_date' ORDER BY r.line) END,
    CASE WHEN b.kind = 'registration' THEN array_agg(r.data ->> 'schedule_type' ORDER BY r.line) END,
    CASE WHEN b.kind = 'registration' THEN array_agg(r.data ->> 'day' ORDER BY r.line) END,
    CASE WHEN b.kind = 'registration' THEN array_agg(r.data ->> 'weekdays' ORDER BY r.line) END,
    CASE WHEN b.kind = 'registration' THEN array_agg(r.data ->> 'months' ORDER BY r.line) END,
    CASE WHEN b.kind = 'registration' THEN array_agg(r.data ->> 'dates' ORDER BY r.line) END,
    array_agg(r.data ->> 'description' ORDER BY r.line),
    coalesce(jsonb_object_agg(r.line::text, r.errors) FILTER (WHERE r.errors <> '[]'::jsonb), '{}'::jsonb)
FROM billing_batch_row r
JOIN billing_batch b ON b.business_id = r.business_id AND b.id = r.batch_id
GROUP BY r.business_id, r.batch_id, b.kind;

-- A file whose rows were all blank had no row: it gets its empty record.
INSERT INTO billing_batch_file (business_id, batch_id, lines)
SELECT b.business_id, b.id, '{}'::integer[] FROM billing_batch b
WHERE NOT EXISTS (
    SELECT 1 FROM billing_batch_file f WHERE f.business_id = b.business_id AND f.batch_id = b.id
);

DROP TABLE billing_batch_row;
"""


async def forwards():
    return sql_migration(ID, "billing", DESCRIPTION, SQL)

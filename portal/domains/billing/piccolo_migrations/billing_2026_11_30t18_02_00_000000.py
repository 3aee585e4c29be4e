from portal.db.sql_migration import sql_migration

ID = "2026-11-30T18:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "card billing: a billing remembers its Registration file; a scheduled single payment can be cancelled"

SQL = r"""
-- A billing created by processing a Registration file remembers that file; the billing run copies it
-- into the charges it claims, so All Report finds them by Batch Type Registration and CSV File Name.
ALTER TABLE billing ADD COLUMN batch_id text;
ALTER TABLE billing ADD CONSTRAINT billing_batch_fk
    FOREIGN KEY (business_id, batch_id) REFERENCES billing_batch (business_id, id);
CREATE INDEX billing_batch_idx ON billing (business_id, batch_id) WHERE batch_id IS NOT NULL;

-- A single payment not yet run can be cancelled (Delete execute date by its Invoice Number): kept,
-- never charged.
ALTER TABLE billing_charge DROP CONSTRAINT billing_charge_status_check;
ALTER TABLE billing_charge ADD CONSTRAINT billing_charge_status_check CHECK (status IN
    ('pending', 'charging', 'retry', 'paid', 'failed', 'reminded', 'voided', 'refunded',
     'partially_refunded', 'cancelled'));
"""


async def forwards():
    return sql_migration(ID, "billing", DESCRIPTION, SQL)

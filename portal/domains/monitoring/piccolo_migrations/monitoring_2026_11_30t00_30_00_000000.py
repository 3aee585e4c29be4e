from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "monitoring: payouts join the outgoing money the rules count, once the payout table exists"

SQL = r"""
DO $$
BEGIN
    IF to_regclass('public.payout') IS NOT NULL THEN
        CREATE OR REPLACE VIEW monitoring_outgoing AS
            SELECT t.business_id, t.debit_account_id AS account_id, NULL::text AS beneficiary_id, t.amount,
                   t.currency, t.created_at, t.id AS object_id, 'transfer'::text AS object_kind
            FROM transfer t WHERE t.kind = 'transfer'
            UNION ALL
            SELECT w.business_id, w.account_id, NULL::text, w.amount, w.currency, w.created_at, w.id, 'withdrawal'
            FROM withdrawal w WHERE w.status <> 'failed'
            UNION ALL
            -- A withdrawal sent as a payout is counted once, as the withdrawal.
            SELECT p.business_id, p.account_id, p.beneficiary_id, p.amount, p.currency::varchar(3), p.created_at,
                   p.id, 'payout'
            FROM payout p WHERE p.kind = 'payout' AND p.status NOT IN ('failed', 'rejected', 'cancelled');
        CREATE INDEX IF NOT EXISTS monitoring_payout_account ON payout (business_id, account_id, created_at)
            WHERE kind = 'payout';
        CREATE INDEX IF NOT EXISTS monitoring_payout_beneficiary ON payout (business_id, beneficiary_id, created_at)
            WHERE kind = 'payout';
    END IF;
END $$;
"""


async def forwards():
    return sql_migration(ID, "monitoring", DESCRIPTION, SQL)

"""Platform tables."""

from piccolo.columns import JSONB, Timestamptz, Varchar
from piccolo.table import Table


class SystemSetting(Table, tablename="system_setting"):
    """Process-wide key/value settings (for example, which demo data set was loaded)."""

    key = Varchar(length=100, primary_key=True)
    value = JSONB()
    updated_at = Timestamptz()

"""Database: engine configuration, embedded PostgreSQL and migrations."""

import os

# Piccolo finds its configuration through this variable; set it before any Table is used.
os.environ.setdefault("PICCOLO_CONF", "portal.db.piccolo_conf")

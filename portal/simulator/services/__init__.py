"""The simulator's rules; `api.py`, `control.py` and `pages.py` only parse, call these and answer."""

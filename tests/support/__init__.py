"""Test helpers shared by every layer (database, live server, browser, SMTP sink)."""

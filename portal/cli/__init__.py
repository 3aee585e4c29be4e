"""The `neraca` command line."""

"""The Litestar application: create_app(), middleware, error renderers."""

"""The sandbox payment provider: a service of its own (own app, own database) that behaves like a PJP.

It never imports `portal.domains`: Neraca talks to it only over HTTP, as it would to a real provider.
"""

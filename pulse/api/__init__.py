"""HTTP API: routers, schemas and middleware only; behaviour lives elsewhere.

The application factory is ``pulse.api.app.create_app``.
"""

"""The recognition server: HTTP and WebSocket API over loaded recognisers, and its web page.

:func:`speechtl.serve.app.create_app` builds the ASGI application (Starlette);
``speechtl serve`` runs it on uvicorn. Layer: above ``workflows``, below ``cli``.
"""

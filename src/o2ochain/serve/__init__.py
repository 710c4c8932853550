"""``o2ochain serve``: the gateway partners and consumers talk to.

:class:`Gateway` holds what is served (the consumer page, its config, the event and content
stores, Merkle proofs, the relay) and :func:`create_app` puts it on HTTP as an ASGI application
(Starlette); ``o2ochain serve`` runs it on uvicorn, and :class:`BackgroundServer` in a thread
beside other work (the demo, tests, benchmarks).
"""

from __future__ import annotations

from o2ochain.serve._gateway import Gateway, create_app, default_dist, page_url
from o2ochain.serve._runner import BackgroundServer

__all__ = ["BackgroundServer", "Gateway", "create_app", "default_dist", "page_url"]

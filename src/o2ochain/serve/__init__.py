"""``o2ochain serve``: the gateway partners and consumers talk to.

:class:`Gateway` holds what is served (the consumer page, its config, the event and content
stores, Merkle proofs, the relay) and :func:`create_app` puts it on HTTP as an ASGI application
(Starlette); ``o2ochain serve`` runs it on uvicorn, and :class:`BackgroundServer` in a thread
beside other work (the demo, tests, benchmarks).

Its :class:`EpcisService` is the EPCIS 2.0 REST interface (GS1's binding, under ``/epcis``):
partners' systems post documents to ``/epcis/capture`` with an API token bound to one actor and
one brand (:func:`load_tokens`), the events are anchored on chain in batches, and
``/epcis/events`` answers the standard's queries with each event's chain anchor.

Its :class:`Resolver` answers GS1 Digital Links (``/01/…``, ``/.well-known/gs1resolver``) as a
GS1-Conformant resolver whose answers come from the chain: a redirect to the page, or a linkset.

It also holds the EPCIS repository's event index (:class:`EventRepository`): captured events
with their chain anchors and capture jobs, in SQLite by default or PostgreSQL when
``DATABASE_URL`` says so (:func:`repository_url`), with its schema in Alembic migrations shipped
in this package and applied on open, and queried with EPCIS 2.0's standard query parameters and
discovery lists, page by page::

    with EventRepository.open(repository_url("store/events.sqlite")) as repository:
        job = repository.start_job()
        repository.add_events([NewEvent(event_id, event)], job_id=job)
        repository.set_anchors({event_id: Anchor("anchored", transaction=tx, block=n, content_hash=h)})
        repository.finish_job(job, "success")
        page = repository.query({"EQ_bizStep": "shipping", "MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"})
        more = repository.query({..., "nextPageToken": page.next_page_token}) if page.next_page_token else None
"""

from __future__ import annotations

from o2ochain.serve._epcis import ApiToken, EpcisService, load_tokens, token_digest
from o2ochain.serve._gateway import Gateway, create_app, default_dist, page_url
from o2ochain.serve._repository import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    QUERY_PARAMETERS,
    Anchor,
    AnchorStatus,
    CaptureJob,
    DiscoveryList,
    ErrorBehaviour,
    EventPage,
    EventRepository,
    JobStatus,
    NewEvent,
    StoredEvent,
    ValuePage,
    repository_url,
)
from o2ochain.serve._resolver import Resolver
from o2ochain.serve._runner import BackgroundServer

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "QUERY_PARAMETERS",
    "Anchor",
    "AnchorStatus",
    "ApiToken",
    "BackgroundServer",
    "CaptureJob",
    "DiscoveryList",
    "EpcisService",
    "ErrorBehaviour",
    "EventPage",
    "EventRepository",
    "Gateway",
    "JobStatus",
    "NewEvent",
    "Resolver",
    "StoredEvent",
    "ValuePage",
    "create_app",
    "default_dist",
    "load_tokens",
    "page_url",
    "repository_url",
    "token_digest",
]

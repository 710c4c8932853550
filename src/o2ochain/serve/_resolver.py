"""The gateway's GS1 Digital Link resolver: what a phone that scans a pack, or a partner's system
that holds a Digital Link, gets when it follows it to this server.

A QR code on a pack carries a GS1 Digital Link (``https://…/01/{gtin}/21/{serial}``); pointed at
this gateway, the link resolves as the GS1-Conformant Resolver standard (1.2) and GS1 Digital
Link URI Syntax say, with answers read from the chain rather than from a table someone keeps:

- ``GET /01/{gtin}/21/{serial}`` (an item), ``/01/{gtin}/10/{lot}`` (a lot),
  ``/01/{gtin}/10/{lot}/21/{serial}`` and ``/01/{gtin}`` (a product class). The path is read by
  :func:`o2ochain.gs1.parse_digital_link`: GTIN-8/12/13/14 with its check digit, the key
  qualifiers in GS1's order (22, 10, 21), values percent-encoded, data attributes (``?17=…``) in
  the query string. A path that is not a valid Digital Link is a 400 naming what is wrong.
- Whether the thing exists is the chain's answer: a registered item, or one of a Merkle lot the
  gateway holds proofs of (``Gateway.proof``, checked by ``verifyMerkle``); a lot with a record
  in the registry or a committed Merkle root; a product class registered to a brand. Anything
  else is a 404 with a linkset-shaped body that says so.
- A browser (``Accept: text/html``, or nothing asked) is redirected (307) to the consumer page
  opening the item (the default link), with every link of the linkset in the ``Link`` header
  (RFC 8288) and the request's query string passed on to the page.
- ``Accept: application/linkset+json`` (or ``application/json``, ``application/ld+json``) or
  ``?linkType=linkset`` (``all``, its older name) answers the linkset (RFC 9264) of the entity:
  ``gs1:pip`` and ``gs1:defaultLink`` (the page), ``gs1:traceability`` (the EPCIS 2.0 query of
  its events in this gateway's repository, ``/epcis/events``), ``gs1:epcis`` (the repository),
  ``gs1:recallStatus`` (whose title says whether it is recalled), ``gs1:review`` (the page's
  reviews) and ``gs1:certificationInfo`` for each certification URI that an event on its chains
  names (only where there is one).
- ``?linkType=gs1:traceability`` (or the full ``https://gs1.org/voc/traceability``) redirects to
  that link; a link type the entity has not is a 404 whose linkset lists those it has.
- ``GET /.well-known/gs1resolver``: the resolver description file.

Every answer allows any origin (CORS) and ``OPTIONS`` is answered, as the standard requires. A
node that does not answer is a 503 with ``Retry-After``, never a stack trace. What the chain says
of one entity is kept :data:`CACHE_SECONDS` at most, so a burst of scans of one pack costs one
round of reads.

Where this resolver departs from the standard, on purpose: the query string is passed on to
the page, not to the EPCIS query (the EPCIS REST binding refuses parameters it does not know,
so a forwarded ``linkType`` would turn the answer into an error); the consumer page opens items
only, so the page links of a lot or a product class open it on that Digital Link, where it
says so; AI 22 (consumer product variant) is refused (400: an o2ochain item is GTIN + serial);
primary keys other than 01, the 1.1 convenience alphas (``/gtin/…``) and compressed Digital Links
are not resolved here. The reviews link is ``gs1:review``, the vocabulary's name for it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from o2ochain import epcis, gs1
from o2ochain._chain.tx import call_view
from o2ochain.errors import ChainError, ConfigError, ContractRevert, InputError
from o2ochain.identity import PROOFS_FORMAT, ItemStatus, MerkleItem, Verification

if TYPE_CHECKING:
    from o2ochain.client import O2OChain
    from o2ochain.serve._gateway import Gateway

#: The GS1 Web Vocabulary's namespace, as link relation types are written in a linkset.
GS1_VOC: Final = "https://gs1.org/voc/"
#: The JSON-LD context that makes a GS1 linkset JSON-LD (the resolver standard's artefact).
LINKSET_CONTEXT: Final = "https://ref.gs1.org/standards/resolver/linkset-context"
#: How long (s) what the chain says of one entity is reused: a few scans of one pack, one read.
CACHE_SECONDS: Final = 2.0
#: What a client is told to wait (s) when the node does not answer.
RETRY_AFTER: Final = 5
#: The spellings of the GS1 vocabulary a ``linkType`` may use (the namespace moved over the years).
_VOC_SPELLINGS: Final = (
    *(f"{scheme}://{host}/voc/" for scheme in ("https", "http") for host in ("gs1.org", "www.gs1.org", "ref.gs1.org")),
    "gs1:",
)
#: ``linkType`` values that ask for the whole linkset (``all`` is 1.x's older name for it).
_WHOLE: Final = frozenset({"linkset", "all"})
_JSON_TYPES: Final = ("application/linkset+json", "application/ld+json", "application/json")
_HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
_CACHE_LIMIT: Final = 4096
_CORS: Final = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, OPTIONS",
    "access-control-allow-headers": "Accept, Accept-Language",
    "access-control-expose-headers": "Link, Location",
    "vary": "Accept",
}
#: EPC URN characters the Tag Data Standard escapes in a serial or lot (all else of GS1's set 82 stays).
_URN_ESCAPES: Final = {ord(c): f"%{ord(c):02X}" for c in '"%&/<>?'}

Kind = Literal["item", "lot", "class"]


@dataclass(frozen=True)
class Link:
    """One link of a linkset: its GS1 link type (short name), target and what a reader is shown."""

    rel: str
    href: str
    title: str
    type: str | None = None
    hreflang: tuple[str, ...] = ()
    #: Whether a redirect to it carries the request's query string on (see the module docstring).
    forwards_query: bool = False

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"href": self.href, "title": self.title}
        if self.type:
            shown["type"] = self.type
        if self.hreflang:
            shown["hreflang"] = list(self.hreflang)
        return shown

    def header(self) -> str:
        """The link as an RFC 8288 ``link-value`` (titles are plain ASCII: see :func:`_quoted`)."""
        parts = [f"<{self.href}>", f'rel="{GS1_VOC}{self.rel}"', f"title={_quoted(self.title)}"]
        if self.type:
            parts.append(f'type="{self.type}"')
        parts.extend(f'hreflang="{language}"' for language in self.hreflang)
        return "; ".join(parts)


@dataclass(frozen=True)
class Facts:
    """What the chain says of one identified entity, as the resolver needs it."""

    kind: Kind
    known: bool
    #: Why an unknown entity is unknown, in words (the 404's description).
    explanation: str = ""
    #: The ``gs1:recallStatus`` title: recalled or not, and by what.
    recall: str = ""
    #: Certification URIs named by events on the entity's chains (item, lot), checked against the chain.
    certifications: tuple[str, ...] = ()
    #: How the EPCIS repository may spell the entity (Digital Link, EPC URN): the traceability query.
    epcs: tuple[str, ...] = ()


def _quoted(text: str) -> str:
    """``text`` as an HTTP quoted-string (non-ASCII replaced: a header is ASCII)."""
    ascii_text = text.encode("ascii", errors="replace").decode("ascii")
    return '"' + ascii_text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def link_type(value: str) -> str | None:
    """The short GS1 name of a ``linkType`` value (``gs1:pip``, ``https://gs1.org/voc/pip``,
    ``https://ref.gs1.org/voc/pip`` → ``pip``), ``linkset`` for the whole linkset, None when it
    names no GS1 link type."""
    text = value.strip()
    if text in _WHOLE:
        return "linkset"
    for spelling in _VOC_SPELLINGS:
        if text.startswith(spelling) and len(text) > len(spelling):
            return text[len(spelling) :]
    return None


def preferred_json(accept: str) -> str | None:
    """The JSON media type (linkset, JSON-LD or plain JSON) ``accept`` prefers to HTML, or None.

    A browser's ``Accept`` ranks HTML first and gets the redirect; a client that asks for JSON
    at a quality above HTML's (or equal and listed first) gets the linkset. ``*/*`` asks for
    nothing in particular: the default link, as for no header at all.
    """
    best: tuple[float, int, str] | None = None
    html: tuple[float, int] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if quality <= 0:
            continue
        if media in _JSON_TYPES:
            rank = (quality, -position, media)
            if best is None or rank[:2] > best[:2] or (rank[:2] == best[:2] and _JSON_TYPES.index(media) < _JSON_TYPES.index(best[2])):
                best = rank
        elif media in _HTML_TYPES and (html is None or (quality, -position) > html):
            html = (quality, -position)
    if best is None or (html is not None and html > best[:2]):
        return None
    return best[2]


def _epc_urns(kind: Kind, link: gs1.DigitalLink, prefixes: tuple[str, ...]) -> list[str]:
    """The EPC URNs of ``link`` under each of the brand's GS1 company prefixes that the GTIN
    starts with, kept only where :func:`o2ochain.epcis.parse_identifier` reads them back to the
    same subject (an EPC URN needs the prefix's length, which the GTIN alone does not give)."""
    expected = epcis.parse_identifier(link.uri()).id
    found: list[str] = []
    for prefix in prefixes:
        if not prefix.isdigit() or not link.gtin[1:].startswith(prefix) or len(prefix) > 12:
            continue
        reference = link.gtin[0] + link.gtin[1 + len(prefix) : 13]
        if kind == "item":
            urn = f"urn:epc:id:sgtin:{prefix}.{reference}.{(link.serial or '').translate(_URN_ESCAPES)}"
        elif kind == "lot":
            urn = f"urn:epc:class:lgtin:{prefix}.{reference}.{(link.lot or '').translate(_URN_ESCAPES)}"
        else:
            urn = f"urn:epc:idpat:sgtin:{prefix}.{reference}.*"
        try:
            if epcis.parse_identifier(urn).id == expected:
                found.append(urn)
        except InputError:
            continue
    return found


def _merkle_item(record: dict[str, Any]) -> MerkleItem:
    """A :meth:`Gateway.proof` answer (shaped for the contract) as a :class:`MerkleItem`."""
    return MerkleItem(
        gtin=f"{int(record['gtin']):014d}",
        serial=gs1.from_bytes32(bytes.fromhex(record["serial"][2:])),
        lot=gs1.from_bytes32(bytes.fromhex(record["lot"][2:])),
        root=bytes.fromhex(record["root"][2:]),
        proof=tuple(bytes.fromhex(step[2:]) for step in record["proof"]),
    )


def _merkle_roots_of_lot(folder: Path | None, lot_hex: str) -> list[bytes]:
    """The Merkle roots of the proofs files in ``folder`` whose items are all of lot ``lot_hex``
    (only each file's first line, its header, is read)."""
    if folder is None or not folder.is_dir():
        return []
    roots: list[bytes] = []
    for file in sorted(folder.glob("*.proofs.jsonl")):
        try:
            with file.open(encoding="utf-8") as handle:
                header = json.loads(handle.readline())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(header, dict) and header.get("format") == PROOFS_FORMAT and str(header.get("lot_id", "")).lower() == lot_hex:
            roots.append(bytes.fromhex(str(header["root"])[2:]))
    return roots


def _item_recall(found: Verification) -> str:
    if found.status == ItemStatus.RECALLED:
        return "Recalled: the brand recalled this item"
    if found.lot_recalled:
        return f"Recalled: the brand recalled its lot {found.lot}" if found.lot else "Recalled: the brand recalled its lot"
    if found.recalled_in_trace:
        return "Recalled: a supply-chain event on its record declares it recalled"
    if found.trace_unverified:
        return "Not recalled in the registry; its supply-chain record could not be checked in full"
    if found.status == ItemStatus.DECOMMISSIONED:
        return "Not recalled (the brand decommissioned this item)"
    return "Not recalled"


@dataclass
class Resolver:
    """The resolver of one :class:`~o2ochain.serve.Gateway` (see the module's docstring);
    :meth:`routes` are what :func:`~o2ochain.serve.create_app` mounts."""

    gateway: Gateway
    _chain: O2OChain | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cache: dict[str, tuple[float, Facts]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._chain = self.gateway.chain

    # -- the chain ----------------------------------------------------------------------------
    def chain(self) -> O2OChain:
        """The gateway's client of the chain: the one it was given, or one made on first use on
        ``node_url`` (default ``rpc_url``). A node that does not answer yet is asked again next time."""
        with self._lock:
            if self._chain is None:
                from o2ochain._chain.connection import http_web3
                from o2ochain.client import O2OChain

                # Few retries: a scan waiting on a node that is away is better told 503 soon.
                w3 = http_web3(self.gateway.node_url or self.gateway.rpc_url, timeout=10.0, retries=2)
                self._chain = O2OChain(w3, deployment=self.gateway.deployment)
            return self._chain

    def facts(self, kind: Kind, link: gs1.DigitalLink) -> Facts:
        """What the chain says of the entity ``link`` names (reused for :data:`CACHE_SECONDS`)."""
        key = f"{kind}:{link.uri()}"
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now - cached[0] < CACHE_SECONDS:
                return cached[1]
        facts = self._read(kind, link)
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache = {k: v for k, v in self._cache.items() if now - v[0] < CACHE_SECONDS}
            self._cache[key] = (time.monotonic(), facts)
        return facts

    def _read(self, kind: Kind, link: gs1.DigitalLink) -> Facts:
        chain = self.chain()
        if kind == "item":
            return self._item(chain, link)
        if kind == "lot":
            return self._lot(chain, link)
        return self._class(chain, link)

    def _item(self, chain: O2OChain, link: gs1.DigitalLink) -> Facts:
        identity = chain.identity
        item = link.item_id
        proof = self.gateway.proof("0x" + item.hex())
        found: Verification | None = None
        if proof is not None:
            try:
                found = identity.verify(link, merkle=_merkle_item(proof))
            except ContractRevert:  # a proof the chain does not accept (its root not committed): no proof
                found = None
        if found is None:
            found = identity.verify(link)
        named = f"GTIN {link.gtin} serial {link.serial}"
        if not found.registered:
            return Facts(
                "item", False, f"{named} is not registered on chain {chain.chain_id}, explicitly or in a Merkle lot this gateway holds"
            )
        if link.lot is not None and found.lot_id != "0x" + gs1.lot_id(link.gtin, link.lot).hex():
            return Facts("item", False, f"{named} is registered, but not in lot {link.lot}")
        subjects = [item] + ([bytes.fromhex(found.lot_id[2:])] if found.lot_id else [])
        return Facts(
            "item",
            True,
            recall=_item_recall(found),
            certifications=self._certifications(chain, found.brand, subjects),
            epcs=self._spellings(chain, "item", link, found.brand),
        )

    def _lot(self, chain: O2OChain, link: gs1.DigitalLink) -> Facts:
        identity = chain.identity
        lot = link.lot_id
        record = call_view(identity.contract.functions.lotInfo(lot), what="reading a lot")
        known = bool(record.exists) or any(
            identity.root_committed(root) for root in _merkle_roots_of_lot(self.gateway.proofs, "0x" + lot.hex())
        )
        if not known:
            return Facts("lot", False, f"lot {link.lot} of GTIN {link.gtin} is not on chain {chain.chain_id}")
        brand = int(record.brand) or identity.brand_of_gtin(link.gtin)
        recall = f"Recalled: the brand recalled lot {link.lot}" if record.recalled else self._trace_recall(chain, brand, lot, "lot")
        return Facts(
            "lot",
            True,
            recall=recall,
            certifications=self._certifications(chain, brand, [lot]),
            epcs=self._spellings(chain, "lot", link, brand),
        )

    def _class(self, chain: O2OChain, link: gs1.DigitalLink) -> Facts:
        brand = chain.identity.brand_of_gtin(link.gtin)
        if not brand:
            return Facts("class", False, f"GTIN {link.gtin} is not registered to any brand on chain {chain.chain_id}")
        subject = gs1.keccak256(f"/01/{link.gtin}".encode())
        return Facts(
            "class",
            True,
            recall=self._trace_recall(chain, brand, subject, "product"),
            certifications=self._certifications(chain, brand, [subject]),
            epcs=self._spellings(chain, "class", link, brand),
        )

    @staticmethod
    def _traced(chain: O2OChain, brand: int) -> bool:
        return bool(brand) and "TraceLedger" in chain.deployment.contracts

    def _trace_recall(self, chain: O2OChain, brand: int, subject: bytes, what: str) -> str:
        """The recall title of a lot or product from its trace chain (a registry recall of a lot is read before)."""
        if not self._traced(chain, brand):
            return "Not recalled"
        told = chain.trace.recalled(brand, [subject])
        if told.recalled:
            return f"Recalled: a supply-chain event on its record declares the {what} recalled"
        if told.unverified:
            return "Not recalled in the registry; its supply-chain record could not be checked in full"
        if what == "product":
            return "Not recalled as a whole (a recalled lot or item shows on its own Digital Link)"
        return "Not recalled"

    def _certifications(self, chain: O2OChain, brand: int, subjects: list[bytes]) -> tuple[str, ...]:
        """Certification URIs (``certificationInfo``) of the events on ``subjects``' chains under
        ``brand``: only chains that end at the head the ledger stores, only event copies in the
        gateway's store that hash to what the chain anchored."""
        if not self._traced(chain, brand):
            return ()
        chains, checks, _ = chain.trace.checked_chains(subjects, brand)
        store = epcis.EventStore(self.gateway.events)
        found: list[str] = []
        for key, entries in chains.items():
            check = checks.get(key)
            if key[0] != brand or check is None or not check.intact:
                continue
            for entry in entries:
                if not store.verify(entry.content):
                    continue
                named = (store.get(entry.content) or {}).get("certificationInfo")
                for uri in [named] if isinstance(named, str) else named if isinstance(named, list) else []:
                    if isinstance(uri, str) and uri.startswith(("https://", "http://")):
                        found.append(uri)
        return tuple(dict.fromkeys(found))

    def _spellings(self, chain: O2OChain, kind: Kind, link: gs1.DigitalLink, brand: int) -> tuple[str, ...]:
        """The entity's Digital Link on GS1's resolver and its EPC URNs: how a captured document
        may have named it (the EPCIS repository compares identifiers as they were written)."""
        prefixes = chain.identity.brand(brand).prefixes if brand else ()
        return (link.uri(), *_epc_urns(kind, link, tuple(prefixes)))

    # -- the links -----------------------------------------------------------------------------
    def links(self, base: str, kind: Kind, link: gs1.DigitalLink, facts: Facts) -> list[Link]:
        """The linkset of a known entity, the default link's target also under its own type."""
        from o2ochain.serve._gateway import page_url

        page = page_url(base, link.uri())
        what = {"item": "this item", "lot": "this lot", "class": "this product"}[kind]
        html: dict[str, Any] = {"type": "text/html", "hreflang": ("en",), "forwards_query": True}
        pip = Link("pip", page, f"Check {what} on o2ochain: registry status, supply-chain history, prices and reviews", **html)
        match = "MATCH_epc" if kind == "item" else "MATCH_epcClass"
        query = urllib.parse.urlencode({match: "|".join(facts.epcs)})
        links = [
            pip,
            Link("defaultLink", pip.href, pip.title, **html),
            Link(
                "traceability",
                f"{base}/epcis/events?{query}",
                f"Supply-chain events of {what} (EPCIS 2.0 query), each with its chain anchor",
                "application/ld+json",
            ),
            Link("epcis", f"{base}/epcis", "EPCIS 2.0 repository whose events are anchored on chain", "application/ld+json"),
            Link("recallStatus", page, facts.recall, **html),
            Link("review", f"{page}#reviews-title", "Reviews of the product by verified buyers, recorded on chain", **html),
        ]
        links.extend(
            Link("certificationInfo", uri, "Certification named by a supply-chain event recorded on chain") for uri in facts.certifications
        )
        return links

    # -- HTTP ------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        """``/01/…`` and ``/.well-known/gs1resolver`` (GET, HEAD, OPTIONS)."""
        methods = ["GET", "HEAD", "OPTIONS"]
        return [
            Route("/.well-known/gs1resolver", _cors(self._description), methods=methods),
            Route("/01", _cors(self._resolve), methods=methods),
            Route("/01/{rest:path}", _cors(self._resolve), methods=methods),
        ]

    async def _description(self, request: Request) -> Response:
        return JSONResponse(describe(_base(request)))

    async def _resolve(self, request: Request) -> Response:
        raw_path = bytes(request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        raw_query = bytes(request.scope.get("query_string") or b"").decode("latin-1")
        try:
            asked = gs1.parse_digital_link(f"{gs1.DEFAULT_RESOLVER}{raw_path}" + (f"?{raw_query}" if raw_query else ""))
        except InputError as exc:
            body = {"error": "not a GS1 Digital Link this resolver reads", "message": str(exc), "field": exc.field, "path": raw_path}
            return JSONResponse(body, status_code=400)
        kind: Kind = "item" if asked.serial is not None else "lot" if asked.lot is not None else "class"
        link = gs1.DigitalLink(gtin=asked.gtin, serial=asked.serial, lot=asked.lot)
        base = _base(request)
        anchor = gs1.DigitalLink(gtin=link.gtin, serial=link.serial, lot=link.lot, resolver=base).uri()
        try:
            facts = await run_in_threadpool(self.facts, kind, link)
        except (ChainError, ConfigError) as exc:
            body = {"error": "the chain is not answering this gateway now", "message": str(exc), "anchor": anchor}
            return JSONResponse(body, status_code=503, headers={"retry-after": str(RETRY_AFTER)})
        if not facts.known:
            return _linkset([], anchor, facts.explanation, status=404)
        links = self.links(base, kind, link, facts)
        params = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        wanted = next((value for key, value in params if key == "linkType"), None)
        json_type = preferred_json(request.headers.get("accept", ""))
        rel = link_type(wanted) if wanted is not None else ("linkset" if json_type else "defaultLink")
        if rel == "linkset":
            return _linkset(links, anchor, media=json_type or "application/linkset+json")
        chosen = [candidate for candidate in links if candidate.rel == rel]
        if not chosen:
            offered = sorted({f"gs1:{candidate.rel}" for candidate in links})
            why = f"this resolver has no link of type {wanted!r} for {anchor}; it has {', '.join(offered)} (or linkset)"
            return _linkset(links, anchor, why, status=404)
        if len(chosen) > 1:  # several certifications, say: the client chooses
            return _linkset(chosen, anchor, f"{len(chosen)} links of type gs1:{rel}: choose one", status=300)
        target = chosen[0].href
        passed = urllib.parse.urlencode([(k, v) for k, v in params if k not in ("linkType", "item")])
        if chosen[0].forwards_query and passed:
            head, hash_mark, fragment = target.partition("#")
            target = f"{head}{'&' if '?' in head else '?'}{passed}{hash_mark}{fragment}"
        headers = {"location": target, "link": _link_header(links, anchor)}
        return Response(status_code=307, headers=headers)


def describe(base: str) -> dict[str, Any]:
    """The resolver description file (``/.well-known/gs1resolver``) of a resolver at ``base``."""
    return {
        "name": "o2ochain gateway: GS1 Digital Link resolver answering from the chain",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
        "linkTypeDefaultCanBeAll": False,
        "supportsLanguageVariants": False,
        "supportsSemanticInterpretation": False,
        "validatesAIcombinations": True,
        "jsonLdContextLocation": LINKSET_CONTEXT,
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _link_header(links: list[Link], anchor: str) -> str:
    whole = f'<{anchor}?linkType=linkset>; rel="linkset"; type="application/linkset+json"'
    return ", ".join([*(link.header() for link in links), whole])


def _linkset(
    links: list[Link], anchor: str, description: str = "", *, status: int = 200, media: str = "application/linkset+json"
) -> Response:
    """A linkset (RFC 9264, JSON) of ``links`` about ``anchor``, link types as GS1 vocabulary URIs."""
    context: dict[str, Any] = {"anchor": anchor}
    if description:
        context["description"] = description
    for link in links:
        context.setdefault(GS1_VOC + link.rel, []).append(link.to_json())
    body: dict[str, Any] = {"linkset": [context]}
    if media == "application/ld+json":
        body = {"@context": LINKSET_CONTEXT, **body}
    headers = {"link": f'<{LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(content, status_code=status, media_type=media, headers=headers)


def _cors(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint`` answering ``OPTIONS`` itself and letting any origin read every answer."""

    async def answer(request: Request) -> Response:
        response = (
            Response(status_code=204, headers={"allow": "GET, HEAD, OPTIONS"}) if request.method == "OPTIONS" else await endpoint(request)
        )
        response.headers.update(_CORS)
        return response

    return answer

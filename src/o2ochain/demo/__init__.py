"""The sample world of ``o2ochain demo`` and the page server: the library never imports them.

:func:`run_demo` starts a local Anvil, deploys, loads a realistic sample catalogue (three brands,
500 explicit and 10,000 Merkle-committed items), runs a supply chain, a price guarantee, reviews
and coupons, prepares the consumer page's wallet actions, then serves the page with
:class:`PageServer` and the index of the chain (:class:`Indexer`, the Ponder app in ``indexer/``)
until Ctrl-C.
"""

from __future__ import annotations

from o2ochain.demo._indexer import Indexer
from o2ochain.demo._run import ACCOUNTS, RELAYER, SAMPLE_BRANDS, SHOPPER, SampleBrand, make_catalogue, run_demo
from o2ochain.demo._server import PageServer
from o2ochain.serve import default_dist, page_url

__all__ = [
    "ACCOUNTS",
    "RELAYER",
    "SAMPLE_BRANDS",
    "SHOPPER",
    "Indexer",
    "PageServer",
    "SampleBrand",
    "default_dist",
    "make_catalogue",
    "page_url",
    "run_demo",
]

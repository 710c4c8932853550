"""``o2ochain serve``: the gateway (:mod:`o2ochain.serve`) on uvicorn, in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from o2ochain.cli._common import common, err, handled, make_context, store_option, stored
from o2ochain.errors import ConfigError


@click.command("serve")
@common
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option(
    "--page-rpc",
    metavar="URL",
    default=None,
    help="JSON-RPC URL the consumer page's browsers use (a public RPC, say) [default: --rpc]. The page reads the chain "
    "itself, so this must be reachable from the shoppers' phones.",
)
@click.option(
    "--page-index",
    metavar="URL",
    default=None,
    help="Index URL the page's browsers use [default: --index]; give it when --index is a local address.",
)
@click.option(
    "--dist",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="O2O_WEB_DIST",
    default=None,
    help="Folder of the built page [default: frontend/dist of this checkout] ($O2O_WEB_DIST).",
)
@click.option(
    "--relay/--no-relay",
    default=False,
    show_default=True,
    help="Relay the page's signed calls (POST /relay), paid for by --account: shoppers' one-record addresses hold no coin.",
)
@click.option(
    "--tokens",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help='API tokens of the EPCIS capture interface: JSON lines {"token": "...", "account": "<as --account>", '
    '"brand": N}. A partner posting with a token records its events as that account, for that brand. '
    "Without it, /epcis answers queries only.",
)
def serve(
    store: Path | None,
    host: str,
    port: int,
    page_rpc: str | None,
    page_index: str | None,
    dist: Path | None,
    relay: bool,
    tokens: Path | None,
    **kwargs: Any,
) -> None:
    """Serve the consumer page, the off-chain copies (event files, review texts, merchant
    profiles, Merkle proofs), the GS1 Digital Link resolver (/01/...) and the EPCIS 2.0 REST
    interface (/epcis/...) on one port, until Ctrl-C.

    The page reads the chain itself and checks every copy against it, so the gateway needs no
    more trust than a file server. With --relay and an --account, it also sends the calls a
    shopper's signature authorises (claims, consents, receipts), paying their gas.

    EPCIS: partners' systems POST documents (JSON-LD or XML) to /epcis/capture with a token of
    --tokens; their events are anchored on chain and queried back at /epcis/events. The event
    index is the SQLite file epcis.sqlite in the store, or PostgreSQL when $DATABASE_URL is set.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        import uvicorn

        from o2ochain.serve import EpcisService, EventRepository, Gateway, create_app, default_dist, load_tokens, repository_url

        chain = stored(ctx, store)
        relay_service = None
        if relay:
            from o2ochain.shopper import RelayService

            relay_service = RelayService(chain.w3, chain.deployment, ctx.account())
        elif ctx.account_spec:
            raise ConfigError("--account is used only with --relay (the gateway signs nothing else)")
        events, content = chain.trace.store.root, chain.content_path
        proofs = (store or Path(".o2ochain")) / "proofs"
        api_tokens = load_tokens(tokens, chain_id=chain.chain_id) if tokens is not None else {}
        (store or Path(".o2ochain")).mkdir(parents=True, exist_ok=True)
        repository = EventRepository.open(repository_url((store or Path(".o2ochain")) / "epcis.sqlite"))
        gateway = Gateway(
            rpc_url=page_rpc or ctx.rpc,
            deployment=chain.deployment,
            events=events,
            content=content,
            dist=dist or default_dist(),
            proofs=proofs if proofs.is_dir() else None,
            relay_service=relay_service,
            index_url=page_index or ctx.index,
            chain=chain,  # the resolver reads --rpc (and --index), not what the page is told
            epcis=(service := EpcisService(chain, repository, api_tokens, capture_process=True)),
        )
        if not (gateway.dist / "index.html").is_file():
            err.print(f"note: no built page in {gateway.dist}: run `npx vite build frontend` (the stores are served meanwhile)")
        err.print(f"serving chain {chain.chain_id} on http://{host}:{port} (Ctrl-C stops)", highlight=False)
        err.print(f"EPCIS: http://{host}:{port}/epcis/ ({len(api_tokens)} capture token(s); events in {repository.url})", highlight=False)
        try:
            # Keep-alive longer than the Retry-After a capture is told while the node is away, so a
            # partner that waits and posts again on the same connection finds it open.
            uvicorn.run(
                create_app(gateway), host=host, port=port, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
            )
        except SystemExit as exc:  # uvicorn exits when it cannot bind
            raise ConfigError(f"cannot listen on {host}:{port} (is another server using it?)") from exc
        finally:
            service.close()
            repository.close()

"""Private: how the library talks to a chain. Nothing here is public API; import from the modules.

- ``connection``: web3 connections (HTTP with retries, in-process eth-tester), a local Anvil,
  Anvil's development accounts;
- ``accounts``: signers from ``dev:N``, keystore files, ape aliases or ``env:VAR``;
- ``signers``: the :class:`~o2ochain._chain.signers.Signer` protocol every sender and role takes
  (the library never holds a key), and ape accounts as signers;
- ``tx``: sending transactions (simulate, sign, nonces, fees, pipelining, retries, receipts);
- ``logs``: event logs: from the attached index, the rest from the node in chunks that follow the
  provider's limits;
- ``index``: the index (``indexer/``) as a source of logs (:class:`~o2ochain._chain.index.IndexClient`);
- ``retry``: the retry policy of every request to a node or an index, and its failures in words;
- ``light``: reading without web3 (``trace show --index``): JSON-RPC on ``http.client``, the ABI by
  hand, the index's logs;
- ``events``: fast decoding of event logs;
- ``revert``: revert data decoded into the exceptions of :mod:`o2ochain.errors`;
- ``words``: those exceptions in words (each error's NatSpec notice filled with its arguments);
- ``artifacts``: the compiled contracts shipped in ``o2ochain/abi``;
- ``util``: keccak-256, hex, topics and atomic file writes.

This package imports nothing on its own, so :mod:`o2ochain.errors` can read the ABIs through
``artifacts`` without an import circle.
"""

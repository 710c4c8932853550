/**
 * The o2ochain index: every event of ProductRegistry, TraceLedger, ConsentRegistry,
 * PriceGuarantee, ReviewBoard and CouponBook on every chain with a manifest in
 * `$O2O_DEPLOYMENTS`, from each contract's deployment block.
 *
 * Environment: `PONDER_RPC_URL_<chainId>` (else `$O2O_RPC`) is each chain's JSON-RPC endpoint;
 * `DATABASE_URL` selects PostgreSQL, otherwise PGlite in `$O2O_INDEX_DIR` (default `.ponder/pglite`).
 */
import { createConfig } from "ponder";
import { CONTRACTS, readAbi, readManifests } from "./lib/contracts";

/** Local development chains mine a block per transaction: poll often, to stay ≤ 2 blocks behind. */
const LOCAL_CHAINS = new Set([31337, 1337]);

const manifests = readManifests();

const chains = Object.fromEntries(
  manifests.map((m) => {
    const rpc = process.env[`PONDER_RPC_URL_${m.chainId}`] ?? process.env.O2O_RPC;
    if (!rpc) throw new Error(`no RPC for chain ${m.chainId}: set PONDER_RPC_URL_${m.chainId} or O2O_RPC`);
    return [`chain${m.chainId}`, { id: m.chainId, rpc, pollingInterval: LOCAL_CHAINS.has(m.chainId) ? 200 : 1_000 }];
  }),
);

const contracts = Object.fromEntries(
  CONTRACTS.filter((name) => manifests.some((m) => m.contracts[name])).map((name) => [
    name,
    {
      abi: readAbi(name),
      chain: Object.fromEntries(
        manifests.flatMap((m) => {
          const deployed = m.contracts[name];
          return deployed ? [[`chain${m.chainId}`, { address: deployed.address, startBlock: deployed.block }]] : [];
        }),
      ),
    },
  ]),
);

export default createConfig({
  ordering: "multichain",
  database: process.env.DATABASE_URL
    ? { kind: "postgres", connectionString: process.env.DATABASE_URL }
    : { kind: "pglite", directory: process.env.O2O_INDEX_DIR ?? ".ponder/pglite" },
  chains,
  contracts,
});

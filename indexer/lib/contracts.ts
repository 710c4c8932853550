/**
 * What the index follows, read when Ponder loads the app: the chains and contract addresses of
 * every manifest in `$O2O_DEPLOYMENTS` (or `<repo>/deployments`), and each contract's ABI from
 * `src/o2ochain/abi/` — the ABIs the Python library ships, never a copy.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Abi, AbiEvent, AbiParameter } from "viem";
import { toEventSignature } from "viem";

/** The contracts the index follows, in this order, where a manifest names them. */
export const CONTRACTS = [
  "ProductRegistry",
  "TraceLedger",
  "ConsentRegistry",
  "PriceGuarantee",
  "ReviewBoard",
  "CouponBook",
] as const;
export type ContractName = (typeof CONTRACTS)[number];

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ABI_DIR = path.join(REPO, "src", "o2ochain", "abi");
export const DEPLOYMENTS_DIR = path.resolve(process.env.O2O_DEPLOYMENTS ?? path.join(REPO, "deployments"));

export type Deployed = { address: `0x${string}`; block: number };
export type Manifest = { chainId: number; genesis: string | null; contracts: Partial<Record<ContractName, Deployed>> };

/** Every `<chainId>.json` manifest in the deployments folder, by chain id. */
export function readManifests(dir: string = DEPLOYMENTS_DIR): Manifest[] {
  if (!fs.existsSync(dir)) throw new Error(`no deployments folder at ${dir} (set $O2O_DEPLOYMENTS)`);
  const manifests: Manifest[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!/^\d+\.json$/.test(file)) continue;
    const raw = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as {
      chainId: number;
      genesis?: string | null;
      contracts: Record<string, { address: string; block?: number }>;
    };
    const contracts: Manifest["contracts"] = {};
    for (const name of CONTRACTS) {
      const entry = raw.contracts?.[name];
      if (entry) contracts[name] = { address: entry.address.toLowerCase() as `0x${string}`, block: entry.block ?? 0 };
    }
    manifests.push({ chainId: Number(raw.chainId), genesis: raw.genesis ?? null, contracts });
  }
  if (manifests.length === 0) throw new Error(`no <chainId>.json manifest in ${dir}`);
  return manifests;
}

/** The ABI of one of our contracts, as the Python library ships it. */
export function readAbi(name: ContractName): Abi {
  return (JSON.parse(fs.readFileSync(path.join(ABI_DIR, `${name}.json`), "utf8")) as { abi: Abi }).abi;
}

/** One event of one contract: the name Ponder registers it under and the name of its typed table. */
export type EventSpec = { contract: ContractName; event: AbiEvent; key: string; table: string };

/** Every event of every contract (an overloaded name is registered with its signature). */
export function allEvents(): EventSpec[] {
  const specs: EventSpec[] = [];
  for (const contract of CONTRACTS) {
    const events = readAbi(contract).filter((item): item is AbiEvent => item.type === "event" && !item.anonymous);
    const seen = new Map<string, number>();
    for (const event of events) {
      const overloaded = events.filter((e) => e.name === event.name).length > 1;
      const n = seen.get(event.name) ?? 0;
      seen.set(event.name, n + 1);
      const signature = toEventSignature(event).replace(/^event /, "").replace(/ indexed/g, "");
      specs.push({
        contract,
        event,
        key: `${contract}:${overloaded ? signature : event.name}`,
        table: `${contract}_${event.name}${overloaded ? `_${n}` : ""}`,
      });
    }
  }
  return specs;
}

/** The column an event argument is stored in: its name (or `arg<i>`), kept clear of our own. */
export function argColumn(input: AbiParameter, i: number): string {
  const name = input.name && /^[A-Za-z_][A-Za-z0-9_]*$/.test(input.name) ? input.name : `arg${i}`;
  return RESERVED.has(name) ? `arg_${name}` : name;
}

const RESERVED = new Set(["id", "chainId", "address", "blockNumber", "blockHash", "logIndex", "transactionHash", "checkpoint", "operation", "operation_id"]);

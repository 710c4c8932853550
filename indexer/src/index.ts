/**
 * One handler for every event: the log goes into the raw `log` table, and its decoded
 * arguments into the event's typed table.
 */
import { ponder } from "ponder:registry";
import { argColumn } from "../lib/contracts";
import { eventTables, log } from "../lib/tables";

/** Lists and tuples are stored as JSON: bigints inside become decimal strings. */
function jsonable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}

type AnyEvent = {
  args: Record<string, unknown> | readonly unknown[];
  log: { address: `0x${string}`; data: `0x${string}`; logIndex: number; topics: readonly (`0x${string}` | null)[] };
  block: { number: bigint; hash: `0x${string}`; timestamp: bigint };
  transaction: { hash: `0x${string}`; transactionIndex: number };
};
type AnyContext = { chain: { id: number }; db: { insert: (table: never) => { values: (row: Record<string, unknown>) => Promise<unknown> } } };

// The events are known at load time only, so Ponder's typed `ponder.on` is used untyped.
const on = ponder.on.bind(ponder) as unknown as (name: string, fn: (args: { event: AnyEvent; context: AnyContext }) => Promise<void>) => void;

for (const [key, { spec, table }] of eventTables) {
  on(key, async ({ event, context }) => {
    const chainId = context.chain.id;
    const id = `${chainId}:${event.block.number}:${event.log.logIndex}`;
    // Logs from the backfill carry unused topic positions as null.
    const topics = event.log.topics.filter((t) => t !== null).map((t) => t.toLowerCase() as `0x${string}`);
    const address = event.log.address.toLowerCase() as `0x${string}`;
    await context.db.insert(log as never).values({
      id,
      chainId,
      address,
      topic0: topics[0] ?? null,
      topic1: topics[1] ?? null,
      topic2: topics[2] ?? null,
      topic3: topics[3] ?? null,
      data: event.log.data.toLowerCase(),
      blockNumber: event.block.number,
      blockHash: event.block.hash.toLowerCase(),
      blockTimestamp: event.block.timestamp,
      transactionHash: event.transaction.hash.toLowerCase(),
      transactionIndex: event.transaction.transactionIndex,
      logIndex: event.log.logIndex,
    });
    const args: Record<string, unknown> = {};
    spec.event.inputs.forEach((input, i) => {
      const value = Array.isArray(event.args) ? event.args[i] : (event.args as Record<string, unknown>)[input.name ?? ""];
      args[argColumn(input, i)] = input.type.endsWith("]") || input.type.startsWith("tuple") ? jsonable(value) : value;
    });
    await context.db.insert(table as never).values({
      id,
      chainId,
      address,
      blockNumber: event.block.number,
      logIndex: event.log.logIndex,
      transactionHash: event.transaction.hash.toLowerCase(),
      ...args,
    });
  });
}

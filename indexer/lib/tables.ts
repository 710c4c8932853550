/**
 * The index's tables. `log` holds every log raw, shaped like `eth_getLogs` (what `/o2o/logs`
 * reads); one typed table per event of every ABI (`<Contract>_<Event>`, a column per argument)
 * serves GraphQL and SQL users. Both are built from the ABIs when Ponder loads the schema.
 */
import { index, onchainTable } from "ponder";
import type { AbiParameter } from "viem";
import { allEvents, argColumn, type EventSpec } from "./contracts";

export const log = onchainTable(
  "log",
  (t) => ({
    id: t.text().primaryKey(), // `<chainId>:<blockNumber>:<logIndex>`
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
    topic0: t.hex(),
    topic1: t.hex(),
    topic2: t.hex(),
    topic3: t.hex(),
    data: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    blockHash: t.hex().notNull(),
    blockTimestamp: t.bigint().notNull(),
    transactionHash: t.hex().notNull(),
    transactionIndex: t.integer().notNull(),
    logIndex: t.integer().notNull(),
  }),
  (table) => ({
    // One event's logs in chain order: a page after a cursor is a range scan, not a sort of them all.
    byEvent: index("log_event_index").on(table.chainId, table.address, table.topic0, table.blockNumber, table.logIndex),
    byTopic1: index("log_topic1_index").on(table.chainId, table.address, table.topic0, table.topic1, table.blockNumber),
    byTopic2: index("log_topic2_index").on(table.chainId, table.address, table.topic0, table.topic2, table.blockNumber),
    byTopic3: index("log_topic3_index").on(table.chainId, table.address, table.topic0, table.topic3, table.blockNumber),
    inOrder: index("log_order_index").on(table.chainId, table.blockNumber, table.logIndex),
  }),
);

type Builders = Parameters<Extract<Parameters<typeof onchainTable>[1], (...args: never[]) => unknown>>[0];

/** The column type of an ABI type: bigint for integers, hex for bytes and addresses, JSON for lists and tuples. */
function column(t: Builders, input: AbiParameter) {
  const type = input.type;
  if (type.endsWith("]") || type.startsWith("tuple")) return t.json();
  if (/^u?int\d*$/.test(type)) return t.bigint();
  if (type === "address" || type.startsWith("bytes")) return t.hex();
  if (type === "bool") return t.boolean();
  return t.text(); // string
}

function typedTable(spec: EventSpec) {
  return onchainTable(spec.table, (t) => ({
    id: t.text().primaryKey(), // `<chainId>:<blockNumber>:<logIndex>`, as in `log`
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    transactionHash: t.hex().notNull(),
    ...Object.fromEntries(spec.event.inputs.map((input, i) => [argColumn(input, i), column(t, input)])),
  }));
}

/** The typed table of each event, by the name Ponder registers the event under (`Contract:Event`). */
export const eventTables = new Map(allEvents().map((spec) => [spec.key, { spec, table: typedTable(spec) }]));

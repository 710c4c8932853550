/**
 * The index's HTTP API: Ponder's GraphQL (`/graphql`) and SQL-over-HTTP (`/sql/*`) over every
 * table, and ours, which the page and the Python library read:
 *
 * - `GET /o2o/head`: per chain, the last block whose events are all in the tables.
 * - `POST /o2o/logs`: logs like `eth_getLogs` (address, topics, block range), only up to that
 *   head, in chain order, paged with a cursor (`next`).
 *
 * Neither caches: each answer is read from the tables when it is asked for, so a reorg that
 * Ponder reconciled is never answered from before it.
 */
import { Hono } from "hono";
import { db } from "ponder:api";
import schema from "ponder:schema";
import { and, asc, client, eq, graphql, gt, gte, inArray, lte, or, sql } from "ponder";
import { readManifests } from "../../lib/contracts";
import { log } from "../../lib/tables";

const app = new Hono();

app.use("/sql/*", client({ db, schema }));
app.use("/graphql", graphql({ db, schema }));

/** Ponder's checkpoints encode the block number at this offset; a transaction index of all 9s means "the whole block". */
const BLOCK_AT = 10 + 16;
const TX_AT = BLOCK_AT + 16;
const WHOLE_BLOCK = "9".repeat(16);

type Head = { block: number; hash: `0x${string}` | null };

/** The chains this index follows (a chain Ponder has not started on yet has head -1). */
const CHAIN_IDS = readManifests().map((m) => m.chainId);

/** Per chain id, the last fully indexed block, read from Ponder's own progress (`_ponder_checkpoint`),
 * which Ponder updates in the same transaction as the rows of the events it indexed. */
async function readHeads(): Promise<Map<number, Head>> {
  const namespace = (globalThis as { PONDER_NAMESPACE_BUILD?: { schema: string } }).PONDER_NAMESPACE_BUILD?.schema ?? "public";
  const heads = new Map<number, Head>(CHAIN_IDS.map((id) => [id, { block: -1, hash: null }]));
  let result: unknown;
  try {
    result = await db.execute(sql`SELECT chain_id, latest_checkpoint FROM ${sql.identifier(namespace)}."_ponder_checkpoint"`);
  } catch {
    return heads; // the table is made when indexing starts
  }
  for (const row of (result as unknown as { rows: { chain_id: number | string; latest_checkpoint: string }[] }).rows) {
    const checkpoint = row.latest_checkpoint;
    const number = Number(checkpoint.slice(BLOCK_AT, TX_AT));
    // A checkpoint inside a block (never written by Ponder 0.17, but cheap to honour) covers only the block before.
    const block = checkpoint.slice(TX_AT, TX_AT + 16) === WHOLE_BLOCK ? number : number - 1;
    heads.set(Number(row.chain_id), { block, hash: null });
  }
  for (const [chainId, head] of heads) {
    if (head.block < 0) continue;
    const [row] = await db
      .select({ hash: log.blockHash })
      .from(log)
      .where(and(eq(log.chainId, chainId), eq(log.blockNumber, BigInt(head.block))))
      .limit(1);
    head.hash = row?.hash ?? null;
  }
  return heads;
}

app.get("/o2o/head", async (c) => {
  const heads = await readHeads();
  const chains = Object.fromEntries([...heads].map(([chainId, head]) => [String(chainId), head]));
  return c.json({ chains }, 200, { "Cache-Control": "no-store" });
});

const MAX_LIMIT = 10_000;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

class BadRequest extends Error {}

function blockNumber(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "string" && /^0x[0-9a-fA-F]+$/.test(value)) return Number.parseInt(value, 16);
  throw new BadRequest(`${field} must be a block number (a non-negative integer)`);
}

type Query = {
  chainId: number;
  addresses: `0x${string}`[] | null;
  topics: (`0x${string}`[] | null)[];
  fromBlock: number;
  toBlock: number | null;
  after: { block: number; logIndex: number } | null;
  limit: number;
};

/** The body of `/o2o/logs`, checked field by field; a mistake names the field. */
function parseQuery(body: unknown): Query {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new BadRequest("the body must be a JSON object");
  const b = body as Record<string, unknown>;
  const known = new Set(["chainId", "address", "topics", "fromBlock", "toBlock", "after", "limit"]);
  for (const key of Object.keys(b)) if (!known.has(key)) throw new BadRequest(`unknown field ${key}`);
  if (typeof b.chainId !== "number" || !Number.isSafeInteger(b.chainId) || b.chainId <= 0) {
    throw new BadRequest("chainId must be a positive integer");
  }
  let addresses: Query["addresses"] = null;
  if (b.address !== undefined && b.address !== null) {
    const list = Array.isArray(b.address) ? b.address : [b.address];
    if (list.length === 0 || !list.every((a) => typeof a === "string" && ADDRESS.test(a))) {
      throw new BadRequest("address must be a 0x-prefixed 20-byte address or a non-empty list of them");
    }
    addresses = list.map((a) => (a as string).toLowerCase() as `0x${string}`);
  }
  const topics: Query["topics"] = [];
  if (b.topics !== undefined && b.topics !== null) {
    if (!Array.isArray(b.topics) || b.topics.length > 4) throw new BadRequest("topics must be a list of at most 4 positions");
    b.topics.forEach((position: unknown, i) => {
      if (position === null) return void topics.push(null);
      const list = Array.isArray(position) ? position : [position];
      if (list.length === 0 || !list.every((t) => typeof t === "string" && HEX32.test(t))) {
        throw new BadRequest(`topics[${i}] must be null, a 0x-prefixed 32-byte hex value or a non-empty list of them`);
      }
      topics.push(list.map((t) => (t as string).toLowerCase() as `0x${string}`));
    });
  }
  const fromBlock = b.fromBlock === undefined || b.fromBlock === null ? 0 : blockNumber(b.fromBlock, "fromBlock");
  const toBlock = b.toBlock === undefined || b.toBlock === null ? null : blockNumber(b.toBlock, "toBlock");
  if (toBlock !== null && toBlock < fromBlock) throw new BadRequest("toBlock must not be below fromBlock");
  let after: Query["after"] = null;
  if (b.after !== undefined && b.after !== null) {
    const match = typeof b.after === "string" ? /^(\d+)\.(\d+)$/.exec(b.after) : null;
    if (!match) throw new BadRequest("after must be the `next` cursor of an earlier answer");
    after = { block: Number(match[1]), logIndex: Number(match[2]) };
  }
  let limit = MAX_LIMIT;
  if (b.limit !== undefined && b.limit !== null) {
    if (typeof b.limit !== "number" || !Number.isSafeInteger(b.limit) || b.limit < 1 || b.limit > MAX_LIMIT) {
      throw new BadRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
    limit = b.limit;
  }
  return { chainId: b.chainId, addresses, topics, fromBlock, toBlock, after, limit };
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const TOPIC_COLUMNS = [log.topic0, log.topic1, log.topic2, log.topic3] as const;

app.post("/o2o/logs", async (c) => {
  let query: Query;
  try {
    query = parseQuery(await c.req.json().catch(() => {
      throw new BadRequest("the body must be JSON");
    }));
  } catch (error) {
    if (error instanceof BadRequest) return c.json({ error: error.message }, 400);
    throw error;
  }
  const head = (await readHeads()).get(query.chainId);
  if (head === undefined) {
    return c.json({ error: `chainId ${query.chainId} is not indexed here` }, 400);
  }
  const upTo = Math.min(query.toBlock ?? head.block, head.block);
  if (upTo < query.fromBlock) return c.json({ head: head.block, logs: [], next: null }, 200, { "Cache-Control": "no-store" });

  const where: (ReturnType<typeof and> | undefined)[] = [
    eq(log.chainId, query.chainId),
    gte(log.blockNumber, BigInt(query.fromBlock)),
    lte(log.blockNumber, BigInt(upTo)),
  ];
  if (query.addresses) where.push(inArray(log.address, query.addresses));
  query.topics.forEach((wanted, i) => {
    if (wanted) where.push(inArray(TOPIC_COLUMNS[i]!, wanted));
  });
  if (query.after) {
    const { block, logIndex } = query.after;
    // The plain bound lets an ordered index scan start at the cursor rather than filter up to it.
    where.push(gte(log.blockNumber, BigInt(block)));
    where.push(or(gt(log.blockNumber, BigInt(block)), and(eq(log.blockNumber, BigInt(block)), gt(log.logIndex, logIndex))));
  }
  const rows = await db
    .select()
    .from(log)
    .where(and(...where))
    .orderBy(asc(log.blockNumber), asc(log.logIndex))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const next = rows.length > query.limit && last ? `${last.blockNumber}.${last.logIndex}` : null;
  const logs = page.map((row) => ({
    address: row.address,
    topics: [row.topic0, row.topic1, row.topic2, row.topic3].filter((t): t is `0x${string}` => t !== null),
    data: row.data,
    blockNumber: hex(row.blockNumber),
    blockHash: row.blockHash,
    blockTimestamp: hex(row.blockTimestamp),
    transactionHash: row.transactionHash,
    transactionIndex: hex(row.transactionIndex),
    logIndex: hex(row.logIndex),
    removed: false,
  }));
  return c.json({ head: head.block, logs, next }, 200, { "Cache-Control": "no-store" });
});

export default app;

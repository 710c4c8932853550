/**
 * The index's HTTP API: Ponder's GraphQL (`/graphql`) and SQL-over-HTTP (`/sql/*`) over every
 * table, and ours, which the page and the Python library read:
 *
 * - `GET /o2o/head`: per chain, the last block whose events are all in the tables.
 * - `POST /o2o/logs`: logs like `eth_getLogs` (address, topics, block range), only up to that
 *   head, in chain order, paged with a cursor (`next`).
 * - `POST /o2o/trace`: the TraceLedger logs an item's history starts from, in one answer: the
 *   chains (`Recorded` and `Linked` logs) of the subjects asked for and of every container the
 *   item was linked into under its brand, and theirs, some levels out (the page's
 *   frontend/src/chain/trace.ts reads these lists one level after another otherwise: a round trip
 *   each). The answer names what it covers (`listed`, `followed`) so that the page can take each
 *   of its lists from it as it would take `/o2o/logs`' answer, and still checks every chain
 *   against the head the ledger stores.
 *
 * None caches: each answer is read from the tables when it is asked for, so a reorg that
 * Ponder reconciled is never answered from before it.
 */
import { Hono, type Context } from "hono";
import { db } from "ponder:api";
import schema from "ponder:schema";
import { and, asc, client, eq, graphql, gt, gte, inArray, lte, or, sql } from "ponder";
import { getAbiItem, toEventSelector, type AbiEvent } from "viem";
import { readAbi, readManifests } from "../../lib/contracts";
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
 * which Ponder updates in the same transaction as the rows of the events it indexed; with
 * `hashes`, the hash of that block where a log of it is indexed (one more query a chain: only
 * `/o2o/head` answers it). */
async function readHeads(hashes: boolean): Promise<Map<number, Head>> {
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
  for (const [chainId, head] of hashes ? heads : []) {
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
  const heads = await readHeads(true);
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

/** What every paged route takes besides its own fields: the chain, the blocks, the cursor, the page size. */
type Paging = {
  chainId: number;
  fromBlock: number;
  toBlock: number | null;
  after: { block: number; logIndex: number } | null;
  limit: number;
};

type Query = Paging & {
  addresses: `0x${string}`[] | null;
  topics: (`0x${string}`[] | null)[];
};

/** The body as an object whose keys are all `known` (with the paging fields); a mistake names the field. */
function fields(body: unknown, known: string[]): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new BadRequest("the body must be a JSON object");
  const b = body as Record<string, unknown>;
  const allowed = new Set(["chainId", "fromBlock", "toBlock", "after", "limit", ...known]);
  for (const key of Object.keys(b)) if (!allowed.has(key)) throw new BadRequest(`unknown field ${key}`);
  return b;
}

/** The paging fields of a body, checked. */
function parsePaging(b: Record<string, unknown>): Paging {
  if (typeof b.chainId !== "number" || !Number.isSafeInteger(b.chainId) || b.chainId <= 0) {
    throw new BadRequest("chainId must be a positive integer");
  }
  const fromBlock = b.fromBlock === undefined || b.fromBlock === null ? 0 : blockNumber(b.fromBlock, "fromBlock");
  const toBlock = b.toBlock === undefined || b.toBlock === null ? null : blockNumber(b.toBlock, "toBlock");
  if (toBlock !== null && toBlock < fromBlock) throw new BadRequest("toBlock must not be below fromBlock");
  let after: Paging["after"] = null;
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
  return { chainId: b.chainId, fromBlock, toBlock, after, limit };
}

/** A list of 32-byte hex values (lower case), `most` at most. */
function words(value: unknown, field: string, most: number): `0x${string}`[] {
  if (!Array.isArray(value) || value.length > most || !value.every((t) => typeof t === "string" && HEX32.test(t))) {
    throw new BadRequest(`${field} must be a list of at most ${most} 0x-prefixed 32-byte hex values`);
  }
  return value.map((t) => (t as string).toLowerCase() as `0x${string}`);
}

/** The body of `/o2o/logs`, checked field by field. */
function parseQuery(body: unknown): Query {
  const b = fields(body, ["address", "topics"]);
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
  return { ...parsePaging(b), addresses, topics };
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const TOPIC_COLUMNS = [log.topic0, log.topic1, log.topic2, log.topic3] as const;

type Row = typeof log.$inferSelect;
/** A WHERE condition (undefined: none). */
type Condition = ReturnType<typeof and>;
type Hex = `0x${string}`;

/** A row as `eth_getLogs` answers a log. */
function rpcLog(row: Row) {
  return {
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
  };
}

/** The body of a request, parsed by `parse`; a mistake in it is a 400 naming the field. */
async function parsed<T>(c: Context, parse: (body: unknown) => T): Promise<T | Response> {
  try {
    return parse(
      await c.req.json().catch(() => {
        throw new BadRequest("the body must be JSON");
      }),
    );
  } catch (error) {
    if (error instanceof BadRequest) return c.json({ error: error.message }, 400);
    throw error;
  }
}

/**
 * One page of the rows matching `match` in the chain's indexed blocks [fromBlock, min(toBlock,
 * head)], in chain order, after the cursor; with the head they were read at and the next cursor.
 * `answer` makes the reply of the rows (a route adds what it says it covers). `match` gets the
 * last block read, for the routes that look further (the containers of the trace route); it
 * answers null when nothing can match (undefined: no condition, every row).
 */
async function page(
  c: Context,
  query: Paging,
  match: (upTo: number) => Promise<Condition | null>,
  answer: (reply: { head: number; logs: ReturnType<typeof rpcLog>[]; next: string | null }) => Record<string, unknown>,
): Promise<Response> {
  const head = (await readHeads(false)).get(query.chainId);
  if (head === undefined) {
    return c.json({ error: `chainId ${query.chainId} is not indexed here` }, 400);
  }
  const upTo = Math.min(query.toBlock ?? head.block, head.block);
  const nothing = () => c.json(answer({ head: head.block, logs: [], next: null }), 200, { "Cache-Control": "no-store" });
  if (upTo < query.fromBlock) return nothing();
  const matching = await match(upTo);
  if (matching === null) return nothing();
  const where: Condition[] = [
    eq(log.chainId, query.chainId),
    gte(log.blockNumber, BigInt(query.fromBlock)),
    lte(log.blockNumber, BigInt(upTo)),
    matching,
  ];
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
  const found = rows.slice(0, query.limit);
  const last = found[found.length - 1];
  const next = rows.length > query.limit && last ? `${last.blockNumber}.${last.logIndex}` : null;
  return c.json(answer({ head: head.block, logs: found.map(rpcLog), next }), 200, { "Cache-Control": "no-store" });
}

app.post("/o2o/logs", async (c) => {
  const query = await parsed(c, parseQuery);
  if (query instanceof Response) return query;
  return page(
    c,
    query,
    async () => {
      const where: Condition[] = [];
      if (query.addresses) where.push(inArray(log.address, query.addresses));
      query.topics.forEach((wanted, i) => {
        if (wanted) where.push(inArray(TOPIC_COLUMNS[i]!, wanted));
      });
      return and(...where);
    },
    (reply) => reply,
  );
});

/** The TraceLedger's events an item's history is made of (contracts/interfaces/ITraceLedger.sol). */
const ledgerAbi = readAbi("TraceLedger");
const RECORDED = toEventSelector(getAbiItem({ abi: ledgerAbi, name: "Recorded" }) as AbiEvent);
const LINKED = toEventSelector(getAbiItem({ abi: ledgerAbi, name: "Linked" }) as AbiEvent);
/** Most subjects asked for, most containers followed, most levels out. */
const MAX_SUBJECTS = 100;
const MAX_CONTAINERS = 1_000;
const MAX_DEPTH = 5;

type TraceQuery = Paging & {
  address: `0x${string}`;
  brand: `0x${string}`;
  subjects: `0x${string}`[];
  follow: `0x${string}`[];
  depth: number;
};

/** The body of `/o2o/trace`, checked field by field. */
function parseTrace(body: unknown): TraceQuery {
  const b = fields(body, ["address", "brand", "subjects", "follow", "depth"]);
  if (typeof b.address !== "string" || !ADDRESS.test(b.address)) throw new BadRequest("address must be the TraceLedger's 0x-prefixed 20-byte address");
  if (typeof b.brand !== "number" || !Number.isSafeInteger(b.brand) || b.brand < 0 || b.brand >= 2 ** 32) {
    throw new BadRequest("brand must be a brand id (an integer from 0 to 4294967295)");
  }
  if (typeof b.depth !== "number" || !Number.isSafeInteger(b.depth) || b.depth < 0 || b.depth > MAX_DEPTH) {
    throw new BadRequest(`depth must be an integer from 0 to ${MAX_DEPTH}`);
  }
  return {
    ...parsePaging(b),
    address: b.address.toLowerCase() as `0x${string}`,
    brand: `0x${b.brand.toString(16).padStart(64, "0")}`,
    subjects: words(b.subjects, "subjects", MAX_SUBJECTS),
    follow: words(b.follow ?? [], "follow", MAX_SUBJECTS),
    depth: b.depth,
  };
}

/**
 * The containers reachable from `query.follow` under `query.brand` up to block `upTo`: a
 * container of X is the subject of a `Linked` log of that brand whose related id is X, as the
 * page's `containersOf` asks; `depth` levels of them. `followed`: the subjects whose containers
 * were all taken (a level that would pass {@link MAX_CONTAINERS} is not).
 */
async function containers(query: TraceQuery, upTo: number): Promise<{ reached: Set<Hex>; followed: Hex[] }> {
  const reached = new Set<Hex>(query.follow);
  const followed: Hex[] = [];
  let frontier = [...reached];
  for (let level = 0; level < query.depth && frontier.length > 0; level++) {
    const rows = await db
      .selectDistinct({ subject: log.topic2 })
      .from(log)
      .where(
        and(
          eq(log.chainId, query.chainId),
          eq(log.address, query.address),
          eq(log.topic0, LINKED),
          inArray(log.topic1, frontier),
          eq(log.topic3, query.brand),
          gte(log.blockNumber, BigInt(query.fromBlock)),
          lte(log.blockNumber, BigInt(upTo)),
        ),
      );
    const found = rows.map((r) => r.subject).filter((s): s is Hex => s !== null && !reached.has(s));
    if (reached.size + found.length > MAX_CONTAINERS) break;
    followed.push(...frontier);
    found.forEach((s) => reached.add(s));
    frontier = found;
  }
  return { reached, followed };
}

app.post("/o2o/trace", async (c) => {
  const query = await parsed(c, parseTrace);
  if (query instanceof Response) return query;
  let covers = { listed: query.subjects, followed: [] as Hex[] };
  return page(
    c,
    query,
    async (upTo) => {
      const { reached, followed } = await containers(query, upTo);
      const listed = [...new Set([...query.subjects, ...reached])];
      covers = { listed, followed };
      if (listed.length === 0) return null;
      return and(
        eq(log.address, query.address),
        or(
          and(eq(log.topic0, RECORDED), inArray(log.topic1, listed), eq(log.topic2, query.brand)),
          and(eq(log.topic0, LINKED), inArray(log.topic2, listed), eq(log.topic3, query.brand)),
        ),
      );
    },
    (reply) => ({ ...reply, ...covers }),
  );
});

export default app;

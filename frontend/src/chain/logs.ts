/**
 * Every list the page shows is read here: one place decides where logs come from and how far a
 * request may reach.
 *
 * With an index (config.json `index`, the Ponder app in indexer/): `POST <index>/o2o/logs`, page
 * after page (`next`), for the blocks it has fully indexed (its `head`); the blocks after that,
 * up to the node's head, come from the node. What the index answers is filtered again here by
 * address and topics (an index cannot slip in another contract's or another subject's logs), and
 * what matters is checked on chain by the readers (a verdict by eth_call, a trace chain against
 * its stored head, a claim by simulation): the index is a cache, the chain is the truth. An index
 * that is down or answers nonsense is set aside for a while, with a console warning, and the node
 * is read instead.
 *
 * Several lists may come from one answer of the index ({@link LogReader.gather}: an index route
 * that gathers what a reader would otherwise ask for one list after another, such as an item's
 * history with its containers'): each list is then taken from it ({@link LogQuery.from}) exactly
 * as from `/o2o/logs`' answer, filtered again, with the blocks after what it covers from the node.
 *
 * From the node, every eth_getLogs names both ends of its range, and no range spans more than
 * {@link MAX_SPAN} blocks (public providers refuse more): a list is read in chunks from the
 * contract's deployment block to the node's head, which is read once per page view. A provider
 * that refuses a chunk usually says what it would take (`[0x…, 0x…]`, "up to a 2K block range");
 * that hint is followed, else the chunk is halved.
 *
 * Logs come back decoded with viem, as `getLogs({ event, args })` decodes them. Each log the index
 * gave is marked as such ({@link fromIndex}: a mark its answer cannot set), so that a reader can
 * confirm on chain the facts that live only in logs (a review's content hash, a reply):
 * {@link LogReader.confirm} asks the node for each such log with an eth_getLogs bounded to that
 * log's own block, all of them at once (viem sends them as one JSON-RPC batch).
 */
import {
  encodeEventTopics,
  numberToHex,
  parseEventLogs,
  type AbiEvent,
  type Address,
  type Hex,
  type Log,
  type PublicClient,
  type RpcLog,
} from 'viem'
import type { Config } from './config'

/** The most blocks one eth_getLogs may span (from and to included): what public providers allow. */
export const MAX_SPAN = 10_000n
/** How many chunk requests of one list are in flight at once (viem batches them into one HTTP request). */
const PARALLEL = 8
/** How long a node head stays "the head of this page view". */
const HEAD_TTL_MS = 1_000
/** How long the index may take to answer one page before the node is asked instead. */
const INDEX_TIMEOUT_MS = 5_000
/** How long an index that failed is left alone. */
const INDEX_PAUSE_MS = 30_000
/** Results per index page (the contract's maximum). */
const INDEX_LIMIT = 10_000
/** Words of a provider's refusal of a range that is too wide or returns too much. */
const TOO_WIDE = /range|too large|limit|exceed|more than|max results|response size/i
/** Words of a provider that is busy rather than refusing the request itself. */
const BUSY = /rate|capacity|too many requests|request limit reached|throughput|unavailable|timeout|timed out|fetch failed|failed to fetch/i
/** How many times a request a busy provider turned away is asked again (with a growing wait). */
const RETRIES = 5

/** A topic filter position, as eth_getLogs takes it: any (null), one value, or any of several. */
export type Topic = Hex | Hex[] | null

/** What {@link LogReader.confirm} compares of a log (with its place): its topics and data, raw. */
export interface RawFact {
  topics: readonly Hex[]
  data: Hex
}

/** A decoded log, as viem's getLogs with an event returns it. */
export type EventLog = Log<bigint, number, false> & { args: Record<string, unknown>; eventName: string }

export interface LogQuery {
  address: Address
  event: AbiEvent
  /** Indexed arguments to match (a list means any of them), as viem's getLogs takes them. */
  args?: Record<string, unknown>
  fromBlock: bigint
  /** The last block to read; by default the node's head of this page view. */
  toBlock?: bigint | Promise<bigint>
  /** Logs the index already gave ({@link LogReader.gather}) that hold this list's, for the blocks they cover: no index request is made. */
  from?: Gathered
}

interface IndexAnswer {
  head: number
  logs: RpcLog[]
  next: string | null
}

/** One answer of an index route that gathers several lists' logs ({@link LogReader.gather}). */
export interface Gathered {
  logs: RpcLog[]
  /** The last block the logs are complete to (the index's head at the first page, at most the block asked for). */
  covered: bigint
  /** The route's own fields of its first page (what it says it covers), unchecked: the caller judges them. */
  fields: Record<string, unknown>
}

/** The mark of a log the index gave (a symbol: no JSON answer can carry it, so no index can set or clear it). */
const FROM_INDEX: unique symbol = Symbol('o2ochain: read from the index')

/** Whether `log` (raw or decoded: the mark is copied along) was read from the index rather than the node. */
export function fromIndex(log: object): boolean {
  return (log as { [FROM_INDEX]?: boolean })[FROM_INDEX] === true
}

/** Where the page's lists come from: the index when there is one, the node for the rest. */
export class LogReader {
  private headRead?: { at: number; block: Promise<bigint> }
  private indexPausedUntil = 0
  /** Gathering routes the index does not offer (an index older than the page). */
  private readonly missingRoutes = new Set<string>()
  private span = MAX_SPAN
  /** Requests made, for the curious (and the tests): index pages and node chunks. */
  readonly stats = { indexPages: 0, nodeChunks: 0, indexFailures: 0 }

  constructor(
    private readonly client: PublicClient,
    private readonly config: Config,
  ) {}

  /** The node's head for this page view: read once, again only after {@link HEAD_TTL_MS} or {@link forget}. */
  head(): Promise<bigint> {
    const now = Date.now()
    if (!this.headRead || now - this.headRead.at > HEAD_TTL_MS) {
      const block = this.client.getBlockNumber({ cacheTime: 0 })
      this.headRead = { at: now, block }
      block.catch(() => {
        if (this.headRead?.block === block) this.headRead = undefined
      })
    }
    return this.headRead.block
  }

  /** Forget the head (a write was just confirmed: the next list must include its block). */
  forget(): void {
    this.headRead = undefined
  }

  /** Every log of `event` at `address` matching `args` from `fromBlock` to `toBlock`, decoded, in chain order. */
  async get(query: LogQuery): Promise<EventLog[]> {
    const topics = encodeEventTopics({ abi: [query.event], eventName: query.event.name, args: query.args } as Parameters<typeof encodeEventTopics>[0]) as Topic[]
    const raw = await this.raw({ address: query.address, topics, fromBlock: query.fromBlock, toBlock: query.toBlock, from: query.from })
    return parseEventLogs({ abi: [query.event], args: query.args, logs: raw, strict: true }) as unknown as EventLog[]
  }

  /** The raw logs (eth_getLogs' shape) at `address` matching `topics` in [fromBlock, toBlock], in chain order. */
  async raw(query: { address: Address | Address[]; topics: Topic[]; fromBlock: bigint; toBlock?: bigint | Promise<bigint>; from?: Gathered }): Promise<RpcLog[]> {
    const last = query.toBlock === undefined ? this.head() : Promise.resolve(query.toBlock)
    let found: RpcLog[] = []
    let covered = query.fromBlock - 1n
    if (query.from || (this.config.index && Date.now() >= this.indexPausedUntil)) {
      try {
        // The index and the head are asked at the same time: the head bounds what is taken.
        const [answer, head] = await Promise.all([query.from ?? this.fromIndex(query.address, query.topics, query.fromBlock), last])
        covered = answer.covered < head ? answer.covered : head
        found = answer.logs
          .filter((log) => matches(log, query.address, query.topics) && BigInt(log.blockNumber ?? '0x0') >= query.fromBlock && BigInt(log.blockNumber ?? '0x0') <= covered)
          .map((log) => ({ ...log, [FROM_INDEX]: true }))
        if (covered < query.fromBlock - 1n) covered = query.fromBlock - 1n
      } catch (error) {
        this.indexFailed(error)
        found = []
        covered = query.fromBlock - 1n
      }
    }
    const head = await last
    if (covered < head) found = found.concat(await this.fromNode(query.address, query.topics, covered + 1n, head))
    return inChainOrder(found)
  }

  /**
   * Whether the chain holds each of `logs` as it states `fact` (by default its whole data): a log
   * at the same block and log index, of the same address and topics, stating the same. A log the
   * node gave is; for each one the index gave, the node is asked with an eth_getLogs of that block
   * alone (`fromBlock` = `toBlock`), by address and the first `topics` topics (the event and what
   * it is about, a review say), one request per distinct block and filter, all at once. A log the
   * index added or moved is not confirmed, nor one whose `fact` it altered, nor one the node could
   * not be asked about. `fact` names what the caller shows (a text's hash and URI, say): a field
   * the caller takes from elsewhere (a view) may differ without casting doubt on it.
   */
  async confirm(logs: Array<Log<bigint, number, false>>, options: { topics?: number; fact?: (log: RawFact) => string | undefined } = {}): Promise<boolean[]> {
    const topics = options.topics ?? 2
    const fact = options.fact ?? ((log: RawFact) => log.data.toLowerCase())
    const stated = (log: RawFact & { logIndex: number | string | null }) => {
      const said = fact(log)
      return said === undefined || log.logIndex === null ? undefined : `${Number(log.logIndex)}|${log.topics.join('|').toLowerCase()}|${said}`
    }
    const asked = new Map<string, Promise<Set<string | undefined>>>()
    const key = (log: Log<bigint, number, false>) => `${log.blockNumber}|${log.address.toLowerCase()}|${log.topics.slice(0, topics).join('|').toLowerCase()}`
    for (const log of logs) {
      if (!fromIndex(log) || log.blockNumber === null || asked.has(key(log))) continue
      const block = numberToHex(log.blockNumber)
      const filter = { address: log.address, topics: log.topics.slice(0, topics), fromBlock: block, toBlock: block }
      asked.set(
        key(log),
        (this.client.request({ method: 'eth_getLogs', params: [filter] }) as Promise<RpcLog[]>).then(
          (held) => new Set(held.map(stated)),
          () => new Set<string>(), // the node did not answer: nothing is confirmed
        ),
      )
    }
    return Promise.all(
      logs.map(async (log) => {
        if (!fromIndex(log)) return true
        const said = stated(log as RawFact & { logIndex: number | null })
        return !log.removed && said !== undefined && (await asked.get(key(log)))?.has(said) === true
      }),
    )
  }

  /**
   * `POST <index>/o2o/<route>` with `body` (the chain id, the last block `toBlock` and the paging
   * added): every page of the logs it gathers for several lists, and what its first page says it
   * covers. Undefined when there is no index (or it is set aside), when it does not offer the
   * route (an older index: the lists are then read one by one), or when it failed (it is then set
   * aside, as for any list). Nothing in it is trusted more than `/o2o/logs`' answer: each list is
   * taken from it with {@link LogQuery.from}.
   */
  async gather(route: string, body: Record<string, unknown>, toBlock: bigint): Promise<Gathered | undefined> {
    if (!this.config.index || Date.now() < this.indexPausedUntil || this.missingRoutes.has(route)) return undefined
    try {
      return await this.pages(route, body, toBlock)
    } catch (error) {
      if (error instanceof MissingRoute) this.missingRoutes.add(route)
      else this.indexFailed(error)
      return undefined
    }
  }

  /** Every page of the index's answer, and the last block it vouches for (its head at the first page). */
  private async fromIndex(address: Address | Address[], topics: Topic[], fromBlock: bigint): Promise<{ logs: RpcLog[]; covered: bigint }> {
    return this.pages('logs', { address, topics, fromBlock: Number(fromBlock) })
  }

  /** Every page of `POST <index>/o2o/<route>`, the logs complete up to the first page's head (and `toBlock`). */
  private async pages(route: string, body: Record<string, unknown>, toBlock?: bigint): Promise<Gathered> {
    const url = `${this.config.index!.replace(/\/+$/, '')}/o2o/${route}`
    const logs: RpcLog[] = []
    let after: string | null = null
    let covered: bigint | undefined
    let fields: Record<string, unknown> = {}
    for (let page = 0; page < 10_000; page++) {
      // Later pages are read to the first one's head: an answer that depends on the blocks (the containers a route follows) stays one answer.
      const last = covered ?? toBlock
      const asked = { ...body, chainId: this.config.deployment.chainId, toBlock: last === undefined ? null : Number(last), after, limit: INDEX_LIMIT }
      this.stats.indexPages += 1
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(asked),
        signal: AbortSignal.timeout(INDEX_TIMEOUT_MS),
      })
      if (response.status === 404 && route !== 'logs') throw new MissingRoute(route)
      if (!response.ok) throw new Error(`the index answered HTTP ${response.status}`)
      const answer = (await response.json()) as IndexAnswer & Record<string, unknown>
      if (!Array.isArray(answer.logs) || typeof answer.head !== 'number' || !Number.isSafeInteger(answer.head)) throw new Error('the index answered something else than logs')
      // Later pages may be read at a later head: only what the first page's head covers counts.
      if (covered === undefined) {
        covered = toBlock !== undefined && toBlock < BigInt(answer.head) ? toBlock : BigInt(answer.head)
        const { logs: _logs, head: _head, next: _next, ...rest } = answer
        fields = rest
      }
      logs.push(...answer.logs)
      if (!answer.next) return { logs, covered, fields }
      after = answer.next
    }
    throw new Error('the index never finished its answer')
  }

  private indexFailed(error: unknown): void {
    this.stats.indexFailures += 1
    this.indexPausedUntil = Date.now() + INDEX_PAUSE_MS
    console.warn(`o2ochain: the index at ${this.config.index} did not answer (${(error as Error).message}); reading the node instead`)
  }

  /** [fromBlock, toBlock] from the node, in chunks of at most {@link MAX_SPAN} blocks, a few in flight at once. */
  private async fromNode(address: Address | Address[], topics: Topic[], fromBlock: bigint, toBlock: bigint): Promise<RpcLog[]> {
    const ranges: Array<[bigint, bigint]> = []
    for (let start = fromBlock; start <= toBlock; start += this.span) ranges.push([start, min(toBlock, start + this.span - 1n)])
    const parts: RpcLog[][] = new Array(ranges.length)
    let next = 0
    const worker = async () => {
      while (next < ranges.length) {
        const at = next++
        parts[at] = await this.range(address, topics, ranges[at][0], ranges[at][1])
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, ranges.length) }, worker))
    return parts.flat()
  }

  /**
   * One range from the node, split further when the provider refuses it (following its hint when
   * it gives one), waiting and asking again when it is busy (429, 5xx) or drops the request.
   */
  private async range(address: Address | Address[], topics: Topic[], fromBlock: bigint, toBlock: bigint): Promise<RpcLog[]> {
    const out: RpcLog[] = []
    let start = fromBlock
    let size = toBlock - fromBlock + 1n
    let attempts = 0
    while (start <= toBlock) {
      const end = min(toBlock, start + size - 1n)
      try {
        this.stats.nodeChunks += 1
        const logs = (await this.client.request(
          { method: 'eth_getLogs', params: [{ address, topics, fromBlock: numberToHex(start), toBlock: numberToHex(end) }] },
          { retryCount: 0 }, // retried here: a refusal of the range is not retried as it is
        )) as RpcLog[]
        out.push(...logs)
        start = end + 1n
        attempts = 0
      } catch (error) {
        const text = messageOf(error)
        const hint = busy(error, text) ? undefined : rangeHint(text, start)
        if (busy(error, text) || (hint === undefined && !TOO_WIDE.test(text))) {
          if (++attempts > RETRIES) throw error
          await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempts * (0.75 + Math.random() / 2)))
        } else if (hint !== undefined && hint < end - start + 1n) {
          size = hint
          if (hint < this.span) this.span = hint // the provider's limit holds for the rest of the page view
        } else if (end > start) {
          size = (end - start + 1n) / 2n
        } else if (++attempts > RETRIES) {
          throw error
        }
      }
    }
    return out
  }
}

/** The index does not offer a gathering route (HTTP 404): not a failure of the index. */
class MissingRoute extends Error {
  constructor(route: string) {
    super(`the index has no /o2o/${route}`)
  }
}

const readers = new WeakMap<PublicClient, LogReader>()

/** The page's one log reader for `client` (its head and its opinion of the index are shared by every list). */
export function logReader(client: PublicClient, config: Config): LogReader {
  let found = readers.get(client)
  if (!found) {
    found = new LogReader(client, config)
    readers.set(client, found)
  }
  return found
}

/** After a confirmed write: the next lists read a new head. */
export function forgetHead(client: PublicClient): void {
  readers.get(client)?.forget()
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

/** Whether `log` is at `address` and matches `topics` as eth_getLogs matches them. */
export function matches(log: RpcLog, address: Address | Address[], topics: Topic[]): boolean {
  const addresses = (Array.isArray(address) ? address : [address]).map((a) => a.toLowerCase())
  if (typeof log.address !== 'string' || !addresses.includes(log.address.toLowerCase())) return false
  if (log.removed) return false
  if (!Array.isArray(log.topics)) return false
  return topics.every((want, i) => {
    if (want === null || want === undefined) return true
    const have = log.topics[i]?.toLowerCase()
    if (have === undefined) return false
    return Array.isArray(want) ? want.some((w) => w.toLowerCase() === have) : want.toLowerCase() === have
  })
}

function inChainOrder(logs: RpcLog[]): RpcLog[] {
  const seen = new Set<string>()
  const unique = logs.filter((log) => {
    const key = `${log.blockNumber}:${log.logIndex}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  const formatted = unique.map((log) => ({ log, block: BigInt(log.blockNumber ?? '0x0'), index: Number(log.logIndex ?? '0x0') }))
  formatted.sort((a, b) => (a.block === b.block ? a.index - b.index : a.block < b.block ? -1 : 1))
  return formatted.map((f) => f.log)
}

/** Whether `error` says the provider is busy (429, a 5xx, a timeout), not that the request asked too much. */
function busy(error: unknown, text: string): boolean {
  for (let current = error as { status?: number; code?: number; cause?: unknown } | undefined, depth = 0; current && depth < 6; depth++) {
    if (current.status === 429 || (typeof current.status === 'number' && current.status >= 500)) return true
    if (current.code === 429 || current.code === -32007 || current.code === -32603) return true
    current = current.cause as typeof current
  }
  return BUSY.test(text) && !/block range|more than|max results|response size/i.test(text)
}

/** Every message of an error and its causes (viem wraps the provider's words in `details`). */
function messageOf(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current && depth < 6; depth++) {
    const e = current as { message?: string; details?: string; shortMessage?: string; cause?: unknown }
    parts.push(e.details ?? '', e.shortMessage ?? '', e.message ?? '')
    current = e.cause
  }
  return parts.join(' ')
}

/**
 * How many blocks from `start` the provider said it would take, when it said: a suggested range
 * (`[0x…, 0x…]`, Infura's and Alchemy's words) or a limit ("up to a 2K block range", "limited
 * to a 10,000 range", "maximum block range: 5000").
 */
export function rangeHint(text: string, start: bigint): bigint | undefined {
  const suggested = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i.exec(text)
  if (suggested) {
    const [from, to] = [BigInt(suggested[1]), BigInt(suggested[2])]
    if (to >= from) return from === start ? to - from + 1n : to >= start ? to - start + 1n : to - from + 1n
  }
  const limits: bigint[] = []
  const count = (digits: string, k: string | undefined) => BigInt(digits.replace(/,/g, '')) * (k ? 1000n : 1n)
  for (const m of text.matchAll(/(\d[\d,]*)\s*(k)?\s*(?:-|\s)?(?:blocks?\s*)?range/gi)) limits.push(count(m[1], m[2]))
  for (const m of text.matchAll(/range[^\d\n]{0,24}?(\d[\d,]*)\s*(k\b)?/gi)) limits.push(count(m[1], m[2]))
  for (const m of text.matchAll(/limit(?:ed)?(?:\s+(?:of|to|is))?(?:\s+a)?\s+(\d[\d,]*)\s*(k\b)?/gi)) limits.push(count(m[1], m[2]))
  const plausible = limits.filter((n) => n > 0n)
  return plausible.length ? plausible.reduce(min) : undefined
}

/**
 * An item's traceability history, assembled as src/o2ochain/trace/_ledger.py `Trace.history` does: the
 * TraceLedger entries anchored on the item, its lot and its product class, on the containers it
 * was packed in (while packed), and on the inputs of the transformations that made it. Each
 * event's full EPCIS document is fetched from the event store and checked against the hash the
 * chain anchored.
 *
 * Only the item's brand writes into its history (contracts/interfaces/ITraceLedger.sol): a
 * container's events apply to the item only through links recorded under the item's own brand,
 * by actors that brand authorised. A `Linked` log of another brand naming the item (an actor of
 * brand 2 "packing" brand 1's item onto a pallet, then declaring the pallet recalled) is ignored,
 * at every level of nesting. Inputs of a transformation recorded under the item's brand are
 * followed into other brands' chains: the item's brand vouched for that link.
 *
 * The lists may come from an index (chain/logs.ts), so each chain is checked as
 * src/o2ochain/trace/_ledger.py `Trace.check_chain` checks it: its head is recomputed from the
 * listed entries and compared with the head the ledger stores (one eth_call per brand, at the
 * block the lists were read to). An entry of a chain that does not end at its stored head is not
 * verified, whatever its stored file says: an index that drops or forges an entry cannot make a
 * history look whole. The item's own chains are also counted on chain, so an index that hides a
 * whole chain of the item is noticed too.
 *
 * An index that offers `/o2o/trace` (indexer/src/api/index.ts) gives the item's own chains and
 * its containers', three levels out, in one answer, where they would otherwise be read one level
 * after another (a round trip each). Each list is taken from that answer as from the index's
 * answer to that list alone ({@link LogQuery.from}): filtered again, completed from the node
 * beyond what it covers, and every chain still checked against its stored head.
 */
import { concat, encodeAbiParameters, getAbiItem, keccak256, zeroHash, type AbiEvent, type Address, type Hex, type PublicClient } from 'viem'
import { traceLedgerAbi } from './abi'
import { contractOf, type Config } from './config'
import { lotId, productId } from './gs1'
import type { ContentStore } from './content'
import { logReader, type Gathered, type LogReader } from './logs'

const EVENT_TYPES = ['ObjectEvent', 'AggregationEvent', 'TransformationEvent', 'TransactionEvent', 'AssociationEvent']
const ACTIONS = [undefined, 'ADD', 'OBSERVE', 'DELETE']
const recordedEvent = getAbiItem({ abi: traceLedgerAbi, name: 'Recorded' }) as AbiEvent
const linkedEvent = getAbiItem({ abi: traceLedgerAbi, name: 'Linked' }) as AbiEvent

export type Relation = 'item' | 'lot' | 'product' | 'container' | 'input'

/** How many levels of containers an item's history follows (a case, its pallet, the pallet's container). */
const CONTAINER_DEPTH = 3

interface Entry {
  brand: bigint
  subject: Hex
  actor: Address
  content: Hex
  meta: Hex
  readPoint: Hex
  bizLocation: Hex
  eventId: Hex
  related: Hex[]
  block: bigint
  logIndex: number
  txHash: Hex
  eventType: string
  action?: string
  timeMs: number
}

export interface TimelineEvent {
  time: Date
  eventType: string
  action?: string
  relations: Relation[]
  /** The brand whose ledger chain holds the entry (its actors are that brand's). */
  brand: bigint
  actor: Address
  contentHash: Hex
  block: bigint
  txHash: Hex
  /** The full EPCIS event, when the store has it and it matches the chain's hash. */
  event?: Record<string, unknown>
  /** The stored file hashes to the anchored content hash. */
  verified: boolean
  /** Why it is not verified, when it is not. */
  problem?: string
}

/** A party of the supply chain as its brand describes it: its kind (on chain) and, when published, its name, city and places by GLN. */
export interface Party {
  kind?: string
  name?: string
  city?: string
  places: Map<string, { name: string; city?: string }>
}

/** An item's history: its events, and how many entries of its own chains the ledger holds that no list gave. */
export interface History {
  events: TimelineEvent[]
  /** Entries the ledger counts on the item's, lot's and product's chains under its brand that the lists lacked (0: none). */
  missing: number
  /** Who recorded the events, by "brand:actor" (read when a content store was given; else empty). */
  parties: Map<string, Party>
}

/** Why an entry of a chain that does not end at its stored head is not verified. */
export const CHAIN_BROKEN = 'not confirmed by the chain: the list of records this page was given does not end at the head the ledger stores (a record was left out or made up)'

/** A chain's key: "brand:subject" (subject in lower case). */
function chainKey(brand: bigint | number, subject: Hex): string {
  return `${BigInt(brand)}:${subject.toLowerCase()}`
}

const ENTRY_WORDS = [
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'address' },
] as const
const LOW_192 = (1n << 192n) - 1n
const LOW_64 = (1n << 64n) - 1n

/** The ledger's head after `entries`, by the formula of contracts/interfaces/ITraceLedger.sol. */
export function recomputeHead(entries: Entry[]): Hex {
  let word = 0n
  for (const e of entries) {
    const prev = `0x${word.toString(16).padStart(64, '0')}` as Hex
    const relatedHash = e.related.length === 0 ? zeroHash : keccak256(concat(e.related))
    const h = keccak256(encodeAbiParameters(ENTRY_WORDS, [prev, e.content, e.meta, e.readPoint, e.bizLocation, e.eventId, relatedHash, e.actor]))
    word = ((BigInt(h) & LOW_192) << 64n) | ((word & LOW_64) + 1n)
  }
  return `0x${word.toString(16).padStart(64, '0')}` as Hex
}

function unpackMeta(meta: Hex): { eventType: string; action?: string; timeMs: number } {
  const bytes = meta.slice(2)
  const byte = (i: number) => parseInt(bytes.slice(i * 2, i * 2 + 2), 16)
  return {
    eventType: EVENT_TYPES[byte(0)] ?? `type ${byte(0)}`,
    action: ACTIONS[byte(1)],
    timeMs: Number(BigInt('0x' + bytes.slice(12, 28))),
  }
}

/** ActorKind in contracts/Types.sol (ACTOR_KINDS in src/o2ochain/trace/_ledger.py). */
const ACTOR_KINDS: Record<number, string> = { 1: 'farm', 2: 'plant', 3: 'logistics', 4: 'store', 5: 'other' }

export class TraceReader {
  private readonly address: Address
  private readonly fromBlock: bigint
  private readonly logs: LogReader
  private readonly kinds = new Map<string, Promise<string | undefined>>()

  constructor(
    private readonly client: PublicClient,
    private readonly config: Config,
  ) {
    const ledger = contractOf(config, 'TraceLedger')
    this.address = ledger.address
    this.fromBlock = ledger.block
    this.logs = logReader(client, config)
  }

  /**
   * Entries per chain (by {@link chainKey}), each with the related ids of its Linked logs, as
   * listed up to block `at` (`from`: an answer of the index that holds these chains' logs).
   */
  async chains(subjects: Hex[], brand?: bigint, at?: bigint, from?: Gathered): Promise<Map<string, Entry[]>> {
    const found = new Map<string, Entry[]>()
    if (subjects.length === 0) return found
    const args = brand ? { subject: subjects, brand } : { subject: subjects }
    const toBlock = at ?? this.logs.head()
    const [recorded, linked] = await Promise.all([
      this.logs.get({ address: this.address, event: recordedEvent, args, fromBlock: this.fromBlock, toBlock, from }),
      this.logs.get({ address: this.address, event: linkedEvent, args, fromBlock: this.fromBlock, toBlock, from }),
    ])
    type Log = (typeof recorded)[number]
    const merged: Array<[Log, boolean]> = [...recorded.map((l): [Log, boolean] => [l, true]), ...linked.map((l): [Log, boolean] => [l, false])]
    merged.sort(([a], [b]) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : a.blockNumber! < b.blockNumber! ? -1 : 1))
    const last = new Map<string, Entry>()
    for (const [log, isRecorded] of merged) {
      const a = (log as unknown as { args: Record<string, unknown> }).args
      const key = chainKey(a.brand as bigint, a.subject as Hex)
      if (isRecorded) {
        const meta = unpackMeta(a.meta as Hex)
        const entry: Entry = {
          brand: a.brand as bigint,
          subject: a.subject as Hex,
          actor: a.actor as Address,
          content: a.content as Hex,
          meta: a.meta as Hex,
          readPoint: a.readPoint as Hex,
          bizLocation: a.bizLocation as Hex,
          eventId: a.eventId as Hex,
          related: [],
          block: log.blockNumber!,
          logIndex: log.logIndex ?? 0,
          txHash: log.transactionHash!,
          ...meta,
        }
        if (!found.has(key)) found.set(key, [])
        found.get(key)!.push(entry)
        last.set(key, entry)
      } else {
        const owner = last.get(key)
        if (owner && owner.content === a.content && owner.txHash === log.transactionHash) owner.related.push(a.related as Hex)
      }
    }
    return found
  }

  /**
   * Who `account` is for `brand`: its kind, as the ledger holds it, and its name, city and places
   * from the profile the brand's admin published (`setActorProfile`), when the content store has a
   * document that hashes to the ledger's hash. A document that does not is not shown: the name a
   * shopper reads is the brand's, never the server's or the party's own.
   */
  async party(brand: bigint, account: Address, content: ContentStore): Promise<Party> {
    const [kind, hash] = await Promise.all([
      this.actorKind(brand, account),
      this.client.readContract({ address: this.address, abi: traceLedgerAbi, functionName: 'actorProfile', args: [brand, account] }) as Promise<Hex>,
    ])
    const party: Party = { kind, places: new Map() }
    if (BigInt(hash) === 0n) return party
    const found = await content.get(hash)
    if (found.status !== 'intact' || found.document.type !== 'o2ochain.trace.actor') return party
    const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined)
    party.name = text(found.document.name)
    party.city = text(found.document.city)
    for (const place of Array.isArray(found.document.places) ? found.document.places : []) {
      const p = place as Record<string, unknown>
      const gln = text(p.gln)
      const name = text(p.name)
      if (gln && name) party.places.set(gln, { name, city: text(p.city) })
    }
    return party
  }

  /** What kind of actor `account` is for `brand` in the ledger (farm, plant, logistics, store, other), undefined if never granted. */
  async actorKind(brand: bigint, account: Address): Promise<string | undefined> {
    const key = `${brand}:${account}`
    let found = this.kinds.get(key)
    if (!found) {
      found = this.client
        .readContract({ address: this.address, abi: traceLedgerAbi, functionName: 'actor', args: [brand, account] })
        .then((v) => {
          const view = v as { kind: number; grantedAt: bigint }
          return view.grantedAt ? ACTOR_KINDS[view.kind] : undefined
        })
      this.kinds.set(key, found)
    }
    return found
  }

  /**
   * The containers whose chains under `brand` name `subject` as related (a child or an input):
   * links recorded under any other brand are not asked for (the node filters on the indexed
   * brand) and, should a node return them anyway, are dropped here. `from`: an answer of the index
   * that holds these links.
   */
  async containersOf(subject: Hex, brand: bigint, at?: bigint, from?: Gathered): Promise<Hex[]> {
    const want = BigInt(brand) // a uint32 may arrive as a number from a decoded view
    const logs = await this.logs.get({
      address: this.address,
      event: linkedEvent,
      args: { related: subject, brand: want },
      fromBlock: this.fromBlock,
      toBlock: at ?? this.logs.head(),
      from,
    })
    const seen = new Set<Hex>()
    for (const log of logs) {
      const a = (log as unknown as { args: { brand: bigint | number; subject: Hex } }).args
      if (BigInt(a.brand) === want) seen.add(a.subject)
    }
    return [...seen]
  }

  /**
   * The item's history. `brand` is the item's brand (its registration's, else its GTIN's): only
   * containers linked under it are followed; without a brand, no container is. Every list is read
   * up to one block (the node's head when it starts) and every chain read is checked against the
   * head the ledger stored at that block. With a content store, the parties who recorded the
   * events are read too ({@link party}).
   *
   * On a slow network the round trips are what takes time, so nothing waits for more than it
   * needs: the stored heads of the item's own chains are asked with its first lists; each chain's
   * stored head, its events' files and its new parties are asked as soon as that chain is listed
   * (while the next level of containers or inputs is read), and each file is checked against its
   * hash when it arrives. Under a known brand the item's chains and its containers' are asked of
   * the index in one request ({@link gatherHistory}), when it offers that.
   */
  async history(item: Hex, opts: { gtin?: string; lot?: string; brand?: bigint; content?: ContentStore }): Promise<History> {
    const at = await this.logs.head()
    const collected = new Map<Hex, { entry: Entry; relations: Set<Relation>; chains: Set<string> }>()
    const listed = new Map<string, Entry[]>()
    const recomputed = new Map<string, Hex>()
    const heads = new Map<string, { current: Hex; count: number }>()
    const files = new Map<Hex, StoredFile>()
    const parties = new Map<string, Party>()
    /** The reads started along the way (heads, files, parties): all are awaited before the answer. */
    const started: Array<Promise<void>> = []
    const start = (read: Promise<void>) => {
      read.catch(() => undefined) // a failure is the answer's, when it is awaited below (not when a list failed first)
      started.push(read)
    }
    const asked = new Set<string>()
    const askHeads = (keys: string[]) => {
      const fresh = keys.filter((key) => !asked.has(key))
      fresh.forEach((key) => asked.add(key))
      if (fresh.length) start(this.storedHeads(fresh, at).then((found) => found.forEach((head, key) => heads.set(key, head))))
    }
    const seeds = new Map<string, Relation>([[item.toLowerCase(), 'item']])
    if (opts.gtin && opts.lot) seeds.set(lotId(opts.gtin, opts.lot).toLowerCase(), 'lot')
    if (opts.gtin) seeds.set(productId(opts.gtin).toLowerCase(), 'product')
    // The seeds' chains under the item's brand are counted on chain even when no list gave them:
    // their stored heads are asked with the first lists.
    const expected = opts.brand ? [...seeds.keys()].map((subject) => chainKey(BigInt(opts.brand!), subject as Hex)) : []
    // Under a known brand: the item's chains and its containers', three levels out, in one answer of the index.
    const gathering = opts.brand ? this.gatherHistory(item, [...seeds.keys()] as Hex[], BigInt(opts.brand), at) : Promise.resolve(undefined)
    // Chains listed whose head is still to be recomputed: after the requests their listing started are sent.
    let unchecked: string[] = []
    const recompute = () => {
      for (const key of unchecked) recomputed.set(key, recomputeHead(listed.get(key)!))
      unchecked = []
    }
    // New hashes and parties, gathered for one request per wave (whatever is listed and taken in the same task).
    let wave: { hashes: Hex[]; parties: string[] } | undefined
    const startWave = () => {
      if (wave) return wave
      wave = { hashes: [], parties: [] }
      setTimeout(flush, 0)
      return wave
    }
    const flush = () => {
      const { hashes, parties: keys } = wave!
      wave = undefined
      // CPU work, once this wave's requests are on their way: viem sends a batch on a timer that
      // its calls below set, after this one (a timer set now would run first, and hold them back).
      setTimeout(() => setTimeout(recompute, 0), 0)
      if (hashes.length) start(this.fetchStored(hashes).then((found) => found.forEach((file, hash) => files.set(hash, checkFile(hash, file)))))
      for (const key of keys) {
        const [brand, actor] = key.split(':')
        start(
          this.party(BigInt(brand), actor as Address, opts.content!)
            .catch((): Party => ({ places: new Map() }))
            .then((party) => void parties.set(key, party)),
        )
      }
    }
    const seenParties = new Set<string>()
    const take = (entries: Entry[], relation: Relation) => {
      for (const entry of entries) {
        const key = chainKey(entry.brand, entry.subject)
        const had = collected.get(entry.content)
        if (had) {
          had.relations.add(relation)
          had.chains.add(key)
          continue
        }
        collected.set(entry.content, { entry, relations: new Set([relation]), chains: new Set([key]) })
        startWave().hashes.push(entry.content)
        const party = `${entry.brand}:${entry.actor}`
        if (opts.content && !seenParties.has(party)) {
          seenParties.add(party)
          startWave().parties.push(party)
        }
      }
    }
    /** Chains as listed, each remembered whole for its check (a container's is taken only in part), its stored head asked at once. */
    const read = async (subjects: Hex[], brand?: bigint) => {
      // Under a known brand the chains' keys are known before their lists: their heads are asked with them.
      if (brand !== undefined) askHeads(subjects.map((subject) => chainKey(brand, subject)))
      const chains = await this.chains(subjects, brand, at, covering(await gathering, 'listed', subjects, brand))
      for (const [key, entries] of chains) {
        listed.set(key, entries)
        unchecked.push(key)
      }
      askHeads([...chains.keys()])
      startWave()
      return chains
    }
    askHeads(expected)
    const own: Entry[] = []
    // The item's, lot's and product's chains in one query, its containers at the same time.
    const outward = async (subject: Hex) => this.containersOf(subject, BigInt(opts.brand!), at, covering(await gathering, 'followed', [subject], BigInt(opts.brand!)))
    const containers = opts.brand ? this.followContainers(item, (subjects) => read(subjects, BigInt(opts.brand!)), outward, take, CONTAINER_DEPTH) : Promise.resolve()
    for (const entries of (await read([...seeds.keys()] as Hex[], opts.brand)).values()) {
      take(entries, seeds.get(entries[0]!.subject.toLowerCase()) ?? 'item')
      own.push(...entries)
    }
    const inputs = (async () => {
      let frontier = own.filter((e) => e.eventType === 'TransformationEvent')
      const seenInputs = new Set<Hex>()
      for (let level = 0; level < 5; level++) {
        const sources = [...new Set(frontier.flatMap((e) => e.related))].filter((x) => !seenInputs.has(x))
        sources.forEach((x) => seenInputs.add(x))
        if (sources.length === 0) break
        const chains = await read(sources)
        frontier = []
        for (const entries of chains.values()) {
          take(entries, 'input')
          frontier.push(...entries.filter((e) => e.eventType === 'TransformationEvent'))
        }
      }
    })()
    await Promise.all([containers, inputs])
    // Whatever the last lists started (their files, heads and parties), and whatever that started.
    await new Promise((resolve) => setTimeout(resolve, 0))
    for (let done = 0; done < started.length; ) {
      const now = started.length
      await Promise.all(started.slice(done, now))
      done = now
    }
    recompute()
    const intact = new Map<string, boolean>()
    for (const [key, head] of recomputed) intact.set(key, heads.get(key)?.current.toLowerCase() === head.toLowerCase())
    let missing = 0
    for (const key of expected) {
      const onChain = heads.get(key)?.count ?? 0
      const have = listed.get(key)?.length ?? 0
      if (onChain > have) missing += onChain - have
    }
    const events = [...collected.values()].map(({ entry, relations, chains }) =>
      this.withContent(entry, relations, files.get(entry.content), [...chains].every((key) => intact.get(key) === true)),
    )
    events.sort((a, b) => a.time.getTime() - b.time.getTime() || (a.block < b.block ? -1 : a.block > b.block ? 1 : 0))
    return { events, missing, parties }
  }

  /** The head the ledger stored at block `at` for each chain of `keys` ("brand:subject"): one eth_call per brand. */
  private async storedHeads(keys: string[], at: bigint): Promise<Map<string, { current: Hex; count: number }>> {
    const byBrand = new Map<bigint, Hex[]>()
    for (const key of keys) {
      const [brand, subject] = key.split(':') as [string, Hex]
      const subjects = byBrand.get(BigInt(brand)) ?? []
      subjects.push(subject)
      byBrand.set(BigInt(brand), subjects)
    }
    const found = new Map<string, { current: Hex; count: number }>()
    await Promise.all(
      [...byBrand].map(async ([brand, subjects]) => {
        for (let start = 0; start < subjects.length; start += 500) {
          const chunk = subjects.slice(start, start + 500)
          const [current, counts] = (await this.client.readContract({
            address: this.address,
            abi: traceLedgerAbi,
            functionName: 'heads',
            args: [Number(brand), chunk],
            blockNumber: at,
          })) as [readonly Hex[], readonly bigint[]]
          chunk.forEach((subject, i) => found.set(chainKey(brand, subject), { current: current[i], count: Number(counts[i]) }))
        }
      }),
    )
    return found
  }

  /**
   * The index's answer to `/o2o/trace` for the item under `brand` up to block `at`: the chains
   * of `subjects` and of the containers linked from `item`, {@link CONTAINER_DEPTH} levels out,
   * and which of them it says it listed and followed. Undefined when the index does not give it.
   */
  private async gatherHistory(item: Hex, subjects: Hex[], brand: bigint, at: bigint): Promise<Gathering | undefined> {
    const body = { address: this.address, brand: Number(brand), subjects, follow: [item], depth: CONTAINER_DEPTH, fromBlock: Number(this.fromBlock) }
    const found = await this.logs.gather('trace', body, at)
    if (!found) return undefined
    const ids = (value: unknown) => new Set(Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase()) : [])
    return { logs: found, brand, listed: ids(found.fields.listed), followed: ids(found.fields.followed) }
  }

  /**
   * The events of each container `subject` was packed in, while packed, `depth` levels out:
   * `read` lists chains under the item's brand, `outward` the containers a subject was linked into.
   */
  private async followContainers(
    subject: Hex,
    read: (subjects: Hex[]) => Promise<Map<string, Entry[]>>,
    outward: (subject: Hex) => Promise<Hex[]>,
    take: (entries: Entry[], relation: Relation) => void,
    depth: number,
    known?: Hex[],
  ): Promise<void> {
    if (depth === 0) return
    await Promise.all(
      (known ?? (await outward(subject))).map(async (container) => {
        // The container's chain and its own containers in the same round trip (viem batches them).
        const [chains, outer] = await Promise.all([read([container]), depth > 1 ? outward(container) : Promise.resolve([])])
        let any = false
        for (const entries of chains.values()) {
          const inside = packedEntries(entries, subject)
          take(inside, 'container')
          any ||= inside.length > 0
        }
        if (any && outer.length) await this.followContainers(container, read, outward, take, depth - 1, outer)
      }),
    )
  }

  /**
   * The stored EPCIS files of `hashes` from the event store: in one request when the store
   * offers a batch read (config `eventsBatch`), else one file each. Nothing is trusted: each file
   * is checked against its hash by {@link withContent}.
   */
  private async fetchStored(hashes: Hex[]): Promise<Map<Hex, Uint8Array | string>> {
    const found = new Map<Hex, Uint8Array | string>()
    if (!this.config.events || hashes.length === 0) return found
    if (this.config.eventsBatch) {
      try {
        const response = await fetch(this.config.eventsBatch, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ hashes }) })
        if (response.ok) {
          const files = (await response.json()) as Record<string, string | null>
          const encoder = new TextEncoder()
          for (const hash of hashes) {
            const text = files[hash.toLowerCase()]
            found.set(hash, typeof text === 'string' ? encoder.encode(text) : 'the event store does not have this event')
          }
          return found
        }
      } catch {
        // fall back to one request per file
      }
    }
    await Promise.all(
      hashes.map(async (hash) => {
        const hex = hash.slice(2).toLowerCase()
        const url = `${this.config.events!.replace(/\/?$/, '/')}${hex.slice(0, 2)}/${hex}.json`
        try {
          const response = await fetch(url)
          found.set(hash, response.ok ? new Uint8Array(await response.arrayBuffer()) : `the event store does not have this event (HTTP ${response.status})`)
        } catch (error) {
          found.set(hash, `could not fetch the event: ${(error as Error).message}`)
        }
      }),
    )
    return found
  }

  private withContent(entry: Entry, relations: Set<Relation>, file: StoredFile | undefined, chainIntact: boolean): TimelineEvent {
    const checked = this.checkContent(entry, relations, file)
    // A file that matches an entry of a broken chain still says what the entry was; it proves nothing.
    return chainIntact ? checked : { ...checked, verified: false, problem: CHAIN_BROKEN }
  }

  private checkContent(entry: Entry, relations: Set<Relation>, file: StoredFile | undefined): TimelineEvent {
    const base: TimelineEvent = {
      time: new Date(entry.timeMs),
      eventType: entry.eventType,
      action: entry.action,
      relations: [...relations].sort(),
      brand: entry.brand,
      actor: entry.actor,
      contentHash: entry.content,
      block: entry.block,
      txHash: entry.txHash,
      verified: false,
    }
    if (!this.config.events) return { ...base, problem: 'no event store is configured' }
    if (file === undefined) return { ...base, problem: 'the event store does not have this event' }
    return 'event' in file ? { ...base, event: file.event, verified: true } : { ...base, problem: file.problem }
  }
}

/** The index's one answer for an item's history: its logs, the brand they are under, the subjects whose chains and whose containers it says it holds. */
interface Gathering {
  logs: Gathered
  brand: bigint
  listed: Set<string>
  followed: Set<string>
}

/**
 * The gathered logs, when they stand for the list of `subjects` under `brand` (`listed`: their
 * chains; `followed`: the containers they were linked into); else undefined (the list is asked
 * for on its own). What the index says it holds only decides where a list is read from: what
 * it left out of a chain shows as that chain not ending at its stored head, as with any answer.
 */
function covering(gathered: Gathering | undefined, kind: 'listed' | 'followed', subjects: Hex[], brand: bigint | undefined): Gathered | undefined {
  if (!gathered || brand === undefined || BigInt(brand) !== gathered.brand) return undefined
  return subjects.every((subject) => gathered[kind].has(subject.toLowerCase())) ? gathered.logs : undefined
}

/** A stored EPCIS file, checked against the hash it was asked by: its event, or why it is not shown as one. */
type StoredFile = { event: Record<string, unknown> } | { problem: string }

/** Checks a file the event store gave for `hash` (or why it gave none): it counts only when it hashes to what the chain anchored. */
function checkFile(hash: Hex, stored: Uint8Array | string): StoredFile {
  if (typeof stored === 'string') return { problem: stored }
  if (keccak256(stored).toLowerCase() !== hash.toLowerCase()) return { problem: 'the stored event does not match the hash on chain' }
  try {
    return { event: JSON.parse(new TextDecoder().decode(stored)) as Record<string, unknown> }
  } catch (error) {
    return { problem: `the stored event is not JSON: ${(error as Error).message}` }
  }
}

/** The container's entries while `child` was packed in it (from an ADD to a DELETE aggregation). */
function packedEntries(entries: Entry[], child: Hex): Entry[] {
  const inside: Entry[] = []
  let packed = false
  for (const entry of entries) {
    if (entry.eventType === 'AggregationEvent') {
      if (entry.action === 'ADD' && entry.related.includes(child)) packed = true
      else if (entry.action === 'DELETE' && (entry.related.includes(child) || entry.related.length === 0)) {
        inside.push(entry)
        packed = false
        continue
      }
    }
    if (packed) inside.push(entry)
  }
  return inside
}

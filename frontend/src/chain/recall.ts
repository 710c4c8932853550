/**
 * A recall as the registry recorded it: who recalled (the item's brand: only its keys can), when
 * (the block's time), what (this item, or its whole lot), the brand's reason code, and the hash
 * of its notice (`ItemRecalled` / `LotRecalled`, contracts/interfaces/IProductRegistry.sol).
 *
 * The notice itself is an EPCIS event of the item's history (disposition `recalled`), whose
 * content hash is the `document` the recall names: the TraceLedger anchored it, so the page shows
 * its words only when the stored event matches that hash (see {@link recallNotice}). Its
 * o2ochain fields (`o2o:recall`: reason, what to do, contact; each a text or texts by language)
 * are described in the README (Traceability).
 */
import { getAbiItem, zeroHash, type AbiEvent, type Hex, type PublicClient } from 'viem'
import { productRegistryAbi } from './abi'
import { locale } from '../i18n'
import { contractOf, type Config } from './config'
import { logReader } from './logs'
import type { TimelineEvent } from './trace'

const itemRecalled = getAbiItem({ abi: productRegistryAbi, name: 'ItemRecalled' }) as AbiEvent
const lotRecalled = getAbiItem({ abi: productRegistryAbi, name: 'LotRecalled' }) as AbiEvent

export interface Recall {
  /** The whole lot, or this one item. */
  scope: 'item' | 'lot'
  /** The brand's own reason code. */
  reason: number
  /** keccak256 content hash of the notice event; undefined when the brand named none. */
  document?: Hex
  /** When the registry recorded it (the block's time). */
  at: Date
  block: bigint
}

/** The words a recall notice event carries (its `o2o:recall` field). */
export interface Notice {
  reason?: string
  action?: string
  contact?: string
  /** The recorded event the notice is (checked against its anchored hash). */
  event: TimelineEvent
}

/** Of a text given per language, the one in the page's language, else English, else the first. */
function pickLanguage(texts: Record<string, unknown>): unknown {
  const wanted = locale().toLowerCase()
  const tags = Object.keys(texts)
  const found = tags.find((t) => t.toLowerCase() === wanted) ?? tags.find((t) => t.toLowerCase().split('-')[0] === wanted.split('-')[0]) ?? tags.find((t) => t.toLowerCase().startsWith('en'))
  return texts[found ?? tags[0]]
}

/** The registry's record of the recall of `item` or of its lot (the latest), if there is one. */
export async function recallOf(client: PublicClient, config: Config, item: Hex, lot: Hex): Promise<Recall | undefined> {
  const { address, block: fromBlock } = contractOf(config, 'ProductRegistry')
  const logs = logReader(client, config)
  const [own, ofLot] = await Promise.all([
    logs.get({ address, event: itemRecalled, args: { item }, fromBlock }),
    lot === zeroHash ? Promise.resolve([]) : logs.get({ address, event: lotRecalled, args: { lot }, fromBlock }),
  ])
  const found = [...own.map((log) => ({ log, scope: 'item' as const })), ...ofLot.map((log) => ({ log, scope: 'lot' as const }))]
  if (found.length === 0) return undefined
  found.sort((a, b) => (a.log.blockNumber === b.log.blockNumber ? 0 : (a.log.blockNumber ?? 0n) < (b.log.blockNumber ?? 0n) ? -1 : 1))
  const first = found[0] // the first recall is the one that took it off the market
  const args = (first.log as unknown as { args: { reason: number; document: Hex } }).args
  const block = first.log.blockNumber ?? 0n
  const at = new Date(Number((await client.getBlock({ blockNumber: block })).timestamp) * 1000)
  return { scope: first.scope, reason: Number(args.reason), document: args.document === zeroHash ? undefined : args.document, at, block }
}

/** The notice `recall` names, among the item's verified history; undefined if it is not there or does not check. */
export function recallNotice(recall: Recall, events: TimelineEvent[]): Notice | undefined {
  if (!recall.document) return undefined
  const want = recall.document.toLowerCase()
  const event = events.find((e) => e.verified && e.contentHash.toLowerCase() === want)
  if (!event) return undefined
  const fields = (event.event?.['o2o:recall'] ?? {}) as Record<string, unknown>
  // A field is text, or text per language ({"zh-CN": "…", "en": "…"}): the page's language first.
  const text = (key: string): string | undefined => {
    const value = fields[key]
    const said = typeof value === 'object' && value !== null ? pickLanguage(value as Record<string, unknown>) : value
    return typeof said === 'string' && said.trim() ? said.trim() : undefined
  }
  return { reason: text('reason'), action: text('action'), contact: text('contact'), event }
}

/**
 * The content store: documents (review texts, merchant and actor profiles) addressed by the
 * keccak256 of their canonical JSON, which count only when they hash to what the chain holds.
 */
import { keccak256, stringToBytes, type Hex } from 'viem'
import { t } from '../i18n'

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** What the content store gave for a hash, checked against it; or why the hash itself is not a fact. */
export type ContentCheck =
  | { status: 'intact'; document: JsonObject }
  | { status: 'mismatch' }
  | { status: 'missing'; detail: string }
  /** The hash came in a log the index gave and the chain did not confirm: whatever it points to is not shown as the author's. */
  | { status: 'unconfirmed'; detail: string }

/** Why a hash from the index is not shown as a fact (what the chain said when asked for its log); worded once, as the page's language is fixed while it lives. */
export const UNCONFIRMED: ContentCheck = { status: 'unconfirmed', detail: t('content.indexOnly') }

/**
 * RFC 8785 (JCS) canonical JSON, as src/o2ochain/epcis/_store.py `canonical_json` writes it: object keys
 * sorted by UTF-16 code units, no white space, numbers and strings as ECMAScript serialises them
 * (which is how RFC 8785 defines them).
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('a number is infinite or NaN')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const keys = Object.keys(value).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`
}

/**
 * The content store (src/o2ochain/loop/_reviews.py `ContentStore`): documents at `<base>0x<hash>.json`,
 * where the hash is the keccak256 of the document's canonical JSON. A document counts only when
 * it hashes to the hash on chain, so the server that holds it is trusted with nothing.
 */
export class ContentStore {
  private readonly cache = new Map<Hex, Promise<ContentCheck>>()
  private readonly base?: string

  constructor(base: string | undefined) {
    this.base = base === undefined ? undefined : base.replace(/\/?$/, '/')
  }

  get(hash: Hex): Promise<ContentCheck> {
    const key = hash.toLowerCase() as Hex
    let found = this.cache.get(key)
    if (!found) {
      found = this.fetchChecked(key)
      this.cache.set(key, found)
    }
    return found
  }

  private async fetchChecked(hash: Hex): Promise<ContentCheck> {
    if (!this.base) return { status: 'missing', detail: t('content.noStore') }
    let bytes: Uint8Array
    try {
      const response = await fetch(`${this.base}${hash}.json`)
      if (!response.ok) return { status: 'missing', detail: t('content.notInStore', { status: `HTTP ${response.status}` }) }
      bytes = new Uint8Array(await response.arrayBuffer())
    } catch (error) {
      return { status: 'missing', detail: t('content.storeUnreachable', { reason: (error as Error).message }) }
    }
    let document: JsonValue
    try {
      document = JSON.parse(new TextDecoder().decode(bytes)) as JsonValue
    } catch {
      return { status: 'mismatch' }
    }
    if (document === null || typeof document !== 'object' || Array.isArray(document)) return { status: 'mismatch' }
    // The stored file is canonical JSON already, so its own bytes usually hash right; otherwise the
    // hash of its canonical form decides, as in loop/_reviews.py ContentStore.get.
    if (keccak256(bytes) === hash) return { status: 'intact', document }
    try {
      if (keccak256(stringToBytes(canonicalJson(document))) === hash) return { status: 'intact', document }
    } catch {
      // a value RFC 8785 cannot represent: it cannot be the document that was hashed
    }
    return { status: 'mismatch' }
  }
}

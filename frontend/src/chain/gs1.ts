/**
 * GS1 identifiers as the contracts hash them — the same rules as src/o2ochain/gs1/.
 *
 * item id = keccak256("/01/<14-digit GTIN>/21/<serial>"), lot id = keccak256("/01/<GTIN>/10/<lot>"),
 * the values unescaped. A Digital Link may put lot, serial and expiry in the path or the query
 * string, under numeric AIs or the convenience alphas (lot, ser, exp).
 */
import { keccak256, stringToBytes, type Hex } from 'viem'

/**
 * What is wrong with what the person gave, as a stable code the page words for a shopper
 * (scan/messages.ts); `detail` says it for a developer. The page tells errors apart by `kind` and
 * `code`, never by class name: a minified bundle renames classes.
 */
export type InputProblem =
  | 'empty' // nothing was given
  | 'not-a-code' // text that is no product code at all
  | 'other-link' // a web address that is not a GS1 Digital Link (a shop's site, a payment code)
  | 'not-an-item' // a GS1 key of something else: a case, a pallet, a place
  | 'no-serial' // a product or lot code, not one item (no serial)
  | 'bad-gtin' // a product number of the wrong length or not all digits
  | 'bad-check-digit' // a product number whose check digit does not match (a typo)
  | 'damaged' // a product code with a value that cannot be right (characters, order, encoding)

export class InputError extends Error {
  /** Stable across minification: what `isInputError` checks. */
  readonly kind = 'o2ochain-input'
  constructor(
    readonly code: InputProblem,
    readonly detail: string,
    /** The value the problem is about (a GTIN with a wrong check digit), for the message. */
    readonly value?: string,
  ) {
    super(detail)
  }
}

export function isInputError(error: unknown): error is InputError {
  return typeof error === 'object' && error !== null && (error as { kind?: unknown }).kind === 'o2ochain-input'
}

export interface DigitalLink {
  gtin: string
  serial?: string
  lot?: string
  /** YYMMDD as printed (AI 17). */
  expiry?: string
}

const QUALIFIERS: Record<string, string> = { '22': '22', cpv: '22', '10': '10', lot: '10', '21': '21', ser: '21' }
const QUALIFIER_ORDER: Record<string, number> = { '22': 0, '10': 1, '21': 2 }
const QUERY_KEYS: Record<string, string> = { '10': '10', lot: '10', '21': '21', ser: '21', '17': '17', exp: '17' }
// GS1 X..20: the 82-character set of GS1 General Specifications figure 7.11-1.
const X20 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/
const MAX_URI_LENGTH = 4096
/** GS1's global resolver: where a code read from an element string or EPC URN is shown as a link. */
export const DEFAULT_RESOLVER = 'https://id.gs1.org'

export function gtinCheckDigit(body: string): number {
  let sum = 0
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48
    sum += digit * (i % 2 === 0 ? 3 : 1)
  }
  return (10 - (sum % 10)) % 10
}

export function normalizeGtin(value: string): string {
  if (!/^\d+$/.test(value) || ![8, 12, 13, 14].includes(value.length)) {
    throw new InputError('bad-gtin', `not a GTIN (8, 12, 13 or 14 digits): ${JSON.stringify(value)}`, value)
  }
  const gtin = value.padStart(14, '0')
  if (gtinCheckDigit(gtin.slice(0, 13)) !== Number(gtin[13])) {
    throw new InputError('bad-check-digit', `GTIN ${value} has a wrong check digit`, value)
  }
  return gtin
}

function decode(value: string, what: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new InputError('damaged', `the ${what} ${JSON.stringify(value)} is not correctly percent-encoded`)
  }
}

function checkX20(value: string, what: string): string {
  if (!X20.test(value)) throw new InputError('damaged', `the ${what} ${JSON.stringify(value)} is not 1 to 20 GS1 characters`)
  return value
}

function checkExpiry(value: string): string {
  if (!/^\d{6}$/.test(value)) throw new InputError('damaged', 'the expiry (AI 17) is not YYMMDD')
  return value
}

function linkOf(gtin: string, values: Record<string, string | undefined>): DigitalLink {
  const link: DigitalLink = { gtin: normalizeGtin(gtin) }
  if (values['10'] !== undefined) link.lot = checkX20(values['10'], 'lot')
  if (values['21'] !== undefined) link.serial = checkX20(values['21'], 'serial')
  if (values['17'] !== undefined) link.expiry = checkExpiry(values['17'])
  return link
}

/**
 * Parse a GS1 Digital Link URI (uncompressed) into its GTIN, lot, serial and expiry — the rules of
 * src/o2ochain/gs1/_digital_link.py `parse_digital_link`: any http(s) host (any case) and path
 * prefix, a trailing slash, the convenience alphas, lot/serial/expiry in the query string,
 * other query parameters and a fragment ignored.
 */
export function parseDigitalLink(uri: string): DigitalLink {
  const text = uri.trim()
  if (text.length > MAX_URI_LENGTH) throw new InputError('not-a-code', `URI is ${text.length} characters, longer than any Digital Link`)
  const match = /^(https?):\/\/([^/?#\s]+)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(text)
  if (!match) throw new InputError('not-a-code', 'not an http(s) URI')
  const segments = (match[3] ?? '').split('/').slice(1)
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop()
  const starts = segments
    .map((s, i) => ((s.toLowerCase() === '01' || s.toLowerCase() === 'gtin') && (segments.length - i) % 2 === 0 ? i : -1))
    .filter((i) => i >= 0)
  if (starts.length === 0) throw new InputError('other-link', 'no /01/ (GTIN) segment in the path; compressed Digital Links are not supported')
  let error: unknown
  for (const start of starts) {
    try {
      return parseFrom(segments.slice(start), match[4] ?? '')
    } catch (e) {
      error = e
    }
  }
  throw error
}

function parseFrom(segments: string[], query: string): DigitalLink {
  const gtin = decode(segments[1], 'GTIN')
  normalizeGtin(gtin)
  const values: Record<string, string> = {}
  let lastOrder = -1
  for (let k = 2; k < segments.length; k += 2) {
    const key = segments[k]
    const ai = QUALIFIERS[/^[a-z]+$/i.test(key) ? key.toLowerCase() : key]
    if (ai === undefined) throw new InputError('damaged', `unknown AI ${JSON.stringify(key)} in the path after /01/`)
    if (ai in values || QUALIFIER_ORDER[ai] < lastOrder) throw new InputError('damaged', 'key qualifiers are out of GS1 order (22, 10, 21)')
    if (ai === '22') throw new InputError('damaged', 'AI 22 (consumer product variant) cannot name an o2ochain item')
    lastOrder = QUALIFIER_ORDER[ai]
    if (!segments[k + 1]) throw new InputError('damaged', `AI ${ai} has an empty value`)
    values[ai] = decode(segments[k + 1], ai === '10' ? 'lot' : 'serial')
  }
  const inQuery: Record<string, string> = {}
  for (const pair of query.slice(1).split('&')) {
    if (!pair) continue
    const cut = pair.indexOf('=')
    const rawKey = cut < 0 ? pair : pair.slice(0, cut)
    const ai = QUERY_KEYS[/^[a-z]+$/i.test(rawKey) ? rawKey.toLowerCase() : rawKey]
    if (ai === undefined) continue // linkType and other AIs do not change the item
    // As the CLI reads it: '+' is a GS1 character, not a space.
    const value = decode(cut < 0 ? '' : pair.slice(cut + 1), 'query value')
    if (ai in inQuery && inQuery[ai] !== value) throw new InputError('damaged', `AI ${ai} is given twice with different values`)
    inQuery[ai] = value
  }
  for (const [ai, value] of Object.entries(inQuery)) {
    if (ai in values && values[ai] !== value) throw new InputError('damaged', `AI ${ai} differs between path and query string`)
    values[ai] = value
  }
  return linkOf(gtin, values)
}

/** A bracketed element string, `(01)09506000134352(10)L1(21)ABC`: as the CLI reads it, only
 * (01), (10), (21) and (17) separate values; blanks around a value are forgiven (no value holds one). */
function parseBracketed(text: string): DigitalLink {
  const parts = text.split(/\((01|10|21|17)\)/)
  if (parts[0].trim() !== '') throw new InputError('not-a-code', 'an element string must start with an AI in brackets')
  const found: Record<string, string> = {}
  for (let k = 1; k < parts.length; k += 2) {
    if (parts[k] in found) throw new InputError('damaged', `AI ${parts[k]} appears twice in the element string`)
    found[parts[k]] = parts[k + 1].trim()
  }
  if (found['01'] === undefined) throw new InputError('not-a-code', 'the element string has no (01) GTIN')
  return linkOf(found['01'], found)
}

const GS = '\x1d'
/** Lengths of the values of the predefined fixed-length AIs (GS1 General Specifications 7.8.4), which need no GS after them. */
const FIXED_LENGTH: Record<string, number> = { '00': 18, '01': 14, '02': 14, '03': 14, '04': 16, '11': 6, '12': 6, '13': 6, '14': 6, '15': 6, '16': 6, '17': 6, '18': 6, '19': 6, '20': 2 }

/**
 * An element string as a scanner emits it, `0109506000000107 21E00000003` with FNC1 as GS
 * (`\x1d`) after a variable-length value: fixed-length values are cut by length, a variable one
 * runs to the next GS (or blank, which no GS1 value holds) or the end.
 */
function parseUnbracketed(text: string): DigitalLink {
  const found: Record<string, string> = {}
  let i = 0
  while (i < text.length) {
    if (text[i] === GS) {
      i++
      continue
    }
    const two = text.slice(i, i + 2)
    if (!/^\d\d$/.test(two)) throw new InputError('not-a-code', `no AI at position ${i + 1} of the element string`)
    // 31nn–36nn (measures) have 4-digit AIs and 6 digits; 410–417 (GLNs) 3-digit AIs and 13 digits.
    const [aiLength, valueLength] = /^3[1-6]$/.test(two) ? [4, 6] : /^41[0-7]$/.test(text.slice(i, i + 3)) ? [3, 13] : [2, FIXED_LENGTH[two]]
    const ai = text.slice(i, i + aiLength)
    i += aiLength
    let value: string
    if (valueLength !== undefined) {
      value = text.slice(i, i + valueLength)
      if (!/^\d+$/.test(value) || value.length !== valueLength) throw new InputError(ai === '01' ? 'bad-gtin' : 'damaged', `AI ${ai} needs ${valueLength} digits`, value)
      i += valueLength
    } else {
      const end = text.indexOf(GS, i)
      value = text.slice(i, end < 0 ? text.length : end)
      i += value.length
    }
    if (ai === '01' || ai === '10' || ai === '21' || ai === '17') {
      if (ai in found) throw new InputError('damaged', `AI ${ai} appears twice in the element string`)
      found[ai] = value
    }
  }
  if (found['01'] === undefined) throw new InputError('not-a-code', 'the element string has no AI 01 (GTIN)')
  return linkOf(found['01'], found)
}

/** An EPC pure-identity URN of one item, `urn:epc:id:sgtin:CP.IR.S` (EPC Tag Data Standard), as the CLI reads it. */
function parseSgtin(text: string): DigitalLink {
  const match = /^urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(.+)$/i.exec(text)
  if (!match) {
    if (/^urn:epc:id:sgtin:/i.test(text)) throw new InputError('damaged', 'an EPC sgtin URN is urn:epc:id:sgtin:<company prefix>.<item reference>.<serial>')
    throw new InputError('not-an-item', 'this EPC URN names something other than one item')
  }
  const [, cp, ir, serial] = match
  if (cp.length + ir.length !== 13) throw new InputError('damaged', 'the company prefix and item reference of an sgtin are 13 digits together')
  const body = ir[0] + cp + ir.slice(1)
  return linkOf(body + gtinCheckDigit(body), { '21': decode(serial, 'serial') })
}

/** A Digital Link's text on GS1's resolver (percent-encoding outside RFC 3986's unreserved set, as src/o2ochain/gs1 renders it). */
export function renderDigitalLink(link: DigitalLink, resolver = DEFAULT_RESOLVER): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  let uri = `${resolver}/01/${link.gtin}`
  if (link.lot !== undefined) uri += `/10/${encode(link.lot)}`
  if (link.serial !== undefined) uri += `/21/${encode(link.serial)}`
  if (link.expiry !== undefined) uri += `?17=${link.expiry}`
  return uri
}

export function itemId(gtin14: string, serial: string): Hex {
  return keccak256(stringToBytes(`/01/${gtin14}/21/${serial}`))
}

export function lotId(gtin14: string, lot: string): Hex {
  return keccak256(stringToBytes(`/01/${gtin14}/10/${lot}`))
}

export function productId(gtin14: string): Hex {
  return keccak256(stringToBytes(`/01/${gtin14}`))
}

/** What the person gave: an item id, or a Digital Link naming one item. */
export type ItemRef = { id: Hex; link?: DigitalLink }

// AIM symbology identifier some scanners put first (]Q3 GS1 QR, ]d2 GS1 DataMatrix, ]C1 GS1-128, ]e0 DataBar, ]J1 DotCode).
const SYMBOLOGY = /^\][A-Za-z][0-9]/
const HOST_FIRST = /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?\//i

/** The GS1 product code in `text` (a Digital Link, an element string, an EPC URN); an InputError if there is none. */
export function parseProductCode(text: string): DigitalLink {
  const value = text.replace(SYMBOLOGY, '').trim()
  if (!value) throw new InputError('empty', 'nothing was given')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return parseDigitalLink(value)
  if (HOST_FIRST.test(value)) return parseDigitalLink('https://' + value) // a link typed without https://
  if (/^urn:epc:/i.test(value)) return parseSgtin(value)
  if (value.startsWith('(')) return parseBracketed(value)
  if (/^\d+$/.test(value) && [8, 12, 13, 14].includes(value.length)) {
    normalizeGtin(value)
    throw new InputError('no-serial', 'a GTIN alone names a product, not one item')
  }
  // A scanner's element string leads with the GTIN (AI 01); other digits are no product code.
  if (/^\x1d*01\d{14}/.test(value)) return parseUnbracketed(value.replace(/\s+/g, GS))
  throw new InputError('not-a-code', 'expected a GS1 Digital Link, an element string, an EPC URN or an item id')
}

/**
 * Read what a person gave to name one item: a 0x item id, or any GS1 product code naming one
 * item (see `parseProductCode`). Throws an InputError (test with `isInputError`) otherwise.
 */
export function parseItemRef(text: string): ItemRef {
  const value = text.trim()
  if (/^0x[0-9a-fA-F]{64}$/.test(value)) return { id: value.toLowerCase() as Hex }
  if (/^0x/i.test(value)) throw new InputError('damaged', 'an item id is 0x followed by 64 hex digits')
  const link = parseProductCode(text)
  if (link.serial === undefined) {
    throw new InputError('no-serial', 'this code has no serial (AI 21): it names a product or a lot, not one item')
  }
  return { id: itemId(link.gtin, link.serial), link }
}

/** bytes32 holding ASCII left aligned and zero padded → the text. */
export function fromBytes32(value: Hex): string {
  const hex = value.slice(2).replace(/(00)+$/, '')
  let out = ''
  for (let i = 0; i < hex.length; i += 2) out += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16))
  return out
}

/** YYMMDD (a number, DD may be 00 = end of month) → an ISO date, or undefined for 0. */
export function yymmddToDate(value: number | string): string | undefined {
  const text = String(value).padStart(6, '0')
  if (Number(text) === 0) return undefined
  const yy = Number(text.slice(0, 2))
  const mm = Number(text.slice(2, 4))
  let dd = Number(text.slice(4, 6))
  // GS1: the year is within 49 years back or 50 ahead of now; the demo's dates are 20xx.
  const now = new Date().getUTCFullYear()
  let year = 2000 + yy
  if (year - now > 50) year -= 100
  else if (now - year > 49) year += 100
  if (dd === 0) dd = new Date(Date.UTC(year, mm, 0)).getUTCDate()
  return `${year}-${String(mm).padStart(2, '0')}-${String(dd).padStart(2, '0')}`
}

/**
 * The GLN of an EPCIS location id: a Digital Link (`…/414/<GLN>`, an extension `/254/…` after it)
 * or an SGLN EPC URN (`urn:epc:id:sgln:<company prefix>.<location reference>.<extension>`);
 * undefined for anything else (a geo: URI, another scheme).
 */
export function glnOfLocation(id: string): string | undefined {
  const link = /\/414\/(\d{13})(?:\/|$|\?)/.exec(id)
  if (link) return link[1]
  const urn = /^urn:epc:id:sgln:(\d+)\.(\d*)\./i.exec(id)
  if (urn && urn[1].length + urn[2].length === 12) {
    const body = urn[1] + urn[2]
    return body + String(gtinCheckDigit(body))
  }
  return undefined
}

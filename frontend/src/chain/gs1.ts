/**
 * GS1 identifiers as the contracts hash them — the same rules as src/o2ochain/gs1/.
 *
 * item id = keccak256("/01/<14-digit GTIN>/21/<serial>"), lot id = keccak256("/01/<GTIN>/10/<lot>"),
 * the values unescaped. A Digital Link may put lot, serial and expiry in the path or the query
 * string, under numeric AIs or the convenience alphas (lot, ser, exp).
 */
import { keccak256, stringToBytes, type Hex } from 'viem'

export class InputError extends Error {}

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
    throw new InputError(`not a GTIN (8, 12, 13 or 14 digits): ${JSON.stringify(value)}`)
  }
  const gtin = value.padStart(14, '0')
  if (gtinCheckDigit(gtin.slice(0, 13)) !== Number(gtin[13])) {
    throw new InputError(`GTIN ${value} has a wrong check digit`)
  }
  return gtin
}

function decode(value: string, what: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new InputError(`the ${what} ${JSON.stringify(value)} is not correctly percent-encoded`)
  }
}

function checkX20(value: string, what: string): string {
  if (!X20.test(value)) throw new InputError(`the ${what} ${JSON.stringify(value)} is not 1 to 20 GS1 characters`)
  return value
}

/** Parse a GS1 Digital Link URI (uncompressed) into its GTIN, lot, serial and expiry. */
export function parseDigitalLink(uri: string): DigitalLink {
  const text = uri.trim()
  const match = /^(https?):\/\/([^/?#\s]+)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(text)
  if (!match) throw new InputError('not an http(s) URI')
  const segments = (match[3] ?? '').split('/').slice(1)
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop()
  const start = segments.findIndex(
    (s, i) => (s.toLowerCase() === '01' || s.toLowerCase() === 'gtin') && (segments.length - i) % 2 === 0,
  )
  if (start < 0) throw new InputError('no /01/ (GTIN) segment in the path; compressed Digital Links are not supported')
  const gtin = normalizeGtin(decode(segments[start + 1], 'GTIN'))
  const values: Record<string, string> = {}
  let lastOrder = -1
  for (let k = start + 2; k < segments.length; k += 2) {
    const key = segments[k]
    const ai = QUALIFIERS[/^[a-z]+$/i.test(key) ? key.toLowerCase() : key]
    if (ai === undefined) throw new InputError(`unknown AI ${JSON.stringify(key)} in the path after /01/`)
    if (ai === '22') throw new InputError('AI 22 (consumer product variant) cannot name an o2ochain item')
    if (ai in values || QUALIFIER_ORDER[ai] <= lastOrder) throw new InputError('key qualifiers are out of GS1 order (22, 10, 21)')
    lastOrder = QUALIFIER_ORDER[ai]
    values[ai] = decode(segments[k + 1], ai === '10' ? 'lot' : 'serial')
  }
  for (const pair of (match[4] ?? '').slice(1).split('&')) {
    if (!pair) continue
    const [rawKey, rawValue = ''] = pair.split('=', 2)
    const ai = QUERY_KEYS[rawKey.toLowerCase()]
    if (ai === undefined) continue // linkType and other AIs do not change the item
    const value = decode(rawValue.replace(/\+/g, ' '), 'query value')
    if (ai in values && values[ai] !== value) throw new InputError(`AI ${ai} is given twice with different values`)
    values[ai] = value
  }
  const link: DigitalLink = { gtin }
  if (values['10'] !== undefined) link.lot = checkX20(values['10'], 'lot')
  if (values['21'] !== undefined) link.serial = checkX20(values['21'], 'serial')
  if (values['17'] !== undefined) {
    if (!/^\d{6}$/.test(values['17'])) throw new InputError('the expiry (AI 17) is not YYMMDD')
    link.expiry = values['17']
  }
  return link
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

export function parseItemRef(text: string): ItemRef {
  const value = text.trim()
  if (/^0x[0-9a-fA-F]{64}$/.test(value)) return { id: value.toLowerCase() as Hex }
  if (!value) throw new InputError('enter the Digital Link printed under the QR code, or an item id')
  const link = parseDigitalLink(value)
  if (link.serial === undefined) {
    throw new InputError('this Digital Link has no serial (AI 21): it names a product or a lot, not one item')
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

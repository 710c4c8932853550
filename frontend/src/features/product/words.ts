/**
 * What an EPCIS event means, in a shopper's words. The timeline shows these; the CBV codes
 * (`shipping`, `in_transit`), event types and identifiers stay in the record one tap away.
 *
 * Every CBV 2.0 business step and disposition has its words here (src/o2ochain/epcis/_vocabulary.py
 * lists them; tests/e2e/test_frontend.py checks that none is missing), so a partner's event never
 * shows a code. A step some other vocabulary names (a URI of its own) is shown as "Other step".
 */
import type { TimelineEvent } from '../../chain/trace'

/** CBV 2.0 business steps: what happened to the goods. */
export const STEP_WORDS: Record<string, string> = {
  accepting: 'Accepted',
  arriving: 'Arrived',
  assembling: 'Assembled',
  collecting: 'Collected',
  commissioning: 'Produced',
  consigning: 'Handed over',
  creating_class_instance: 'Produced',
  cycle_counting: 'Counted',
  decommissioning: 'Taken out of use',
  departing: 'Departed',
  destroying: 'Destroyed',
  disassembling: 'Taken apart',
  dispensing: 'Dispensed',
  encoding: 'Labelled',
  entering_exiting: 'Entered or left a site',
  holding: 'Held back',
  inspecting: 'Inspected',
  installing: 'Installed',
  killing: 'Slaughtered',
  loading: 'Loaded',
  other: 'Other step',
  packing: 'Packed',
  picking: 'Picked for an order',
  receiving: 'Received',
  removing: 'Removed',
  repackaging: 'Repacked',
  repairing: 'Repaired',
  replacing: 'Replaced',
  reserving: 'Reserved',
  retail_selling: 'Sold in a shop',
  shipping: 'Shipped',
  staging_outbound: 'Ready to ship',
  stock_taking: 'Stock counted',
  stocking: 'On the shelf',
  storing: 'Stored',
  transporting: 'Transported',
  unloading: 'Unloaded',
  unpacking: 'Unpacked',
  void_shipping: 'Shipment cancelled',
  sensor_reporting: 'Conditions measured',
  sampling: 'Sampled for testing',
}

/** CBV 2.0 dispositions: the state the goods were left in ('' where it adds nothing a shopper needs). */
export const DISPOSITION_WORDS: Record<string, string> = {
  active: '',
  container_closed: 'container closed',
  damaged: 'damaged',
  destroyed: 'destroyed',
  dispensed: 'dispensed',
  disposed: 'disposed of',
  encoded: 'labelled',
  expired: 'expired',
  in_progress: '',
  in_transit: 'on the way',
  inactive: 'not in use',
  no_pedigree_match: 'origin could not be matched',
  non_sellable_other: 'not for sale',
  partially_dispensed: 'partly dispensed',
  recalled: 'recalled',
  reserved: 'reserved',
  retail_sold: 'sold',
  returned: 'returned',
  sellable_accessible: 'for sale',
  sellable_not_accessible: 'in stock, not on display',
  stolen: 'reported stolen',
  unknown: 'state unknown',
  available: 'available',
  completeness_verified: 'checked complete',
  completeness_inferred: 'assumed complete',
  conformant: 'passed the check',
  container_open: 'container open',
  mismatch_instance: 'did not match the records',
  mismatch_class: 'did not match the records',
  mismatch_quantity: 'quantity did not match',
  needs_replacement: 'needs replacing',
  non_conformant: 'failed the check',
  unavailable: 'unavailable',
}

/** Actor kinds of the TraceLedger (contracts/Types.sol), as a shopper would say them. */
export const KIND_WORDS: Record<string, string> = {
  farm: 'the farm',
  plant: 'the factory',
  logistics: 'the carrier',
  store: 'the shop',
  other: 'a partner',
}

/** Which part of the item's history an event is on. */
export const RELATION_WORDS: Record<string, string> = {
  item: 'this item',
  lot: 'its lot',
  product: 'its product',
  container: 'its case or pallet',
  input: 'an ingredient',
}

/** The code of a CBV value however it is written: `shipping`, `bizstep:shipping`, `https://ref.gs1.org/cbv/BizStep-shipping`. */
export function cbvCode(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return undefined
  return value.replace(/^.*(?:BizStep-|Disp-|[:/])/, '').toLowerCase()
}

const UNITS: Record<string, string> = { CEL: '°C', FAR: '°F', KEL: 'K', P1: '%', KGM: 'kg', GRM: 'g', LTR: 'l' }
const SENSOR_WORDS: Record<string, string> = {
  temperature: 'temperature',
  relativehumidity: 'humidity',
  absolutehumidity: 'humidity',
  illuminance: 'light',
  mass: 'weight',
}

/** Sensor readings of an event in words ("temperature 3.5 °C, humidity 82 %"), if it has any. */
function readings(event: Record<string, unknown>): string | undefined {
  const said: string[] = []
  for (const element of (event.sensorElementList as Array<{ sensorReport?: Array<Record<string, unknown>> }> | undefined) ?? []) {
    for (const report of element.sensorReport ?? []) {
      const kind = SENSOR_WORDS[String(report.type ?? '').replace(/^.*[:/-]/, '').toLowerCase()]
      if (!kind || typeof report.value !== 'number') continue
      const unit = UNITS[String(report.uom ?? '')] ?? ''
      said.push(`${kind} ${report.value}${unit ? (unit === '%' ? ' %' : ` ${unit}`) : ''}`)
    }
  }
  return said.length ? said.slice(0, 3).join(', ') : undefined
}

export interface Described {
  /** The CBV step code (`shipping`), for tests and styling. */
  code: string
  /** What happened, in words ("Shipped"). */
  step: string
  /** The state it was left in, or measurements ("on the way", "temperature 3.5 °C"); '' when nothing to add. */
  state: string
  /** A recall step (disposition recalled): drawn as a warning. */
  recall: boolean
  /** Which part of the item's history it is on ("its case or pallet"). */
  on: string
}

/** An event of the timeline in words. `kind` is the recording party's kind (farm, plant, …) when known. */
export function describeEvent(e: TimelineEvent, kind?: string): Described {
  const ev = e.event ?? {}
  const code = cbvCode(ev.bizStep) ?? ''
  const disposition = cbvCode(ev.disposition) ?? ''
  const recall = disposition === 'recalled'
  let step = code ? (STEP_WORDS[code] ?? STEP_WORDS.other) : e.eventType === 'TransformationEvent' ? 'Produced' : 'Recorded'
  if (code === 'commissioning' || code === 'creating_class_instance') {
    // A transformation made the goods from their inputs; a farm's commissioning is its harvest.
    step = e.eventType === 'TransformationEvent' ? 'Made from its ingredients' : kind === 'farm' ? 'Harvested' : 'Produced'
  }
  if (recall) step = 'Recalled'
  else if (code === 'packing' && e.eventType === 'AggregationEvent' && e.action === 'DELETE') step = 'Unpacked'
  const state = readings(ev) ?? (recall ? '' : (DISPOSITION_WORDS[disposition] ?? ''))
  return { code: code || e.eventType.replace(/Event$/, '').toLowerCase(), step, state, recall, on: e.relations.map((r) => RELATION_WORDS[r] ?? r).join(' and ') }
}

/**
 * What an EPCIS event means, in a shopper's words and language. The timeline shows these; the CBV
 * codes (`shipping`, `in_transit`), event types and identifiers stay in the record one tap away.
 *
 * Every CBV 2.0 business step and disposition has its words in each catalogue (i18n/en.ts and
 * i18n/zh-CN.ts: STEP_WORDS, DISPOSITION_WORDS; src/o2ochain/epcis/_vocabulary.py lists the codes
 * and tests/library/test_page_vocabulary.py checks that none is missing), so a partner's event
 * never shows a code. A step some other vocabulary names (a URI of its own) is "Other step".
 */
import type { TimelineEvent } from '../../chain/trace'
import { cbvWords, t, type MessageKey } from '../../i18n'

/** Which part of the item's history an event is on, in the page's language. */
export function relationWords(relation: string): string {
  return ['item', 'lot', 'product', 'container', 'input'].includes(relation) ? t(`relation.${relation}` as MessageKey) : relation
}

/** A kind of party ("the farm"), or its label after a name ("farm"). */
export function kindWords(kind: string, label = false): string {
  const known = ['farm', 'plant', 'logistics', 'store', 'other'].includes(kind) ? kind : 'other'
  return t(`${label ? 'kindLabel' : 'kind'}.${known}` as MessageKey)
}





/** The code of a CBV value however it is written: `shipping`, `bizstep:shipping`, `https://ref.gs1.org/cbv/BizStep-shipping`. */
export function cbvCode(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return undefined
  return value.replace(/^.*(?:BizStep-|Disp-|[:/])/, '').toLowerCase()
}

const UNITS: Record<string, string> = { CEL: '°C', FAR: '°F', KEL: 'K', P1: '%', KGM: 'kg', GRM: 'g', LTR: 'l' }
const SENSOR_WORDS: Record<string, MessageKey> = {
  temperature: 'sensor.temperature',
  relativehumidity: 'sensor.humidity',
  absolutehumidity: 'sensor.humidity',
  illuminance: 'sensor.light',
  mass: 'sensor.weight',
}

/** Sensor readings of an event in words ("temperature 3.5 °C, humidity 82 %"), if it has any. */
function readings(event: Record<string, unknown>): string | undefined {
  const said: string[] = []
  for (const element of (event.sensorElementList as Array<{ sensorReport?: Array<Record<string, unknown>> }> | undefined) ?? []) {
    for (const report of element.sensorReport ?? []) {
      const key = SENSOR_WORDS[String(report.type ?? '').replace(/^.*[:/-]/, '').toLowerCase()]
      if (!key || typeof report.value !== 'number') continue
      const kind = t(key)
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
  const produced = cbvWords('step', 'commissioning') ?? ''
  let step = code ? (cbvWords('step', code) ?? cbvWords('step', 'other') ?? code) : e.eventType === 'TransformationEvent' ? produced : t('step.recorded')
  if (code === 'commissioning' || code === 'creating_class_instance') {
    // A transformation made the goods from their inputs; a farm's commissioning is its harvest.
    step = e.eventType === 'TransformationEvent' ? t('step.madeFromIngredients') : kind === 'farm' ? t('step.harvested') : produced
  }
  if (recall) step = t('step.recalled')
  else if (code === 'packing' && e.eventType === 'AggregationEvent' && e.action === 'DELETE') step = cbvWords('step', 'unpacking') ?? step
  const state = readings(ev) ?? (recall ? '' : (cbvWords('disposition', disposition) ?? ''))
  const on = e.relations.length ? e.relations.map(relationWords).reduce((a, b) => t('relation.and', { a, b })) : ''
  return { code: code || e.eventType.replace(/Event$/, '').toLowerCase(), step, state, recall, on }
}

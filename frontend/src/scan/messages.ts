/**
 * What the page tells a shopper when a code cannot be read — every sentence of scanning and of
 * reading a typed code, from the catalogues of i18n/ (zh-CN and en).
 * Keyed by the stable codes of `InputError` (chain/gs1.ts) and `ScanError` (scan/qr.ts).
 */
import { isInputError, type InputProblem } from '../chain/gs1'
import { t, type MessageKey } from '../i18n'
import { isScanError, type ScanProblem } from './qr'

const INPUT: Record<InputProblem, MessageKey> = {
  empty: 'scan.empty',
  'not-a-code': 'scan.notACode',
  'other-link': 'scan.otherLink',
  'not-an-item': 'scan.notAnItem',
  'no-serial': 'scan.noSerial',
  'bad-gtin': 'scan.badGtin',
  'bad-check-digit': 'scan.badCheckDigit',
  damaged: 'scan.damaged',
}

const SCAN: Record<ScanProblem, MessageKey> = {
  'no-qr': 'scan.noQr',
  'not-a-picture': 'scan.notAPicture',
  'camera-insecure': 'scan.cameraInsecure',
  'camera-denied': 'scan.cameraDenied',
  'no-camera': 'scan.noCamera',
  'camera-failed': 'scan.cameraFailed',
}

/** The shopper's sentence for a problem with scanning or with the code read, in the page's language. */
export function sayProblem(error: unknown): string {
  if (isInputError(error)) return t(INPUT[error.code], { value: error.value ?? '' }).replace(/ {2,}/g, ' ') // no value: no gap
  if (isScanError(error)) return t(SCAN[error.code])
  return t('scan.unknown')
}

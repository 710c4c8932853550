/**
 * What the page tells a shopper when a code cannot be read — every sentence of scanning and of
 * reading a typed code, in one place (a later step moves them into the zh-CN/en catalogues).
 * Keyed by the stable codes of `InputError` (chain/gs1.ts) and `ScanError` (scan/qr.ts).
 */
import { isInputError, type InputProblem } from '../chain/gs1'
import { isScanError, type ScanProblem } from './qr'

const INPUT: Record<InputProblem, (value?: string) => string> = {
  empty: () => 'Scan the QR code on the product, or type the code printed under it.',
  'not-a-code': () => "This code is not a product code. Scan the QR code printed on the product's pack.",
  'other-link': () => "This QR code is a link to a website, not a product code. Look for the product's own QR code on the pack.",
  'not-an-item': () => 'This code belongs to a box, a pallet or a place, not to one product. Scan the code on the product itself.',
  'no-serial': () =>
    'This code names a kind of product, not one item, so it cannot tell whether yours is genuine. Look for the QR code printed on the item itself.',
  'bad-gtin': (value) => `The product number${value ? ` ${value}` : ''} is not complete. Check that it was typed in full, or scan the code instead.`,
  'bad-check-digit': (value) =>
    `The product number${value ? ` ${value}` : ''} is not valid: its last digit (the check digit) does not match. Check that it was typed correctly.`,
  damaged: () => 'This product code looks damaged or incomplete. Try scanning it again, or type it exactly as printed.',
}

const SCAN: Record<ScanProblem, string> = {
  'no-qr': 'This picture has no QR code we can read — try again closer, with more light.',
  'not-a-picture': 'This file is not a picture we can open. Take a photo of the QR code, or use the camera.',
  'camera-insecure': 'This browser cannot use the camera on this page. Choose a photo of the QR code instead, or type the code.',
  'camera-denied': "The camera is not allowed. Allow it in your browser's settings, or choose a photo of the QR code instead.",
  'no-camera': 'No camera was found. Choose a photo of the QR code instead, or type the code.',
  'camera-failed': 'The camera could not start. Close other apps that use it and try again, or choose a photo of the QR code.',
}

const UNKNOWN = 'Something went wrong while reading this code. Please try again.'

/** The shopper's sentence for a problem with scanning or with the code read. */
export function sayProblem(error: unknown): string {
  if (isInputError(error)) return INPUT[error.code](error.value)
  if (isScanError(error)) return SCAN[error.code]
  return UNKNOWN
}

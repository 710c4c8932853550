/**
 * QR decoding, behind one small module so the decoder can change without touching the pages.
 * @zxing/browser's QR code reader (./zxing.ts) is loaded on first use, so the product page itself stays small.
 *
 * Failures are `ScanError`s with a stable `code` (scan/messages.ts words them): the page must
 * not tell them apart by class or error name, which a minified bundle renames (zxing's
 * NotFoundException became "e").
 */

export type ScanProblem = 'no-qr' | 'not-a-picture' | 'camera-insecure' | 'camera-denied' | 'no-camera' | 'camera-failed'

export class ScanError extends Error {
  /** Stable across minification: what `isScanError` checks. */
  readonly kind = 'o2ochain-scan'
  constructor(
    readonly code: ScanProblem,
    readonly detail: string,
  ) {
    super(detail)
  }
}

export function isScanError(error: unknown): error is ScanError {
  return typeof error === 'object' && error !== null && (error as { kind?: unknown }).kind === 'o2ochain-scan'
}

/** The picture in `url` as an image element; a ScanError "not-a-picture" when the browser cannot decode it (a PDF, a HEIC photo). */
function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const image = new Image()
    image.onload = () => resolve(image)
    image.onerror = () => reject(new ScanError('not-a-picture', 'the browser could not decode this file as an image'))
    image.src = url
  })
}

/** The text of the QR code in an image file (a photo or a screenshot of the pack). */
export async function decodeQrImage(file: Blob): Promise<string> {
  const url = URL.createObjectURL(file)
  try {
    const [image, { BrowserQRCodeReader }] = await Promise.all([loadImage(url), import('./zxing')])
    try {
      return (await new BrowserQRCodeReader().decodeFromImageElement(image)).getText()
    } catch (error) {
      // The picture opened: whatever the decoder says (no code found, a checksum or format error), no code could be read in it.
      throw new ScanError('no-qr', `no QR code could be read in this picture (${String(error)})`)
    }
  } finally {
    URL.revokeObjectURL(url)
  }
}

export interface CameraScan {
  stop: () => void
}

/**
 * Scans with the camera into `video` until a QR code is read: calls `found` once with its text,
 * then stops the camera. Rejects with a ScanError when there is no camera or no permission.
 */
export async function scanWithCamera(video: HTMLVideoElement, found: (text: string) => void): Promise<CameraScan> {
  if (!navigator.mediaDevices?.getUserMedia) throw new ScanError('camera-insecure', 'no navigator.mediaDevices: the page must be served over https or from localhost')
  const { BrowserQRCodeReader } = await import('./zxing')
  let done = false
  try {
    const controls = await new BrowserQRCodeReader().decodeFromConstraints(
      { video: { facingMode: 'environment' } },
      video,
      (result, _error, ctl) => {
        if (result && !done) {
          done = true
          ctl.stop()
          found(result.getText())
        }
      },
    )
    return { stop: () => controls.stop() }
  } catch (error) {
    // getUserMedia's DOMException names are the browser's own, not minified code.
    const name = (error as Error).name
    if (name === 'NotAllowedError' || name === 'SecurityError') throw new ScanError('camera-denied', `${name}: ${(error as Error).message}`)
    if (name === 'NotFoundError' || name === 'OverconstrainedError') throw new ScanError('no-camera', `${name}: ${(error as Error).message}`)
    throw new ScanError('camera-failed', `${name}: ${(error as Error).message}`)
  }
}

/**
 * QR decoding, behind one small module so the decoder can change without touching the pages.
 * @zxing/browser is loaded on first use, so the product page itself stays small.
 */

/** The text of the QR code in an image file (a photo or a screenshot of the pack). */
export async function decodeQrImage(file: Blob): Promise<string> {
  const { BrowserQRCodeReader } = await import('@zxing/browser')
  const url = URL.createObjectURL(file)
  try {
    const result = await new BrowserQRCodeReader().decodeFromImageUrl(url)
    return result.getText()
  } catch (error) {
    const name = (error as Error).name
    if (name === 'NotFoundException' || name === 'NotFoundException2') throw new Error('no QR code was found in this picture')
    throw new Error(`could not read this picture: ${(error as Error).message || name}`)
  } finally {
    URL.revokeObjectURL(url)
  }
}

export interface CameraScan {
  stop: () => void
}

/**
 * Scans with the camera into `video` until a QR code is read: calls `found` once with its text,
 * then stops the camera. Rejects with a sentence when there is no camera or no permission.
 */
export async function scanWithCamera(video: HTMLVideoElement, found: (text: string) => void): Promise<CameraScan> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser cannot use a camera here (the page must be served over https or from localhost)')
  const { BrowserQRCodeReader } = await import('@zxing/browser')
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
    const name = (error as Error).name
    if (name === 'NotAllowedError') throw new Error('the camera was not allowed: allow it in the browser, or upload a photo of the code instead')
    if (name === 'NotFoundError' || name === 'OverconstrainedError') throw new Error('no camera was found: upload a photo of the code instead')
    throw new Error(`could not start the camera: ${(error as Error).message || name}`)
  }
}

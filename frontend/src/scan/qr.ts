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

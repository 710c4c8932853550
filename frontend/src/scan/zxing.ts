/**
 * The one zxing reader the page uses. ./qr.ts imports this module, not @zxing/browser itself: a
 * dynamic import of a package keeps its every export (zxing's 1D, Aztec, PDF417, Data Matrix and
 * MaxiCode readers: about 70 kB gzipped), one of this module keeps what it re-exports.
 */
export { BrowserQRCodeReader } from '@zxing/browser'

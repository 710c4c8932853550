/**
 * Every sentence of the home page and the lookup box (scan, photo, type a code), in one place:
 * a later step moves them into the zh-CN/en catalogues. index.html names them by key
 * (`data-msg`, `data-msg-placeholder`, `data-msg-label`); home.ts fills them in.
 */
export const HOME = {
  title: 'Check a product',
  intro1: 'Scan the QR code on a product to see whether it is genuine and where it has been.',
  intro2: 'The answer is read from a public record that no shop can change. No account needed.',
  scan: 'Scan a product',
  photo: 'Use a photo of the code',
  typeLabel: 'Or type the code printed under the QR code',
  typePlaceholder: 'https://id.gs1.org/01/…/21/…',
  check: 'Check',
  cameraPreview: 'Camera preview: point it at the QR code',
  cameraStop: 'Stop the camera',
  samplesTitle: 'Try it with the demo',
  samplesNote: 'Sample items and shops of this demo.',
  sampleItems: 'Sample items',
  merchants: 'Shops',
} as const

export type HomeMessage = keyof typeof HOME

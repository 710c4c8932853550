/** The product page's controller: a reference in (typed, pasted, scanned), the chain's answer out. */
import type { PublicClient } from 'viem'
import type { Config } from '../../chain/config'
import { InputError, parseItemRef } from '../../chain/gs1'
import { productName, verifyItem } from '../../chain/registry'
import { TraceReader } from '../../chain/trace'
import { decodeQrImage } from '../../scan/qr'
import { el, renderTimeline, renderVerdict } from './view'

export function mountProductPage(root: Document, client: PublicClient, config: Config): { show: (ref: string) => Promise<void> } {
  const form = root.getElementById('lookup-form') as HTMLFormElement
  const input = root.getElementById('item-input') as HTMLInputElement
  const file = root.getElementById('qr-file') as HTMLInputElement
  const error = root.getElementById('lookup-error') as HTMLParagraphElement
  const out = root.getElementById('product') as HTMLDivElement
  const trace = new TraceReader(client, config)
  let generation = 0

  const fail = (message: string) => {
    error.textContent = message
    error.hidden = false
    out.replaceChildren()
    document.body.dataset.state = 'error'
  }

  async function show(text: string): Promise<void> {
    const mine = ++generation
    error.hidden = true
    input.value = text.trim()
    let ref
    try {
      ref = parseItemRef(text)
    } catch (e) {
      fail(e instanceof InputError ? e.message : String(e))
      return
    }
    const url = new URL(window.location.href)
    url.searchParams.set('item', text.trim())
    window.history.replaceState(null, '', url)
    document.body.dataset.state = 'loading'
    out.replaceChildren(el('p', { class: 'loading', role: 'status' }, 'Asking the chain…'))
    try {
      const verification = await verifyItem(client, config, ref.id)
      const name = verification.gtin ? await productName(client, config, verification.gtin).catch(() => undefined) : undefined
      if (mine !== generation) return
      const article = renderVerdict(verification, name)
      const placeholder = el('p', { class: 'loading', role: 'status' }, 'Reading the supply-chain history…')
      article.append(placeholder)
      out.replaceChildren(article)
      document.body.dataset.state = 'verdict'
      const gtin = verification.gtin ?? ref.link?.gtin
      const events = await trace.history(ref.id, {
        gtin,
        lot: verification.lot || ref.link?.lot,
        brand: verification.view.registered ? verification.view.brand : undefined,
      })
      if (mine !== generation) return
      placeholder.replaceWith(renderTimeline(events))
      document.body.dataset.state = 'ready'
    } catch (e) {
      if (mine !== generation) return
      fail(`Could not read the chain at ${config.rpcUrl}: ${(e as Error).message.split('\n')[0]}`)
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void show(input.value)
  })
  file.addEventListener('change', async () => {
    const picked = file.files?.[0]
    if (!picked) return
    document.body.dataset.state = 'scanning'
    try {
      const text = await decodeQrImage(picked)
      await show(text)
    } catch (e) {
      fail((e as Error).message)
    } finally {
      file.value = ''
    }
  })
  return { show }
}

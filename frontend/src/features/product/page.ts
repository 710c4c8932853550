/** The product page's controller: a reference in (typed, pasted, scanned), the chain's answer out. */
import type { Address, PublicClient } from 'viem'
import type { Config } from '../../chain/config'
import { parseItemRef, renderDigitalLink } from '../../chain/gs1'
import { recallNotice, recallOf } from '../../chain/recall'
import { brandOfGtin, productName, verifyItem } from '../../chain/registry'
import { ContentStore } from '../../chain/content'
import { TraceReader, type Party } from '../../chain/trace'
import { t } from '../../i18n'
import { sayProblem } from '../../scan/messages'
import { decodeQrImage, scanWithCamera, type CameraScan } from '../../scan/qr'
import type { Wallet } from '../../wallet/wallet'
import { marketSections } from '../market'
import { ownershipSection, parseClaimCode, type ClaimCode } from './ownership'
import { el, renderRecall, renderResponsibility, renderTimeline, renderVerdict, showProductName } from './view'

export function mountProductPage(
  root: Document,
  client: PublicClient,
  config: Config,
  wallet: Wallet,
): { show: (ref: string, claim?: string) => Promise<void> } {
  const form = root.getElementById('lookup-form') as HTMLFormElement
  const input = root.getElementById('item-input') as HTMLInputElement
  const file = root.getElementById('qr-file') as HTMLInputElement
  const error = root.getElementById('lookup-error') as HTMLParagraphElement
  const out = root.getElementById('product') as HTMLDivElement
  const trace = new TraceReader(client, config)
  const content = new ContentStore(config.content)
  let generation = 0

  const fail = (message: string) => {
    error.textContent = message
    error.hidden = false
    out.replaceChildren()
    document.body.dataset.state = 'error'
  }

  async function show(text: string, claim?: string): Promise<void> {
    const mine = ++generation
    error.hidden = true
    input.value = text.trim()
    let ref
    try {
      ref = parseItemRef(text)
    } catch (e) {
      fail(sayProblem(e))
      return
    }
    // An element string or EPC URN (a scanner's GS separators included) is shown, and linked, as its Digital Link.
    if (ref.link && !/^https?:\/\//i.test(text.trim())) text = renderDigitalLink(ref.link)
    input.value = text.trim()
    document.body.dataset.view = 'item' // the home page's introduction and samples make way for the answer
    let code: ClaimCode | undefined
    try {
      code = claim ? parseClaimCode(claim) : undefined
    } catch (e) {
      fail((e as Error).message)
      return
    }
    const url = new URL(window.location.href)
    url.searchParams.set('item', text.trim())
    if (!claim) url.searchParams.delete('claim')
    window.history.replaceState(null, '', url)
    document.body.dataset.state = 'loading'
    out.replaceChildren(el('p', { class: 'loading', role: 'status' }, t('product.asking')))
    try {
      const verification = await verifyItem(client, config, ref.id)
      if (mine !== generation) return
      // The verdict is the chain's answer (eth_call) and shows at once; the product's name is a
      // list read (its ProductRegistered log) and joins it when it comes.
      const named = verification.gtin ? productName(client, config, verification.gtin).catch(() => undefined) : Promise.resolve(undefined)
      const article = renderVerdict(verification, undefined, wallet.connection?.shopper.itemAccount(ref.id).address)
      const ownership = ownershipSection(client, config, wallet, verification, code, () => void show(text, claim))
      if (ownership) article.querySelector('.verdict')?.after(ownership)
      const placeholder = el('p', { class: 'loading', role: 'status' }, t('product.readingHistory'))
      article.append(placeholder)
      out.replaceChildren(article)
      document.body.dataset.state = 'verdict'
      const gtin = verification.gtin ?? ref.link?.gtin
      // Prices and reviews are read while the history is: they need nothing from it.
      const market: Promise<HTMLElement[] | Error> =
        gtin && verification.view.registered
          ? marketSections(client, config, { item: ref.id, gtin, verification, me: wallet.connection, refresh: () => void show(text, claim) }).catch((e: unknown) =>
              e instanceof Error ? e : new Error(String(e)),
            )
          : Promise.resolve([])
      // The item's brand decides which links into containers count (its own, not another brand's).
      const brand = verification.view.registered ? BigInt(verification.view.brand) : gtin ? await brandOfGtin(client, config, gtin).catch(() => undefined) : undefined
      const recalled = verification.verdict === 'recalled'
      const recall = recalled ? recallOf(client, config, ref.id, verification.view.lot).catch(() => undefined) : Promise.resolve(undefined)
      const [{ events, missing }, name] = await Promise.all([trace.history(ref.id, { gtin, lot: verification.lot || ref.link?.lot, brand }), named])
      if (mine !== generation) return
      if (name) showProductName(article, name)
      // Who recorded each step: its kind as the ledger holds it, its name and places as its brand
      // published them (checked against the ledger's hash). Two reads per party, all at once.
      const parties = new Map<string, Party>()
      await Promise.all(
        [...new Set(events.map((e) => `${e.brand}:${e.actor}`))].map(async (key) => {
          const [b, actor] = key.split(':')
          parties.set(key, await trace.party(BigInt(b), actor as Address, content).catch((): Party => ({ places: new Map() })))
        }),
      )
      if (mine !== generation) return
      placeholder.replaceWith(renderTimeline(events, missing, parties))
      if (recalled) {
        const found = await recall
        if (mine !== generation) return
        const custody = renderResponsibility(events, parties)
        const notice = found ? recallNotice(found, events) : undefined
        article.querySelector('.verdict')?.after(renderRecall(found, notice, verification, parties), ...(custody ? [custody] : []))
      }
      const sections = await market
      if (mine !== generation) return
      if (sections instanceof Error) throw sections
      article.append(...sections)
      const me = wallet.connection
      if (me && gtin && verification.view.registered) {
        // A connected buyer of this product sees what the price guarantee owes them, and claims it here.
        const { productPurchases } = await import('../account/page')
        const yours = await productPurchases(client, config, me, BigInt(gtin), () => void show(text, claim))
        if (mine !== generation) return
        if (yours) article.querySelector('.verdict')?.after(yours)
      }
      document.body.dataset.state = 'ready'
    } catch (e) {
      if (mine !== generation) return
      fail(t('product.cannotRead', { rpc: config.rpcUrl, reason: (e as Error).message.split('\n')[0] }))
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void show(input.value)
  })
  wallet.subscribe(() => {
    // Who is connected changes what the verdict says ("yours") and what can be done.
    if (input.value && document.body.dataset.state === 'ready') void show(input.value, new URLSearchParams(window.location.search).get('claim') ?? undefined)
  })
  const cameraStart = root.getElementById('camera-start') as HTMLButtonElement
  const cameraBox = root.getElementById('camera') as HTMLDivElement
  const video = root.getElementById('camera-video') as HTMLVideoElement
  let scanning: CameraScan | undefined
  const stopCamera = () => {
    scanning?.stop()
    scanning = undefined
    cameraBox.hidden = true
    cameraStart.disabled = false
  }
  cameraStart.addEventListener('click', async () => {
    error.hidden = true
    cameraStart.disabled = true
    cameraBox.hidden = false
    document.body.dataset.state = 'scanning'
    try {
      scanning = await scanWithCamera(video, (text) => {
        stopCamera()
        void show(text)
      })
    } catch (e) {
      stopCamera()
      fail(sayProblem(e))
    }
  })
  ;(root.getElementById('camera-stop') as HTMLButtonElement).addEventListener('click', () => {
    stopCamera()
    document.body.dataset.state = 'idle'
  })
  file.addEventListener('change', async () => {
    const picked = file.files?.[0]
    if (!picked) return
    document.body.dataset.state = 'scanning'
    try {
      const text = await decodeQrImage(picked)
      await show(text)
    } catch (e) {
      fail(sayProblem(e))
    } finally {
      file.value = ''
    }
  })
  return { show }
}

/** The product page's controller: a reference in (typed, pasted, scanned), the chain's answer out. */
import type { PublicClient } from 'viem'
import type { Config } from '../../chain/config'
import { ContentStore } from '../../chain/content'
import { parseItemRef, renderDigitalLink } from '../../chain/gs1'
import { logReader } from '../../chain/logs'
import { brandOfGtin, brandView, productName, verifyItem } from '../../chain/registry'
import { formatTime, t } from '../../i18n'
import { sayProblem } from '../../scan/messages'
import { decodeQrImage, scanWithCamera, type CameraScan } from '../../scan/qr'
import type { Wallet } from '../../wallet/wallet'
import { marketSections } from '../market'
import { parseClaimCode, type ClaimCode } from './claim'
import { el, renderRecall, renderResponsibility, renderTimeline, renderVerdict, showBrandName, showProductName } from './view'

/**
 * What the page needs once the verdict is there, loaded while the verdict is asked for: the
 * history's reader and the recall's. Not part of the page's first download (a phone's slow
 * network), not waited for either.
 */
function readers(): Promise<[typeof import('../../chain/trace'), typeof import('../../chain/recall')]> {
  return Promise.all([import('../../chain/trace'), import('../../chain/recall')])
}

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
  let modules: ReturnType<typeof readers> | undefined
  let trace: import('../../chain/trace').TraceReader | undefined
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
    let ref
    let code: ClaimCode | undefined
    try {
      ref = parseItemRef(text)
      code = claim ? parseClaimCode(claim) : undefined
    } catch (e) {
      input.value = text.trim()
      fail(ref ? (e as Error).message : sayProblem(e))
      return
    }
    // One round trip to the node for the verdict, and in the same batch the node's head (the block
    // every list of this page view is read to); the code for the history loads meanwhile. Asked
    // before the page changes what it shows: the batch leaves on a timer, and a browser that has
    // changes to draw draws them first (a phone takes a tenth of a second to).
    modules ??= readers()
    modules.catch(() => (modules = undefined)) // a failed download is asked again on the next lookup
    void logReader(client, config)
      .head()
      .catch(() => undefined)
    const verifying = Promise.all([verifyItem(client, config, ref.id), wallet.settled])
    verifying.catch(() => undefined) // its failure is said below, when it is awaited
    await new Promise((resolve) => setTimeout(resolve, 0)) // after the batch's timer: the request is on its way
    // The first date a page formats sets up the language's calendar data (another tenth of a
    // second): done while the node answers, not when the timeline is drawn.
    setTimeout(() => formatTime(new Date()), 0)
    if (mine !== generation) return
    error.hidden = true
    // An element string or EPC URN (a scanner's GS separators included) is shown, and linked, as its Digital Link.
    if (ref.link && !/^https?:\/\//i.test(text.trim())) text = renderDigitalLink(ref.link)
    input.value = text.trim()
    document.body.dataset.view = 'item' // the home page's introduction and samples make way for the answer
    const url = new URL(window.location.href)
    url.searchParams.set('item', text.trim())
    if (!claim) url.searchParams.delete('claim')
    window.history.replaceState(null, '', url)
    document.body.dataset.state = 'loading'
    out.replaceChildren(el('p', { class: 'loading', role: 'status' }, t('product.asking')))
    try {
      const [verification] = await verifying
      if (mine !== generation) return
      // The verdict is the chain's answer (eth_call) and shows at once. What needs only the
      // verdict is asked for first, so that its batch leaves before the verdict is drawn: the
      // brand's name (an eth_call that needs the verdict's brand id), the product's name (a list
      // read: its ProductRegistered log), the history, the recall. Names join the verdict when they come.
      const registered = verification.view.registered
      const gtin = verification.gtin ?? ref.link?.gtin
      const recalled = verification.verdict === 'recalled'
      const branded = registered ? brandView(client, config, BigInt(verification.view.brand)).catch(() => undefined) : Promise.resolve(undefined)
      const named = verification.gtin ? productName(client, config, verification.gtin).catch(() => undefined) : Promise.resolve(undefined)
      // The item's brand decides which links into containers count (its own, not another brand's).
      const brand = registered ? Promise.resolve(BigInt(verification.view.brand)) : gtin ? brandOfGtin(client, config, gtin).catch(() => undefined) : Promise.resolve(undefined)
      const reading = (modules ??= readers()).then(async ([{ TraceReader }, { recallOf, recallNotice }]) => {
        trace ??= new TraceReader(client, config)
        const recall = recalled ? recallOf(client, config, ref.id, verification.view.lot).catch(() => undefined) : Promise.resolve(undefined)
        // The history comes with who recorded each step: its kind as the ledger holds it, its name
        // and places as its brand published them (checked against the ledger's hash).
        const history = trace.history(ref.id, { gtin, lot: verification.lot || ref.link?.lot, brand: await brand, content })
        history.catch(() => undefined) // said where it is awaited (not at all when another lookup took over)
        return { history, recall, recallNotice }
      })
      reading.catch(() => undefined) // its failure is said where it is awaited
      // Two turns of the event loop: one for those requests to be made, one for their batch to leave.
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 0))
      if (mine !== generation) return
      const me = wallet.connection
      const article = renderVerdict(verification, undefined, me?.shopper.itemAccount(ref.id).address)
      // "Your item" (claim, review) is only for a claim link or a connected wallet: its code loads then.
      const ownership =
        registered && (code || me)
          ? import('./ownership').then(({ ownershipSection }) => ownershipSection(client, config, wallet, verification, code, () => void show(text, claim)))
          : Promise.resolve(null)
      void ownership.then(
        (section) => {
          if (section && mine === generation) article.querySelector('.verdict')?.after(section)
        },
        () => undefined, // said where it is awaited
      )
      const placeholder = el('p', { class: 'loading', role: 'status' }, t('product.readingHistory'))
      article.append(placeholder)
      out.replaceChildren(article)
      document.body.dataset.state = 'verdict'
      // Prices and reviews are read while the history is: they need nothing from it.
      const market: Promise<HTMLElement[] | Error> =
        gtin && registered
          ? marketSections(client, config, { item: ref.id, gtin, verification, me, refresh: () => void show(text, claim) }).catch((e: unknown) =>
              e instanceof Error ? e : new Error(String(e)),
            )
          : Promise.resolve([])
      void branded.then((found) => {
        if (!found || mine !== generation) return
        verification.brand = found
        showBrandName(article, found.name)
      })
      const { history, recall, recallNotice } = await reading
      if (mine !== generation) return
      const [{ events, missing, parties }, name] = await Promise.all([history, named])
      if (mine !== generation) return
      if (name) showProductName(article, name)
      placeholder.replaceWith(renderTimeline(events, missing, parties))
      const section = await ownership
      if (mine !== generation) return
      if (section && !section.isConnected) article.querySelector('.verdict')?.after(section)
      if (recalled) {
        const [found] = await Promise.all([recall, branded])
        if (mine !== generation) return
        const custody = renderResponsibility(events, parties)
        const notice = found ? recallNotice(found, events) : undefined
        article.querySelector('.verdict')?.after(renderRecall(found, notice, verification, parties), ...(custody ? [custody] : []))
      }
      const sections = await market
      if (mine !== generation) return
      if (sections instanceof Error) throw sections
      article.append(...sections)
      if (me && gtin && registered) {
        // A connected buyer of this product sees what the price guarantee owes them, and claims it here.
        const { productPurchases } = await import('../account/page')
        const yours = await productPurchases(client, config, me, BigInt(gtin), () => void show(text, claim))
        if (mine !== generation) return
        if (yours) article.querySelector('.verdict')?.after(yours)
      }
      await branded // the brand's name is on the page before it says it is ready
      if (mine !== generation) return
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

import './style.css'
import { chainFor, publicClientFor } from './chain/client'
import { loadConfig } from './chain/config'
import { applyHomeMessages, showSamples, viewOf } from './features/home/home'
import { t } from './i18n'
import { showMerchant } from './features/market'
import { mountProductPage } from './features/product/page'
import { Wallet } from './wallet/wallet'
import { mountWalletWidget } from './wallet/widget'

async function start(): Promise<void> {
  const error = document.getElementById('lookup-error') as HTMLParagraphElement
  document.body.dataset.view = viewOf(new URLSearchParams(window.location.search))
  let worded = false
  const words = () => {
    if (!worded) applyHomeMessages(document)
    worded = true
  }
  try {
    const config = await loadConfig()
    const client = publicClientFor(config)
    const wallet = new Wallet(config, chainFor(config))
    // A test account this tab used reconnects meanwhile; the product page waits for it only
    // where who is connected matters (after the verdict's read is on its way).
    void wallet.restore()
    const out = document.getElementById('product') as HTMLElement
    const page = mountProductPage(document, client, config, wallet)
    const query = new URLSearchParams(window.location.search)
    const item = query.get('item')
    const voucher = query.get('voucher')
    const merchant = query.get('merchant')
    // An item's verdict is asked for first: nothing else the page sets up is needed for it, and
    // the page's words and header are drawn once its request has left (the request leaves on a
    // timer, and a browser with changes to draw draws them first).
    const shown = item && merchant === null && voucher === null && !query.has('account') ? page.show(item, query.get('claim') ?? undefined) : undefined
    if (shown) await new Promise((resolve) => setTimeout(resolve, 0))
    words()
    mountWalletWidget(document.getElementById('wallet') as HTMLElement, wallet)
    const rpc = document.getElementById('rpc-url')
    if (rpc) rpc.textContent = config.rpcUrl
    const indexNote = document.getElementById('index-note')
    if (indexNote && config.index) {
      ;(document.getElementById('index-url') as HTMLElement).textContent = config.index
      indexNote.hidden = false
    }
    if (shown) return await shown
    document.body.dataset.state = 'idle'
    await wallet.settled
    if (merchant !== null) await showMerchant(out, client, config, merchant, wallet)
    else if (voucher !== null) {
      const { showVoucher } = await import('./features/coupon/page')
      await showVoucher(out, client, config, voucher)
    } else if (query.has('account')) {
      const { showAccount } = await import('./features/account/page')
      await showAccount(out, client, config, wallet)
    } else showSamples(document, config)
  } catch (e) {
    words()
    error.textContent = t('home.notSetUp', { reason: (e as Error).message })
    error.hidden = false
    document.body.dataset.state = 'error'
  }
}

void start()

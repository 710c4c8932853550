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
  applyHomeMessages(document)
  document.body.dataset.view = viewOf(new URLSearchParams(window.location.search))
  try {
    const config = await loadConfig()
    const rpc = document.getElementById('rpc-url')
    if (rpc) rpc.textContent = config.rpcUrl
    const indexNote = document.getElementById('index-note')
    if (indexNote && config.index) {
      ;(document.getElementById('index-url') as HTMLElement).textContent = config.index
      indexNote.hidden = false
    }
    const client = publicClientFor(config)
    const wallet = new Wallet(config, chainFor(config))
    mountWalletWidget(document.getElementById('wallet') as HTMLElement, wallet)
    await wallet.restore()
    const out = document.getElementById('product') as HTMLElement
    const page = mountProductPage(document, client, config, wallet)
    document.body.dataset.state = 'idle'
    const query = new URLSearchParams(window.location.search)
    const item = query.get('item')
    const voucher = query.get('voucher')
    if (query.get('merchant') !== null) await showMerchant(out, client, config, query.get('merchant') ?? '', wallet)
    else if (voucher !== null) {
      const { showVoucher } = await import('./features/coupon/page')
      await showVoucher(out, client, config, voucher)
    } else if (query.has('account')) {
      const { showAccount } = await import('./features/account/page')
      await showAccount(out, client, config, wallet)
    } else if (item) await page.show(item, query.get('claim') ?? undefined)
    else showSamples(document, config)
  } catch (e) {
    error.textContent = t('home.notSetUp', { reason: (e as Error).message })
    error.hidden = false
    document.body.dataset.state = 'error'
  }
}

void start()

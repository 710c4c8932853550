import './style.css'
import { publicClientFor } from './chain/client'
import { loadConfig } from './chain/config'
import { mountProductPage } from './features/product/page'

async function start(): Promise<void> {
  const error = document.getElementById('lookup-error') as HTMLParagraphElement
  try {
    const config = await loadConfig()
    const rpc = document.getElementById('rpc-url')
    if (rpc) rpc.textContent = config.rpcUrl
    const page = mountProductPage(document, publicClientFor(config), config)
    document.body.dataset.state = 'idle'
    const item = new URLSearchParams(window.location.search).get('item')
    if (item) await page.show(item)
  } catch (e) {
    error.textContent = `This page is not set up: ${(e as Error).message}`
    error.hidden = false
    document.body.dataset.state = 'error'
  }
}

void start()

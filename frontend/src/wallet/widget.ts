/**
 * The header's wallet control: connect (a discovered wallet, or a labelled test account), who is
 * connected, disconnect. The connect dialog says, before any wallet prompts, what the one
 * signature it asks for is (the catalogue's `wallet.seedExplanation`, in the page's language; what
 * the wallet signs is shopper.ts SEED_MESSAGE, the same in every language, so that the addresses
 * it opens are too).
 */
import { el } from '../features/product/view'
import { t } from '../i18n'
import type { Wallet } from './wallet'

export function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`
}

export function mountWalletWidget(host: HTMLElement, wallet: Wallet): void {
  const dialog = el('dialog', { id: 'wallet-dialog', 'aria-labelledby': 'wallet-dialog-title' })
  document.body.append(dialog)

  const renderDialog = () => {
    const list = el('ul', { class: 'wallet-options' })
    for (const info of wallet.discovered) {
      const button = el('button', { type: 'button', 'data-wallet': info.rdns }, el('img', { src: info.icon, alt: '', width: '24', height: '24' }), info.name)
      button.addEventListener('click', async () => {
        error.hidden = true
        try {
          await wallet.connectInjected(info.uuid)
          dialog.close()
        } catch (e) {
          error.textContent = (e as Error).message
          error.hidden = false
        }
      })
      list.append(el('li', {}, button))
    }
    wallet.testAccounts.forEach((test, index) => {
      const button = el('button', { type: 'button', class: 'test-account', 'data-test-account': String(index) }, test.label)
      button.addEventListener('click', async () => {
        error.hidden = true
        try {
          await wallet.connectTest(index)
          dialog.close()
        } catch (e) {
          error.textContent = (e as Error).message
          error.hidden = false
        }
      })
      list.append(
        el('li', {}, button, el('small', {}, t('wallet.testKey'))),
      )
    })
    const error = el('p', { class: 'error', role: 'alert', hidden: '' })
    const close = el('button', { type: 'button', class: 'secondary' }, t('wallet.close'))
    close.addEventListener('click', () => dialog.close())
    dialog.replaceChildren(
      el('h2', { id: 'wallet-dialog-title' }, t('wallet.dialogTitle')),
      el('p', { class: 'seed-explanation', id: 'seed-explanation' }, t('wallet.seedExplanation')),
      list.children.length
        ? list
        : el('p', {}, t('wallet.none')),
      error,
      close,
    )
  }
  const renderDisconnected = () => {
    const connect = el('button', { type: 'button', id: 'wallet-connect' }, t('wallet.connect'))
    connect.addEventListener('click', () => {
      renderDialog()
      dialog.showModal()
    })
    host.replaceChildren(connect)
    const again = wallet.remembered
    if (again) {
      // The extension this tab used: one click, and it asks for the signature again (it is not kept).
      const reconnect = el('button', { type: 'button', id: 'wallet-reconnect', class: 'secondary', title: t('wallet.seedExplanation') }, t('wallet.reconnect', { name: again.name }))
      reconnect.addEventListener('click', async () => {
        reconnect.disabled = true
        try {
          await wallet.connectInjected(again.uuid)
        } catch {
          reconnect.disabled = false
          renderDialog()
          dialog.showModal()
        }
      })
      host.prepend(reconnect)
    }
    document.body.dataset.wallet = 'none'
  }
  wallet.onProviders(() => {
    if (dialog.open) renderDialog()
    if (!wallet.connection) renderDisconnected()
  })

  wallet.subscribe((connection) => {
    if (!connection) {
      renderDisconnected()
      return
    }
    const out = el('button', { type: 'button', class: 'secondary', id: 'wallet-disconnect' }, t('wallet.disconnect'))
    out.addEventListener('click', () => wallet.disconnect())
    host.replaceChildren(
      el(
        'a',
        { href: './?account', class: `wallet-who wallet-${connection.kind}`, title: `${connection.label}: ${connection.address}`, 'data-address': connection.address },
        connection.kind === 'test' ? el('span', { class: 'test-badge' }, t('wallet.testBadge')) : null,
        short(connection.address),
      ),
      out,
    )
    document.body.dataset.wallet = connection.address
  })
}

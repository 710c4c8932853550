/**
 * The page's wallet: reading needs none; writing is done by addresses derived from it.
 *
 * Wallets announce themselves by EIP-6963 (`eip6963:announceProvider` in answer to
 * `eip6963:requestProvider`), so several extensions can coexist and the person picks one. On a
 * local chain, config.json may also list built-in test accounts (Anvil's public development keys):
 * they sign in the page itself and are labelled as such everywhere they appear.
 *
 * Connecting asks the wallet for one signature (EIP-191 `personal_sign` of SEED_MESSAGE, see
 * ./shopper.ts), which opens the person's derived shopping addresses: one per purchase, per
 * claimed item, per data user consented to. The page uses only those on chain, never the
 * wallet's own address, so that one scanned item does not list a person's other purchases. The
 * signature and what is derived from it stay in this page's memory for the session; nothing of
 * them is stored or sent. Which wallet was used is remembered for the tab (sessionStorage): a test
 * account reconnects by itself on the next page, an extension with one click (its signature is
 * asked again, as it is not kept).
 *
 * What connecting takes (viem's wallet client, the signer) is in ./connect.ts, loaded on the first
 * connection: a page that only reads never downloads it.
 */
import type { Account, Address, Chain, EIP1193Provider, WalletClient } from 'viem'
import type { Config, TestAccount } from '../chain/config'
import { t } from '../i18n'
import type { Shopper } from './shopper'

export interface ProviderInfo {
  uuid: string
  name: string
  icon: string
  rdns: string
}

export interface ProviderDetail {
  info: ProviderInfo
  provider: EIP1193Provider
}

export interface Connection {
  /** The wallet's own address: shown to the person, never used on chain. */
  address: Address
  client: WalletClient
  /** What to call it: the wallet's name, or the test account's label. */
  label: string
  kind: 'injected' | 'test'
  /** The local signer of a test account; undefined for an extension (it signs itself). */
  account?: Account
  /** The derived addresses (./shopper.ts): the only ones the page uses on chain. */
  shopper: Shopper
}

type Listener = (connection: Connection | undefined) => void

const STORAGE_KEY = 'o2ochain.wallet'

/** Wallet discovery and the current connection, shared by every part of the page. */
export class Wallet {
  private readonly providers = new Map<string, ProviderDetail>()
  private readonly listeners = new Set<Listener>()
  private current: Connection | undefined

  constructor(
    private readonly config: Config,
    private readonly chain: Chain,
  ) {
    window.addEventListener('eip6963:announceProvider', (event: Event) => {
      const detail = (event as CustomEvent<ProviderDetail>).detail
      if (detail?.info?.uuid && detail.provider) {
        this.providers.set(detail.info.uuid, detail)
        this.emitProviders()
      }
    })
    window.dispatchEvent(new Event('eip6963:requestProvider'))
  }

  get connection(): Connection | undefined {
    return this.current
  }

  get testAccounts(): TestAccount[] {
    return this.config.testAccounts
  }

  get discovered(): ProviderInfo[] {
    return [...this.providers.values()].map((d) => d.info)
  }

  /** Called with the connection now and on every change. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    listener(this.current)
    return () => this.listeners.delete(listener)
  }

  private providerListeners = new Set<() => void>()
  onProviders(listener: () => void): void {
    this.providerListeners.add(listener)
  }
  private emitProviders(): void {
    for (const l of this.providerListeners) l()
  }

  private set(connection: Connection | undefined, remember: string | undefined): void {
    this.current = connection
    if (remember) sessionStorage.setItem(STORAGE_KEY, remember)
    else sessionStorage.removeItem(STORAGE_KEY)
    for (const l of this.listeners) l(connection)
  }

  async connectTest(index: number): Promise<Connection> {
    const test = this.config.testAccounts[index]
    if (!test) throw new Error(t('wallet.noTestAccount'))
    const { testConnection } = await import('./connect')
    const connection = await testConnection(test, this.chain, this.config.rpcUrl)
    this.set(connection, `test:${index}`)
    return connection
  }

  async connectInjected(uuid: string): Promise<Connection> {
    const detail = this.providers.get(uuid)
    if (!detail) throw new Error(t('wallet.gone'))
    const { injectedConnection } = await import('./connect')
    const connection = await injectedConnection(detail, this.chain)
    this.set(connection, `injected:${detail.info.rdns}`)
    return connection
  }

  disconnect(): void {
    this.set(undefined, undefined)
  }

  private restoring: Promise<void> = Promise.resolve()

  /**
   * Reconnects what this tab used last: a test account by itself (it signs in the page); an
   * extension is only remembered (`remembered`), for the header to offer it again with one click,
   * since its signature prompt must follow a click of the person's.
   */
  restore(): Promise<void> {
    this.restoring = this.reconnect()
    return this.restoring
  }

  /** Settles when {@link restore} is done (at once when it was not called): who is connected is known then. */
  get settled(): Promise<void> {
    return this.restoring
  }

  private async reconnect(): Promise<void> {
    const saved = sessionStorage.getItem(STORAGE_KEY)
    if (!saved) return
    const [kind, id] = [saved.slice(0, saved.indexOf(':')), saved.slice(saved.indexOf(':') + 1)]
    try {
      if (kind === 'test' && this.config.testAccounts[Number(id)]) await this.connectTest(Number(id))
      else if (kind !== 'injected') sessionStorage.removeItem(STORAGE_KEY)
    } catch {
      sessionStorage.removeItem(STORAGE_KEY)
    }
  }

  /** The extension this tab used last, when it announced itself again: the header offers to reconnect it. */
  get remembered(): ProviderInfo | undefined {
    if (this.current) return undefined
    const saved = sessionStorage.getItem(STORAGE_KEY)
    if (!saved?.startsWith('injected:')) return undefined
    return [...this.providers.values()].find((d) => d.info.rdns === saved.slice('injected:'.length))?.info
  }
}

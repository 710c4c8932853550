/**
 * The page's wallet: reading needs none, writing needs an account.
 *
 * Wallets announce themselves by EIP-6963 (`eip6963:announceProvider` in answer to
 * `eip6963:requestProvider`), so several extensions can coexist and the person picks one. On a
 * local chain, config.json may also list built-in test accounts (Anvil's public development keys):
 * they sign in the page itself and are labelled as such everywhere they appear.
 *
 * The choice is remembered for the tab (sessionStorage), so moving between an item, the account
 * page and a coupon keeps the same account.
 */
import { createWalletClient, custom, http, numberToHex, type Account, type Address, type Chain, type EIP1193Provider, type WalletClient } from 'viem'
import type { Config, TestAccount } from '../chain/config'

export interface ProviderInfo {
  uuid: string
  name: string
  icon: string
  rdns: string
}

interface ProviderDetail {
  info: ProviderInfo
  provider: EIP1193Provider
}

export interface Connection {
  address: Address
  client: WalletClient
  /** What to call it: the wallet's name, or the test account's label. */
  label: string
  kind: 'injected' | 'test'
  /** The local signer of a test account; undefined for an extension (it signs itself). */
  account?: Account
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
    if (!test) throw new Error('there is no such test account')
    const { privateKeyToAccount } = await import('viem/accounts') // only pages that use a test account load the signer
    const account = privateKeyToAccount(test.privateKey)
    const client = createWalletClient({ account, chain: this.chain, transport: http(this.config.rpcUrl) })
    const connection: Connection = { address: account.address, client, label: test.label, kind: 'test', account }
    this.set(connection, `test:${index}`)
    return connection
  }

  async connectInjected(uuid: string): Promise<Connection> {
    const detail = this.providers.get(uuid)
    if (!detail) throw new Error('that wallet is no longer available; reload the page')
    const provider = detail.provider
    const [address] = (await provider.request({ method: 'eth_requestAccounts' })) as Address[]
    if (!address) throw new Error(`${detail.info.name} gave no account`)
    const chainId = Number(await provider.request({ method: 'eth_chainId' }))
    if (chainId !== this.chain.id) {
      try {
        await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: numberToHex(this.chain.id) }] })
      } catch {
        throw new Error(`${detail.info.name} is on chain ${chainId}; switch it to ${this.chain.name} (chain ${this.chain.id}) and connect again`)
      }
    }
    const client = createWalletClient({ account: address, chain: this.chain, transport: custom(provider) })
    const connection: Connection = { address, client, label: detail.info.name, kind: 'injected' }
    this.set(connection, `injected:${detail.info.rdns}`)
    return connection
  }

  disconnect(): void {
    this.set(undefined, undefined)
  }

  /** Reconnects what this tab used last, when it is still there (a test account, or an extension that announced itself). */
  async restore(): Promise<void> {
    const saved = sessionStorage.getItem(STORAGE_KEY)
    if (!saved) return
    const [kind, id] = [saved.slice(0, saved.indexOf(':')), saved.slice(saved.indexOf(':') + 1)]
    try {
      if (kind === 'test' && this.config.testAccounts[Number(id)]) await this.connectTest(Number(id))
      else if (kind === 'injected') {
        const found = [...this.providers.values()].find((d) => d.info.rdns === id)
        if (found) await this.connectInjected(found.info.uuid)
      }
    } catch {
      sessionStorage.removeItem(STORAGE_KEY)
    }
  }
}

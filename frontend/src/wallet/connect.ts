/**
 * What connecting a wallet takes (./wallet.ts loads it on the first connection): viem's wallet
 * client, the test account's signer, and the one signature that opens the derived shopping
 * addresses (./shopper.ts). A page that only reads never downloads this.
 */
import { createWalletClient, custom, http, numberToHex, type Address, type Chain } from 'viem'
import type { TestAccount } from '../chain/config'
import { t } from '../i18n'
import { privateKeyToAccount, SEED_MESSAGE, Shopper } from './shopper'
import type { Connection, ProviderDetail } from './wallet'

/** A built-in test account (a local chain's public development key), signing in the page itself. */
export async function testConnection(test: TestAccount, chain: Chain, rpcUrl: string): Promise<Connection> {
  const account = privateKeyToAccount(test.privateKey)
  const client = createWalletClient({ account, chain, transport: http(rpcUrl) })
  const shopper = Shopper.fromSignature(await account.signMessage({ message: SEED_MESSAGE }))
  return { address: account.address, client, label: test.label, kind: 'test', account, shopper }
}

/** A wallet that announced itself (EIP-6963): its account on `chain`, and its one signature. */
export async function injectedConnection(detail: ProviderDetail, chain: Chain): Promise<Connection> {
  const provider = detail.provider
  const [address] = (await provider.request({ method: 'eth_requestAccounts' })) as Address[]
  if (!address) throw new Error(t('wallet.noAccount', { wallet: detail.info.name }))
  const chainId = Number(await provider.request({ method: 'eth_chainId' }))
  if (chainId !== chain.id) {
    try {
      await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: numberToHex(chain.id) }] })
    } catch {
      throw new Error(t('wallet.wrongChain', { wallet: detail.info.name, chainId, chain: chain.name, id: chain.id }))
    }
  }
  const client = createWalletClient({ account: address, chain, transport: custom(provider) })
  let signature
  try {
    signature = await client.signMessage({ account: address, message: SEED_MESSAGE })
  } catch (e) {
    const declined = (e as { code?: number }).code === 4001 || /reject|denied|declin/i.test(String((e as Error).message))
    const wallet = detail.info.name
    throw new Error(declined ? t('wallet.declinedSeed', { wallet }) : t('wallet.cannotSign', { wallet, reason: (e as Error).message.split('\n')[0] }))
  }
  return { address, client, label: detail.info.name, kind: 'injected', shopper: Shopper.fromSignature(signature) }
}

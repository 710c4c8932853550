/**
 * How a derived shopper address acts without coin: it signs, and a relayer sends and pays.
 *
 * A purchase, item or consent address (./shopper.ts) holds nothing: funding it from the wallet
 * would tie it to the wallet on chain, which is what deriving it avoids. So the page signs here,
 * with the derived key, and posts the call to the page server's relay (config.json `relay`,
 * src/o2ochain/demo/_server.py `POST /relay`, src/o2ochain/shopper/_shopper.py `RelayService`), which sends it from
 * its own account. The relayer gains no power by it: a call is either an ERC-2771 request that
 * the derived address signed (OpenZeppelin `ForwardRequest` under the "o2ochain Forwarder"
 * domain, version "1"; the target sees the signer as its caller), or one that carries its own
 * authority (a store's claim code, a signed consent) or needs none (a claim that pays a buyer).
 */
import { encodeFunctionData, type Abi, type Address, type Hex, type PublicClient } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'
import { forwarderAbi } from '../chain/abi'
import { contractOf, type Config } from '../chain/config'
import { t } from '../i18n'

/** The most gas a relayed call may use (signed with it; the relayer pays only what it uses), as src/o2ochain/shopper/_shopper.py RELAYED_GAS. */
export const RELAYED_GAS = 1_000_000n
/** How long a signed request stays valid, from the chain's latest block time. */
export const REQUEST_TTL = 3_600

/** A contract call: where, which function, with what. */
export interface Call {
  address: Address
  abi: Abi
  functionName: string
  args: readonly unknown[]
}

/** What the relay sends: calldata to a contract. */
export interface RelayedCall {
  to: Address
  data: Hex
}

/** The relay refused the call: `error` is the contract's custom error (or a short reason), `message` its words. */
export class RelayRefused extends Error {
  constructor(
    readonly error: string,
    message: string,
    readonly contractError: boolean,
    /** The custom error's arguments, in order (numbers as decimal strings). */
    readonly args: readonly unknown[] = [],
  ) {
    super(message)
  }
}

const FORWARD_REQUEST = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'gas', type: 'uint256' },
  { name: 'nonce', type: 'uint256' },
  { name: 'deadline', type: 'uint48' },
  { name: 'data', type: 'bytes' },
] as const

/** The chain's latest block time plus `ttl` seconds: what a signature's deadline is compared with. */
export async function deadlineFrom(client: PublicClient, ttl = REQUEST_TTL): Promise<bigint> {
  const block = await client.getBlock({ blockTag: 'latest' })
  return block.timestamp + BigInt(ttl)
}

/** `call` as `signer` makes it through the forwarder: an ERC-2771 request it signs, wrapped in `execute`. */
export async function forwardRequest(client: PublicClient, config: Config, signer: PrivateKeyAccount, call: Call): Promise<RelayedCall> {
  const forwarder = contractOf(config, 'Forwarder').address
  const data = encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args })
  const [nonce, deadline] = await Promise.all([
    client.readContract({ address: forwarder, abi: forwarderAbi, functionName: 'nonces', args: [signer.address] }) as Promise<bigint>,
    deadlineFrom(client),
  ])
  const message = { from: signer.address, to: call.address, value: 0n, gas: RELAYED_GAS, nonce, deadline: Number(deadline), data }
  const signature = await signer.signTypedData({
    domain: { name: 'o2ochain Forwarder', version: '1', chainId: config.deployment.chainId, verifyingContract: forwarder },
    types: { ForwardRequest: FORWARD_REQUEST },
    primaryType: 'ForwardRequest',
    message,
  })
  const request = { from: signer.address, to: call.address, value: 0n, gas: RELAYED_GAS, deadline: Number(deadline), data, signature }
  return { to: forwarder, data: encodeFunctionData({ abi: forwarderAbi, functionName: 'execute', args: [request] }) }
}

/** `call` as plain calldata, for the relay to send as it is (it carries its own authority). */
export function directCall(call: Call): RelayedCall {
  return { to: call.address, data: encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args }) }
}

/**
 * Posts `call` to the page's relay; resolves with the hash of the transaction once it is mined.
 * A contract's refusal (HTTP 422) or a refused request (400) is a RelayRefused.
 */
export async function relay(config: Config, call: RelayedCall): Promise<Hex> {
  if (!config.relay) throw new RelayRefused('NoRelay', t('relay.none'), false)
  const url = new URL(config.relay, window.location.href)
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(call) })
  let answer: { txHash?: Hex; error?: string; message?: string; args?: unknown[] }
  try {
    answer = (await response.json()) as typeof answer
  } catch {
    throw new RelayRefused('RelayUnavailable', t('relay.noReply', { status: `HTTP ${response.status}` }), false)
  }
  if (response.ok && answer.txHash) return answer.txHash
  if (response.status === 422 && answer.error) throw new RelayRefused(answer.error, answer.message ?? answer.error, true, answer.args ?? [])
  throw new RelayRefused('RelayRefused', t('relay.refused', { reason: answer.error ?? `HTTP ${response.status}` }), false)
}

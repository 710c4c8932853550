/**
 * One write from the page, with its progress shown where the person clicked:
 * checking with the chain → signing on this device → sent by the relay (with its hash) →
 * confirmed in block N, or refused with a sentence made from the contract's decoded custom error
 * (never a hex blob).
 *
 * Every write is made by one of the person's derived addresses (./shopper.ts), never by the
 * wallet's own: the call is first simulated from the derived address (an eth_call, which needs no
 * coin), so a write the contract would refuse is never signed; then the derived key signs here
 * (no wallet prompt) and the page's relay sends it and pays its gas (./relay.ts). The relay's own
 * refusal (HTTP 422 with the error's name) is worded through the same table.
 */
import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError, type Abi, type Address, type Hex, type PublicClient } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'
import { errorsAbi } from '../chain/abi'
import type { Config } from '../chain/config'
import { forgetHead } from '../chain/logs'
import { el } from '../features/product/view'
import { formatNumber, formatUtc, isMessageKey, t, tParts, type MessageKey } from '../i18n'
import { forwardRequest, relay, RelayRefused, type RelayedCall } from './relay'

export type Step = 'simulating' | 'signing' | 'relaying' | 'pending' | 'sent' | 'confirmed' | 'reverted' | 'declined' | 'failed'

export interface WriteRequest {
  address: Address
  abi: Abi
  functionName: string
  args: readonly unknown[]
  value?: bigint
}

/**
 * The arguments of the custom errors whose sentence uses them (a date, a count), by error name, as
 * the values of the sentence's placeholders; each sentence is `error.<name>` of the catalogue.
 */
const ARGUMENTS: Record<string, (args: readonly unknown[]) => Record<string, string>> = {
  ReviewVersionLimit: (args) => ({ versions: formatNumber(whole(args[1])) }),
  GuaranteeWindowClosed: (args) => ({ time: formatUtc(whole(args[1])) }),
  GuaranteeClaimTooEarly: (args) => ({ time: formatUtc(whole(args[1])) }),
  GuaranteeCoverOpen: (args) => ({ time: formatUtc(whole(args[1])) }),
}

/** A whole-number argument (a count, or a contract time in unix seconds): from the node a bigint, from the relay's JSON a number or digits. */
function whole(value: unknown): bigint {
  if (typeof value === 'bigint') return value
  if ((typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^\d+$/.test(value))) return BigInt(value)
  throw new TypeError('not a whole number')
}

/** The sentence for custom error `name` with `args`, or undefined when the page has none. */
export function errorMessage(name: string, args: readonly unknown[] = []): string | undefined {
  const key = `error.${name}`
  if (!isMessageKey(key)) return undefined
  try {
    return t(key, ARGUMENTS[name]?.(args) ?? {})
  } catch {
    return undefined // arguments missing or malformed: the error is named in words instead
  }
}

function words(name: string): string {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^(Identity|Review|Guarantee|Consent|Coupon|Trace) /, '')
  return spaced.charAt(0).toUpperCase() + spaced.slice(1).toLowerCase()
}

/** A sentence for a failed simulation, submission or transaction. */
export function explain(error: unknown): { step: Step; message: string; errorName?: string } {
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof UserRejectedRequestError)) return { step: 'declined', message: t('tx.declinedInWallet') }
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
    if (reverted instanceof ContractFunctionRevertedError) {
      const name = reverted.data?.errorName
      if (name) return { step: 'reverted', message: errorMessage(name, reverted.data?.args ?? []) ?? t('tx.contractRefused', { reason: words(name) }), errorName: name }
      if (reverted.reason) return { step: 'reverted', message: t('tx.contractRefused', { reason: reverted.reason }) }
      return { step: 'reverted', message: t('tx.contractRefusedSilently') }
    }
    return { step: 'failed', message: error.shortMessage }
  }
  return { step: 'failed', message: error instanceof Error ? error.message : String(error) }
}

function withErrors(abi: Abi): Abi {
  return [...abi, ...errorsAbi.filter((e) => e.type === 'error' && !abi.some((a) => a.type === 'error' && a.name === e.name))]
}

const LABELS: Record<Step, MessageKey> = {
  simulating: 'tx.simulating',
  signing: 'tx.signing',
  relaying: 'tx.relaying',
  pending: 'tx.pending',
  sent: 'tx.sent',
  confirmed: 'tx.confirmed',
  reverted: 'tx.reverted',
  declined: 'tx.declined',
  failed: 'tx.failed',
}

/** The status line of one action: `data-step` says where it is, for people and for tests. */
export function statusLine(): HTMLElement {
  return el('p', { class: 'tx-status', role: 'status', 'aria-live': 'polite', hidden: '' })
}

/** Shows `step` (with `detail` and the transaction's `hash`) in `status`. */
export function showStep(status: HTMLElement, step: Step, detail?: string, hash?: Hex): void {
  status.hidden = false
  status.dataset.step = step
  if (step !== 'reverted') delete status.dataset.error
  status.replaceChildren(el('strong', {}, t(LABELS[step])))
  if (detail) status.append(' ', detail)
  if (hash) status.append(' ', el('span', { class: 'tx-hash' }, ...tParts('tx.transaction', { hash: el('code', { title: hash }, `${hash.slice(0, 10)}…${hash.slice(-6)}`) })))
}

function refused(status: HTMLElement, message: string, errorName?: string, hash?: Hex): void {
  showStep(status, 'reverted', message, hash)
  if (errorName) status.dataset.error = errorName
}

/** A write by one of the person's derived addresses. */
export interface ShopperWrite {
  /** The derived account the chain sees as the caller: the call is checked from it, and it signs. */
  signer: PrivateKeyAccount
  /** The call as `signer` makes it. */
  request: WriteRequest
  /**
   * What the relay sends, built after the check: by default `request` in an ERC-2771 request that
   * `signer` signs; else a call that carries its own authority (a consent `signer` signs, a
   * store's claim code) or needs none (a claim that pays the buyer).
   */
  send?: () => Promise<RelayedCall>
  /** Whether `send` signs on this device (a step of its own); true by default. */
  signs?: boolean
}

/**
 * Checks, signs, relays and confirms `write`, showing each step in `status`. Resolves with the
 * confirmed receipt's block and hash, or undefined when it did not happen (the reason is on screen).
 */
export async function write(client: PublicClient, config: Config, what: ShopperWrite, status: HTMLElement): Promise<{ block: bigint; hash: Hex } | undefined> {
  const { signer, request } = what
  const abi = withErrors(request.abi)
  const call = { address: request.address, abi, functionName: request.functionName, args: request.args }
  showStep(status, 'simulating')
  try {
    await client.simulateContract({ ...call, value: request.value, account: signer.address } as Parameters<PublicClient['simulateContract']>[0])
  } catch (e) {
    const why = explain(e)
    if (why.step === 'reverted') refused(status, why.message, why.errorName)
    else showStep(status, why.step, why.message)
    return undefined
  }
  let hash: Hex
  try {
    if (what.signs !== false) showStep(status, 'signing', t('tx.signingDetail'))
    const relayed = await (what.send ?? (() => forwardRequest(client, config, signer, call)))()
    showStep(status, 'relaying', t('tx.relayingDetail'))
    hash = await relay(config, relayed)
  } catch (e) {
    if (e instanceof RelayRefused) {
      if (e.contractError) refused(status, errorMessage(e.error, e.args) ?? t('tx.contractRefused', { reason: words(e.error) }), e.error)
      else showStep(status, 'failed', e.message)
    } else showStep(status, 'failed', e instanceof Error ? e.message.split('\n')[0] : String(e))
    return undefined
  }
  showStep(status, 'pending', undefined, hash)
  const receipt = await client.waitForTransactionReceipt({ hash, timeout: 120_000 })
  if (receipt.status === 'reverted') {
    let message = t('tx.revertedOnChain')
    let name: string | undefined
    try {
      await client.simulateContract({ ...call, account: signer.address, blockNumber: receipt.blockNumber - 1n } as Parameters<PublicClient['simulateContract']>[0])
    } catch (e) {
      ;({ message, errorName: name } = explain(e))
    }
    refused(status, message, name, hash)
    return undefined
  }
  forgetHead(client) // the lists read next must reach this block
  showStep(status, 'confirmed', t('tx.inBlock', { block: receipt.blockNumber.toString() }), hash)
  return { block: receipt.blockNumber, hash }
}

/**
 * A button that makes `shopperWrite` (progress in `status`): disabled while it runs, `confirmed`
 * called shortly after the write is in a block (the node has indexed it by then), enabled again
 * when it did not happen.
 */
export function writeButton(
  button: HTMLButtonElement,
  client: PublicClient,
  config: Config,
  shopperWrite: ShopperWrite,
  status: HTMLElement,
  confirmed: () => void,
): HTMLButtonElement {
  button.addEventListener('click', async () => {
    button.disabled = true
    if (await write(client, config, shopperWrite, status)) setTimeout(confirmed, 800)
    else button.disabled = false
  })
  return button
}

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
import { forwardRequest, relay, RelayRefused, type RelayedCall } from './relay'

export type Step = 'simulating' | 'signing' | 'relaying' | 'pending' | 'sent' | 'confirmed' | 'reverted' | 'declined' | 'failed'

export interface WriteRequest {
  address: Address
  abi: Abi
  functionName: string
  args: readonly unknown[]
  value?: bigint
}

/** "2026-12-04 10:04 UTC": a contract time (unix seconds) as people read it. */
function when(seconds: unknown): string {
  const iso = new Date(Number(seconds) * 1000).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}

type Message = string | ((args: readonly unknown[]) => string)

/**
 * Human sentences for the errors a consumer can meet, by error name (some use the error's
 * arguments, such as a date); any other is named in words.
 */
const MESSAGES: Record<string, Message> = {
  IdentityItemAlreadyClaimed: 'This item was already claimed by its first buyer.',
  IdentitySignatureExpired: "The store's claim code has expired; ask the store for a new one.",
  IdentitySignerNotSeller: 'The claim code was not signed by a seller of this brand.',
  IdentityItemNotActive: 'This item is recalled or out of circulation, so it cannot be claimed.',
  IdentityLotRecalled: 'This item’s lot was recalled, so it cannot be claimed.',
  IdentityItemUnknown: 'No brand registered this item.',
  ECDSAInvalidSignature: 'The signature is damaged.',
  ECDSAInvalidSignatureLength: 'The signature is damaged.',
  ReviewAlreadyPosted: 'You have already reviewed this.',
  ReviewNotBuyer: 'Only its buyer may do this: the account the shop recorded the purchase for, or that claimed the item.',
  ReviewItemNotClaimed: 'Claim the item first: reviews are from verified buyers only.',
  ReviewRatingInvalid: 'Pick a rating from 1 to 5 stars.',
  ReviewContentMissing: 'Write a few words first.',
  ReviewPurchaseUnknown: 'The shop did not record this purchase as given, so it is no proof of buying.',
  ReviewSellerNotAuthorised:
    'The brand has not authorised this shop to sell its products, so a purchase there does not make you a verified buyer of the product.',
  ReviewSelfVote: 'You cannot vote on your own review.',
  ReviewAlreadyVoted: 'You have already voted on this review.',
  ReviewAlreadyReported: 'You have already reported this review.',
  ReviewReasonInvalid: 'Pick a reason for the report.',
  ReviewUnknown: 'This review is not on the chain.',
  ReviewTicketUnrelated:
    'Your proof of buying is for something else: only buyers of the product a review is about (or, for a review of a shop, of that shop) may vote on it or report it.',
  ReviewVersionLimit: (args) => `This review has been edited as often as it can be (${Number(args[1])} versions).`,
  GuaranteeWithinTolerance: 'The lower price is within the retailer’s tolerance, so nothing is owed for it.',
  GuaranteeAlreadyCompensated: 'You were already compensated for this price or a lower one.',
  GuaranteeWindowClosed: (args) => `The guarantee period of this purchase is over: claims closed on ${when(args[1])}.`,
  GuaranteeClaimTooEarly: (args) => `Compensation for this purchase is paid from ${when(args[1])}, a day after the shop recorded it. Come back then.`,
  GuaranteeOfferOutsideWindow: 'That price was not on offer within your guarantee period.',
  GuaranteePriceTypeExcluded: 'That kind of price (for example a clearance) is excluded by the retailer’s guarantee.',
  GuaranteeNotCovered:
    'This purchase is not covered: the shop offered no price guarantee on it, or its guarantee pool had no free funds when the purchase was recorded.',
  GuaranteePurchaseMismatch: 'The purchase details differ from what the shop recorded.',
  GuaranteeSignerInvalid: 'The shop key that signed this no longer counts: it was revoked, or was not in service at that date.',
  GuaranteeCoverOpen: (args) => `Claims for this purchase are open until ${when(args[1])}.`,
  ConsentNotGranted: 'There is no consent to revoke.',
  ConsentWithdrawn: 'This consent was already revoked.',
  ConsentExpiryInvalid: 'Choose how long the consent lasts (at least a day).',
  GuaranteeOfferNotStarted: 'That price has not started yet.',
  GuaranteePurchaseUnknown: 'The store has not recorded this purchase.',
  ConsentPurposesInvalid: 'Choose at least one purpose.',
  ConsentCategoriesInvalid: 'Choose at least one kind of data.',
  ConsentSignatureExpired: 'The signed request expired before it reached the chain; try again.',
  ConsentNonceInvalid: 'Your consent changed meanwhile; reload the page and try again.',
  FailedCall: 'The chain refused the signed request: the call it carries failed.',
  ERC2771ForwarderExpiredRequest: 'The signed request expired before it reached the chain; try again.',
  ERC2771ForwarderInvalidSigner: 'The signed request does not match its signer; reload the page and try again.',
}

/** The sentence for custom error `name` with `args`, or undefined when the page has none. */
export function errorMessage(name: string, args: readonly unknown[] = []): string | undefined {
  const message = MESSAGES[name]
  if (typeof message !== 'function') return message
  try {
    return message(args)
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
    if (error.walk((e) => e instanceof UserRejectedRequestError)) return { step: 'declined', message: 'You declined in your wallet; nothing was sent.' }
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
    if (reverted instanceof ContractFunctionRevertedError) {
      const name = reverted.data?.errorName
      if (name) return { step: 'reverted', message: errorMessage(name, reverted.data?.args ?? []) ?? `The contract refused: ${words(name)}.`, errorName: name }
      if (reverted.reason) return { step: 'reverted', message: `The contract refused: ${reverted.reason}.` }
      return { step: 'reverted', message: 'The contract refused without giving a reason.' }
    }
    return { step: 'failed', message: error.shortMessage }
  }
  return { step: 'failed', message: error instanceof Error ? error.message : String(error) }
}

function withErrors(abi: Abi): Abi {
  return [...abi, ...errorsAbi.filter((e) => e.type === 'error' && !abi.some((a) => a.type === 'error' && a.name === e.name))]
}

const LABELS: Record<Step, string> = {
  simulating: 'Checking with the chain…',
  signing: 'Signing on this device…',
  relaying: 'Sending through the relay…',
  pending: 'Sent by the relay; waiting for a block…',
  sent: 'Sent; waiting for a block…',
  confirmed: 'Done.',
  reverted: 'Refused.',
  declined: 'Cancelled.',
  failed: 'Could not send.',
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
  status.replaceChildren(el('strong', {}, LABELS[step]))
  if (detail) status.append(' ', detail)
  if (hash) status.append(' ', el('span', { class: 'tx-hash' }, 'Transaction ', el('code', { title: hash }, `${hash.slice(0, 10)}…${hash.slice(-6)}`)))
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
    if (what.signs !== false) showStep(status, 'signing', '(no wallet prompt: a key derived from yours signs in this page)')
    const relayed = await (what.send ?? (() => forwardRequest(client, config, signer, call)))()
    showStep(status, 'relaying', '(the relay pays the fee; your wallet sends nothing)')
    hash = await relay(config, relayed)
  } catch (e) {
    if (e instanceof RelayRefused) {
      if (e.contractError) refused(status, errorMessage(e.error, e.args) ?? `The contract refused: ${words(e.error)}.`, e.error)
      else showStep(status, 'failed', e.message)
    } else showStep(status, 'failed', e instanceof Error ? e.message.split('\n')[0] : String(e))
    return undefined
  }
  showStep(status, 'pending', undefined, hash)
  const receipt = await client.waitForTransactionReceipt({ hash, timeout: 120_000 })
  if (receipt.status === 'reverted') {
    let message = 'The transaction was refused on chain.'
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
  showStep(status, 'confirmed', `In block ${receipt.blockNumber}.`, hash)
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

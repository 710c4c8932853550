/**
 * One transaction from the page, with its progress shown where the person clicked:
 * simulating → awaiting wallet → pending (with its hash) → confirmed, or refused with a sentence
 * made from the contract's decoded custom error (never a hex blob).
 *
 * The simulation runs first, so a write the contract would refuse never reaches the wallet; a
 * transaction that still reverts on chain is replayed at its block to recover the reason.
 */
import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError, type Abi, type Address, type Hex, type PublicClient } from 'viem'
import { errorsAbi } from '../chain/abi'
import { el } from '../features/product/view'
import type { Connection } from './wallet'

export type Step = 'simulating' | 'awaiting wallet' | 'pending' | 'confirmed' | 'reverted' | 'declined' | 'failed'

export interface WriteRequest {
  address: Address
  abi: Abi
  functionName: string
  args: readonly unknown[]
  value?: bigint
}

/** Human sentences for the errors a consumer can meet; any other is named in words. */
const MESSAGES: Record<string, string> = {
  IdentityItemAlreadyClaimed: 'This item was already claimed by its first buyer.',
  IdentitySignatureExpired: "The store's claim code has expired; ask the store for a new one.",
  IdentitySignerNotSeller: 'The claim code was not signed by a seller of this brand.',
  IdentityItemNotActive: 'This item is recalled or out of circulation, so it cannot be claimed.',
  IdentityLotRecalled: 'This item’s lot was recalled, so it cannot be claimed.',
  IdentityItemUnknown: 'No brand registered this item.',
  ECDSAInvalidSignature: 'The signature is damaged.',
  ECDSAInvalidSignatureLength: 'The signature is damaged.',
  ReviewAlreadyPosted: 'You have already reviewed this.',
  ReviewNotBuyer: 'Only the buyer who claimed this item may review it.',
  ReviewItemNotClaimed: 'Claim the item first: reviews are from verified buyers only.',
  ReviewRatingInvalid: 'Pick a rating from 1 to 5 stars.',
  ReviewContentMissing: 'Write a few words first.',
  GuaranteeWithinTolerance: 'The lower price is within the retailer’s tolerance, so nothing is owed for it.',
  GuaranteeAlreadyCompensated: 'You were already compensated for this price or a lower one.',
  GuaranteeWindowClosed: 'The guarantee period of this purchase is over.',
  GuaranteeOfferOutsideWindow: 'That price was not on offer within your guarantee period.',
  GuaranteePriceTypeExcluded: 'That kind of price (for example a clearance) is excluded by the retailer’s guarantee.',
  GuaranteeNotCovered: 'This purchase is not covered by a price guarantee.',
  ConsentNotGranted: 'There is no consent to revoke.',
  ConsentWithdrawn: 'This consent was already revoked.',
  ConsentExpiryInvalid: 'Choose how long the consent lasts (at least a day).',
  GuaranteeOfferNotStarted: 'That price has not started yet.',
  GuaranteePurchaseUnknown: 'The store has not recorded this purchase.',
  ConsentPurposesInvalid: 'Choose at least one purpose.',
  ConsentCategoriesInvalid: 'Choose at least one kind of data.',
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
      if (name) return { step: 'reverted', message: MESSAGES[name] ?? `The contract refused: ${words(name)}.`, errorName: name }
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
  'awaiting wallet': 'Confirm in your wallet…',
  pending: 'Sent; waiting for a block…',
  confirmed: 'Done.',
  reverted: 'Refused.',
  declined: 'Cancelled.',
  failed: 'Could not send.',
}

/** The status line of one action: `data-step` says where it is, for people and for tests. */
export function statusLine(): HTMLElement {
  return el('p', { class: 'tx-status', role: 'status', 'aria-live': 'polite', hidden: '' })
}

function show(status: HTMLElement, step: Step, detail?: string, hash?: Hex): void {
  status.hidden = false
  status.dataset.step = step
  status.replaceChildren(el('strong', {}, LABELS[step]))
  if (detail) status.append(' ', detail)
  if (hash) status.append(' ', el('span', { class: 'tx-hash' }, 'Transaction ', el('code', { title: hash }, `${hash.slice(0, 10)}…${hash.slice(-6)}`)))
}

/**
 * Simulates, sends and confirms `request` from `connection`, showing each step in `status`.
 * Resolves with the confirmed receipt's block and the simulated result, or undefined when it
 * did not happen (the reason is on screen).
 */
export async function write<T = unknown>(
  client: PublicClient,
  connection: Connection,
  request: WriteRequest,
  status: HTMLElement,
): Promise<{ block: bigint; hash: Hex; result: T } | undefined> {
  const abi = withErrors(request.abi)
  show(status, 'simulating')
  let prepared
  try {
    prepared = await client.simulateContract({
      address: request.address,
      abi,
      functionName: request.functionName,
      args: request.args,
      value: request.value,
      account: connection.account ?? connection.address,
    } as Parameters<PublicClient['simulateContract']>[0])
  } catch (e) {
    const why = explain(e)
    show(status, why.step, why.message)
    if (why.errorName) status.dataset.error = why.errorName
    return undefined
  }
  show(status, 'awaiting wallet', connection.kind === 'test' ? `(${connection.label} signs in this page)` : `(${connection.label})`)
  let hash: Hex
  try {
    hash = await connection.client.writeContract({ ...prepared.request, account: connection.account ?? connection.address, chain: connection.client.chain } as Parameters<typeof connection.client.writeContract>[0])
  } catch (e) {
    const why = explain(e)
    show(status, why.step, why.message)
    return undefined
  }
  show(status, 'pending', undefined, hash)
  const receipt = await client.waitForTransactionReceipt({ hash, timeout: 120_000 })
  if (receipt.status === 'reverted') {
    let message = 'The transaction was refused on chain.'
    try {
      await client.simulateContract({ ...(prepared.request as object), blockNumber: receipt.blockNumber - 1n } as Parameters<PublicClient['simulateContract']>[0])
    } catch (e) {
      message = explain(e).message
    }
    show(status, 'reverted', message, hash)
    return undefined
  }
  show(status, 'confirmed', `In block ${receipt.blockNumber}.`, hash)
  return { block: receipt.blockNumber, hash, result: prepared.result as T }
}

/**
 * A button that sends `request` from `connection` (progress in `status`): disabled while it runs,
 * `confirmed` called shortly after the write is in a block (the node has indexed it by then),
 * enabled again when it did not happen.
 */
export function writeButton(
  button: HTMLButtonElement,
  client: PublicClient,
  connection: Connection,
  request: WriteRequest,
  status: HTMLElement,
  confirmed: () => void,
): HTMLButtonElement {
  button.addEventListener('click', async () => {
    button.disabled = true
    if (await write(client, connection, request, status)) setTimeout(confirmed, 800)
    else button.disabled = false
  })
  return button
}

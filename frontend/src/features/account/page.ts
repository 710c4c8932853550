/**
 * `?account`: what the chain knows about the connected person, and what they can do about it.
 *
 * The person appears on chain only as addresses derived from their wallet's key (wallet/shopper.ts,
 * found by wallet/addresses.ts), never as the wallet's own address:
 *
 * - Show at the till: for a chosen retailer, the next unused purchase address (a QR code and its
 *   text): the shop records the purchase to it and the price guarantee pays compensation to it.
 * - Compensation: what the purchase addresses hold (paid there), with "move to my wallet", sent
 *   from the purchase address itself (it has the coin for its fee) after a warning that this ties
 *   the purchase to the wallet on chain.
 * - Purchases and the price guarantee: every PurchaseRecorded of the purchase addresses of every
 *   retailer, with the cover the shop's pool set aside for it when it was recorded (or why there
 *   is none), what was compensated so far (CompensationPaid), and whether a lower published price
 *   of the retailer owes more. Compensation is paid from a day after the purchase was recorded
 *   until a day after its guarantee window: before, the page says what will be owed and from
 *   when, with no button the contract would refuse. The contract is the judge: each candidate
 *   price (same GTIN, lower, on a channel of the same retailer) is simulated as `claimWithPrice`
 *   (at the time claims open, when that is still ahead), and the best answer is offered; the
 *   claim is relayed (anyone may send it; it pays the purchase's address). The buyer may review
 *   the product on each purchase from a seller the brand authorised, as the purchase's address;
 *   for any other, the page says why the chain would not take the review.
 * - Consents: each data user of config.json `dataUsers` is consented to by an address of its own;
 *   what the consent covers now, a revoke, and a form to grant (terms as contracts/Types.sol
 *   `Terms`; the notice is recorded as its keccak256), each signed by that address (EIP-712) and
 *   relayed. Every recorded use of the person's data (DataUsed) is listed.
 * Nothing personal is asked for or written.
 */
import { createWalletClient, getAbiItem, http, keccak256, stringToBytes, stringToHex, zeroHash, type AbiEvent, type Address, type Hex, type PublicClient } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'
import { renderSVG } from 'uqr'
import { consentRegistryAbi, priceGuaranteeAbi, productRegistryAbi, reviewBoardAbi } from '../../chain/abi'
import { contractOf, type Config } from '../../chain/config'
import { forgetHead, logReader } from '../../chain/logs'
import { claimPeriod, coverStatus, GuaranteeReader, type Currency } from '../../chain/guarantee'
import { productName } from '../../chain/registry'
import { SUBJECT_MERCHANT, SUBJECT_PRODUCT } from '../../chain/reviews'
import { reviewIdOf, TicketReader } from '../../chain/tickets'
import { ShopperAddresses, type ShopperPurchase } from '../../wallet/addresses'
import { deadlineFrom, directCall, type RelayedCall } from '../../wallet/relay'
import type { Connection, Wallet } from '../../wallet/wallet'
import { short } from '../../wallet/widget'
import { formatList, formatUtc, t, tCount, tParts, type MessageKey } from '../../i18n'
import { explain, showStep, statusLine, write, writeButton, type WriteRequest } from '../../wallet/write'
import { formatAmount } from '../market/format'
import { reviewForm } from '../product/ownership'
import { el } from '../product/view'

/** Purpose and category bits, in the order of contracts/Types.sol (and o2ochain.consent), as the catalogue names them. */
const PURPOSES: MessageKey[] = ['purpose.fulfilment', 'purpose.delivery', 'purpose.recommendations', 'purpose.marketing', 'purpose.analytics', 'purpose.thirdParties']
const CATEGORIES: MessageKey[] = [
  'category.contact',
  'category.postal',
  'category.purchases',
  'category.location',
  'category.payment',
  'category.demographics',
  'category.preferences',
  'category.device',
]

const consentGrantedEvent = getAbiItem({ abi: consentRegistryAbi, name: 'ConsentGranted' }) as AbiEvent
const dataUsedEvent = getAbiItem({ abi: consentRegistryAbi, name: 'DataUsed' }) as AbiEvent

/** The words of the bits set in `mask`, as a list of the page's language. */
function names(mask: bigint, all: MessageKey[]): string {
  return formatList(all.filter((_, bit) => (mask >> BigInt(bit)) & 1n).map((key) => t(key)))
}

/** The day of a contract time (UTC), as the page's language writes dates. */
function day(seconds: bigint | number): string {
  return formatUtc(seconds, 'date')
}

/** When claims open or close, to the minute (UTC). */
function dayTime(seconds: number): string {
  return formatUtc(seconds)
}

/** What the account page reads: the price guarantee through the market's reader (channels, currencies, prices, cached), and consents. */
class Reads {
  readonly prices: GuaranteeReader
  readonly guarantee: Address
  readonly consent: Address
  readonly fromBlock: bigint

  constructor(
    readonly client: PublicClient,
    readonly config: Config,
  ) {
    this.prices = new GuaranteeReader(client, config)
    this.guarantee = this.prices.address
    this.consent = contractOf(config, 'ConsentRegistry').address
    this.fromBlock = contractOf(config, 'ConsentRegistry').block
  }
}

function amount(value: bigint, currency: Currency): string {
  return formatAmount(value, currency).text
}

export async function showAccount(out: HTMLElement, client: PublicClient, config: Config, wallet: Wallet): Promise<void> {
  const reads = new Reads(client, config)
  let generation = 0
  const render = async (me: Connection | undefined) => {
    const mine = ++generation
    document.body.dataset.state = 'loading'
    if (!me) {
      out.replaceChildren(
        el(
          'section',
          { class: 'account', 'aria-labelledby': 'account-title' },
          el('h2', { id: 'account-title' }, t('account.title')),
          el('p', {}, t('account.connectFirst')),
        ),
      )
      document.body.dataset.state = 'ready'
      return
    }
    out.replaceChildren(el('p', { class: 'loading', role: 'status' }, t('account.reading')))
    const refresh = () => void render(wallet.connection)
    try {
      const addresses = new ShopperAddresses(me, reads.prices)
      const sections = await Promise.all([
        tillSection(reads, addresses),
        moneySection(reads, addresses, refresh),
        purchasesSection(reads, addresses, refresh),
        consentSection(reads, me, refresh),
        usesSection(reads, me),
      ])
      if (mine !== generation) return
      out.replaceChildren(
        el(
          'article',
          { class: 'account', 'aria-labelledby': 'account-title', 'data-address': me.address },
          el('h2', { id: 'account-title' }, t('account.title')),
          el('p', { class: 'who' }, ...tParts('account.connectedAs', { address: el('code', { title: me.address }, short(me.address)), label: me.label })),
          el('p', { class: 'hint private-addresses' }, t('account.private')),
          ...sections.filter((section): section is HTMLElement => section !== undefined),
        ),
      )
      document.body.dataset.state = 'ready'
    } catch (e) {
      if (mine !== generation) return
      out.replaceChildren(el('p', { class: 'error', role: 'alert' }, t('product.cannotRead', { rpc: config.rpcUrl, reason: (e as Error).message.split('\n')[0] })))
      document.body.dataset.state = 'error'
    }
  }
  wallet.subscribe((c) => void render(c))
}

// ------------------------------------------------------------------------------------------------
// Show at the till, and the compensation paid to purchase addresses
// ------------------------------------------------------------------------------------------------

/** "Dalian Coast, Zhongshan Road store and 2 more shops": a retailer by its channels' names. */
async function retailerName(reads: Reads, retailer: number): Promise<string> {
  const channels = await reads.prices.channelsOf(retailer)
  if (channels.length === 0) return t('prices.retailer', { id: retailer })
  const more = channels.length - 1
  return more === 0 ? channels[0].name : tCount(more, 'account.retailerMore.one', 'account.retailerMore.many', { name: channels[0].name })
}

/** The next unused purchase address of a chosen retailer, as a QR code and text, to show at the till. */
async function tillSection(reads: Reads, addresses: ShopperAddresses): Promise<HTMLElement | undefined> {
  const count = await addresses.retailers()
  if (count === 0) return undefined
  const retailers = Array.from({ length: count }, (_, i) => i + 1)
  const names = await Promise.all(retailers.map((r) => retailerName(reads, r)))
  const section = el('section', { class: 'till', 'aria-labelledby': 'till-title' }, el('h3', { id: 'till-title' }, t('till.title')))
  const select = el('select', { id: 'till-retailer', name: 'retailer' })
  retailers.forEach((r, i) => select.append(el('option', { value: String(r) }, names[i])))
  const shown = el('div', { class: 'till-address', 'aria-live': 'polite' })
  const showNext = async () => {
    const retailer = Number(select.value)
    const next = await addresses.next(retailer)
    const qr = el('div', { class: 'address-qr', role: 'img', 'aria-label': t('till.qr') })
    qr.innerHTML = renderSVG(next.account.address, { border: 2 })
    shown.dataset.retailer = String(retailer)
    shown.dataset.index = String(next.index)
    shown.dataset.address = next.account.address
    shown.replaceChildren(qr, el('p', {}, el('code', { class: 'address-text' }, next.account.address)), el('p', { class: 'hint' }, t('till.number', { number: next.index + 1 })))
  }
  select.addEventListener('change', () => void showNext())
  await showNext()
  section.append(
    el('p', {}, t('till.explain')),
    el('label', { for: 'till-retailer' }, t('till.shop')),
    select,
    shown,
  )
  return section
}

/** What the purchase addresses hold (compensation is paid there), and moving it to the wallet. */
async function moneySection(reads: Reads, addresses: ShopperAddresses, refresh: () => void): Promise<HTMLElement | undefined> {
  const { client } = reads
  const me = addresses.connection
  const bought = await addresses.purchases()
  const buyers = new Map<Address, ShopperPurchase>()
  for (const b of bought) if (!buyers.has(b.purchase.buyer)) buyers.set(b.purchase.buyer, b)
  if (buyers.size === 0) return undefined
  const held = await Promise.all(
    [...buyers.values()].map(async (b) => {
      const currency = await reads.prices.currency(b.purchase.retailer)
      const balance = currency.native
        ? await client.getBalance({ address: b.purchase.buyer })
        : ((await client.readContract({ address: currency.address, abi: erc20BalanceAbi, functionName: 'balanceOf', args: [b.purchase.buyer] })) as bigint)
      return { bought: b, currency, balance }
    }),
  )
  const section = el('section', { class: 'money', 'aria-labelledby': 'money-title' }, el('h3', { id: 'money-title' }, t('money.title')))
  const holding = held.filter((h) => h.balance > 0n)
  if (holding.length === 0) {
    section.append(el('p', { class: 'empty' }, t('money.none')))
    return section
  }
  const names = new Map(await Promise.all([...new Set(holding.map((h) => h.bought.purchase.retailer))].map(async (r) => [r, await retailerName(reads, r)] as const)))
  const list = el('ul', { class: 'money-list' })
  for (const { bought: b, currency, balance } of holding) {
    const item = el(
      'li',
      { class: 'held', 'data-address': b.purchase.buyer, 'data-balance': balance.toString() },
      el(
        'p',
        {},
        ...tParts('money.held', {
          amount: el('strong', {}, amount(balance, currency)),
          number: b.index + 1,
          retailer: names.get(b.purchase.retailer) ?? '',
          address: el('code', { title: b.purchase.buyer }, short(b.purchase.buyer)),
        }),
      ),
    )
    const signer = addresses.signerFor(b.purchase.buyer)
    if (currency.native && signer) {
      const status = statusLine()
      const move = el('button', { type: 'button', class: 'move-to-wallet secondary' }, t('money.move'))
      move.addEventListener('click', async () => {
        move.disabled = true
        if (await moveToWallet(client, reads.config, signer, me.address, status)) setTimeout(refresh, 800)
        else move.disabled = false
      })
      item.append(
        el('p', { class: 'warning', role: 'note' }, t('money.warning', { wallet: short(me.address) })),
        move,
        status,
      )
    } else if (!currency.native) {
      item.append(el('p', { class: 'hint' }, t('money.token', { symbol: currency.symbol })))
    }
    list.append(item)
  }
  section.append(list)
  return section
}

const erc20BalanceAbi = [
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: 'owner', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] },
] as const

/**
 * Sends all the coin at a purchase address to `to` but its own fee, from the purchase address
 * (signed in this page: the derived key; it pays its fee from what it holds). Shows each step.
 */
async function moveToWallet(client: PublicClient, config: Config, from: PrivateKeyAccount, to: Address, status: HTMLElement): Promise<boolean> {
  showStep(status, 'simulating')
  try {
    const [balance, fees] = await Promise.all([client.getBalance({ address: from.address }), client.estimateFeesPerGas()])
    // The tip is the whole fee cap, so the fee paid is exactly gas x cap and nothing is left behind.
    const gas = 21_000n
    const fee = fees.maxFeePerGas
    const value = balance - gas * fee
    if (value <= 0n) {
      showStep(status, 'failed', t('money.lessThanFee'))
      return false
    }
    showStep(status, 'signing', t('money.signing'))
    const sender = createWalletClient({ account: from, chain: client.chain, transport: http(config.rpcUrl) })
    const hash = await sender.sendTransaction({ to, value, gas, maxFeePerGas: fee, maxPriorityFeePerGas: fee, chain: client.chain })
    showStep(status, 'sent', undefined, hash)
    const receipt = await client.waitForTransactionReceipt({ hash, timeout: 120_000 })
    if (receipt.status !== 'success') {
      showStep(status, 'reverted', t('money.refused'), hash)
      return false
    }
    forgetHead(client)
    showStep(status, 'confirmed', t('tx.inBlock', { block: receipt.blockNumber.toString() }), hash)
    return true
  } catch (e) {
    const why = explain(e)
    showStep(status, why.step === 'reverted' ? 'reverted' : 'failed', why.message)
    return false
  }
}

// ------------------------------------------------------------------------------------------------
// Purchases and the price guarantee
// ------------------------------------------------------------------------------------------------

interface Owed {
  channel: number
  validFrom: number
  price: bigint
  paid: bigint
}

/**
 * The best lower price of the purchase's retailer, as the contract judges it: each candidate (same
 * GTIN, lower, on any channel of the retailer) is simulated as `claimWithPrice`, at chain time
 * `at` when given (the time claims open, for a purchase recorded less than a day ago; a block
 * override of the call), else now. Undefined when none qualifies or the node cannot answer.
 */
async function bestOffer(reads: Reads, bought: ShopperPurchase, at?: number): Promise<Owed | undefined> {
  const { client, guarantee } = reads
  const p = bought.purchase
  const candidates = (await reads.prices.publishedPrices(p.gtin)).filter((o) => o.price < p.unitPrice && o.retailer === p.retailer)
  let best: Owed | undefined
  for (const candidate of candidates) {
    const call = { address: guarantee, abi: priceGuaranteeAbi, functionName: 'claimWithPrice', args: [p, candidate.channel, candidate.validFrom], account: p.buyer }
    try {
      const paid =
        at === undefined
          ? ((await client.simulateContract(call)).result as bigint)
          : ((await client.readContract({ ...call, blockOverrides: { time: BigInt(at) } })) as bigint)
      if (!best || paid > best.paid) best = { channel: candidate.channel, validFrom: candidate.validFrom, price: candidate.price, paid }
    } catch {
      // This price does not qualify (tolerance, window, excluded type, already compensated): the contract said no.
    }
  }
  return best
}

/**
 * On a product page, for a connected buyer: their purchases of `gtin` with the price guarantee's
 * status, a claim button when something is owed now, and a review of the product, or null when
 * they bought none.
 */
export async function productPurchases(client: PublicClient, config: Config, me: Connection, gtin: bigint, refresh: () => void): Promise<HTMLElement | null> {
  const reads = new Reads(client, config)
  const section = await purchasesSection(reads, new ShopperAddresses(me, reads.prices), refresh, gtin)
  return section.querySelector('.purchase') ? section : null
}

const COVER_TEXT: Record<Exclude<ReturnType<typeof coverStatus>, 'covered'>, MessageKey> = {
  'no-guarantee': 'cover.noGuarantee',
  'recorded-late': 'cover.recordedLate',
  'pool-empty': 'cover.poolEmpty',
}

async function purchasesSection(reads: Reads, addresses: ShopperAddresses, refresh: () => void, gtin?: bigint): Promise<HTMLElement> {
  const { client } = reads
  const title = t(gtin === undefined ? 'purchases.title' : 'purchases.titleProduct')
  const section = el('section', { class: 'purchases', 'aria-labelledby': 'purchases-title' }, el(gtin === undefined ? 'h3' : 'h2', { id: 'purchases-title' }, title))
  const bought = await addresses.purchases(gtin)
  if (bought.length === 0) {
    section.append(el('p', { class: 'empty' }, t('purchases.none')))
    return section
  }
  const [channels, paid, now] = await Promise.all([
    reads.prices.channels([...new Set(bought.map((b) => b.purchase.channel))]),
    reads.prices.compensated(bought.map((b) => b.id)),
    client.getBlock({ blockTag: 'latest' }).then((b) => Number(b.timestamp)), // the time the contract compares with
  ])
  const tickets = new TicketReader(client, reads.config, reads.prices)
  const list = el('ul', { class: 'purchase-list' })
  const items = await Promise.all(
    [...bought].reverse().map((b) => purchaseItem(reads, addresses, b, { where: channels.get(b.purchase.channel)?.name, compensated: paid.get(b.id) ?? 0n, now, tickets, refresh })),
  )
  list.append(...items)
  section.append(list)
  return section
}

async function purchaseItem(
  reads: Reads,
  addresses: ShopperAddresses,
  bought: ShopperPurchase,
  context: { where?: string; compensated: bigint; now: number; tickets: TicketReader; refresh: () => void },
): Promise<HTMLElement> {
  const { client, config, guarantee } = reads
  const { compensated, now, refresh } = context
  const p = bought.purchase
  const [money, name, policy] = await Promise.all([
    reads.prices.currency(p.retailer),
    productName(client, config, p.gtin.toString().padStart(14, '0')).catch(() => undefined),
    reads.prices.policy(p.policy),
  ])
  const cover = coverStatus(p, policy)
  const { opensAt, closesAt } = claimPeriod(p, policy)
  const phase = cover !== 'covered' ? 'none' : now < opensAt ? 'soon' : now <= closesAt ? 'open' : 'closed'
  const where = context.where ?? t('purchase.channel', { id: p.channel })
  const item = el(
    'li',
    {
      class: 'purchase',
      'data-purchase': bought.id,
      'data-buyer': p.buyer,
      'data-compensated': compensated.toString(),
      'data-cover': p.cover.toString(),
      'data-claim': phase,
    },
    el('h4', {}, name ?? t('purchase.unnamed', { gtin: p.gtin.toString().padStart(14, '0') })),
    el('p', {}, t('purchase.line', { quantity: p.quantity, price: amount(p.unitPrice, money), where, date: day(p.purchasedAt) })),
  )
  if (cover !== 'covered') {
    item.append(el('p', { class: 'cover none', 'data-cover-status': cover }, t(COVER_TEXT[cover])))
    if (compensated > 0n) item.append(el('p', { class: 'compensated', 'data-field': 'compensated' }, t('purchase.compensated', { amount: amount(compensated, money) })))
  } else {
    item.append(
      el(
        'p',
        { class: 'cover', 'data-cover-status': cover },
        t('purchase.covered', { amount: amount(p.cover, money) }),
      ),
      el('p', { class: 'compensated', 'data-field': 'compensated' }, t('purchase.compensated', { amount: amount(compensated, money) })),
    )
    const shopName = async (channel: number) => (await reads.prices.channel(channel))?.name ?? t('purchase.channel', { id: channel })
    // Nothing (more) to claim: after a payout, the lower price that qualified was paid, not missing.
    const nothingOwed = () =>
      compensated > 0n
        ? el('p', { class: 'owed none', 'data-owed-paid': compensated.toString() }, t('owed.morePaid', { amount: amount(compensated, money) }))
        : el('p', { class: 'owed none' }, t('owed.none'))
    if (phase === 'soon') {
      // Claims before opensAt revert (GuaranteeClaimTooEarly): say what will be owed, and when, without a button.
      const offer = await bestOffer(reads, bought, opensAt)
      if (offer && offer.paid > 0n) {
        item.append(
          el(
            'p',
            { class: 'owed pending', 'data-owed-later': offer.paid.toString(), 'data-from': String(opensAt) },
            t('owed.later', { shop: await shopName(offer.channel), price: amount(offer.price, money), date: day(offer.validFrom), amount: amount(offer.paid, money) }),
          ),
        )
      } else {
        item.append(nothingOwed())
      }
      item.append(el('p', { class: 'claim-from', 'data-from': String(opensAt) }, t('owed.from', { time: dayTime(opensAt) })))
    } else if (phase === 'open') {
      const offer = await bestOffer(reads, bought)
      const signer = addresses.signerFor(p.buyer)
      if (offer && offer.paid > 0n && signer) {
        const status = statusLine()
        const claim = el('button', { type: 'button', class: 'claim-compensation', 'data-owed': offer.paid.toString() }, t('owed.claim', { amount: amount(offer.paid, money) }))
        // Anyone may send the claim (it pays the purchase's address): the relay does, unsigned.
        const request: WriteRequest = { address: guarantee, abi: priceGuaranteeAbi, functionName: 'claimWithPrice', args: [p, offer.channel, offer.validFrom] }
        writeButton(claim, client, config, { signer, request, send: async () => directCall(request), signs: false }, status, refresh)
        item.append(
          el(
            'p',
            { class: 'owed', 'data-owed': offer.paid.toString() },
            t('owed.now', { shop: await shopName(offer.channel), price: amount(offer.price, money), date: day(offer.validFrom), amount: amount(offer.paid, money) }),
          ),
          claim,
          status,
        )
      } else {
        item.append(nothingOwed())
      }
      item.append(el('p', { class: 'claim-until', 'data-until': String(closesAt) }, t('owed.until', { time: dayTime(closesAt) })))
    } else {
      item.append(el('p', { class: 'claim-closed', 'data-until': String(closesAt) }, t('owed.closed', { time: dayTime(closesAt) })))
    }
  }
  const review = await purchaseReview(reads, addresses, bought, context.tickets, refresh)
  if (review) item.append(review)
  return item
}

/**
 * The buyer's review of the product on this purchase: what they wrote, the form, or why the chain
 * would not take it (ReviewSellerNotAuthorised: the product's brand did not authorise the shop's
 * retailer). Undefined when the connected person cannot sign as the purchase's buyer (its derived address).
 */
async function purchaseReview(reads: Reads, addresses: ShopperAddresses, bought: ShopperPurchase, tickets: TicketReader, refresh: () => void): Promise<HTMLElement | undefined> {
  const { client, config } = reads
  const p = bought.purchase
  const signer = addresses.signerFor(p.buyer)
  if (!signer) return undefined
  const board = contractOf(config, 'ReviewBoard').address
  const id = reviewIdOf(bought.id, SUBJECT_PRODUCT)
  const [posted, seller] = await Promise.all([
    client.readContract({ address: board, abi: reviewBoardAbi, functionName: 'review', args: [id] }) as Promise<{ posted: boolean; rating: number }>,
    tickets.seller(p.retailer, p.gtin),
  ])
  if (posted.posted) {
    const rating = Number(posted.rating)
    return el('p', { class: 'reviewed', 'data-rating': String(rating), 'data-review': id }, t('purchaseReview.reviewed', { stars: '★'.repeat(rating) }))
  }
  if (seller.brand === 0 || !seller.authorised) {
    const brand =
      seller.brand === 0
        ? undefined
        : ((await client
            .readContract({ address: contractOf(config, 'ProductRegistry').address, abi: productRegistryAbi, functionName: 'brand', args: [seller.brand] })
            .then((b) => (b as { name: string }).name)
            .catch(() => undefined)) ?? t('recall.theBrand'))
    const why =
      brand === undefined
        ? el('p', { class: 'review-refused', 'data-reason': 'unregistered' }, t('purchaseReview.unregistered'))
        : el('p', { class: 'review-refused', 'data-reason': 'seller-not-authorised' }, t('purchaseReview.notAuthorised', { brand }))
    // A review of the shop itself rests on any purchase there: that is what it is about.
    const merchantId = reviewIdOf(bought.id, SUBJECT_MERCHANT)
    const merchant = (await client.readContract({ address: board, abi: reviewBoardAbi, functionName: 'review', args: [merchantId] })) as { posted: boolean; rating: number }
    if (merchant.posted) return el('div', {}, why, el('p', { class: 'reviewed', 'data-rating': String(Number(merchant.rating)), 'data-review': merchantId }, t('purchaseReview.reviewedShop', { stars: '★'.repeat(Number(merchant.rating)) })))
    const key = bought.id.slice(2, 12)
    const form = reviewForm(
      client,
      config,
      () => signer,
      (rating, content) => ({ address: board, abi: reviewBoardAbi, functionName: 'reviewPurchase', args: [p, SUBJECT_MERCHANT, rating, content.hash, content.uri] }),
      refresh,
      { form: `review-shop-${key}`, text: `review-shop-text-${key}`, title: t('purchaseReview.shop') },
    )
    return el('div', {}, why, el('details', { class: 'purchase-review shop-review', 'data-review': merchantId }, el('summary', {}, t('purchaseReview.shopInstead')), form))
  }
  const key = bought.id.slice(2, 12)
  const form = reviewForm(
    client,
    config,
    () => signer,
    (rating, content) => ({ address: board, abi: reviewBoardAbi, functionName: 'reviewPurchase', args: [p, SUBJECT_PRODUCT, rating, content.hash, content.uri] }),
    refresh,
    { form: `review-purchase-${key}`, text: `review-purchase-text-${key}`, title: t('purchaseReview.product') },
  )
  return el('details', { class: 'purchase-review', 'data-review': id }, el('summary', {}, t('purchaseReview.productAsBuyer')), form)
}

// ------------------------------------------------------------------------------------------------
// Consents
// ------------------------------------------------------------------------------------------------

interface ConsentView {
  purposes: bigint
  categories: bigint
  expiry: bigint
  nonce: number
  revoked: boolean
  /** Block of the latest grant, 0 when never granted. */
  grantedAt: bigint
  live: boolean
}

/** The person's consent address of each data user the page offers (config.json `dataUsers`). */
function consentAccounts(config: Config, me: Connection): Map<string, { user: Address; account: PrivateKeyAccount }> {
  return new Map(config.dataUsers.map((u) => {
    const account = me.shopper.consentAccount(u.address)
    return [account.address.toLowerCase(), { user: u.address, account }] as const
  }))
}

const CONSENT_DOMAIN = { name: 'o2ochain ConsentRegistry', version: '1' } as const
const REVOKE_TYPES = {
  Revoke: [
    { name: 'consumer', type: 'address' },
    { name: 'dataUser', type: 'address' },
    { name: 'nonce', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const
const GRANT_TYPES = {
  Grant: [
    { name: 'consumer', type: 'address' },
    { name: 'dataUser', type: 'address' },
    { name: 'purposes', type: 'uint64' },
    { name: 'categories', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
    { name: 'notice', type: 'bytes32' },
    { name: 'language', type: 'bytes8' },
    { name: 'dataHash', type: 'bytes32' },
    { name: 'nonce', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const

/** The consent record's nonce and a deadline an hour after the chain's latest block: what a signed grant or revocation carries. */
async function consentNonce(reads: Reads, consumer: Address, dataUser: Address): Promise<{ nonce: bigint; deadline: bigint }> {
  const [nonce, deadline] = await Promise.all([
    reads.client.readContract({ address: reads.consent, abi: consentRegistryAbi, functionName: 'nonce', args: [consumer, dataUser] }) as Promise<bigint>,
    deadlineFrom(reads.client),
  ])
  return { nonce: BigInt(nonce), deadline }
}

/** ConsentRegistry.revokeWithSignature of `dataUser`, signed by the consent address `signer`: for the relay. */
async function signedRevoke(reads: Reads, signer: PrivateKeyAccount, dataUser: Address): Promise<RelayedCall> {
  const { nonce, deadline } = await consentNonce(reads, signer.address, dataUser)
  const domain = { ...CONSENT_DOMAIN, chainId: reads.config.deployment.chainId, verifyingContract: reads.consent }
  const signature = await signer.signTypedData({ domain, types: REVOKE_TYPES, primaryType: 'Revoke', message: { consumer: signer.address, dataUser, nonce, deadline } })
  return directCall({ address: reads.consent, abi: consentRegistryAbi, functionName: 'revokeWithSignature', args: [signer.address, dataUser, nonce, deadline, signature] })
}

interface Terms {
  consumer: Address
  dataUser: Address
  purposes: bigint
  categories: bigint
  expiry: bigint
  notice: Hex
  language: Hex
  dataHash: Hex
}

/** ConsentRegistry.grantWithSignature of `terms`, signed by the consent address `signer`: for the relay. */
async function signedGrant(reads: Reads, signer: PrivateKeyAccount, terms: Terms): Promise<RelayedCall> {
  const { nonce, deadline } = await consentNonce(reads, signer.address, terms.dataUser)
  const domain = { ...CONSENT_DOMAIN, chainId: reads.config.deployment.chainId, verifyingContract: reads.consent }
  const signature = await signer.signTypedData({ domain, types: GRANT_TYPES, primaryType: 'Grant', message: { ...terms, nonce, deadline } })
  return directCall({ address: reads.consent, abi: consentRegistryAbi, functionName: 'grantWithSignature', args: [terms, nonce, deadline, signature] })
}

async function consentSection(reads: Reads, me: Connection, refresh: () => void): Promise<HTMLElement> {
  const { client, config, consent, fromBlock } = reads
  const section = el('section', { class: 'consents', 'aria-labelledby': 'consents-title' }, el('h3', { id: 'consents-title' }, t('consents.title')))
  const accounts = consentAccounts(config, me)
  const granted =
    accounts.size === 0
      ? []
      : await logReader(client, config).get({ address: consent, event: consentGrantedEvent, args: { consumer: [...accounts.values()].map((a) => a.account.address) }, fromBlock })
  // A consent address stands for one data user: only its consents to that one are this person's.
  const pairs = new Map<string, { user: Address; account: PrivateKeyAccount }>()
  for (const log of granted) {
    const a = log.args as { consumer: Address; dataUser: Address }
    const mine = accounts.get(a.consumer.toLowerCase())
    if (mine && mine.user.toLowerCase() === a.dataUser.toLowerCase()) pairs.set(mine.account.address, mine)
  }
  const nameOf = (address: Address) => config.dataUsers.find((u) => u.address.toLowerCase() === address.toLowerCase())?.name ?? short(address)
  if (pairs.size === 0) section.append(el('p', { class: 'empty' }, t('consents.none')))
  const list = el('ul', { class: 'consent-list' })
  for (const { user, account } of pairs.values()) {
    const view = (await client.readContract({ address: consent, abi: consentRegistryAbi, functionName: 'consent', args: [account.address, user] })) as ConsentView
    const grantedOn = view.grantedAt ? (await client.getBlock({ blockNumber: view.grantedAt })).timestamp : 0n // grantedAt is a block number
    const state = view.live ? 'live' : view.revoked ? 'revoked' : 'expired'
    const item = el(
      'li',
      { class: `consent consent-${state}`, 'data-data-user': user, 'data-consumer': account.address, 'data-state': state },
      el('h4', {}, nameOf(user), ' ', el('span', { class: `badge badge-${state}` }, t(`consent.state.${state}`))),
      el('p', {}, t('consent.for', { list: names(view.purposes, PURPOSES) })),
      el('p', {}, t('consent.data', { list: names(view.categories, CATEGORIES) })),
      el('p', {}, view.live ? t('consent.givenUntil', { date: day(grantedOn), until: day(view.expiry) }) : t('consent.given', { date: day(grantedOn) })),
    )
    if (view.live) {
      const status = statusLine()
      const revoke = el('button', { type: 'button', class: 'revoke secondary' }, t('consent.revoke'))
      const request: WriteRequest = { address: consent, abi: consentRegistryAbi, functionName: 'revoke', args: [user] }
      writeButton(revoke, client, config, { signer: account, request, send: () => signedRevoke(reads, account, user) }, status, refresh)
      item.append(revoke, status)
    }
    list.append(item)
  }
  if (pairs.size) section.append(list)
  if (config.dataUsers.length) section.append(grantForm(reads, me, refresh))
  return section
}

function grantForm(reads: Reads, me: Connection, refresh: () => void): HTMLElement {
  const { client, config, consent } = reads
  const form = el('form', { class: 'grant-form', id: 'grant-form', 'aria-labelledby': 'grant-title' }, el('h4', { id: 'grant-title' }, t('grant.title')))
  const select = el('select', { name: 'dataUser', id: 'grant-user' })
  for (const u of config.dataUsers) select.append(el('option', { value: u.address }, u.name))
  const notice = el('blockquote', { class: 'notice' })
  const showNotice = () => {
    notice.textContent = config.dataUsers.find((u) => u.address === select.value)?.notice ?? t('grant.noNotice')
  }
  select.addEventListener('change', showNotice)
  showNotice()
  const purposes = el('fieldset', {}, el('legend', {}, t('grant.whatFor')))
  PURPOSES.forEach((key, bit) => purposes.append(el('label', {}, el('input', { type: 'checkbox', name: 'purpose', value: String(bit) }), ` ${t(key)}`)))
  const categories = el('fieldset', {}, el('legend', {}, t('grant.whichData')))
  CATEGORIES.forEach((key, bit) => categories.append(el('label', {}, el('input', { type: 'checkbox', name: 'category', value: String(bit) }), ` ${t(key)}`)))
  const days = el('input', { type: 'number', name: 'days', id: 'grant-days', min: '1', max: '3650', value: '365', required: '' })
  const status = statusLine()
  const submit = el('button', { type: 'submit' }, t('grant.title'))
  form.append(
    el('label', { for: 'grant-user' }, t('grant.to')),
    select,
    el('p', { class: 'hint' }, t('grant.noticeHint')),
    notice,
    purposes,
    categories,
    el('label', { for: 'grant-days' }, t('grant.days')),
    days,
    el('p', { class: 'hint' }, t('grant.privacy')),
    submit,
    status,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const data = new FormData(form)
    const mask = (key: string) => data.getAll(key).reduce<bigint>((m, bit) => m | (1n << BigInt(String(bit))), 0n)
    const dataUser = select.value as Address
    const text = config.dataUsers.find((u) => u.address === dataUser)?.notice
    const signer = me.shopper.consentAccount(dataUser)
    const terms: Terms = {
      consumer: signer.address,
      dataUser,
      purposes: mask('purpose'),
      categories: mask('category'),
      expiry: BigInt(Math.floor(Date.now() / 1000) + Number(days.value) * 86_400),
      notice: text ? keccak256(stringToBytes(text)) : zeroHash,
      language: stringToHex('en', { size: 8 }),
      dataHash: zeroHash,
    }
    submit.disabled = true
    const request: WriteRequest = { address: consent, abi: consentRegistryAbi, functionName: 'grant', args: [dataUser, terms] }
    const done = await write(client, config, { signer, request, send: () => signedGrant(reads, signer, terms) }, status)
    if (done) setTimeout(refresh, 800)
    else submit.disabled = false
  })
  return form
}

async function usesSection(reads: Reads, me: Connection): Promise<HTMLElement> {
  const { client, config, consent, fromBlock } = reads
  const section = el('section', { class: 'uses', 'aria-labelledby': 'uses-title' }, el('h3', { id: 'uses-title' }, t('uses.title')))
  const consumers = [...consentAccounts(config, me).values()].map((a) => a.account.address)
  const logs = consumers.length === 0 ? [] : await logReader(client, config).get({ address: consent, event: dataUsedEvent, args: { consumer: consumers }, fromBlock })
  if (logs.length === 0) {
    section.append(el('p', { class: 'empty' }, t('uses.none')))
    return section
  }
  const nameOf = (address: Address) => config.dataUsers.find((u) => u.address.toLowerCase() === address.toLowerCase())?.name ?? short(address)
  const table = el('table', { class: 'use-table' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('uses.when')), el('th', { scope: 'col' }, t('uses.who')), el('th', { scope: 'col' }, t('uses.for')), el('th', { scope: 'col' }, t('uses.data')))))
  const body = el('tbody', {})
  for (const log of logs.reverse()) {
    const a = log.args as { dataUser: Address; purpose: number; category: number; consentNonce: number }
    const block = await client.getBlock({ blockNumber: log.blockNumber })
    body.append(
      el(
        'tr',
        { class: 'use', 'data-purpose': String(a.purpose), 'data-category': String(a.category) },
        el('td', {}, day(block.timestamp)),
        el('td', {}, nameOf(a.dataUser)),
        el('td', {}, PURPOSES[a.purpose] ? t(PURPOSES[a.purpose]) : t('consent.purposeN', { number: a.purpose })),
        el('td', {}, CATEGORIES[a.category] ? t(CATEGORIES[a.category]) : t('consent.categoryN', { number: a.category })),
      ),
    )
  }
  table.append(body)
  section.append(el('p', {}, tCount(logs.length, 'uses.count.one', 'uses.count.many')), table)
  return section
}

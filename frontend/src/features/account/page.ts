/**
 * `?account`: what the chain knows about the connected account, and what it can do about it.
 *
 * - Purchases and the price guarantee: every PurchaseRecorded for the account, what was
 *   compensated so far (purchaseState), and whether a lower published price of the retailer now
 *   owes more. The contract is the judge: each candidate price (same GTIN, lower, on a channel of
 *   the same retailer) is simulated as `claimWithPrice`, and the best answer is offered.
 * - Consents: each data user the account granted to, with what the consent covers now, a revoke
 *   button, and a form to grant (terms as contracts/Types.sol `Terms`; the notice is recorded as its
 *   keccak256). Every recorded use of the account's data (DataUsed) is listed.
 * Nothing personal is asked for or written: the account is an address.
 */
import {
  keccak256,
  stringToBytes,
  stringToHex,
  zeroHash,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem'
import { consentRegistryAbi, priceGuaranteeAbi } from '../../chain/abi'
import { contractOf, type Config } from '../../chain/config'
import { GuaranteeReader, type Currency } from '../../chain/guarantee'
import { productName } from '../../chain/registry'
import type { Connection, Wallet } from '../../wallet/wallet'
import { short } from '../../wallet/widget'
import { statusLine, write, writeButton } from '../../wallet/write'
import { formatAmount } from '../market/format'
import { el } from '../product/view'

/** Purpose and category bits, in the order of contracts/Types.sol (and o2ochain.privacy). */
export const PURPOSES = ['Order fulfilment', 'Delivery', 'Personalised recommendations', 'Marketing', 'Analytics', 'Sharing with third parties']
export const CATEGORIES = ['Contact details', 'Postal address', 'Purchase history', 'Location', 'Payment', 'Demographics', 'Preferences', 'Device identifiers']

function names(mask: bigint, all: string[]): string[] {
  return all.filter((_, bit) => (mask >> BigInt(bit)) & 1n)
}

function day(seconds: bigint | number): string {
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 10)
}

interface PurchaseArgs {
  purchase: Hex
  buyer: Address
  gtin: bigint
  retailer: number
  channel: number
  policy: number
  quantity: number
  unitPrice: bigint
  purchasedAt: number
  receiptHash: Hex
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
    this.fromBlock = Object.values(config.deployment.contracts).reduce((low, c) => (c.block < low ? c.block : low), 2n ** 63n)
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
          el('h2', { id: 'account-title' }, 'Your account'),
          el('p', {}, 'Connect a wallet (top right) to see your purchases, your price guarantee, your consents and every use of your data.'),
        ),
      )
      document.body.dataset.state = 'ready'
      return
    }
    out.replaceChildren(el('p', { class: 'loading', role: 'status' }, 'Reading your account from the chain…'))
    const refresh = () => void render(wallet.connection)
    try {
      const sections = await Promise.all([purchasesSection(reads, me, refresh), consentSection(reads, me, refresh), usesSection(reads, me)])
      if (mine !== generation) return
      out.replaceChildren(
        el(
          'article',
          { class: 'account', 'aria-labelledby': 'account-title', 'data-address': me.address },
          el('h2', { id: 'account-title' }, 'Your account'),
          el('p', { class: 'who' }, 'Connected as ', el('code', { title: me.address }, short(me.address)), ` (${me.label}).`),
          ...sections,
        ),
      )
      document.body.dataset.state = 'ready'
    } catch (e) {
      if (mine !== generation) return
      out.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not read the chain at ${config.rpcUrl}: ${(e as Error).message.split('\n')[0]}`))
      document.body.dataset.state = 'error'
    }
  }
  wallet.subscribe((c) => void render(c))
}

// ------------------------------------------------------------------------------------------------
// Purchases and the price guarantee
// ------------------------------------------------------------------------------------------------

interface Offer {
  channel: number
  validFrom: number
  price: bigint
  paid: bigint
}

async function bestOffer(reads: Reads, me: Connection, p: PurchaseArgs, struct: object): Promise<Offer | undefined> {
  const { client, guarantee } = reads
  // Every lower price this retailer published for the product, on any of its channels.
  const candidates = (await reads.prices.publishedPrices(p.gtin)).filter((o) => o.price < p.unitPrice && o.retailer === p.retailer)
  let best: Offer | undefined
  for (const candidate of candidates) {
    try {
      const { result } = await client.simulateContract({
        address: guarantee,
        abi: priceGuaranteeAbi,
        functionName: 'claimWithPrice',
        args: [struct, candidate.channel, candidate.validFrom],
        account: me.account ?? me.address,
      })
      const paid = result as bigint
      if (!best || paid > best.paid) best = { channel: candidate.channel, validFrom: candidate.validFrom, price: candidate.price, paid }
    } catch {
      // This price does not qualify (tolerance, window, excluded type, already compensated): the contract said no.
    }
  }
  return best
}

/**
 * On a product page, for a connected buyer: their purchases of `gtin` with the price guarantee's
 * status and a claim button, or null when they bought none.
 */
export async function productPurchases(client: PublicClient, config: Config, me: Connection, gtin: bigint, refresh: () => void): Promise<HTMLElement | null> {
  const section = await purchasesSection(new Reads(client, config), me, refresh, gtin)
  return section.querySelector('.purchase') ? section : null
}

async function purchasesSection(reads: Reads, me: Connection, refresh: () => void, gtin?: bigint): Promise<HTMLElement> {
  const { client, config, guarantee, fromBlock } = reads
  const title = gtin === undefined ? 'Your purchases and the price guarantee' : 'Your purchases of this product'
  const section = el('section', { class: 'purchases', 'aria-labelledby': 'purchases-title' }, el(gtin === undefined ? 'h3' : 'h2', { id: 'purchases-title' }, title))
  const args = gtin === undefined ? { buyer: me.address } : { buyer: me.address, gtin }
  const logs = await client.getContractEvents({ address: guarantee, abi: priceGuaranteeAbi, eventName: 'PurchaseRecorded', args, fromBlock })
  if (logs.length === 0) {
    section.append(el('p', { class: 'empty' }, 'No store has recorded a purchase for this account yet. Stores record a sale when you show your account at the till or shop online.'))
    return section
  }
  const channels = await reads.prices.channels([...new Set(logs.map((log) => Number((log.args as unknown as PurchaseArgs).channel)))])
  const list = el('ul', { class: 'purchase-list' })
  for (const log of logs.reverse()) {
    const p = log.args as unknown as PurchaseArgs
    const struct = {
      retailer: p.retailer,
      channel: p.channel,
      policy: p.policy,
      buyer: p.buyer,
      gtin: p.gtin,
      quantity: p.quantity,
      unitPrice: p.unitPrice,
      purchasedAt: p.purchasedAt,
      receiptHash: p.receiptHash,
    }
    const [money, name, state] = await Promise.all([
      reads.prices.currency(p.retailer),
      productName(client, config, p.gtin.toString().padStart(14, '0')).catch(() => undefined),
      client.readContract({ address: guarantee, abi: priceGuaranteeAbi, functionName: 'purchaseState', args: [p.purchase] }) as Promise<readonly [boolean, bigint]>,
    ])
    const compensated = state[1]
    const where = channels.get(Number(p.channel))?.name ?? `channel ${p.channel}`
    const item = el(
      'li',
      { class: 'purchase', 'data-purchase': p.purchase, 'data-compensated': compensated.toString() },
      el('h4', {}, name ?? `GTIN ${p.gtin.toString().padStart(14, '0')}`),
      el('p', {}, `${p.quantity} × ${amount(p.unitPrice, money)} at ${where}, ${day(p.purchasedAt)}.`),
    )
    if (p.policy === 0) {
      item.append(el('p', { class: 'compensated none' }, 'No price guarantee covered this purchase.'))
    } else {
      item.append(el('p', { class: 'compensated', 'data-field': 'compensated' }, `Compensated so far: ${amount(compensated, money)}.`))
      const offer = await bestOffer(reads, me, p, struct)
      if (offer && offer.paid > 0n) {
        const status = statusLine()
        const claim = el('button', { type: 'button', class: 'claim-compensation', 'data-owed': offer.paid.toString() }, `Claim ${amount(offer.paid, money)}`)
        writeButton(claim, client, me, { address: guarantee, abi: priceGuaranteeAbi, functionName: 'claimWithPrice', args: [struct, offer.channel, offer.validFrom] }, status, refresh)
        item.append(
          el(
            'p',
            { class: 'owed', 'data-owed': offer.paid.toString() },
            `${(await reads.prices.channel(offer.channel))?.name ?? `Channel ${offer.channel}`} sells it for ${amount(offer.price, money)} since ${day(offer.validFrom)}: the guarantee owes you ${amount(offer.paid, money)}.`,
          ),
          claim,
          status,
        )
      } else {
        item.append(el('p', { class: 'owed none' }, 'Nothing is owed now: no lower price of this retailer qualifies.'))
      }
    }
    list.append(item)
  }
  section.append(list)
  return section
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

async function consentSection(reads: Reads, me: Connection, refresh: () => void): Promise<HTMLElement> {
  const { client, config, consent, fromBlock } = reads
  const section = el('section', { class: 'consents', 'aria-labelledby': 'consents-title' }, el('h3', { id: 'consents-title' }, 'Your consents'))
  const granted = await client.getContractEvents({ address: consent, abi: consentRegistryAbi, eventName: 'ConsentGranted', args: { consumer: me.address }, fromBlock })
  const users = [...new Set(granted.map((log) => (log.args as { dataUser: Address }).dataUser))]
  const nameOf = (address: Address) => config.dataUsers.find((u) => u.address.toLowerCase() === address.toLowerCase())?.name ?? short(address)
  if (users.length === 0) section.append(el('p', { class: 'empty' }, 'You have not given anyone consent to use your data.'))
  const list = el('ul', { class: 'consent-list' })
  for (const user of users) {
    const view = (await client.readContract({ address: consent, abi: consentRegistryAbi, functionName: 'consent', args: [me.address, user] })) as ConsentView
    const grantedOn = view.grantedAt ? (await client.getBlock({ blockNumber: view.grantedAt })).timestamp : 0n // grantedAt is a block number
    const state = view.live ? 'live' : view.revoked ? 'revoked' : 'expired'
    const item = el(
      'li',
      { class: `consent consent-${state}`, 'data-data-user': user, 'data-state': state },
      el('h4', {}, nameOf(user), ' ', el('span', { class: `badge badge-${state}` }, state === 'live' ? 'live' : state)),
      el('p', {}, `For: ${names(view.purposes, PURPOSES).join(', ')}.`),
      el('p', {}, `Data: ${names(view.categories, CATEGORIES).join(', ')}.`),
      el('p', {}, `Given ${day(grantedOn)}${view.live ? `, until ${day(view.expiry)}` : ''}.`),
    )
    if (view.live) {
      const status = statusLine()
      const revoke = el('button', { type: 'button', class: 'revoke secondary' }, 'Revoke')
      writeButton(revoke, client, me, { address: consent, abi: consentRegistryAbi, functionName: 'revoke', args: [user] }, status, refresh)
      item.append(revoke, status)
    }
    list.append(item)
  }
  if (users.length) section.append(list)
  if (config.dataUsers.length) section.append(grantForm(reads, me, refresh))
  return section
}

function grantForm(reads: Reads, me: Connection, refresh: () => void): HTMLElement {
  const { client, config, consent } = reads
  const form = el('form', { class: 'grant-form', id: 'grant-form', 'aria-labelledby': 'grant-title' }, el('h4', { id: 'grant-title' }, 'Give consent'))
  const select = el('select', { name: 'dataUser', id: 'grant-user' })
  for (const u of config.dataUsers) select.append(el('option', { value: u.address }, u.name))
  const notice = el('blockquote', { class: 'notice' })
  const showNotice = () => {
    notice.textContent = config.dataUsers.find((u) => u.address === select.value)?.notice ?? 'This data user published no notice.'
  }
  select.addEventListener('change', showNotice)
  showNotice()
  const purposes = el('fieldset', {}, el('legend', {}, 'What for'))
  PURPOSES.forEach((label, bit) => purposes.append(el('label', {}, el('input', { type: 'checkbox', name: 'purpose', value: String(bit) }), ` ${label}`)))
  const categories = el('fieldset', {}, el('legend', {}, 'Which data'))
  CATEGORIES.forEach((label, bit) => categories.append(el('label', {}, el('input', { type: 'checkbox', name: 'category', value: String(bit) }), ` ${label}`)))
  const days = el('input', { type: 'number', name: 'days', id: 'grant-days', min: '1', max: '3650', value: '365', required: '' })
  const status = statusLine()
  const submit = el('button', { type: 'submit' }, 'Give consent')
  form.append(
    el('label', { for: 'grant-user' }, 'To'),
    select,
    el('p', { class: 'hint' }, 'Their notice (the chain records its fingerprint, so you can later prove what you agreed to):'),
    notice,
    purposes,
    categories,
    el('label', { for: 'grant-days' }, 'For how many days'),
    days,
    submit,
    status,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const data = new FormData(form)
    const mask = (key: string) => data.getAll(key).reduce<bigint>((m, bit) => m | (1n << BigInt(String(bit))), 0n)
    const dataUser = select.value as Address
    const text = config.dataUsers.find((u) => u.address === dataUser)?.notice
    const terms = {
      consumer: me.address,
      dataUser,
      purposes: mask('purpose'),
      categories: mask('category'),
      expiry: BigInt(Math.floor(Date.now() / 1000) + Number(days.value) * 86_400),
      notice: text ? keccak256(stringToBytes(text)) : zeroHash,
      language: stringToHex('en', { size: 8 }),
      dataHash: zeroHash,
    }
    submit.disabled = true
    const done = await write(client, me, { address: consent, abi: consentRegistryAbi, functionName: 'grant', args: [dataUser, terms] }, status)
    if (done) setTimeout(refresh, 800)
    else submit.disabled = false
  })
  return form
}

async function usesSection(reads: Reads, me: Connection): Promise<HTMLElement> {
  const { client, config, consent, fromBlock } = reads
  const section = el('section', { class: 'uses', 'aria-labelledby': 'uses-title' }, el('h3', { id: 'uses-title' }, 'Every use of your data'))
  const logs = await client.getContractEvents({ address: consent, abi: consentRegistryAbi, eventName: 'DataUsed', args: { consumer: me.address }, fromBlock })
  if (logs.length === 0) {
    section.append(el('p', { class: 'empty' }, 'No one has recorded a use of your data.'))
    return section
  }
  const nameOf = (address: Address) => config.dataUsers.find((u) => u.address.toLowerCase() === address.toLowerCase())?.name ?? short(address)
  const table = el('table', { class: 'use-table' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'When'), el('th', { scope: 'col' }, 'Who'), el('th', { scope: 'col' }, 'For'), el('th', { scope: 'col' }, 'Data'))))
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
        el('td', {}, PURPOSES[a.purpose] ?? `purpose ${a.purpose}`),
        el('td', {}, CATEGORIES[a.category] ?? `category ${a.category}`),
      ),
    )
  }
  table.append(body)
  section.append(el('p', {}, `${logs.length} recorded, each under a consent you gave.`), table)
  return section
}

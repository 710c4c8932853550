/**
 * "Your item" on a product page: claim it at its first sale with the claim code the store signed
 * at the till (EIP-712, ProductRegistry.claimWithSignature), then review it as its verified buyer
 * (ReviewBoard.reviewItem). The review's text goes to the content store first; the chain records
 * its keccak256, so anyone can check the text shown is the one the buyer wrote.
 *
 * The owner is the person's address for this one item (wallet/shopper.ts `itemAccount`), never
 * their wallet's: the store signs its claim code for that address (the page shows it, with a QR
 * code, when there is no code yet), the relay submits the code, and the review is that address's
 * ERC-2771 request. Whoever scans the item reads an address that appears nowhere else.
 */
import { isAddressEqual, keccak256, stringToBytes, zeroAddress, type Address, type Hex, type PublicClient } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'
import { productRegistryAbi, reviewBoardAbi } from '../../chain/abi'
import { contractOf, type Config } from '../../chain/config'
import type { Verification } from '../../chain/registry'
import type { ClaimCode } from './claim'
import { directCall } from '../../wallet/relay'
import type { Wallet } from '../../wallet/wallet'
import { short } from '../../wallet/widget'
import { statusLine, write, writeButton, type WriteRequest } from '../../wallet/write'
import { locale, t, tParts } from '../../i18n'
import { el } from './view'

/** A review document as src/o2ochain/loop/_reviews.py `review_document` makes it, in RFC 8785 form (flat: sorted keys). */
export function reviewDocument(text: string, language = 'en'): string {
  return JSON.stringify({ language, photos: [], text: text.trim(), type: 'o2ochain.review' })
}

export async function publish(config: Config, text: string): Promise<{ hash: Hex; uri: string }> {
  const body = reviewDocument(text, locale()) // the language the shopper wrote in: the page's
  const base = new URL(config.content ?? './content/', window.location.href)
  const response = await fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
  const answer = (await response.json()) as { hash?: Hex; uri?: string; error?: string }
  if (!response.ok || !answer.hash || !answer.uri) throw new Error(answer.error ?? t('reviewForm.storeAnswered', { status: `HTTP ${response.status}` }))
  if (answer.hash !== keccak256(stringToBytes(body))) throw new Error(t('reviewForm.storedOther'))
  return { hash: answer.hash, uri: answer.uri }
}

/**
 * The section, or null when there is nothing to do here (no claim code, and the item is not
 * the connected account's). `refresh` re-reads the item after a change.
 */
export function ownershipSection(
  client: PublicClient,
  config: Config,
  wallet: Wallet,
  v: Verification,
  code: ClaimCode | undefined,
  refresh: () => void,
): HTMLElement | null {
  if (!v.view.registered) return null
  const section = el('section', { class: 'ownership', 'aria-labelledby': 'ownership-title' }, el('h2', { id: 'ownership-title' }, t('owner.title')))
  const body = el('div', {})
  section.append(body)
  let chainNow = BigInt(Math.floor(Date.now() / 1000))

  const render = () => {
    const me = wallet.connection
    const claimedBy = v.view.claimedBy
    const owner = me?.shopper.itemAccount(v.item)
    const mine = owner !== undefined && claimedBy !== zeroAddress && isAddressEqual(claimedBy, owner.address)
    const unclaimed = claimedBy === zeroAddress && v.verdict === 'authentic'
    if (!code && !mine && !(owner && unclaimed)) {
      section.hidden = true
      return
    }
    section.hidden = false
    section.dataset.owner = mine ? 'me' : claimedBy === zeroAddress ? 'nobody' : 'other'
    if (mine && owner) {
      const holder = el('div', { class: 'review-slot' })
      body.replaceChildren(
        el('p', { class: 'owned' }, t('owner.mayReview')),
        holder,
      )
      void yourReview(client, config, v.item).then((rating) => {
        holder.replaceChildren(
          rating
            ? el('p', { class: 'reviewed', 'data-rating': String(rating) }, t('owner.reviewed', { stars: '★'.repeat(rating) }))
            : reviewForm(
                client,
                config,
                () => owner,
                (rating, content) => ({
                  address: contractOf(config, 'ReviewBoard').address,
                  abi: reviewBoardAbi,
                  functionName: 'reviewItem',
                  args: [v.item, rating, content.hash, content.uri],
                }),
                refresh,
              ),
        )
      })
      return
    }
    if (!code) {
      if (owner) body.replaceChildren(itemAddress(owner.address, false))
      return
    }
    if (claimedBy !== zeroAddress) {
      body.replaceChildren(el('p', {}, ...tParts('owner.claimedByOther', { owner: el('code', {}, short(claimedBy)) })))
      return
    }
    const expired = code.deadline < chainNow // the contract compares with the block's time
    const intro = el('p', {}, ...tParts(expired ? 'owner.codeForExpired' : 'owner.codeFor', { address: el('code', { title: code.owner }, short(code.owner)) }))
    if (!owner) {
      body.replaceChildren(intro, el('p', { class: 'hint' }, t('owner.connectToClaim')))
      return
    }
    if (!isAddressEqual(owner.address, code.owner)) {
      body.replaceChildren(intro, el('p', { class: 'hint', 'data-code': 'other' }, t('owner.notYourCode')), itemAddress(owner.address, true))
      return
    }
    const status = statusLine()
    const button = el('button', { type: 'button', id: 'claim-item' }, t('owner.claim'))
    const claim: WriteRequest = {
      address: contractOf(config, 'ProductRegistry').address,
      abi: productRegistryAbi,
      functionName: 'claimWithSignature',
      args: [v.item, code.owner, code.deadline, code.signature],
    }
    // The store's signature is the authority: the relay submits the code as it is, and pays.
    writeButton(button, client, config, { signer: owner, request: claim, send: async () => directCall(claim), signs: false }, status, refresh)
    body.replaceChildren(
      intro,
      el('p', {}, t('owner.claimExplained')),
      button,
      status,
    )
  }
  render() // the product page re-renders itself when the connected account changes
  if (code) {
    void client.getBlock().then((block) => {
      chainNow = block.timestamp
      render()
    })
  }
  return section
}

/** The person's address for this item, as text and a QR code, for the store to sign its claim code for. */
function itemAddress(address: Address, open: boolean): HTMLElement {
  const qr = el('div', { class: 'address-qr', role: 'img', 'aria-label': t('owner.addressQr') })
  void import('uqr').then(({ renderSVG }) => (qr.innerHTML = renderSVG(address, { border: 2 }))) // the QR encoder loads with the first one shown
  const box = el(
    'details',
    { class: 'item-address', 'data-address': address },
    el('summary', {}, t('owner.boughtIt')),
    el('p', {}, t('owner.showStore')),
    qr,
    el('p', {}, el('code', { class: 'address-text' }, address)),
  )
  if (open) box.open = true
  return box
}

/** The rating of the review already posted on `item` (SUBJECT_PRODUCT), or 0 when none. */
async function yourReview(client: PublicClient, config: Config, item: Hex): Promise<number> {
  const address = contractOf(config, 'ReviewBoard').address
  const id = (await client.readContract({ address, abi: reviewBoardAbi, functionName: 'reviewIdOf', args: [item, 1] })) as Hex
  const review = (await client.readContract({ address, abi: reviewBoardAbi, functionName: 'review', args: [id] })) as { posted: boolean; rating: number }
  return review.posted ? review.rating : 0
}

/**
 * A review form: a rating and a text. On submit the text goes to the content store, then the
 * chain records its hash with `request(rating, content)`, signed by the derived address
 * `signer()` (the ticket's holder) and relayed.
 */
export function reviewForm(
  client: PublicClient,
  config: Config,
  signer: () => PrivateKeyAccount | undefined,
  request: (rating: number, content: { hash: Hex; uri: string }) => WriteRequest,
  refresh: () => void,
  ids: { form: string; text: string; title: string } = { form: 'review-form', text: 'review-text', title: t('reviewForm.title') },
): HTMLElement {
  const form = el('form', { class: 'review-form', id: ids.form, 'aria-labelledby': `${ids.form}-title` }, el('h3', { id: `${ids.form}-title` }, ids.title))
  const stars = el('fieldset', { class: 'stars' }, el('legend', {}, t('reviewForm.rating')))
  for (let n = 1; n <= 5; n++) {
    stars.append(el('label', {}, el('input', { type: 'radio', name: 'rating', value: String(n), required: '' }), ` ${n}★`))
  }
  const text = el('textarea', { name: 'text', id: ids.text, rows: '4', maxlength: '5000', required: '' })
  const status = statusLine()
  const submit = el('button', { type: 'submit' }, t('reviewForm.publish'))
  form.append(stars, el('label', { for: ids.text }, t('reviewForm.text')), text, submit, status)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const me = signer()
    if (!me) return
    const rating = Number(new FormData(form).get('rating'))
    submit.disabled = true
    try {
      const content = await publish(config, text.value)
      const done = await write(client, config, { signer: me, request: request(rating, content) }, status)
      if (done) {
        form.dataset.posted = 'true'
        setTimeout(refresh, 800)
        return
      }
    } catch (e) {
      status.hidden = false
      status.dataset.step = 'failed'
      status.textContent = t('reviewForm.failed', { reason: (e as Error).message })
    }
    submit.disabled = false
  })
  return form
}

/**
 * "Your item" on a product page: claim it at its first sale with the claim code the store signed
 * at the till (EIP-712, ProductRegistry.claimWithSignature), then review it as its verified buyer
 * (ReviewBoard.reviewItem). The review's text goes to the content store first; the chain records
 * its keccak256, so anyone can check the text shown is the one the buyer wrote.
 */
import { getAddress, isAddressEqual, keccak256, stringToBytes, zeroAddress, type Address, type Hex, type PublicClient } from 'viem'
import { productRegistryAbi, reviewBoardAbi } from '../../chain/abi'
import { contractOf, type Config } from '../../chain/config'
import type { Verification } from '../../chain/registry'
import type { Wallet } from '../../wallet/wallet'
import { short } from '../../wallet/widget'
import { statusLine, write, writeButton } from '../../wallet/write'
import { el } from './view'

export interface ClaimCode {
  owner: Address
  deadline: bigint
  signature: Hex
}

/** The `claim=` parameter: base64url of `{"owner", "deadline", "signature"}` (src/o2ochain/demo_page.py). */
export function parseClaimCode(text: string): ClaimCode {
  try {
    const json = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4))
    const raw = JSON.parse(json) as { owner: string; deadline: number | string; signature: string }
    if (!/^0x[0-9a-fA-F]{130}$/.test(raw.signature)) throw new Error('bad signature')
    return { owner: getAddress(raw.owner), deadline: BigInt(raw.deadline), signature: raw.signature as Hex }
  } catch {
    throw new Error('The claim code in this link is damaged; ask the store for the link again.')
  }
}

/** A review document as src/o2ochain/reviews.py `review_document` makes it, in RFC 8785 form (flat: sorted keys). */
export function reviewDocument(text: string, language = 'en'): string {
  return JSON.stringify({ language, photos: [], text: text.trim(), type: 'o2ochain.review' })
}

async function publish(config: Config, text: string): Promise<{ hash: Hex; uri: string }> {
  const body = reviewDocument(text)
  const base = new URL(config.content ?? './content/', window.location.href)
  const response = await fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
  const answer = (await response.json()) as { hash?: Hex; uri?: string; error?: string }
  if (!response.ok || !answer.hash || !answer.uri) throw new Error(answer.error ?? `the content store answered HTTP ${response.status}`)
  if (answer.hash !== keccak256(stringToBytes(body))) throw new Error('the content store stored something else than your text')
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
  const section = el('section', { class: 'ownership', 'aria-labelledby': 'ownership-title' }, el('h2', { id: 'ownership-title' }, 'Your item'))
  const body = el('div', {})
  section.append(body)
  let chainNow = BigInt(Math.floor(Date.now() / 1000))

  const render = () => {
    const me = wallet.connection
    const claimedBy = v.view.claimedBy
    const mine = me && claimedBy !== zeroAddress && isAddressEqual(claimedBy, me.address)
    if (!code && !mine) {
      section.hidden = true
      return
    }
    section.hidden = false
    section.dataset.owner = mine ? 'me' : claimedBy === zeroAddress ? 'nobody' : 'other'
    if (mine) {
      const holder = el('div', { class: 'review-slot' })
      body.replaceChildren(el('p', { class: 'owned' }, 'As its verified first buyer, you may review it: others see your rating and words, never your name.'), holder)
      void yourReview(client, config, v.item).then((rating) => {
        holder.replaceChildren(
          rating
            ? el('p', { class: 'reviewed', 'data-rating': String(rating) }, `You reviewed this item: ${'★'.repeat(rating)}. Thank you.`)
            : reviewForm(client, config, wallet, v, refresh),
        )
      })
      return
    }
    if (!code) return
    if (claimedBy !== zeroAddress) {
      body.replaceChildren(el('p', {}, 'The store gave a claim code for this item, but it was already claimed by ', el('code', {}, short(claimedBy)), '.'))
      return
    }
    const expired = code.deadline < chainNow // the contract compares with the block's time
    const intro = el('p', {}, `The store signed a claim code for this item at the till, for account `, el('code', { title: code.owner }, short(code.owner)), expired ? ' — it has expired.' : '.')
    if (!me) {
      body.replaceChildren(intro, el('p', { class: 'hint' }, 'Connect that account (top right) to claim the item as its first buyer.'))
      return
    }
    if (!isAddressEqual(me.address, code.owner)) {
      body.replaceChildren(intro, el('p', { class: 'hint' }, `You are connected as ${short(me.address)}; the code is for another account.`))
      return
    }
    const status = statusLine()
    const button = el('button', { type: 'button', id: 'claim-item' }, 'Claim this item as mine')
    const claim = {
      address: contractOf(config, 'ProductRegistry').address,
      abi: productRegistryAbi,
      functionName: 'claimWithSignature',
      args: [v.item, code.owner, code.deadline, code.signature],
    }
    writeButton(button, client, me, claim, status, refresh)
    body.replaceChildren(
      intro,
      el('p', {}, 'Claiming records your account, not your name, as the first buyer: a copy of this code will then show as sold to someone else.'),
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

/** The rating of the review already posted on `item` (SUBJECT_PRODUCT), or 0 when none. */
async function yourReview(client: PublicClient, config: Config, item: Hex): Promise<number> {
  const address = contractOf(config, 'ReviewBoard').address
  const id = (await client.readContract({ address, abi: reviewBoardAbi, functionName: 'reviewIdOf', args: [item, 1] })) as Hex
  const review = (await client.readContract({ address, abi: reviewBoardAbi, functionName: 'review', args: [id] })) as { posted: boolean; rating: number }
  return review.posted ? review.rating : 0
}

function reviewForm(client: PublicClient, config: Config, wallet: Wallet, v: Verification, refresh: () => void): HTMLElement {
  const form = el('form', { class: 'review-form', id: 'review-form', 'aria-labelledby': 'review-form-title' }, el('h3', { id: 'review-form-title' }, 'Review it'))
  const stars = el('fieldset', { class: 'stars' }, el('legend', {}, 'Your rating'))
  for (let n = 1; n <= 5; n++) {
    stars.append(el('label', {}, el('input', { type: 'radio', name: 'rating', value: String(n), required: '' }), ` ${n}★`))
  }
  const text = el('textarea', { name: 'text', id: 'review-text', rows: '4', maxlength: '5000', required: '' })
  const status = statusLine()
  const submit = el('button', { type: 'submit' }, 'Publish my review')
  form.append(
    stars,
    el('label', { for: 'review-text' }, 'What you think'),
    text,
    submit,
    status,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const me = wallet.connection
    if (!me) return
    const rating = Number(new FormData(form).get('rating'))
    submit.disabled = true
    try {
      const content = await publish(config, text.value)
      const done = await write(
        client,
        me,
        {
          address: contractOf(config, 'ReviewBoard').address,
          abi: reviewBoardAbi,
          functionName: 'reviewItem',
          args: [v.item, rating, content.hash, content.uri],
        },
        status,
      )
      if (done) {
        form.dataset.posted = 'true'
        setTimeout(refresh, 800)
        return
      }
    } catch (e) {
      status.hidden = false
      status.dataset.step = 'failed'
      status.textContent = `Could not publish the text: ${(e as Error).message}`
    }
    submit.disabled = false
  })
  return form
}

/**
 * Reviews as readers see them: ranked as src/o2ochain/loop/_reviews.py ranks them (see
 * chain/reviews.ts `usefulness`), each with its rating, the text checked against the hash on
 * chain, the verified-buyer mark, votes, the merchant's replies and its versions; folded reviews
 * collapsed with the reason. Only reviews that count (ReviewBoard.counts) are shown; how many
 * others there are, and why they do not count, is said in words.
 */
import type { Channel } from '../../chain/guarantee'
import { averageRating, FOLD_MARGIN, FOLD_REPORTS, UNCONFIRMED, type ContentCheck, type ContentStore, type Review } from '../../chain/reviews'
import { el } from '../product/view'
import { formatDate, isoTime, merchantHref, shortAddress } from './format'

const VERIFIED_PURCHASE =
  'Verified buyer: the chain accepted this review only from the buyer of a purchase the shop recorded, one review per purchase. It cannot be posted by anyone else.'
const VERIFIED_PRODUCT_PURCHASE =
  'Verified buyer: the chain accepted this review only from the buyer of a purchase the shop recorded, one review per purchase, and counts it only while the brand authorises that shop to sell its products. It cannot be posted by anyone else.'
const VERIFIED_CLAIM =
  'Verified buyer: the chain accepted this review only from the first owner who claimed this very item at its sale, one review per item.'

export function stars(rating: number): HTMLElement {
  const full = Math.max(0, Math.min(5, Math.round(rating)))
  return el(
    'span',
    { class: 'rating', 'data-rating': String(rating) },
    el('span', { class: 'stars', 'aria-hidden': 'true' }, '★'.repeat(full) + '☆'.repeat(5 - full)),
    el('span', { class: 'rating-text' }, `${rating} out of 5`),
  )
}

/** The mark of a text checked against its hash on chain, or a warning that says what is wrong. */
function contentMark(content: ContentCheck, what: string): HTMLElement {
  if (content.status === 'intact') {
    return el('span', { class: 'mark mark-ok hash-ok', 'data-hash': 'ok', title: `This ${what} hashes to the content hash recorded on chain: it is exactly what was posted.` }, `✓ ${what} matches the chain`)
  }
  if (content.status === 'mismatch') {
    return el(
      'p',
      { class: 'hash-warning', role: 'note', 'data-hash': 'mismatch' },
      `⚠ The ${what} we received does not match the hash recorded on chain: it is not what was posted, so it is not shown.`,
    )
  }
  if (content.status === 'unconfirmed') {
    return el(
      'p',
      { class: 'hash-warning', role: 'note', 'data-hash': 'unconfirmed' },
      `⚠ The ${what} could not be confirmed on the chain (${content.detail}), so it is not shown as written by its author.`,
    )
  }
  return el('p', { class: 'hash-warning', role: 'note', 'data-hash': 'missing' }, `⚠ The ${what} is missing (${content.detail}); only its rating is on the chain.`)
}

function foldReason(review: Review): string {
  const reasons: string[] = []
  if (review.reports >= FOLD_REPORTS) reasons.push(`reported by ${review.reports} readers`)
  if (review.notHelpful >= review.helpful + FOLD_MARGIN) reasons.push(`${review.notHelpful} readers found it unhelpful, ${review.helpful} helpful`)
  return reasons.join('; ') || 'folded by its readers'
}

function merchantLink(channels: Map<number, Channel>, id: number): HTMLElement | string {
  const channel = channels.get(id)
  return el('a', { href: merchantHref(id) }, channel?.name ?? `merchant ${id}`)
}

/** Earlier versions, their texts fetched (and checked) when the reader opens them. */
function versionsBlock(review: Review, store: ContentStore): HTMLElement {
  const earlier = review.versions.slice(0, -1).reverse()
  const list = el('ol', { class: 'versions', reversed: '' })
  const details = el(
    'details',
    { class: 'edited' },
    el('summary', {}, `Edited: this is version ${review.version}. Earlier versions stay on the chain`),
    list,
  )
  let loaded = false
  details.addEventListener('toggle', () => {
    if (!details.open || loaded) return
    loaded = true
    for (const v of earlier) {
      const item = el('li', { value: String(v.version) }, stars(v.rating), ' ', el('span', { class: 'loading' }, 'reading…'))
      list.append(item)
      void (v.confirmed ? store.get(v.contentHash) : Promise.resolve(UNCONFIRMED)).then((content) => {
        const text = content.status === 'intact' && typeof content.document.text === 'string' ? content.document.text : undefined
        item.lastChild?.replaceWith(text !== undefined ? el('q', {}, text) : contentMark(content, 'earlier text'))
      })
    }
  })
  return details
}

function reviewArticle(review: Review, channels: Map<number, Channel>, store: ContentStore, showMerchant: boolean): HTMLElement {
  const title = !review.merchant ? VERIFIED_CLAIM : review.subject === 'product' ? VERIFIED_PRODUCT_PURCHASE : VERIFIED_PURCHASE
  const verified = el('span', { class: 'mark mark-ok verified', title }, '✓ Verified buyer')
  const article = el(
    'article',
    { class: 'review', 'data-review': review.id, 'data-content': review.content.status, 'data-usefulness': review.score.toFixed(6) },
    el('h3', { class: 'review-head' }, stars(review.rating), ' ', verified),
  )
  if (review.text !== undefined) {
    const text = el('p', { class: 'review-text' }, review.text)
    article.append(text, el('p', { class: 'review-check' }, contentMark(review.content, 'text')))
  } else {
    article.append(contentMark(review.content, 'text'))
  }
  const meta = el('p', { class: 'review-meta' }, 'Posted ', el('time', { datetime: isoTime(review.postedAt) }, formatDate(review.postedAt)))
  meta.append(' by ', el('code', { title: review.author }, shortAddress(review.author)))
  if (review.photos > 0) meta.append(` · ${review.photos} photo${review.photos === 1 ? '' : 's'}`)
  if (showMerchant && review.merchant) meta.append(' · bought at ', merchantLink(channels, review.merchant))
  article.append(meta)
  article.append(
    el(
      'p',
      { class: 'votes', 'data-helpful': String(review.helpful), 'data-not-helpful': String(review.notHelpful) },
      `${review.helpful} found this helpful · ${review.notHelpful} did not`,
      review.reports > 0 ? ` · reported ${review.reports} time${review.reports === 1 ? '' : 's'}` : '',
    ),
  )
  for (const reply of review.replies) {
    const box = el(
      'div',
      { class: 'reply', 'data-reply': reply.content.status },
      reply.content.status === 'unconfirmed'
        ? el('p', { class: 'reply-by' }, 'Listed as a reply from ', merchantLink(channels, reply.merchant), ', which the chain does not confirm')
        : el('p', { class: 'reply-by' }, 'Reply from ', merchantLink(channels, reply.merchant)),
    )
    if (reply.text !== undefined) box.append(el('p', { class: 'reply-text' }, reply.text), el('p', { class: 'review-check' }, contentMark(reply.content, 'reply')))
    else box.append(contentMark(reply.content, 'reply'))
    article.append(box)
  }
  if (review.version > 1) article.append(versionsBlock(review, store))
  return article
}

/** What a connected reader can do with the reviews (features/market/votes.ts): vote and report. */
export interface ReviewActions {
  /** Shown above the list: what the reader can do, or why they cannot. */
  note?: HTMLElement
  /** The controls of one review, or undefined when it has none. */
  controls(review: Review): HTMLElement | undefined
}

/** "1 review hidden: its seller is not authorised by the brand", for the reviews that do not count. */
function hiddenNote(hidden: Review[], channels: Map<number, Channel>): HTMLElement | undefined {
  if (hidden.length === 0) return undefined
  const one = hidden.length === 1
  const shops = [...new Set(hidden.map((r) => channels.get(r.merchant)?.name).filter((n): n is string => !!n))]
  return el(
    'p',
    { class: 'hidden-reviews', role: 'note', 'data-hidden': String(hidden.length) },
    `${hidden.length} review${one ? '' : 's'} hidden: ${one ? 'its seller is' : 'their sellers are'} not authorised by the brand`,
    shops.length > 0 ? ` (bought at ${shops.join(', ')})` : '',
    '. A product review counts only for a purchase from a shop the brand recognises, so that nobody can review a product by recording sales of it to themselves.',
  )
}

export interface ReviewListOptions {
  id: string
  title: string
  /** Words for an empty list, for people. */
  empty: string
  /** Link each review to the merchant it was bought at (not on that merchant's own page). */
  showMerchant: boolean
}

/**
 * A section of ranked reviews: the average, then the list, folded ones collapsed. Only the
 * reviews that count are shown (and averaged); the others are counted in a note saying why.
 */
export function renderReviews(
  all: Review[],
  channels: Map<number, Channel>,
  store: ContentStore,
  options: ReviewListOptions,
  actions?: ReviewActions,
): HTMLElement {
  const section = el('section', { class: 'market reviews', 'aria-labelledby': options.id }, el('h2', { id: options.id }, options.title))
  const reviews = all.filter((r) => r.counts)
  const hidden = hiddenNote(
    all.filter((r) => !r.counts),
    channels,
  )
  const average = averageRating(reviews)
  if (average === undefined) {
    section.append(el('p', { class: 'empty' }, options.empty))
    if (hidden) section.append(hidden)
    return section
  }
  section.append(
    el(
      'p',
      { class: 'average', 'data-average': average.toFixed(2), 'data-count': String(reviews.length) },
      el('strong', {}, `${average.toFixed(1)} out of 5`),
      ` from ${reviews.length} verified buyer${reviews.length === 1 ? '' : 's'}.`,
    ),
    el(
      'p',
      { class: 'summary' },
      'Only buyers can review: the chain accepts a review only with proof of purchase, one per purchase. Most useful first, by readers’ votes, substance and age.',
    ),
  )
  if (hidden) section.append(hidden)
  if (actions?.note) section.append(actions.note)
  const list = el('ol', { class: 'review-list' })
  for (const review of reviews) {
    const article = reviewArticle(review, channels, store, options.showMerchant)
    const controls = actions?.controls(review)
    if (controls) article.append(controls)
    const item = el('li', { 'data-folded': String(review.folded) })
    if (review.folded) {
      item.append(el('details', { class: 'folded' }, el('summary', {}, `Folded: ${foldReason(review)}`), article))
    } else {
      item.append(article)
    }
    list.append(item)
  }
  section.append(list)
  return section
}

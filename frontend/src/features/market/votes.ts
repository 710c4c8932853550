/**
 * Votes and reports on reviews, for a connected reader (ReviewBoard.vote and .report). The chain
 * takes them only from someone who bought what the review is about: the reader passes a ticket
 * (chain/tickets.ts), for a product review an item of the product they claimed or their purchase
 * of it from a seller the brand authorised, for a review of a shop their purchase from its
 * retailer; so fresh addresses can neither bury nor fold a review. A reader without such a ticket
 * is told so, in words, and gets no button that the contract would refuse.
 */
import type { Hex, PublicClient } from 'viem'
import { reviewBoardAbi } from '../../chain/abi'
import { contractOf, type Config } from '../../chain/config'
import type { GuaranteeReader } from '../../chain/guarantee'
import { votedOn, type Review } from '../../chain/reviews'
import { TicketReader, type FoundTicket, type TicketFor } from '../../chain/tickets'
import { t, type MessageKey } from '../../i18n'
import { ShopperAddresses } from '../../wallet/addresses'
import type { Connection } from '../../wallet/wallet'
import { statusLine, write, writeButton } from '../../wallet/write'
import { el } from '../product/view'
import type { ReviewActions } from './reviews'

/** REPORT_* in contracts/Types.sol, in order from 1. */
const REPORT_REASONS: MessageKey[] = ['report.spam', 'report.offensive', 'report.offTopic', 'report.fake', 'report.other']

function proofText(found: FoundTicket, about: 'product' | 'merchant'): string {
  if (found.kind === 'item') return t('vote.proofItem')
  return t(about === 'product' ? 'vote.proofProductPurchase' : 'vote.proofShopPurchase')
}

/**
 * What `me` can do with `reviews`; `refresh` re-reads the page after a vote or report is in a
 * block. A vote or report is signed by the derived address that holds the ticket (the purchase's
 * buyer address, or the address of an item in `items` the person claimed) and relayed.
 */
export async function reviewActions(
  client: PublicClient,
  config: Config,
  guarantee: GuaranteeReader,
  me: Connection,
  reviews: Review[],
  refresh: () => void,
  items: Hex[] = [],
): Promise<ReviewActions> {
  const tickets = new TicketReader(client, config, guarantee)
  const addresses = new ShopperAddresses(me, guarantee)
  const holders = await addresses.holders(items)
  const shown = reviews.filter((r) => r.counts)
  // One ticket per thing reviewed: the product (its GTIN), or the retailer of the shop reviewed.
  const aboutOf = async (r: Review): Promise<TicketFor | undefined> => {
    if (r.subject === 'product') return { gtin: r.gtin }
    const channel = await guarantee.channel(r.merchant)
    return channel && { retailer: channel.retailer }
  }
  const found = new Map<string, Promise<FoundTicket | undefined>>()
  const ticketOf = async (r: Review): Promise<FoundTicket | undefined> => {
    const about = await aboutOf(r)
    if (!about) return undefined
    const key = 'gtin' in about ? `gtin:${about.gtin}` : `retailer:${about.retailer}`
    if (!found.has(key)) found.set(key, tickets.find(holders, about))
    return found.get(key)
  }
  const perReview = new Map((await Promise.all(shown.map(async (r) => [r.id, await ticketOf(r)] as const))).filter(([, t]) => t && addresses.signerFor(t.holder)))
  const firstReview = shown.find((r) => perReview.has(r.id))
  const first = firstReview && perReview.get(firstReview.id)
  if (!firstReview || !first) return { note: el('p', { class: 'vote-note', 'data-ticket': 'none' }, t('vote.noTicket')), controls: () => undefined }
  const board = contractOf(config, 'ReviewBoard').address
  const voted = new Set<string>()
  for (const holder of new Set([...perReview.values()].map((t) => t!.holder))) {
    const mine = shown.filter((r) => perReview.get(r.id)?.holder === holder).map((r) => r.id)
    for (const id of await votedOn(client, board, mine, holder)) voted.add(id)
  }
  const note = el(
    'p',
    { class: 'vote-note', 'data-ticket': first.kind },
    t('vote.note', { proof: proofText(first, firstReview.subject) }),
  )
  const controls = (review: Review): HTMLElement | undefined => {
    const found = perReview.get(review.id)
    const signer = found && addresses.signerFor(found.holder)
    if (!found || !signer) return undefined
    const box = el('div', { class: 'review-actions', 'data-review': review.id, 'data-ticket': found.kind })
    if (review.author.toLowerCase() === found.holder.toLowerCase()) {
      box.append(el('p', { class: 'own-review' }, t('vote.own')))
      return box
    }
    const status = statusLine()
    if (voted.has(review.id)) box.append(el('p', { class: 'voted' }, t('vote.voted')))
    else {
      for (const [helpful, label] of [
        [true, t('vote.helpful')],
        [false, t('vote.notHelpful')],
      ] as const) {
        const button = el('button', { type: 'button', class: `vote secondary vote-${helpful ? 'helpful' : 'unhelpful'}` }, label)
        writeButton(button, client, config, { signer, request: { address: board, abi: reviewBoardAbi, functionName: 'vote', args: [review.id, helpful, found.ticket] } }, status, refresh)
        box.append(button, ' ')
      }
    }
    const reason = el('select', { name: 'reason', 'aria-label': t('vote.reasonLabel') })
    REPORT_REASONS.forEach((key, i) => reason.append(el('option', { value: String(i + 1) }, t(key))))
    const send = el('button', { type: 'button', class: 'report secondary' }, t('vote.report'))
    send.addEventListener('click', async () => {
      send.disabled = true
      const done = await write(client, config, { signer, request: { address: board, abi: reviewBoardAbi, functionName: 'report', args: [review.id, Number(reason.value), found.ticket] } }, status)
      if (done) setTimeout(refresh, 800)
      else send.disabled = false
    })
    box.append(el('details', { class: 'report-form' }, el('summary', {}, t('vote.reportTitle')), reason, send), status)
    return box
  }
  return { note, controls }
}

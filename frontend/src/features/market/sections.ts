/**
 * The market sections and the merchant page, loaded by ./index.ts on first use so that pages
 * without them (an unregistered item, the lookup form) do not download them.
 */
import type { Hex, PublicClient } from 'viem'
import type { Config } from '../../chain/config'
import { GuaranteeReader } from '../../chain/guarantee'
import { ContentStore, ReviewBoardReader, type Review } from '../../chain/reviews'
import { t } from '../../i18n'
import type { Connection } from '../../wallet/wallet'
import { el } from '../product/view'
import { merchantPage, MerchantNotFound, parseMerchant } from './merchant'
import { pricesSection } from './prices'
import { renderReviews, type ReviewActions } from './reviews'
import type { ProductContext } from './index'

/** The vote and report controls for `me`, or none (no reader connected, or the reads failed: the reviews still show). */
export async function actionsFor(
  client: PublicClient,
  config: Config,
  guarantee: GuaranteeReader,
  reviews: Review[],
  me: Connection | undefined,
  refresh: (() => void) | undefined,
  items: Hex[] = [],
): Promise<ReviewActions | undefined> {
  if (!me || !refresh || !reviews.some((r) => r.counts)) return undefined
  try {
    const { reviewActions } = await import('./votes') // a connected reader's code only: signing and relaying
    return await reviewActions(client, config, guarantee, me, reviews, refresh, items)
  } catch (error) {
    return { note: el('p', { class: 'problem vote-note', role: 'alert' }, t('vote.cannotCheck', { reason: problem(error) })), controls: () => undefined }
  }
}

function problem(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}

async function productReviews(
  client: PublicClient,
  config: Config,
  guarantee: GuaranteeReader,
  board: ReviewBoardReader,
  ctx: ProductContext,
): Promise<HTMLElement> {
  try {
    const reviews = await board.reviews({ gtin: BigInt(ctx.gtin) }, await guarantee.now())
    const merchants = new Set<number>()
    for (const r of reviews) {
      if (r.merchant) merchants.add(r.merchant)
      for (const reply of r.replies) merchants.add(reply.merchant)
    }
    const [channels, actions] = await Promise.all([guarantee.channels([...merchants]), actionsFor(client, config, guarantee, reviews, ctx.me, ctx.refresh, [ctx.item])])
    return renderReviews(
      reviews,
      channels,
      board.content,
      {
        id: 'reviews-title',
        title: t('reviews.title'),
        empty: t('reviews.emptyProduct'),
        showMerchant: true,
      },
      actions,
    )
  } catch (error) {
    return el(
      'section',
      { class: 'market reviews', 'aria-labelledby': 'reviews-title' },
      el('h2', { id: 'reviews-title' }, t('reviews.title')),
      el('p', { class: 'problem', role: 'alert' }, t('reviews.cannotRead', { reason: problem(error) })),
    )
  }
}

/** The sections added below the timeline of a registered item's page, in order. */
export async function marketSections(client: PublicClient, config: Config, ctx: ProductContext): Promise<HTMLElement[]> {
  if (!config.deployment.contracts.PriceGuarantee || !config.deployment.contracts.ReviewBoard) return []
  const guarantee = new GuaranteeReader(client, config)
  const board = new ReviewBoardReader(client, config, new ContentStore(config.content))
  const gtin = BigInt(ctx.gtin)
  return Promise.all([pricesSection(guarantee, gtin), productReviews(client, config, guarantee, board, ctx)])
}

/**
 * Renders the page of merchant (channel) `channel` (the `?merchant=` query value) into `out`, with
 * vote and report controls for `me`. `current()` says whether this rendering is still wanted (the
 * account may change while it reads).
 */
export async function showMerchant(
  out: HTMLElement,
  client: PublicClient,
  config: Config,
  channel: string,
  me?: Connection,
  refresh?: () => void,
  current: () => boolean = () => true,
): Promise<void> {
  document.body.dataset.state = 'loading'
  if (!out.firstChild) out.replaceChildren(el('p', { class: 'loading', role: 'status' }, t('merchant.asking')))
  try {
    const id = parseMerchant(channel)
    const guarantee = new GuaranteeReader(client, config)
    const board = new ReviewBoardReader(client, config, new ContentStore(config.content))
    const page = await merchantPage(guarantee, board, id, (reviews) => actionsFor(client, config, guarantee, reviews, me, refresh))
    if (!current()) return
    out.replaceChildren(page)
    document.body.dataset.state = 'ready'
  } catch (error) {
    if (!current()) return
    const text = error instanceof MerchantNotFound ? error.message : t('merchant.cannotRead', { rpc: config.rpcUrl, reason: problem(error) })
    out.replaceChildren(el('p', { class: 'error', role: 'alert', 'data-problem': 'merchant' }, text))
    document.body.dataset.state = 'error'
  }
}

/**
 * The market sections and the merchant page, loaded by ./index.ts on first use so that pages
 * without them (an unregistered item, the lookup form) do not download them.
 */
import type { PublicClient } from 'viem'
import type { Config } from '../../chain/config'
import { GuaranteeReader } from '../../chain/guarantee'
import { ContentStore, ReviewBoardReader } from '../../chain/reviews'
import { el } from '../product/view'
import { merchantPage, MerchantNotFound, parseMerchant } from './merchant'
import { pricesSection } from './prices'
import { renderReviews } from './reviews'
import type { ProductContext } from './index'

function problem(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}

async function productReviews(guarantee: GuaranteeReader, board: ReviewBoardReader, gtin: bigint): Promise<HTMLElement> {
  try {
    const reviews = await board.reviews({ gtin }, await guarantee.now())
    const merchants = new Set<number>()
    for (const r of reviews) {
      if (r.merchant) merchants.add(r.merchant)
      for (const reply of r.replies) merchants.add(reply.merchant)
    }
    const channels = await guarantee.channels([...merchants])
    return renderReviews(reviews, channels, board.content, {
      id: 'reviews-title',
      title: 'Reviews',
      empty: 'No buyer has reviewed this product yet. Only people who bought it can, so reviews appear here after the first buyers write them.',
      showMerchant: true,
    })
  } catch (error) {
    return el(
      'section',
      { class: 'market reviews', 'aria-labelledby': 'reviews-title' },
      el('h2', { id: 'reviews-title' }, 'Reviews'),
      el('p', { class: 'problem', role: 'alert' }, `Could not read the reviews from the chain: ${problem(error)}`),
    )
  }
}

/** The sections added below the timeline of a registered item's page, in order. */
export async function marketSections(client: PublicClient, config: Config, ctx: ProductContext): Promise<HTMLElement[]> {
  if (!config.deployment.contracts.PriceGuarantee || !config.deployment.contracts.ReviewBoard) return []
  const guarantee = new GuaranteeReader(client, config)
  const board = new ReviewBoardReader(client, config, new ContentStore(config.content))
  const gtin = BigInt(ctx.gtin)
  return Promise.all([pricesSection(guarantee, gtin), productReviews(guarantee, board, gtin)])
}

/** Renders the page of merchant (channel) `channel` (the `?merchant=` query value) into `out`. */
export async function showMerchant(out: HTMLElement, client: PublicClient, config: Config, channel: string): Promise<void> {
  document.body.dataset.state = 'loading'
  out.replaceChildren(el('p', { class: 'loading', role: 'status' }, 'Asking the chain about this merchant…'))
  try {
    const id = parseMerchant(channel)
    const guarantee = new GuaranteeReader(client, config)
    const board = new ReviewBoardReader(client, config, new ContentStore(config.content))
    out.replaceChildren(await merchantPage(guarantee, board, id))
    document.body.dataset.state = 'ready'
  } catch (error) {
    const text = error instanceof MerchantNotFound ? error.message : `Could not read this merchant from the chain at ${config.rpcUrl}: ${problem(error)}`
    out.replaceChildren(el('p', { class: 'error', role: 'alert', 'data-problem': 'merchant' }, text))
    document.body.dataset.state = 'error'
  }
}

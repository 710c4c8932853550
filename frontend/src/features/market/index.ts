/**
 * The market side of a product page and the merchant pages: what the product costs on the
 * retailer's channels, its reviews, and a merchant's own page. Read-only, from the chain and the
 * content store (whose documents count only when they hash to what the chain holds).
 *
 * The code lives in ./sections.ts and is loaded on first use: the lookup form and the pages of
 * unregistered items do not download it.
 */
import type { Hex, PublicClient } from 'viem'
import type { Config } from '../../chain/config'
import type { Verification } from '../../chain/registry'

export interface ProductContext {
  item: Hex
  /** GTIN-14 as digits. */
  gtin: string
  verification: Verification
}

/** The sections added below the timeline of a registered item's page, in order. */
export async function marketSections(client: PublicClient, config: Config, ctx: ProductContext): Promise<HTMLElement[]> {
  const { marketSections: sections } = await import('./sections')
  return sections(client, config, ctx)
}

/** Renders the page of merchant (channel) `channel` (the `?merchant=` query value) into `out`. */
export async function showMerchant(out: HTMLElement, client: PublicClient, config: Config, channel: string): Promise<void> {
  const { showMerchant: show } = await import('./sections')
  return show(out, client, config, channel)
}

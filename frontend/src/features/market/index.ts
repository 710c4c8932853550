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
import type { Connection, Wallet } from '../../wallet/wallet'

export interface ProductContext {
  item: Hex
  /** GTIN-14 as digits. */
  gtin: string
  verification: Verification
  /** The connected reader, who may vote on and report reviews; `refresh` re-reads the page after. */
  me?: Connection
  refresh?: () => void
}

/** The sections added below the timeline of a registered item's page, in order. */
export async function marketSections(client: PublicClient, config: Config, ctx: ProductContext): Promise<HTMLElement[]> {
  const { marketSections: sections } = await import('./sections')
  return sections(client, config, ctx)
}

/**
 * Renders the page of merchant (channel) `channel` (the `?merchant=` query value) into `out`, and
 * again when the connected account changes (what a reader can do with the reviews depends on it).
 */
export async function showMerchant(out: HTMLElement, client: PublicClient, config: Config, channel: string, wallet: Wallet): Promise<void> {
  const { showMerchant: show } = await import('./sections')
  let generation = 0
  let first: Promise<void> | undefined
  const render = (me: Connection | undefined): Promise<void> => {
    const mine = ++generation
    return show(out, client, config, channel, me, () => void render(wallet.connection), () => mine === generation)
  }
  wallet.subscribe((me) => {
    const rendered = render(me)
    first ??= rendered
  })
  return first
}

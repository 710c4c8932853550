/**
 * `?voucher=o2ochain:voucher:…`: a coupon to show at the till, as a QR code, with what the chain
 * says about it: which campaign and merchant, what it gives, whether it is still valid, whether
 * it was redeemed, and whether a key of the merchant signed it. The QR code carries the same
 * payload the till's `o2ochain coupon redeem` reads (src/o2ochain/loop/_coupons.py).
 */
import { decodeAbiParameters, formatEther, getAbiItem, recoverAddress, type AbiEvent, type Address, type Hex, type PublicClient } from 'viem'
import { renderSVG } from 'uqr'
import { couponBookAbi, priceGuaranteeAbi } from '../../chain/abi'
import { contractOf, type Config } from '../../chain/config'
import { logReader } from '../../chain/logs'
import { productName } from '../../chain/registry'
import { formatTime, t } from '../../i18n'
import { el } from '../product/view'

const PREFIX = 'o2ochain:voucher:'
const channelAddedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'ChannelAdded' }) as AbiEvent

export interface Voucher {
  campaign: number
  index: number
  kind: number
  value: bigint
  gtin: bigint
  validFrom: number
  validUntil: number
}

export function parseVoucher(text: string): { voucher: Voucher; signature: Hex } {
  const body = text.trim()
  if (!body.startsWith(PREFIX)) throw new Error(t('coupon.notACoupon', { prefix: PREFIX }))
  try {
    const b64 = body.slice(PREFIX.length).replace(/-/g, '+').replace(/_/g, '/')
    const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
    const bytes = `0x${Array.from(raw, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('')}` as Hex
    const [v, signature] = decodeAbiParameters(
      [
        {
          type: 'tuple',
          components: [
            { name: 'campaign', type: 'uint32' },
            { name: 'index', type: 'uint32' },
            { name: 'kind', type: 'uint8' },
            { name: 'value', type: 'uint96' },
            { name: 'gtin', type: 'uint64' },
            { name: 'validFrom', type: 'uint40' },
            { name: 'validUntil', type: 'uint40' },
          ],
        },
        { type: 'bytes' },
      ],
      bytes,
    )
    return { voucher: v as Voucher, signature }
  } catch {
    throw new Error(t('coupon.damaged'))
  }
}

interface CampaignView {
  merchant: number
  retailer: number
  issued: number
  redeemed: number
  validFrom: number
  validUntil: number
}

function day(seconds: number): string {
  return formatTime(new Date(seconds * 1000), false)
}

export async function showVoucher(out: HTMLElement, client: PublicClient, config: Config, payload: string): Promise<void> {
  document.body.dataset.state = 'loading'
  let parsed
  try {
    parsed = parseVoucher(payload)
  } catch (e) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert' }, (e as Error).message))
    document.body.dataset.state = 'error'
    return
  }
  const { voucher, signature } = parsed
  const book = contractOf(config, 'CouponBook').address
  const guarantee = contractOf(config, 'PriceGuarantee').address
  const [campaign, redeemed, digest] = await Promise.all([
    client.readContract({ address: book, abi: couponBookAbi, functionName: 'campaign', args: [voucher.campaign] }) as Promise<CampaignView>,
    client.readContract({ address: book, abi: couponBookAbi, functionName: 'isRedeemed', args: [voucher.campaign, voucher.index] }) as Promise<boolean>,
    client.readContract({ address: book, abi: couponBookAbi, functionName: 'voucherDigest', args: [voucher] }) as Promise<Hex>,
  ])
  const merchant = (await client.readContract({ address: guarantee, abi: priceGuaranteeAbi, functionName: 'channel', args: [campaign.merchant] })) as { key: Address }
  const channels = await logReader(client, config).get({ address: guarantee, event: channelAddedEvent, args: { channel: campaign.merchant }, fromBlock: contractOf(config, 'PriceGuarantee').block })
  const merchantName = (channels[0]?.args as { name?: string } | undefined)?.name ?? `merchant ${campaign.merchant}`
  let signer: Address | undefined
  try {
    signer = await recoverAddress({ hash: digest, signature })
  } catch {
    signer = undefined
  }
  const signedByMerchant = signer !== undefined && signer.toLowerCase() === merchant.key.toLowerCase()
  const now = Number((await client.getBlock()).timestamp) // the chain's clock decides validity, not this device's
  const state = redeemed ? 'redeemed' : now > voucher.validUntil ? 'expired' : now < voucher.validFrom ? 'not yet valid' : 'valid'
  const what = voucher.kind === 1 ? t('coupon.off', { amount: `${formatEther(voucher.value)} ETH` }) : t('coupon.percentOff', { percent: Number(voucher.value) / 100 })
  const gtin = voucher.gtin.toString().padStart(14, '0')
  // The product by the name its brand registered it with; its GTIN only when it has none.
  const product = voucher.gtin === 0n ? undefined : await productName(client, config, gtin).catch(() => undefined)
  const scope = voucher.gtin === 0n ? t('coupon.anything') : (product ?? t('coupon.barcode', { gtin }))
  const qr = el('div', { class: 'voucher-qr', role: 'img', 'aria-label': t('coupon.qr') })
  qr.innerHTML = renderSVG(payload.trim(), { border: 2 })
  const facts = el('dl', { class: 'facts' })
  const add = (term: string, value: string, key: string) => facts.append(el('div', { 'data-fact': key }, el('dt', {}, term), el('dd', {}, value)))
  add(t('coupon.gives'), t('coupon.givesValue', { what, scope }), 'gives')
  add(t('coupon.at'), merchantName, 'merchant')
  add(t('coupon.valid'), t('coupon.validValue', { from: day(voucher.validFrom), until: day(voucher.validUntil) }), 'valid')
  add(t('coupon.number'), t('coupon.numberValue', { campaign: voucher.campaign, index: voucher.index }), 'number')
  out.replaceChildren(
    el(
      'article',
      { class: 'voucher', 'data-state': state, 'aria-labelledby': 'voucher-title' },
      el('h2', { id: 'voucher-title' }, t('coupon.title', { what })),
      el(
        'p',
        { class: `voucher-state voucher-${state.replace(/ /g, '-')}` },
        t(state === 'valid' ? 'coupon.state.valid' : state === 'redeemed' ? 'coupon.state.redeemed' : state === 'expired' ? 'coupon.state.expired' : 'coupon.state.notYet'),
      ),
      state === 'valid' ? qr : null,
      facts,
      el(
        'p',
        { class: signedByMerchant ? 'signed ok' : 'signed bad', 'data-signed': String(signedByMerchant) },
        signedByMerchant ? t('coupon.signed', { merchant: merchantName }) : t('coupon.unsigned'),
      ),
    ),
  )
  document.body.dataset.state = 'ready'
}

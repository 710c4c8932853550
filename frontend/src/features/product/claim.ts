/**
 * The claim code of a product page's link (`?claim=`): what the store signed at the till for the
 * first owner of an item. Parsed before the page asks the chain anything, so that a damaged link
 * says so at once; what it unlocks (./ownership.ts) is loaded with the verdict.
 */
import { getAddress, type Address, type Hex } from 'viem'
import { t } from '../../i18n'

export interface ClaimCode {
  owner: Address
  deadline: bigint
  signature: Hex
}

/** The `claim=` parameter: base64url of `{"owner", "deadline", "signature"}` (src/o2ochain/demo/_page.py). */
export function parseClaimCode(text: string): ClaimCode {
  try {
    const json = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4))
    const raw = JSON.parse(json) as { owner: string; deadline: number | string; signature: string }
    if (!/^0x[0-9a-fA-F]{130}$/.test(raw.signature)) throw new Error('bad signature')
    return { owner: getAddress(raw.owner), deadline: BigInt(raw.deadline), signature: raw.signature as Hex }
  } catch {
    throw new Error(t('claim.damaged'))
  }
}

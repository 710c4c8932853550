/**
 * A shopper's many addresses from one key, so that one scanned item does not reveal a person
 * (issue 14, point 6). The same derivation as src/o2ochain/shopper/_shopper.py, checked against the same
 * vectors (tests/fixtures/shopper-vectors.json, by tests/e2e/test_frontend_shopper.py):
 *
 * 1. `seed = keccak256(signature)`, the signature being the wallet's EIP-191 `personal_sign` of
 *    SEED_MESSAGE. Ethereum keys sign deterministically (RFC 6979), so the same key gives the same
 *    seed on every device: after a reinstall the account page finds every record again. The
 *    signature and the seed stay in this page's memory; nothing of them is stored or sent.
 * 2. the private key of a context is `keccak256(seed ‖ utf8(context)) mod (n - 1) + 1`.
 *
 * Contexts: `purchase/<retailer>/<index>` (the buyer shown at the till, paid compensation,
 * author of reviews and votes resting on that purchase), `item/0x<item id>` (the first owner of a
 * claimed item, author of its review), `consent/0x<data user>` (the consumer in every consent to,
 * and data use by, that data user). Addresses are lower-case hex in contexts.
 *
 * This file imports viem only, so that node can run it outside the page (the vector test).
 */
import { concat, keccak256, numberToHex, stringToHex, type Address, type Hex } from 'viem'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'

export { privateKeyToAccount }

/** What the wallet signs (EIP-191 personal message) to open the derived addresses. */
export const SEED_MESSAGE = 'o2ochain: open my shopping addresses (v1)'
/** Unused purchase addresses in a row after which a retailer's numbering is taken to end. */
export const GAP = 20
/** Order of the secp256k1 group. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** The seed of the wallet whose signature of SEED_MESSAGE is `signature` (65 bytes). */
export function seedOf(signature: Hex): Hex {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new Error(`a signature is 65 bytes, not ${(signature.length - 2) / 2}`)
  return keccak256(signature)
}

/** The private key of `context` under `seed`: keccak256(seed ‖ context) mod (n-1) + 1. */
export function deriveKey(seed: Hex, context: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(seed)) throw new Error('a shopper seed is 32 bytes')
  const value = (BigInt(keccak256(concat([seed, stringToHex(context)]))) % (SECP256K1_N - 1n)) + 1n
  return numberToHex(value, { size: 32 })
}

/** The derived accounts of one shopper; each is made once and kept for the session. */
export class Shopper {
  private readonly accounts = new Map<string, PrivateKeyAccount>()
  private readonly byAddress = new Map<string, PrivateKeyAccount>()

  constructor(private readonly seed: Hex) {
    deriveKey(seed, '') // checks the seed's size
  }

  static fromSignature(signature: Hex): Shopper {
    return new Shopper(seedOf(signature))
  }

  /** The derived account of `context`. */
  account(context: string): PrivateKeyAccount {
    let found = this.accounts.get(context)
    if (!found) {
      found = privateKeyToAccount(deriveKey(this.seed, context))
      this.accounts.set(context, found)
      this.byAddress.set(found.address.toLowerCase(), found)
    }
    return found
  }

  /** The buyer address of the `index`-th purchase (from 0) at `retailer` (from 1). */
  purchaseAccount(retailer: number, index: number): PrivateKeyAccount {
    if (!Number.isInteger(retailer) || retailer <= 0 || !Number.isInteger(index) || index < 0) {
      throw new Error(`no purchase address ${retailer}/${index}: retailers count from 1, purchases from 0`)
    }
    return this.account(`purchase/${retailer}/${index}`)
  }

  /** The first owner of `item` (a 32-byte item id): who claims it and reviews it. */
  itemAccount(item: Hex): PrivateKeyAccount {
    if (!/^0x[0-9a-fA-F]{64}$/.test(item)) throw new Error('an item id is 32 bytes')
    return this.account(`item/${item.toLowerCase()}`)
  }

  /** The consumer of this shopper's consents to `dataUser`. */
  consentAccount(dataUser: Address): PrivateKeyAccount {
    if (!/^0x[0-9a-fA-F]{40}$/.test(dataUser)) throw new Error(`${dataUser} is not an address`)
    return this.account(`consent/${dataUser.toLowerCase()}`)
  }

  /** The derived account at `address`, when this session derived it already. */
  known(address: Address): PrivateKeyAccount | undefined {
    return this.byAddress.get(address.toLowerCase())
  }
}

// Runs the page's shopper derivation (frontend/src/wallet/shopper.ts, compiled by
// tests/e2e/test_frontend_shopper.py into a folder of test-output/) on the recorded vectors, and
// prints what it derives as JSON, for the test to compare with tests/fixtures/shopper-vectors.json.
//
//   node frontend/e2e/shopper.mjs '{"module": "<compiled shopper.js>", "vectors": "<shopper-vectors.json>"}'

import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { privateKeyToAccount } from 'viem/accounts'

const spec = JSON.parse(process.argv[2])
const { GAP, SEED_MESSAGE, Shopper, deriveKey, seedOf } = await import(pathToFileURL(spec.module).href)
const vectors = JSON.parse(readFileSync(spec.vectors, 'utf-8'))
// What a wallet holding the vector's key signs when the page asks (EIP-191 personal_sign).
const wallet = privateKeyToAccount(vectors.privateKey)
const signature = await wallet.signMessage({ message: SEED_MESSAGE })
const seed = seedOf(signature)
const shopper = Shopper.fromSignature(signature)
const contexts = vectors.contexts.map(({ context }) => ({ context, address: shopper.account(context).address, privateKey: deriveKey(seed, context) }))
// The named helpers give the same accounts as their contexts (item ids and data users in any case).
const [, retailer, index] = /^purchase\/(\d+)\/(\d+)$/.exec(vectors.contexts[0].context)
const item = vectors.contexts.find((c) => c.context.startsWith('item/')).context.slice('item/'.length)
const user = vectors.contexts.find((c) => c.context.startsWith('consent/')).context.slice('consent/'.length)
const helpers = {
  purchase: shopper.purchaseAccount(Number(retailer), Number(index)).address,
  item: shopper.itemAccount(`0x${item.slice(2).toUpperCase()}`).address,
  consent: shopper.consentAccount(`0x${user.slice(2).toUpperCase()}`).address,
  known: shopper.known(shopper.purchaseAccount(Number(retailer), Number(index)).address.toLowerCase())?.address ?? null,
}
const refusals = []
for (const bad of [() => shopper.purchaseAccount(0, 0), () => shopper.purchaseAccount(1, -1), () => shopper.itemAccount('0x01'), () => shopper.consentAccount('nope'), () => seedOf('0x00')]) {
  try {
    bad()
    refusals.push(null)
  } catch (e) {
    refusals.push(String(e.message))
  }
}
process.stdout.write(JSON.stringify({ message: SEED_MESSAGE, gap: GAP, address: wallet.address, signature, seed, contexts, helpers, refusals }) + '\n')

// Drives the page's wallet actions in Debian's Chromium (playwright-core) with the demo's built-in
// test shopper, and prints what the page showed at each step as JSON for
// tests/e2e/test_frontend_wallet.py. A screenshot of each state goes to <out>/wallet-<step>.png.
//
//   node frontend/e2e/wallet.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output",
//     "claim": "<item URL with &claim=…>", "voucher": "<URL with ?voucher=…>"}'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
mkdirSync(spec.out, { recursive: true })
const browser = await launch()
const result = { steps: {}, consoleErrors: [] }
const { page } = await phonePage(browser, result.consoleErrors)
page.setDefaultTimeout(30000)

const ready = () => page.waitForSelector('body[data-state="ready"], body[data-state="error"]')
async function snap(step, extra = {}) {
  const shot = join(spec.out, `wallet-${step}.png`)
  await page.screenshot({ path: shot, fullPage: true })
  const common = await page.evaluate(() => ({
    state: document.body.dataset.state,
    wallet: document.body.dataset.wallet ?? null,
    scrollWidth: document.documentElement.scrollWidth,
  }))
  result.steps[step] = { ...common, ...extra, screenshot: shot }
}
/** Waits for the status line inside `scope` to end, returning its step and text. */
async function finished(scope) {
  const status = page.locator(`${scope} .tx-status`).first()
  await page.waitForFunction(
    (sel) => ['confirmed', 'reverted', 'failed', 'declined'].includes(document.querySelector(sel)?.dataset.step ?? ''),
    `${scope} .tx-status`,
  )
  return { step: await status.getAttribute('data-step'), text: (await status.textContent()).trim(), error: await status.getAttribute('data-error') }
}
async function connect() {
  await page.click('#wallet-connect')
  const label = await page.textContent('[data-test-account="0"]')
  await page.click('[data-test-account="0"]')
  await page.waitForSelector('body:not([data-wallet="none"])')
  return label.trim()
}

try {
  // 1. A claim code from the till: connect, claim, then review as the verified buyer.
  await page.goto(spec.claim)
  await ready()
  await page.waitForSelector('.ownership')
  await snap('claim-before', {
    verdict: await page.getAttribute('[data-verdict]', 'data-verdict'),
    hint: (await page.textContent('.ownership')).trim(),
  })
  const label = await connect()
  await page.waitForSelector('#claim-item')
  await page.click('#claim-item')
  const claimed = await finished('.ownership')
  await snap('claim-confirmed', { label, status: claimed })
  await page.waitForSelector('[data-verdict="claimed"][data-mine="true"]')
  await page.waitForSelector('#review-form')
  await snap('claimed', { verdictTitle: (await page.textContent('#verdict-title')).trim() })
  await page.check('#review-form input[name="rating"][value="4"]')
  await page.fill('#review-text', 'Bought it in the store and claimed it with the code on the receipt. Crunchy, not too salty.')
  await page.click('#review-form button[type="submit"]')
  const reviewed = await finished('#review-form')
  await page.waitForSelector('.reviewed')
  await snap('reviewed', { status: reviewed, reviewed: (await page.textContent('.reviewed')).trim(), rating: await page.getAttribute('.reviewed', 'data-rating') })

  // 2. The account page: the price guarantee owes on a purchase; claim it.
  await page.goto(spec.base + '/?account')
  await ready()
  await page.waitForSelector('.purchases')
  const purchases = await page.$$eval('.purchase', (items) =>
    items.map((li) => ({
      id: li.dataset.purchase,
      compensated: li.dataset.compensated,
      owed: li.querySelector('.claim-compensation')?.getAttribute('data-owed') ?? null,
      text: li.textContent,
    })),
  )
  await snap('account', { purchases })
  const due = purchases.find((p) => p.owed)
  if (due) {
    await page.click(`.purchase[data-purchase="${due.id}"] .claim-compensation`)
    const paid = await finished(`.purchase[data-purchase="${due.id}"]`)
    await page.waitForSelector(`.purchase[data-purchase="${due.id}"][data-compensated="${due.owed}"]`)
    await snap('compensated', {
      status: paid,
      after: await page.$eval(`.purchase[data-purchase="${due.id}"]`, (li) => ({ compensated: li.dataset.compensated, text: li.textContent })),
    })
  }

  // 2b. The gift bag's product page shows the same purchase, now compensated.
  await page.goto(spec.product)
  await ready()
  await page.waitForSelector('.product .purchases .purchase')
  await snap('product-purchases', {
    purchases: await page.$$eval('.product .purchases .purchase', (items) => items.map((li) => ({ id: li.dataset.purchase, compensated: li.dataset.compensated, text: li.textContent }))),
    title: (await page.textContent('#purchases-title')).trim(),
  })
  await page.goto(spec.base + '/?account')
  await ready()
  await page.waitForSelector('.consents')

  // 3. Consents: the demo's consent is live with two recorded uses; a refused grant, a revoke, a new grant.
  const consentsBefore = await page.$$eval('.consent', (items) => items.map((li) => ({ user: li.dataset.dataUser, state: li.dataset.state, text: li.textContent })))
  const uses = await page.$$eval('.use', (rows) => rows.map((tr) => tr.textContent))
  await page.click('#grant-form button[type="submit"]') // nothing ticked: the contract refuses, in words
  const refused = await finished('#grant-form')
  await snap('grant-refused', { consentsBefore, uses, status: refused })
  await page.click('.consent[data-state="live"] .revoke')
  const revoked = await finished('.consent')
  await page.waitForSelector('.consent[data-state="revoked"]')
  await snap('revoked', { status: revoked })
  await page.check('#grant-form input[name="purpose"][value="0"]')
  await page.check('#grant-form input[name="category"][value="2"]')
  await page.fill('#grant-days', '30')
  await page.click('#grant-form button[type="submit"]')
  const granted = await finished('#grant-form')
  await page.waitForSelector('.consent[data-state="live"]')
  await snap('granted', {
    status: granted,
    consents: await page.$$eval('.consent', (items) => items.map((li) => ({ state: li.dataset.state, text: li.textContent }))),
  })

  // 4. A coupon to show at the till.
  await page.goto(spec.voucher)
  await ready()
  await snap('voucher', {
    voucherState: await page.getAttribute('.voucher', 'data-state'),
    signed: await page.getAttribute('[data-signed]', 'data-signed'),
    qrSvg: (await page.locator('.voucher-qr svg').count()) === 1,
    facts: await page.$$eval('.voucher [data-fact]', (divs) => Object.fromEntries(divs.map((d) => [d.dataset.fact, d.querySelector('dd').textContent]))),
  })

  // 5. A wallet extension found by EIP-6963: a stand-in announcing itself as one, whose account
  //    is the same shopper (Anvil signs for its unlocked development accounts), revokes the consent.
  const extension = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1 })
  await extension.addInitScript(({ rpc, account }) => {
    let id = 0
    const provider = {
      async request({ method, params }) {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [account]
        const response = await fetch(rpc, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: params ?? [] }) })
        const answer = await response.json()
        if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code, data: answer.error.data })
        return answer.result
      },
      on() {},
      removeListener() {},
    }
    const info = { uuid: '6f1e6f8e-0000-4000-8000-000000000001', name: 'Stand-in Wallet', icon: 'data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22/>', rdns: 'test.standin' }
    const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }))
    window.addEventListener('eip6963:requestProvider', announce)
    announce()
  }, { rpc: spec.rpc, account: spec.shopper })
  const other = await extension.newPage()
  other.setDefaultTimeout(30000)
  other.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()) })
  other.on('pageerror', (e) => result.consoleErrors.push(String(e)))
  await other.goto(spec.base + '/?account')
  await other.waitForSelector('body[data-state="ready"]')
  await other.click('#wallet-connect')
  const offered = await other.$$eval('.wallet-options button', (bs) => bs.map((b) => b.textContent.trim()))
  await other.click('[data-wallet="test.standin"]')
  await other.waitForSelector('.consent[data-state="live"] .revoke')
  await other.click('.consent[data-state="live"] .revoke')
  await other.waitForFunction(() => ['confirmed', 'reverted', 'failed', 'declined'].includes(document.querySelector('.consent .tx-status')?.dataset.step ?? ''))
  const status = await other.$eval('.consent .tx-status', (p) => ({ step: p.dataset.step, text: p.textContent.trim() }))
  await other.waitForSelector('.consent[data-state="revoked"]')
  const shot = join(spec.out, 'wallet-extension.png')
  await other.screenshot({ path: shot, fullPage: true })
  result.steps.extension = {
    offered,
    who: await other.getAttribute('.wallet-who', 'title'),
    status,
    wallet: await other.evaluate(() => document.body.dataset.wallet),
    scrollWidth: await other.evaluate(() => document.documentElement.scrollWidth),
    screenshot: shot,
  }
} catch (e) {
  await page.screenshot({ path: join(spec.out, 'wallet-failure.png'), fullPage: true }).catch(() => {})
  result.failure = String(e && e.stack ? e.stack : e)
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(result) + '\n')

// Drives the page's wallet actions in Debian's Chromium (playwright-core) with the demo's built-in
// test shopper, and prints what the page showed at each step as JSON for
// tests/e2e/test_frontend_wallet.py. A screenshot of each state goes to <out>/wallet-<step>.png.
// Every write is made by one of the shopper's derived addresses and sent by the page's relay.
// The stand-in extension (step 5) and the reinstall (step 7) run in a browser whose language is
// Chinese: the same flows, read and written in Chinese.
//
//   node frontend/e2e/wallet.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output",
//     "claim": "<item URL with &claim=…>", "voucher": "<URL with ?voucher=…>", "rpc": "<node URL>",
//     "shopper": "0x…", "product": "<gift bag item URL>", "stranger": "0x… (no purchase, no claim)",
//     "strangerSignature": "0x… (its personal_sign of the page's SEED_MESSAGE)",
//     "kiosk": {"item": "<item URL>", "retailer": 2, "purchases": ["0x<purchase id>", …]}}'

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

/**
 * A page in a new context where a stand-in wallet extension announces itself (EIP-6963) with
 * `account`. It passes requests to the node (Anvil signs for its development accounts, as
 * personal_sign of the page's seed message); for another account, `signature` is its signature
 * of that message, made by the test. `locale` is the browser's language.
 */
async function standIn(account, signature = null, locale = undefined) {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1, locale })
  await context.addInitScript(({ rpc, account, signature }) => {
    let id = 0
    const provider = {
      async request({ method, params }) {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [account]
        if (method === 'personal_sign' && signature) return signature
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
  }, { rpc: spec.rpc, account, signature })
  const other = await context.newPage()
  other.setDefaultTimeout(30000)
  other.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()) })
  other.on('pageerror', (e) => result.consoleErrors.push(String(e)))
  return other
}
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
/** What the purchases (in `scope`) show: their cover, claim phase, what is owed and when, the review. */
function readPurchases(scope = '') {
  return page.$$eval(`${scope} .purchase`, (items) =>
    items.map((li) => ({
      id: li.dataset.purchase,
      buyer: li.dataset.buyer,
      compensated: li.dataset.compensated,
      cover: li.dataset.cover,
      claim: li.dataset.claim,
      coverStatus: li.querySelector('.cover')?.dataset.coverStatus ?? null,
      owed: li.querySelector('.claim-compensation')?.getAttribute('data-owed') ?? null,
      owedLater: li.querySelector('.owed.pending')?.dataset.owedLater ?? null,
      from: li.querySelector('.claim-from')?.dataset.from ?? null,
      until: li.querySelector('.claim-until, .claim-closed')?.dataset.until ?? null,
      review: li.querySelector('.review-refused')?.dataset.reason ?? (li.querySelector('.reviewed') ? 'reviewed' : li.querySelector('.purchase-review') ? 'form' : null),
      shopReview: li.querySelector('.shop-review') !== null,
      text: li.textContent.replace(/\s+/g, ' ').trim(),
    })),
  )
}
/** The review list's state: each review's id, whose it is, what the reader can do with it. */
function readReviews() {
  return page.$$eval('.reviews .review', (articles) =>
    articles.map((a) => ({
      id: a.dataset.review,
      own: a.querySelector('.own-review') !== null,
      voted: a.querySelector('.voted') !== null,
      canVote: a.querySelector('.vote-helpful') !== null,
      votes: a.querySelector('.votes')?.textContent.trim() ?? null,
      helpful: Number(a.querySelector('.votes')?.dataset.helpful),
      text: a.querySelector('.review-text')?.textContent ?? null,
    })),
  )
}
const text = (sel) => page.$eval(sel, (n) => n.textContent.replace(/\s+/g, ' ').trim()).catch(() => null)
async function connect(on = page, shot = null) {
  await on.click('#wallet-connect')
  const label = await on.textContent('[data-test-account="0"]')
  const explanation = await on.textContent('#seed-explanation')
  if (shot) await snap(shot, { explanation: explanation.trim() })
  await on.click('[data-test-account="0"]')
  await on.waitForSelector('body:not([data-wallet="none"])')
  return { label: label.trim(), explanation: explanation.trim() }
}
/** What the compensation section shows: each purchase address holding money, and its balance. */
function readMoney(on = page) {
  return on.$$eval('.money .held', (items) => items.map((li) => ({ address: li.dataset.address, balance: li.dataset.balance, text: li.textContent.replace(/\s+/g, ' ').trim(), canMove: li.querySelector('.move-to-wallet') !== null })))
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
  const { label, explanation } = await connect(page, 'connect-dialog')
  await page.waitForSelector('#claim-item')
  await page.click('#claim-item')
  const claimed = await finished('.ownership')
  await snap('claim-confirmed', { label, explanation, status: claimed })
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
  const purchases = await readPurchases()
  const till = await page.$eval('.till-address', (d) => ({ ...d.dataset, text: d.closest('.till').textContent.replace(/\s+/g, ' ').trim(), qr: d.querySelector('.address-qr svg') !== null }))
  await snap('account', { purchases, till, money: await readMoney(), who: await text('.private-addresses') })
  const due = purchases.find((p) => p.owed)
  if (due) {
    await page.click(`.purchase[data-purchase="${due.id}"] .claim-compensation`)
    const paid = await finished(`.purchase[data-purchase="${due.id}"]`)
    await page.waitForSelector(`.purchase[data-purchase="${due.id}"][data-compensated="${due.owed}"]`)
    await ready()
    await snap('compensated', {
      status: paid,
      after: await page.$eval(`.purchase[data-purchase="${due.id}"]`, (li) => ({ compensated: li.dataset.compensated, text: li.textContent, buyer: li.dataset.buyer })),
      money: await readMoney(),
    })
  }

  // 2b. The gift bag's product page shows the same purchase, now compensated; its buyer reviews
  //     the product on it, then votes on and reports another buyer's review with a ticket.
  await page.goto(spec.product)
  await ready()
  await page.waitForSelector('.product .purchases .purchase')
  const onProduct = await readPurchases('.product .purchases')
  // Not claimed yet: the page shows the shopper's address of this item, for the store to sign a claim code for.
  await page.click('.item-address summary')
  await page.waitForSelector('.item-address .address-qr svg')
  const itemAddress = await page.$eval('.item-address', (d) => ({ address: d.dataset.address, text: d.textContent.replace(/\s+/g, ' ').trim() }))
  await snap('product-purchases', { purchases: onProduct, title: (await page.textContent('#purchases-title')).trim(), itemAddress })
  const mine = due ?? onProduct.find((p) => !spec.kiosk.purchases.includes(p.id))
  const slot = `.purchase[data-purchase="${mine.id}"]`
  await page.click(`${slot} .purchase-review summary`)
  await page.check(`${slot} .review-form input[name="rating"][value="5"]`)
  await page.fill(`${slot} .review-form textarea`, 'Bought two in the store for a family visit; the web shop cut its price and the guarantee paid me the difference without asking.')
  await page.click(`${slot} .review-form button[type="submit"]`)
  const purchaseReviewed = await finished(`${slot} .review-form`)
  await page.waitForSelector(`${slot} .reviewed`)
  await ready()
  await snap('purchase-reviewed', {
    status: purchaseReviewed,
    reviewed: await text(`${slot} .reviewed`),
    reviews: await readReviews(),
    voteNote: await text('.vote-note'),
    voteTicket: await page.getAttribute('.vote-note', 'data-ticket'),
  })
  const target = (await readReviews()).find((r) => r.canVote)
  const actions = `.review-actions[data-review="${target.id}"]`
  await page.click(`${actions} .vote-helpful`)
  const voted = await finished(actions)
  await page.waitForSelector(`${actions} .voted`)
  await ready()
  await snap('voted', { status: voted, review: (await readReviews()).find((r) => r.id === target.id), before: target })
  const report = async () => {
    await page.click(`${actions} .report-form summary`)
    await page.selectOption(`${actions} .report-form select`, '4')
    await page.click(`${actions} .report-form .report`)
    return finished(actions)
  }
  const reported = await report()
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('reported 1 time'), `article[data-review="${target.id}"] .votes`)
  await ready()
  await snap('reported', { status: reported, review: (await readReviews()).find((r) => r.id === target.id) })
  await snap('report-refused', { status: await report() })

  // 2c. A shop the brand does not recognise (kiosk): its purchases, their cover, the review the
  //     chain would refuse, the review it hides, and the terms it announced ahead.
  await page.goto(spec.kiosk.item)
  await ready()
  const kioskPrices = `.prices .retailer-prices[data-retailer="${spec.kiosk.retailer}"]`
  await page.waitForSelector('.product .purchases .purchase')
  await snap('kiosk', {
    purchases: await readPurchases('.product .purchases'),
    hidden: await page.$eval('.hidden-reviews', (p) => ({ count: p.dataset.hidden, text: p.textContent })).catch(() => null),
    reviewsEmpty: await text('.reviews .empty'),
    pool: await page.$eval(`${kioskPrices} .pool`, (p) => ({ ...p.dataset, text: p.textContent })).catch(() => null),
    policyChange: await page.$eval(`${kioskPrices} .policy-change`, (p) => ({ since: p.dataset.since, text: p.textContent })).catch(() => null),
    voteNote: await text('.vote-note'),
  })

  await page.goto(spec.base + '/?account')
  await ready()
  await page.waitForSelector('.consents')

  // 3. Consents: the demo's consent is live with two recorded uses; a refused grant, a revoke, a new grant.
  const consentsBefore = await page.$$eval('.consent', (items) => items.map((li) => ({ user: li.dataset.dataUser, consumer: li.dataset.consumer, state: li.dataset.state, text: li.textContent })))
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
    consents: await page.$$eval('.consent', (items) => items.map((li) => ({ consumer: li.dataset.consumer, state: li.dataset.state, text: li.textContent }))),
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
  //    is the same shopper (Anvil signs for its unlocked development accounts), revokes the
  //    consent, in a browser whose language is Chinese (after a grant the contract refuses).
  const other = await standIn(spec.shopper, null, 'zh-CN')
  await other.goto(spec.base + '/?account')
  await other.waitForSelector('body[data-state="ready"]')
  await other.click('#wallet-connect')
  const offered = await other.$$eval('.wallet-options button', (bs) => bs.map((b) => b.textContent.trim()))
  const otherExplanation = (await other.textContent('#seed-explanation')).trim()
  await other.click('[data-wallet="test.standin"]')
  await other.waitForSelector('.consent[data-state="live"] .revoke')
  await other.waitForSelector('body[data-state="ready"]')
  const chineseAccount = await other.evaluate(() => ({
    lang: document.documentElement.lang,
    title: document.getElementById('account-title')?.textContent ?? null,
    headings: [...document.querySelectorAll('.account > section > h3')].map((h) => h.textContent),
    consent: document.querySelector('.consent')?.textContent.replace(/\s+/g, ' ').trim() ?? null,
    purchases: [...document.querySelectorAll('.purchase')].map((li) => li.textContent.replace(/\s+/g, ' ').trim()),
    uses: document.querySelector('.uses')?.textContent.replace(/\s+/g, ' ').trim() ?? null,
  }))
  await other.click('#grant-form button[type="submit"]') // nothing ticked: refused, in Chinese words
  await other.waitForFunction(() => document.querySelector('#grant-form .tx-status')?.dataset.step === 'reverted')
  const grantRefused = await other.$eval('#grant-form .tx-status', (p) => ({ step: p.dataset.step, text: p.textContent.trim(), error: p.dataset.error }))
  await other.click('.consent[data-state="live"] .revoke')
  await other.waitForFunction(() => ['confirmed', 'reverted', 'failed', 'declined'].includes(document.querySelector('.consent .tx-status')?.dataset.step ?? ''))
  const status = await other.$eval('.consent .tx-status', (p) => ({ step: p.dataset.step, text: p.textContent.trim() }))
  await other.waitForSelector('.consent[data-state="revoked"]')
  const shot = join(spec.out, 'wallet-extension.png')
  await other.screenshot({ path: shot, fullPage: true })
  const who = await other.getAttribute('.wallet-who', 'title')
  // The next page of the tab: the seed was in memory only, so the extension is offered again, and
  // one click asks it for the signature again (the same one: the same addresses).
  await other.reload()
  await other.waitForSelector('#wallet-reconnect')
  const reconnectLabel = (await other.textContent('#wallet-reconnect')).trim()
  await other.click('#wallet-reconnect')
  await other.waitForSelector('.consent[data-state="revoked"]')
  result.steps.extension = {
    offered,
    explanation: otherExplanation,
    account: chineseAccount,
    grantRefused,
    who,
    status,
    reconnectLabel,
    consumerAfterReconnect: await other.getAttribute('.consent', 'data-consumer'),
    badgeAfterReconnect: (await other.textContent('.consent .badge')).trim(),
    wallet: await other.evaluate(() => document.body.dataset.wallet),
    scrollWidth: await other.evaluate(() => document.documentElement.scrollWidth),
    screenshot: shot,
  }

  // 6. A reader who bought nothing and claimed nothing: no vote or report buttons, and why.
  const stranger = await standIn(spec.stranger, spec.strangerSignature)
  await stranger.goto(spec.product)
  await stranger.waitForSelector('body[data-state="ready"]')
  await stranger.click('#wallet-connect')
  await stranger.click('[data-wallet="test.standin"]')
  await stranger.waitForSelector('.vote-note')
  await stranger.waitForSelector('body[data-state="ready"]')
  const strangerShot = join(spec.out, 'wallet-stranger.png')
  await stranger.screenshot({ path: strangerShot, fullPage: true })
  result.steps.stranger = {
    wallet: await stranger.evaluate(() => document.body.dataset.wallet),
    note: await stranger.$eval('.vote-note', (p) => ({ ticket: p.dataset.ticket, text: p.textContent })),
    buttons: await stranger.locator('.review-actions button').count(),
    reviews: await stranger.locator('.reviews .review').count(),
    scrollWidth: await stranger.evaluate(() => document.documentElement.scrollWidth),
    screenshot: strangerShot,
  }

  // 7. A reinstall: a fresh browser profile (whose language is Chinese), the same key. The account
  //    page finds the same purchases again, from the key alone.
  const fresh = (await phonePage(browser, result.consoleErrors, { locale: 'zh-CN' })).page
  fresh.setDefaultTimeout(30000)
  await fresh.goto(spec.base + '/?account')
  await fresh.waitForSelector('body[data-state="ready"]')
  const freshConnect = await connect(fresh)
  await fresh.waitForSelector('.purchases')
  await fresh.waitForSelector('body[data-state="ready"]')
  const reinstallShot = join(spec.out, 'wallet-reinstall.png')
  await fresh.screenshot({ path: reinstallShot, fullPage: true })
  result.steps.reinstall = {
    purchases: await fresh.$$eval('.purchase', (items) => items.map((li) => ({ id: li.dataset.purchase, buyer: li.dataset.buyer }))),
    consents: await fresh.$$eval('.consent', (items) => items.map((li) => ({ consumer: li.dataset.consumer, state: li.dataset.state }))),
    uses: await fresh.locator('.use').count(),
    till: await fresh.$eval('.till-address', (d) => ({ ...d.dataset, text: d.closest('.till').textContent.replace(/\s+/g, ' ').trim() })),
    explanation: freshConnect.explanation,
    money: await fresh.$eval('.money', (s) => s.textContent.replace(/\s+/g, ' ').trim()).catch(() => null),
    scrollWidth: await fresh.evaluate(() => document.documentElement.scrollWidth),
    screenshot: reinstallShot,
  }

  // 8. The compensation paid to the purchase address, moved to the wallet (after the warning).
  await page.goto(spec.base + '/?account')
  await ready()
  const held = (await readMoney()).find((m) => m.canMove)
  const slotOf = `.held[data-address="${held.address}"]`
  const warning = await text(`${slotOf} .warning`)
  await page.click(`${slotOf} .move-to-wallet`)
  const moved = await finished(slotOf)
  await page.waitForSelector(`${slotOf}`, { state: 'detached' })
  await ready()
  await snap('moved', { held, warning, status: moved, money: await readMoney(), empty: await text('.money .empty') })
} catch (e) {
  await page.screenshot({ path: join(spec.out, 'wallet-failure.png'), fullPage: true }).catch(() => {})
  result.failure = String(e && e.stack ? e.stack : e)
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(result) + '\n')

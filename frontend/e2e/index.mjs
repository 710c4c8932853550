// Opens every kind of page with the index the test names (or none), watching every request the
// page sends to the node and to the index, and prints as JSON what lists each page showed, every
// eth_getLogs it asked for (with any that named no numeric end or spanned more than 10,000 blocks)
// and the index requests it made, for tests/e2e/test_frontend_index.py. Screenshots go to
// <out>/index-<tag>-<case>.png.
//
//   node frontend/e2e/index.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output", "tag": "fake",
//     "rpc": "http://127.0.0.1:8545", "index": "http://127.0.0.1:9000" | null,
//     "cases": [{"name": "authentic", "path": "/?item=…", "connect": false}]}'
//
// "index": a URL puts it in the page's config.json; null takes any index out; absent leaves the
// config as served. "limit": {"span": 40, "style": "alchemy" | "plain"} makes the node refuse any
// eth_getLogs over `span` blocks with the words of a public provider (with its suggested range, or
// its limit), as the page must cope with them.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
mkdirSync(spec.out, { recursive: true })
const MAX_SPAN = 10_000n
const QUANTITY = /^0x[0-9a-f]+$/i

/** Runs in the page: every list it shows, by kind, as plain values. */
function readLists() {
  const text = (node) => node?.textContent?.replace(/\s+/g, ' ').trim() ?? null
  const all = (sel) => [...document.querySelectorAll(sel)]
  const facts = {}
  for (const div of all('[data-fact]')) facts[div.dataset.fact] = text(div.querySelector('dd'))
  return {
    state: document.body.dataset.state,
    verdict: document.querySelector('[data-verdict]')?.getAttribute('data-verdict') ?? null,
    facts,
    timelineSummary: text(document.querySelector('.timeline .summary')),
    missing: Number(document.querySelector('.timeline .incomplete')?.dataset.missing ?? 0),
    events: all('.timeline .event').map((li) => ({ step: li.dataset.step, verified: li.dataset.verified === 'true', problem: text(li.querySelector('.problem')) })),
    custody: all('.responsibility tbody tr').map((tr) => `${tr.dataset.step}:${tr.dataset.kind}`),
    livePrices: all('.live-prices tbody tr').map((tr) => `${tr.dataset.channel}:${tr.dataset.price}:${tr.dataset.type}`),
    priceHistory: all('.history-table tbody tr').map((tr) => `${tr.dataset.channel}:${tr.dataset.price}:${tr.dataset.live}`),
    policyChanges: all('.policy-change').map((p) => text(p)),
    reviews: all('.review').map((a) => a.dataset.review),
    reviewTexts: all('.review').map((a) => `${a.dataset.review}:${a.dataset.content}:${text(a.querySelector(':scope > .review-text')) ?? ''}`),
    replies: all('.reply').map((r) => r.dataset.reply),
    replyTexts: all('.reply').map((r) => `${r.dataset.reply}:${text(r.querySelector('.reply-text')) ?? ''}`),
    unconfirmedPrices: Number(document.querySelector('.unconfirmed-prices')?.dataset.unconfirmed ?? 0),
    channels: all('.channel-list li').map((li) => li.dataset.channel),
    merchant: text(document.querySelector('.merchant-profile h2')),
    purchases: all('.purchase').map((li) => `${li.dataset.purchase}:${li.dataset.cover}:${li.dataset.compensated}:${li.dataset.claim}`),
    owed: all('[data-owed]').map((n) => n.dataset.owed),
    held: all('.money .held').map((li) => `${li.dataset.address}:${li.dataset.balance}`),
    consents: all('.consent').map((li) => `${li.dataset.dataUser}:${li.dataset.state}`),
    uses: all('.use').map((tr) => `${tr.dataset.purpose}:${tr.dataset.category}`),
    voucher: document.querySelector('.voucher')?.dataset.state ?? null,
    signed: document.querySelector('[data-signed]')?.dataset.signed ?? null,
    error: text(document.querySelector('#product .error')) ?? (document.getElementById('lookup-error')?.hidden ? null : text(document.getElementById('lookup-error'))),
  }
}

/** A public provider's refusal of [from, to] when it spans more than `limit.span` blocks, else undefined. */
function refusal(limit, filter) {
  const from = BigInt(filter.fromBlock ?? '0x0')
  const to = BigInt(filter.toBlock ?? '0x0')
  if (to - from + 1n <= BigInt(limit.span)) return undefined
  if (limit.style === 'alchemy') {
    const end = from + BigInt(limit.span) - 1n
    return {
      code: -32602,
      message: `Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x${from.toString(16)}, 0x${end.toString(16)}]`,
    }
  }
  return { code: -32000, message: `exceed maximum block range: ${limit.span}` }
}

/** The node behind `limit`: refused eth_getLogs are answered here, the rest by the node. */
async function limitNode(page, limit, refused) {
  await page.route((url) => url.href.replace(/\/$/, '') === spec.rpc.replace(/\/$/, ''), async (route) => {
    const request = route.request()
    if (request.method() !== 'POST') return route.continue()
    const body = JSON.parse(request.postData() ?? 'null')
    const calls = Array.isArray(body) ? body : [body]
    const errors = new Map()
    for (const call of calls) {
      const why = call?.method === 'eth_getLogs' ? refusal(limit, call.params?.[0] ?? {}) : undefined
      if (why) errors.set(call.id, why)
    }
    if (errors.size === 0) return route.continue()
    refused.push(...errors.values())
    const rest = calls.filter((call) => !errors.has(call.id))
    const answered = rest.length
      ? await (await fetch(spec.rpc, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(rest) })).json()
      : []
    const byId = new Map(answered.map((a) => [a.id, a]))
    const answers = calls.map((call) => (errors.has(call.id) ? { jsonrpc: '2.0', id: call.id, error: errors.get(call.id) } : byId.get(call.id)))
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(Array.isArray(body) ? answers : answers[0]) })
  })
}

const browser = await launch()
const results = []
try {
  for (const c of spec.cases) {
    const consoleErrors = []
    const { context, page } = await phonePage(browser, consoleErrors)
    page.setDefaultTimeout(45000)
    const warnings = []
    page.on('console', (m) => {
      if (m.type() === 'warning') warnings.push(m.text())
    })
    // Network failures the browser itself reports (not the page's code), with their URL.
    const failedLoads = []
    page.on('requestfailed', (r) => failedLoads.push(r.url()))
    page.on('response', (r) => {
      if (r.status() >= 400) failedLoads.push(r.url())
    })
    if ('index' in spec) {
      await page.route('**/config.json', async (route) => {
        const response = await route.fetch()
        const config = await response.json()
        if (spec.index) config.index = spec.index
        else delete config.index
        await route.fulfill({ response, json: config })
      })
    }
    const refused = []
    if (spec.limit) await limitNode(page, spec.limit, refused)
    const getLogs = []
    const violations = []
    const indexRequests = []
    let recording = !c.connect
    let requests = 0
    page.on('request', (request) => {
      const url = request.url()
      if (url.includes('/o2o/')) {
        if (recording && request.method() === 'POST') indexRequests.push(url)
        return
      }
      if (!url.startsWith(spec.rpc) || request.method() !== 'POST') return
      let body
      try {
        body = JSON.parse(request.postData() ?? 'null')
      } catch {
        return
      }
      const http = requests++ // which HTTP request (a JSON-RPC batch or a single call) carried each eth_getLogs
      for (const call of Array.isArray(body) ? body : [body]) {
        if (call?.method !== 'eth_getLogs') continue
        const filter = call.params?.[0] ?? {}
        getLogs.push({ fromBlock: filter.fromBlock ?? null, toBlock: filter.toBlock ?? null, http })
        const bounded = QUANTITY.test(filter.fromBlock ?? '') && QUANTITY.test(filter.toBlock ?? '')
        if (!bounded) violations.push({ why: 'no numeric fromBlock and toBlock', filter })
        else if (BigInt(filter.toBlock) - BigInt(filter.fromBlock) + 1n > MAX_SPAN) violations.push({ why: 'spans more than 10,000 blocks', filter })
      }
    })
    const ready = () => page.waitForSelector('body[data-state="ready"], body[data-state="error"]')
    if (c.connect) {
      // The built-in test shopper connects on the account page; the case's page is then opened connected.
      await page.goto(`${spec.base}/?account`)
      await ready()
      await page.click('#wallet-connect')
      await page.click('[data-test-account="0"]')
      await page.waitForSelector('body:not([data-wallet="none"])')
      await page.waitForSelector('article.account')
      await ready()
      recording = true
    }
    const started = Date.now()
    await page.goto(spec.base + c.path)
    if (c.path.includes('account')) await page.waitForSelector(c.connect ? 'article.account' : '.account')
    await ready()
    const elapsedMs = Date.now() - started
    const shown = await page.evaluate(readLists)
    const screenshot = join(spec.out, `index-${spec.tag}-${c.name}.png`)
    await page.screenshot({ path: screenshot, fullPage: true })
    results.push({ name: c.name, ...shown, getLogs, refused: refused.length, violations, indexRequests, consoleErrors, warnings, failedLoads, elapsedMs, screenshot })
    await context.close()
  }
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(results) + '\n')

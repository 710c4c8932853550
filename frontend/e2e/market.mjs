// Drives the market sections of the product page (prices, price history, reviews) and the
// merchant pages in Debian's Chromium through playwright-core, and prints what they show as JSON
// for tests/e2e/test_frontend_market.py. A screenshot of each case goes to <out>/market-<case>.png
// (and <out>/market-<case>-open.png with every <details> opened, when the case asks for it).
// A case's `locale` ("zh-CN") is the browser's language.
//
//   node frontend/e2e/market.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output",
//     "cases": [{"name": "gift-bag", "item": "https://id.gs1.org/01/…", "open": true}, {"name": "store", "merchant": "1"}]}'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
mkdirSync(spec.out, { recursive: true })

/** Runs in the page: everything the market sections and merchant pages show. */
function readPage() {
  const text = (node) => node?.textContent?.replace(/\s+/g, ' ').trim() ?? null
  const all = (root, sel) => [...(root ?? document).querySelectorAll(sel)]
  const reviewsOf = (section) =>
    all(section, '.review-list > li').map((li) => {
      const article = li.querySelector('.review')
      const verified = article.querySelector('.verified')
      return {
        id: article.dataset.review,
        folded: li.dataset.folded === 'true',
        usefulness: Number(article.dataset.usefulness),
        foldReason: text(li.querySelector(':scope > details > summary')),
        rating: Number(article.querySelector('.rating')?.dataset.rating),
        ratingText: text(article.querySelector('.rating-text')),
        text: text(article.querySelector('.review-text')),
        hash: article.querySelector('.review-check [data-hash], :scope > [data-hash]')?.dataset.hash ?? null,
        verified: text(verified),
        verifiedTitle: verified?.getAttribute('title') ?? null,
        helpful: Number(article.querySelector('.votes')?.dataset.helpful),
        notHelpful: Number(article.querySelector('.votes')?.dataset.notHelpful),
        boughtAt: article.querySelector('.review-meta a')?.getAttribute('href') ?? null,
        boughtAtName: text(article.querySelector('.review-meta a')),
        replies: all(article, '.reply').map((r) => ({
          by: text(r.querySelector('.reply-by')),
          byHref: r.querySelector('.reply-by a')?.getAttribute('href') ?? null,
          text: text(r.querySelector('.reply-text')),
          hash: r.dataset.reply,
        })),
        edited: text(article.querySelector('.edited > summary')),
      }
    })
  const reviewSection = (sel) => {
    const section = document.querySelector(sel)
    if (!section) return null
    const average = section.querySelector('.average')
    return {
      title: text(section.querySelector('h2')),
      empty: text(section.querySelector('.empty')),
      problem: text(section.querySelector('.problem')),
      average: average ? Number(average.dataset.average) : null,
      count: average ? Number(average.dataset.count) : 0,
      averageText: text(average),
      hidden: text(section.querySelector('.hidden-reviews')),
      voteNote: text(section.querySelector('.vote-note')),
      reviews: reviewsOf(section),
    }
  }
  const prices = document.querySelector('section.prices')
  const chart = prices?.querySelector('svg.price-chart')
  const profile = document.querySelector('.merchant-profile')
  const facts = {}
  for (const div of all(profile, '[data-fact]')) facts[div.dataset.fact] = text(div.querySelector('dd'))
  const overflowing = all(document, 'main *')
    .filter((n) => n.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .map((n) => `${n.tagName.toLowerCase()}.${n.className?.baseVal ?? n.className}`)
    .slice(0, 5)
  return {
    state: document.body.dataset.state,
    lang: document.documentElement.lang,
    title: document.title,
    footer: document.querySelector('footer')?.innerText.replace(/\s+/g, ' ').trim() ?? null,
    verdict: document.querySelector('[data-verdict]')?.getAttribute('data-verdict') ?? null,
    sections: all(document, '#product section > h2, #product article > section > h2').map((h) => text(h)),
    prices: prices && {
      empty: text(prices.querySelector('.empty')),
      problem: text(prices.querySelector('.problem')),
      guarantee: text(prices.querySelector('.guarantee')),
      pool: prices.querySelector('.pool') && { ...prices.querySelector('.pool').dataset, text: text(prices.querySelector('.pool')) },
      policyChanges: all(prices, '.policy-change').map((p) => text(p)),
      live: all(prices, '.live-prices tbody tr').map((tr) => ({
        channel: Number(tr.dataset.channel),
        kind: tr.dataset.kind,
        name: text(tr.querySelector('th a')),
        href: tr.querySelector('th a')?.getAttribute('href') ?? null,
        price: tr.dataset.price,
        priceText: text(tr.querySelector('.amount')),
        type: tr.dataset.type,
        lowest: tr.dataset.lowest === 'true',
        lowestMark: text(tr.querySelector('.lowest')),
        until: text(tr.querySelector('td:last-child')),
      })),
      chart: chart && {
        role: chart.getAttribute('role'),
        title: text(chart.querySelector('title')),
        desc: text(chart.querySelector('desc')),
        series: all(chart, 'g.series').map((g) => ({
          channel: Number(g.dataset.channel),
          label: g.dataset.label,
          levels: g.dataset.levels ? g.dataset.levels.split(' ') : [],
          points: all(g, 'circle.point').map((c) => ({ price: c.dataset.price, from: Number(c.dataset.from), y: Number(c.getAttribute('cy')) })),
          path: g.querySelector('path')?.getAttribute('d') ?? '',
        })),
        labels: all(chart, '.labels text').map((t) => text(t)),
        legend: all(prices, '.chart-legend li').map((li) => text(li)),
        table: all(prices, '.history-table tbody tr').map((tr) => ({
          channel: Number(tr.dataset.channel),
          price: tr.dataset.price,
          live: tr.dataset.live === 'true',
          cells: all(tr, 'th, td').map((c) => text(c)),
        })),
      },
    },
    reviews: reviewSection('section.reviews'),
    merchant: profile && {
      channel: Number(profile.dataset.channel),
      name: text(profile.querySelector('h2')),
      kind: text(profile.querySelector('.kind')),
      facts,
      profileCheck: profile.querySelector('[data-hash]')?.dataset.hash ?? null,
      channels: all(document, '.channel-list li').map((li) => ({
        channel: Number(li.dataset.channel),
        name: text(li.querySelector('a')),
        href: li.querySelector('a')?.getAttribute('href'),
        current: li.querySelector('a')?.getAttribute('aria-current') === 'page',
      })),
    },
    error: text(document.querySelector('#product .error')) ?? (document.getElementById('lookup-error')?.hidden ? null : text(document.getElementById('lookup-error'))),
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    overflowing,
  }
}

const browser = await launch()
const results = []
try {
  for (const c of spec.cases) {
    const consoleErrors = []
    const { context, page } = await phonePage(browser, consoleErrors, c.locale ? { locale: c.locale } : {})
    // When the verdict and the market sections first appear, in ms since navigation started.
    await page.addInitScript(() => {
      const seen = (window.__marks = {})
      new MutationObserver(() => {
        for (const [key, sel] of [['verdictMs', '[data-verdict]'], ['pricesMs', 'section.prices'], ['reviewsMs', 'section.reviews'], ['merchantMs', '.merchant-profile']]) {
          if (seen[key] === undefined && document.querySelector(sel)) seen[key] = Math.round(performance.now())
        }
      }).observe(document, { childList: true, subtree: true })
    })
    const query = c.merchant !== undefined ? `merchant=${encodeURIComponent(c.merchant)}` : `item=${encodeURIComponent(c.item)}`
    const started = Date.now()
    await page.goto(`${spec.base}/?${query}`)
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30000 })
    const elapsedMs = Date.now() - started
    const shown = await page.evaluate(readPage)
    shown.marks = await page.evaluate(() => window.__marks)
    const screenshot = join(spec.out, `market-${c.name}.png`)
    await page.screenshot({ path: screenshot, fullPage: true })
    let screenshotOpen = null
    if (c.open) {
      await page.evaluate(() => document.querySelectorAll('#product details').forEach((d) => (d.open = true)))
      await page.waitForTimeout(300)
      shown.openScrollWidth = await page.evaluate(() => document.documentElement.scrollWidth)
      screenshotOpen = join(spec.out, `market-${c.name}-open.png`)
      await page.screenshot({ path: screenshotOpen, fullPage: true })
    }
    results.push({ name: c.name, ...shown, consoleErrors, elapsedMs, screenshot, screenshotOpen })
    await context.close()
  }
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(results) + '\n')

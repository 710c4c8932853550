// Drives the product page in Debian's Chromium through playwright-core and prints what it shows
// as JSON, for tests/e2e/test_frontend.py to assert on. A screenshot of each state goes to
// <out>/<case>.png.
//
//   node frontend/e2e/product.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output",
//     "cases": [{"name": "authentic", "item": "https://id.gs1.org/01/…"}, {"name": "scan", "qr": "x.png"}]}'
// A case's `locale` ("zh-CN") is the browser's language; its `switchTo` ("English") then clicks the
// header's language switch and reads the page again.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
mkdirSync(spec.out, { recursive: true })

const browser = await launch()
const results = []
try {
  for (const c of spec.cases) {
    const consoleErrors = []
    const { context, page } = await phonePage(browser, consoleErrors, c.locale ? { locale: c.locale } : {})
    const started = Date.now()
    if (c.qr) {
      await page.goto(spec.base + '/')
      await page.waitForSelector('body[data-state="idle"]', { timeout: 15000 })
      await page.setInputFiles('#qr-file', c.qr)
    } else {
      await page.goto(`${spec.base}/?item=${encodeURIComponent(c.item)}`)
    }
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30000 })
    if (c.switchTo) {
      await page.getByRole('link', { name: c.switchTo }).click()
      await page.waitForURL(/lang=/)
      await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30000 })
    }
    const elapsedMs = Date.now() - started
    const shown = await page.evaluate(() => {
      const text = (sel) => document.querySelector(sel)?.textContent?.trim() ?? null
      const facts = {}
      for (const div of document.querySelectorAll('[data-fact]')) facts[div.dataset.fact] = div.querySelector('dd')?.textContent ?? ''
      return {
        state: document.body.dataset.state,
        lang: document.documentElement.lang,
        languageSwitch: [...document.querySelectorAll('nav.language a')].map((a) => a.textContent),
        verdict: document.querySelector('[data-verdict]')?.getAttribute('data-verdict') ?? null,
        verdictTitle: text('#verdict-title'),
        error: document.getElementById('lookup-error')?.hidden ? null : text('#lookup-error'),
        input: document.getElementById('item-input')?.value ?? null,
        facts,
        timelineSummary: text('.timeline .summary'),
        events: [...document.querySelectorAll('.timeline .event')].map((li) => ({
          step: li.dataset.step,
          heading: li.querySelector('h3')?.firstChild?.textContent?.trim() ?? null,
          verified: li.dataset.verified === 'true',
          recall: li.classList.contains('event-recall'),
          text: li.textContent,
        })),
        custody: [...document.querySelectorAll('.responsibility tbody tr')].map((tr) => ({
          step: tr.dataset.step,
          kind: tr.dataset.kind,
          // the step and who, as their first line says them (a place follows the step on its own line)
          words: [...tr.querySelectorAll('td')].slice(1).map((td) => td.firstChild?.textContent?.trim() ?? ''),
        })),
        recall: document.querySelector('.recall')
          ? {
              notice: document.querySelector('.recall').dataset.notice,
              facts: Object.fromEntries([...document.querySelectorAll('[data-recall]')].map((d) => [d.dataset.recall, d.querySelector('dd').innerText.trim()])),
              // drawn first: right after the verdict
              afterVerdict: document.querySelector('.verdict')?.nextElementSibling?.classList.contains('recall') ?? false,
            }
          : null,
        // What a shopper sees without opening anything (closed <details> are not rendered).
        visibleText: {
          timeline: document.querySelector('.timeline')?.innerText ?? '',
          recall: document.querySelector('.recall')?.innerText ?? '',
          custody: document.querySelector('.responsibility')?.innerText ?? '',
          verdict: document.querySelector('.verdict')?.innerText ?? '',
        },
        scrollWidth: document.documentElement.scrollWidth,
      }
    })
    const screenshot = join(spec.out, `${c.name}.png`)
    await page.screenshot({ path: screenshot, fullPage: true })
    results.push({ name: c.name, ...shown, consoleErrors, elapsedMs, screenshot })
    await context.close()
  }
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(results) + '\n')

// Accessibility of the BUILT page in Debian's Chromium (playwright-core), for tests/e2e/test_frontend_a11y.py.
// Each page of `pages` is opened at a phone's size and at a desktop's, and
//   - axe-core (npm) checks it against WCAG 2.0/2.1/2.2 A and AA (contrast and tap-target size
//     included): every violation is reported with its impact, rule and elements;
//   - the keyboard alone is tried: Tab from the top of the page reaches every control a pointer
//     can use (links, buttons, inputs, the "Show the record" disclosures), each showing a visible
//     focus indicator, and Enter on a disclosure opens it.
// Prints a JSON list: per page and viewport, { name, viewport, state, lang, productText (what the
// page shows before anything is opened), violations, unreachable, focusInvisible, disclosureOpens,
// consoleErrors, screenshot }.
//
//   node frontend/e2e/a11y.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output",
//     "pages": [{"name": "home", "path": "/"}, {"name": "jam", "path": "/?item=…"}]}'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
mkdirSync(spec.out, { recursive: true })
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
const VIEWPORTS = {
  phone: { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 },
}
const settled = 'body[data-state="ready"], body[data-state="error"], body[data-state="idle"]'
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

/** Runs in the page: every visible control a pointer could use, by a stable description. */
function controls() {
  const visible = (n) => {
    const r = n.getBoundingClientRect()
    const s = getComputedStyle(n)
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !n.closest('[hidden]') && !n.closest('details:not([open]) > :not(summary)')
  }
  const found = [...document.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
  return found.filter((n) => visible(n) && !n.disabled).map((n, i) => {
    n.dataset.a11yId = String(i)
    return `${i}:${n.tagName.toLowerCase()}:${(n.textContent || n.getAttribute('aria-label') || n.id || '').replace(/\s+/g, ' ').trim().slice(0, 40)}`
  })
}

/** Runs in the page: the focused control's id (see `controls`) and whether its focus can be seen. */
function focused() {
  const n = document.activeElement
  if (!n || n === document.body) return null
  const s = getComputedStyle(n)
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== 'none')
  return { id: n.dataset.a11yId ?? null, visible: Boolean(ring), what: `${n.tagName.toLowerCase()} ${(n.textContent || n.id || '').trim().slice(0, 30)}` }
}

const results = []
const browser = await launch()
try {
  for (const p of spec.pages) {
    for (const [viewportName, options] of Object.entries(VIEWPORTS)) {
      const consoleErrors = []
      const { context, page } = await phonePage(browser, consoleErrors, options)
      await page.goto(spec.base + p.path)
      await page.waitForSelector(settled, { timeout: 30000 })
      if (p.wait) await page.waitForSelector(p.wait, { timeout: 30000 })
      // What the page shows before anything is opened: the words a shopper reads by default.
      const shown = await page.evaluate(() => ({ lang: document.documentElement.lang, text: document.getElementById('product')?.innerText ?? '' }))
      await page.addScriptTag({ path: AXE })
      const axe = await page.evaluate(async (tags) => {
        const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }))
      }, TAGS)
      // Keyboard: Tab through the page (twice as many presses as controls, capped), noting each stop
      // as it is focused (a listener in the page: one round trip per press, not two). Reaching a
      // control by keyboard does not depend on the language: a page with `"keyboard": false` (the
      // same view in another language) is not tried again.
      const all = await page.evaluate(controls)
      const reached = new Set()
      const focusInvisible = []
      if (p.keyboard !== false) {
        await page.evaluate(`window.__a11yFocused = ${focused.toString()}`) // a script string: the page's CSP allows no eval of its own
        await page.evaluate(() => {
          window.__a11yStops = []
          document.addEventListener('focusin', () => window.__a11yStops.push(window.__a11yFocused()))
          document.activeElement?.blur()
        })
        for (let i = 0; i < Math.min(all.length * 2 + 5, 400); i++) await page.keyboard.press('Tab')
        for (const f of await page.evaluate(() => window.__a11yStops)) {
          if (!f) continue
          if (f.id !== null) reached.add(f.id)
          if (!f.visible && !focusInvisible.includes(f.what)) focusInvisible.push(f.what)
        }
      }
      const unreachable = p.keyboard === false ? [] : all.filter((c) => !reached.has(c.split(':')[0]))
      // Enter on the first disclosure opens it.
      let disclosureOpens = null
      const summary = page.locator('details.record > summary').first()
      if ((await summary.count()) > 0) {
        await summary.focus()
        await page.keyboard.press('Enter')
        disclosureOpens = await page.evaluate(() => document.querySelector('details.record')?.open ?? false)
      }
      const screenshot = join(spec.out, `a11y-${p.name}-${viewportName}.png`)
      await page.screenshot({ path: screenshot, fullPage: true })
      results.push({
        name: p.name,
        viewport: viewportName,
        state: await page.evaluate(() => document.body.dataset.state),
        lang: shown.lang,
        productText: shown.text,
        violations: axe,
        controls: all.length,
        keyboard: p.keyboard !== false,
        unreachable,
        focusInvisible,
        disclosureOpens,
        consoleErrors,
        screenshot,
      })
      await context.close()
    }
  }
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(results) + '\n')

// What every browser script here shares: Debian's Chromium through playwright-core (its own
// browser download does not work on these machines), a phone-sized page, console errors collected.
import { chromium } from 'playwright-core'

/** Chromium headless with the flags these machines need, plus `extraArgs`. */
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  })
}

/**
 * A fresh 375 x 812 context and page of `browser`; console errors and page errors go to `errors`.
 * `contextOptions` (Playwright's newContext options) override the defaults, e.g. a device profile.
 */
export async function phonePage(browser, errors, contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1, ...contextOptions })
  const page = await context.newPage()
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  page.on('pageerror', (e) => errors.push(String(e)))
  return { context, page }
}

// Drives the home page and the lookup box of the BUILT page in Debian's Chromium (playwright-core),
// at a phone's width, and prints what they show as JSON for tests/e2e/test_frontend_home.py:
//   home        — the home page: its words, the order of its controls, their sizes, the contrast of
//                 its text, the demo's sample list from config.json, and where Tab goes;
//   bare        — the same page when config.json lists no samples (a real deployment);
//   sample      — a sample item opened from the list by keyboard (focus, Enter);
//   forms       — each of `forms` typed into the box and sent with Enter: the verdict and item id;
//   problems    — each of `problems` (a typed text, or a file for the photo input, or the camera
//                 with no permission): the sentence the page shows.
// Screenshots: <out>/home.png, home-bare.png, home-<form or problem name>.png.
//
//   node frontend/e2e/home.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output",
//     "forms": [{"name": "element-string", "text": "(01)…(21)…"}],
//     "problems": [{"name": "garbage", "text": "hello"}, {"name": "no-qr", "file": "blank.png"}, {"name": "camera", "camera": true}]}'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
mkdirSync(spec.out, { recursive: true })
const settled = 'body[data-state="ready"], body[data-state="error"]'

/** Runs in the page: what the home page shows, sizes and contrast included. */
function readHome() {
  const text = (node) => node?.textContent?.replace(/\s+/g, ' ').trim() ?? null
  const box = (node) => {
    const r = node.getBoundingClientRect()
    return { width: Math.round(r.width), height: Math.round(r.height) }
  }
  const rgb = (value) => (value.match(/[\d.]+/g) ?? []).map(Number)
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4))
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
  }
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor)
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c
    }
    return [255, 255, 255]
  }
  const contrast = (node) => {
    const a = luminance(rgb(getComputedStyle(node).color))
    const b = luminance(background(node))
    return Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 100) / 100
  }
  const before = (a, b) => Boolean(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)
  const camera = document.getElementById('camera-start')
  const upload = document.querySelector('label[for="qr-file"]')
  const input = document.getElementById('item-input')
  const submit = document.querySelector('#lookup-form button[type="submit"]')
  const samples = document.getElementById('samples')
  const links = (sel) => [...document.querySelectorAll(sel)].map((a) => ({ label: text(a), href: a.getAttribute('href'), ...box(a), contrast: contrast(a) }))
  const visible = (node) => Boolean(node && node.getClientRects().length)
  return {
    view: document.body.dataset.view,
    title: text(document.getElementById('lookup-title')),
    intro: [...document.querySelectorAll('.intro')].filter(visible).map(text),
    scan: text(camera),
    photo: text(upload),
    typeLabel: text(document.querySelector('label[for="item-input"]')),
    checkButton: text(submit),
    order: { cameraBeforePhoto: before(camera, upload), photoBeforeInput: before(upload, input) },
    sizes: { scan: box(camera), photo: box(upload), input: box(input), check: box(submit) },
    contrast: {
      intro: [...document.querySelectorAll('.intro')].filter(visible).map(contrast),
      scan: contrast(camera),
      photo: contrast(upload),
      typeLabel: contrast(document.querySelector('label[for="item-input"]')),
    },
    labelled: {
      input: input.labels.length > 0 && Boolean(text(input.labels[0])),
      file: document.getElementById('qr-file').labels.length > 0 && Boolean(text(document.getElementById('qr-file').labels[0])),
      video: Boolean(document.getElementById('camera-video').getAttribute('aria-label')),
    },
    samplesShown: visible(samples),
    samplesTitle: visible(samples) ? text(samples.querySelector('h2')) : null,
    items: links('#samples-items + ul a'),
    shops: links('#samples-shops + ul a'),
    scrollWidth: document.documentElement.scrollWidth,
  }
}

/** Where Tab goes from the top of the page: the ids (or tags) of the first `count` focused elements. */
async function tabOrder(page, count) {
  const order = []
  for (let i = 0; i < count; i++) {
    await page.keyboard.press('Tab')
    order.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName.toLowerCase() || null))
  }
  return order
}

/** What the page shows once a lookup has settled. */
function readAnswer() {
  const error = document.getElementById('lookup-error')
  return {
    state: document.body.dataset.state,
    view: document.body.dataset.view,
    verdict: document.querySelector('[data-verdict]')?.getAttribute('data-verdict') ?? null,
    itemId: document.querySelector('.item-id code')?.getAttribute('title') ?? null,
    input: document.getElementById('item-input')?.value ?? null,
    url: window.location.search,
    error: error && !error.hidden ? error.textContent : null,
    scrollWidth: document.documentElement.scrollWidth,
  }
}

// A fake camera is there, but no page is allowed to use it: the camera problem is a refused permission.
const browser = await launch(['--use-fake-device-for-media-stream'])
const result = { forms: {}, problems: {}, consoleErrors: [] }
try {
  {
    const { context, page } = await phonePage(browser, result.consoleErrors)
    await page.goto(spec.base + '/')
    await page.waitForSelector('body[data-state="idle"]')
    await page.waitForSelector('#samples:not([hidden])', { timeout: 5000 }).catch(() => undefined)
    result.home = await page.evaluate(readHome)
    await page.screenshot({ path: join(spec.out, 'home.png'), fullPage: true })
    result.home.tabOrder = await tabOrder(page, 8)
    // A sample item opened by keyboard alone.
    await page.focus('#samples-items + ul a')
    await page.keyboard.press('Enter')
    await page.waitForSelector(settled, { timeout: 30000 })
    result.sample = await page.evaluate(readAnswer)
    await context.close()
  }
  {
    // A real deployment: config.json lists no samples, so the home page lists none.
    const { context, page } = await phonePage(browser, result.consoleErrors)
    await page.route('**/config.json', async (route) => {
      const response = await route.fetch()
      const config = await response.json()
      delete config.samples
      await route.fulfill({ response, json: config })
    })
    await page.goto(spec.base + '/')
    await page.waitForSelector('body[data-state="idle"]')
    result.bare = await page.evaluate(readHome)
    await page.screenshot({ path: join(spec.out, 'home-bare.png'), fullPage: true })
    await context.close()
  }
  const { context, page } = await phonePage(browser, result.consoleErrors)
  for (const form of spec.forms ?? []) {
    await page.goto(spec.base + '/')
    await page.waitForSelector('body[data-state="idle"]')
    await page.focus('#item-input')
    await page.fill('#item-input', form.text)
    await page.keyboard.press('Enter')
    await page.waitForSelector(settled, { timeout: 30000 })
    result.forms[form.name] = await page.evaluate(readAnswer)
    if (form.screenshot) await page.screenshot({ path: join(spec.out, `home-${form.name}.png`), fullPage: true })
  }
  for (const problem of spec.problems ?? []) {
    await page.goto(spec.base + '/')
    await page.waitForSelector('body[data-state="idle"]')
    if (problem.file) await page.setInputFiles('#qr-file', problem.file)
    else if (problem.camera) await page.click('#camera-start') // this context was granted no camera
    else {
      await page.fill('#item-input', problem.text)
      await page.keyboard.press('Enter')
    }
    await page.waitForSelector('body[data-state="error"]', { timeout: 30000 })
    result.problems[problem.name] = await page.evaluate(readAnswer)
    await page.screenshot({ path: join(spec.out, `home-${problem.name}.png`), fullPage: true })
  }
  await context.close()
} catch (e) {
  result.failure = String(e && e.stack ? e.stack : e)
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(result) + '\n')

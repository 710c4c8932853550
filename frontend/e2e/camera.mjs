// Scans a QR code with the camera in Debian's Chromium: a fake capture device plays a Y4M video of
// the code (made by tests/e2e/test_frontend_camera.py), the page's "Scan with the camera" reads it
// and opens the item. Prints what the page shows as JSON; screenshot at <out>/camera-scan.png.
//
//   node frontend/e2e/camera.mjs '{"base": "http://127.0.0.1:8080", "out": "test-output", "video": "qr.y4m"}'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
mkdirSync(spec.out, { recursive: true })
const browser = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${spec.video}`])
const result = { consoleErrors: [] }
try {
  const { context, page } = await phonePage(browser, result.consoleErrors)
  await context.grantPermissions(['camera'], { origin: spec.base })
  await page.goto(spec.base + '/')
  await page.waitForSelector('body[data-state="idle"]')
  const started = Date.now()
  await page.click('#camera-start')
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30000 })
  result.elapsedMs = Date.now() - started
  Object.assign(result, await page.evaluate(() => ({
    state: document.body.dataset.state,
    input: document.getElementById('item-input')?.value ?? null,
    verdict: document.querySelector('[data-verdict]')?.getAttribute('data-verdict') ?? null,
    cameraHidden: document.getElementById('camera')?.hidden ?? null,
    error: document.getElementById('lookup-error')?.hidden ? null : document.getElementById('lookup-error')?.textContent,
  })))
  result.screenshot = join(spec.out, 'camera-scan.png')
  await page.screenshot({ path: result.screenshot, fullPage: true })
} catch (e) {
  result.failure = String(e && e.stack ? e.stack : e)
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(result) + '\n')

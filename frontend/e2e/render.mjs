// Measures the product page's first render in Debian's Chromium through playwright-core, for
// bench/page.py. Prints one JSON object on its last line.
//
//   node frontend/e2e/render.mjs '{"base": "http://127.0.0.1:8080", "item": "https://id.gs1.org/01/…",
//     "rpcUrl": "http://127.0.0.1:8545", "events": 100, "warmup": 1, "runs": 10, "profile": true}'
//
// Each load gets a fresh browser context (no cache, no storage), a 375x812 viewport, and opens
// `/?item=<item>`. An init script watches the DOM from navigation start and notes, on the page's
// own clock (performance.now(), whose origin is the navigation start):
//   verdict  — body[data-state] is "verdict" (or already "ready"): the verdict is on screen;
//   timeline — `.timeline .event` holds `events` entries;
//   ready    — body[data-state="ready"] with those entries in the DOM (the first render's end).
// Each is reported twice: when the DOM got there (`*DomMs`) and after the following two animation
// frames (`*Ms`), i.e. once the frame showing it has been produced — the figure bench/page.py uses.
//
// With "profile", one more load (not measured) records every request the page makes (when it was
// asked for, sent after waiting for a connection, answered and done, relative to navigation
// start; the JSON-RPC methods and getLogs filters it carries), Chromium's own counters (script,
// layout and task time) and a V8 sampling profile of the main thread, per phase.
//
// A phone profile: "device" (Playwright context options: viewport, deviceScaleFactor, isMobile,
// hasTouch, userAgent) and "throttle" ({cpuRate, latencyMs, downloadBytesPerSecond,
// uploadBytesPerSecond}) are applied to every fresh context through DevTools
// (Emulation.setCPUThrottlingRate, Network.emulateNetworkConditions) before its page navigates,
// so the first request (the document) is already slowed down.
//
// With "calibrate": {"path": "assets/…"}, one more context (same device and throttling) measures
// what the page sees: the best of five runs of a fixed loop (CPU; in a throttled context also at
// rate 1, alternating, through the same DevTools session), the best of three answers to a small
// request (latency), the download of `path` without cache (throughput), and the device's own
// report of itself (screen width, pixel ratio, touch, user agent) — for bench/page.py to check
// that the throttling really applies.
import { launch, phonePage } from './chromium.mjs'

const spec = JSON.parse(process.argv[2])
const expected = spec.events
const timeout = spec.timeoutMs ?? 30000

const observe = (expectedEvents) => {
  const marks = {}
  window.__render = marks
  const afterFrames = (name) => {
    marks[name + 'DomMs'] = performance.now()
    requestAnimationFrame(() => requestAnimationFrame(() => (marks[name + 'Ms'] = performance.now())))
  }
  const check = () => {
    const body = document.body
    if (!body) return
    const state = body.dataset.state
    if (state === 'error' && marks.errorMs === undefined) {
      marks.errorMs = performance.now()
      marks.error = document.getElementById('lookup-error')?.textContent ?? 'error'
    }
    if ((state === 'verdict' || state === 'ready') && marks.verdictDomMs === undefined) afterFrames('verdict')
    const shown = document.querySelectorAll('.timeline .event').length
    if (shown >= expectedEvents && marks.timelineDomMs === undefined) afterFrames('timeline')
    if (state === 'ready' && shown >= expectedEvents && marks.readyDomMs === undefined) afterFrames('ready')
    if (state === 'ready') marks.shown = shown
  }
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] })
}

/** What a request is: a JSON-RPC call (methods, getLogs filters), an event-store file, config, an asset. */
function describe(request, rpcUrl) {
  const url = request.url()
  if (rpcUrl && url.startsWith(rpcUrl) && request.method() === 'POST') {
    let body = null
    try {
      body = JSON.parse(request.postData() ?? 'null')
    } catch {
      body = null
    }
    const calls = (Array.isArray(body) ? body : [body]).filter(Boolean)
    return {
      kind: 'rpc',
      calls: calls.map((c) => {
        const call = { method: c.method }
        if (c.method === 'eth_getLogs') {
          const f = c.params?.[0] ?? {}
          call.fromBlock = f.fromBlock ?? null
          call.toBlock = f.toBlock ?? null
          call.topics = f.topics ?? null
        }
        if (c.method === 'eth_call') call.to = c.params?.[0]?.to ?? null
        return call
      }),
    }
  }
  const path = new URL(url).pathname
  if (path.includes('/events/')) return { kind: 'event-store' }
  if (path.endsWith('/config.json')) return { kind: 'config' }
  if (path.includes('/content/')) return { kind: 'content' }
  if (path.includes('/proofs/')) return { kind: 'proof' }
  return { kind: 'asset', path }
}

/**
 * The renderer's main thread from a V8 sampling profile: per phase (start → verdict → timeline →
 * ready, on the navigation's clock) how long it was busy, and the functions that took the most
 * time ("file:line:column" of the minified bundle; "(program)" is the browser's own work such as
 * parsing, style and layout, "(garbage collector)" is GC).
 */
function mainThread(cpu, navigationStartMs, marks) {
  const label = new Map()
  for (const node of cpu.nodes) {
    const f = node.callFrame
    const file = f.url ? f.url.replace(/^.*\//, '') : ''
    label.set(node.id, file ? `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}:${f.columnNumber + 1}` : f.functionName || '(root)')
  }
  const phases = [
    ['start_to_verdict', 0, marks.verdictDomMs],
    ['verdict_to_timeline', marks.verdictDomMs, marks.timelineDomMs],
    ['timeline_to_ready', marks.timelineDomMs, marks.readyDomMs],
  ]
  const out = Object.fromEntries(phases.map(([name]) => [name, { busyMs: 0, top: new Map() }]))
  let t = cpu.startTime / 1000
  for (let i = 0; i < cpu.samples.length; i++) {
    t += cpu.timeDeltas[i] / 1000
    const dt = (cpu.timeDeltas[i + 1] ?? 0) / 1000
    const at = t - navigationStartMs
    const name = label.get(cpu.samples[i])
    if (name === '(idle)' || name === '(root)') continue
    const phase = phases.find(([, lo, hi]) => at >= lo && at < hi)
    if (!phase) continue
    const o = out[phase[0]]
    o.busyMs += dt
    o.top.set(name, (o.top.get(name) ?? 0) + dt)
  }
  for (const o of Object.values(out)) {
    o.busyMs = Math.round(o.busyMs * 10) / 10
    o.top = [...o.top.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }))
  }
  return out
}

/**
 * A fresh context and page with the spec's device, throttled (when the spec says so) before anything
 * is loaded. The DevTools session is returned and must stay attached: Chromium drops a session's
 * network conditions when it detaches.
 */
async function freshPage(browser, errors) {
  const { context, page } = await phonePage(browser, errors, spec.device ?? {})
  let cdp = null
  const t = spec.throttle
  if (t) {
    cdp = await context.newCDPSession(page)
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: t.cpuRate })
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: t.latencyMs,
      downloadThroughput: t.downloadBytesPerSecond,
      uploadThroughput: t.uploadBytesPerSecond,
    })
  }
  return { context, page, cdp }
}

async function load(browser, profile) {
  const errors = []
  const fresh = await freshPage(browser, errors)
  const { context, page } = fresh
  await page.addInitScript(observe, expected)
  const requests = []
  const sizes = []
  const rpcUrl = spec.rpcUrl ?? null
  let cdp = fresh.cdp
  if (profile) {
    cdp = cdp ?? (await context.newCDPSession(page))
    await cdp.send('Performance.enable', { timeDomain: 'timeTicks' })
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
    await cdp.send('Profiler.start')
    page.on('requestfinished', (request) => {
      const t = request.timing()
      const item = describe(request, rpcUrl)
      // request.timing(): startTime (epoch ms) when the page asked; the rest relative to it, -1 when
      // not applicable (a reused connection has no connectStart). Waiting for a free connection
      // (Chromium opens 6 per host) is the time until connectStart, or requestStart when reused.
      const rel = (v) => (v >= 0 ? v : null)
      const entry = { bytes: null }
      // the response body as it came over the wire (encoded), for what the network had to carry
      sizes.push(
        request.sizes().then(
          (z) => (entry.bytes = z.responseBodySize + z.responseHeadersSize),
          () => null,
        ),
      )
      requests.push({
        entry,
        ...item,
        url: request.url(),
        startEpochMs: t.startTime,
        rel: { connect: rel(t.connectStart), request: rel(t.requestStart), response: rel(t.responseStart), end: rel(t.responseEnd) },
        failed: false,
      })
    })
    page.on('requestfailed', (request) => requests.push({ ...describe(request, rpcUrl), url: request.url(), failed: true }))
  }
  const url = `${spec.base}/?item=${encodeURIComponent(spec.item)}`
  let marks = {}
  try {
    await page.goto(url, { waitUntil: 'commit', timeout })
    await page.waitForFunction(() => window.__render?.readyMs !== undefined || window.__render?.errorMs !== undefined, null, {
      timeout,
      polling: 50,
    })
    marks = await page.evaluate(() => ({ ...window.__render, timeOrigin: performance.timeOrigin }))
  } catch (e) {
    marks = await page.evaluate(() => ({ ...(window.__render ?? {}), timeOrigin: performance.timeOrigin })).catch(() => ({}))
    marks.error = marks.error ?? `no render within ${timeout} ms: ${String(e).split('\n')[0]}`
  }
  const result = { ...marks, errors }
  if (profile) {
    const metrics = await cdp.send('Performance.getMetrics')
    result.metrics = Object.fromEntries(metrics.metrics.map((m) => [m.name, m.value]))
    const { profile: cpu } = await cdp.send('Profiler.stop')
    result.cpu = mainThread(cpu, result.metrics.NavigationStart * 1000, marks)
    await page.waitForTimeout(200) // let the last requestfinished events arrive
    await Promise.all(sizes)
    result.requests = requests
      .filter((r) => !r.failed)
      .map((r) => {
        const { startEpochMs, rel, entry, ...rest } = r
        const startMs = startEpochMs - marks.timeOrigin
        const at = (v) => (v === null ? null : startMs + v)
        const endMs = at(rel.end) ?? startMs
        return {
          ...rest,
          bytes: entry.bytes,
          startMs,
          connectMs: at(rel.connect),
          sentMs: at(rel.request) ?? at(rel.connect) ?? startMs,
          firstByteMs: at(rel.response) ?? endMs,
          endMs,
        }
      })
    result.failedRequests = requests.filter((r) => r.failed).length
  }
  await context.close()
  return result
}

/** The fixed loop the calibration times, in the page (on its main thread): milliseconds it took. */
function spin() {
  const t0 = performance.now()
  let x = 0
  for (let i = 0; i < 5e6; i++) x = (x + i * i) % 1000003
  return performance.now() - t0 + (x < 0 ? 1 : 0)
}

/**
 * What a page in a fresh context of this spec experiences: CPU speed, latency, throughput, device.
 * The loop runs five times and the best counts (other processes only ever slow it down). In a
 * throttled context it alternates with runs at rate 1 through the same DevTools session, so the
 * slowdown is measured side by side, under the same load of the machine.
 */
async function calibrate(browser, path) {
  const errors = []
  const { context, page, cdp } = await freshPage(browser, errors)
  try {
    await page.goto(`${spec.base}/config.json`, { timeout })
    let loopMs = Infinity
    let unthrottledLoopMs = cdp ? Infinity : null
    for (let i = 0; i < 5; i++) {
      loopMs = Math.min(loopMs, await page.evaluate(spin))
      if (cdp) {
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 })
        unthrottledLoopMs = Math.min(unthrottledLoopMs, await page.evaluate(spin))
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: spec.throttle.cpuRate })
      }
    }
    const seen = await page.evaluate(async (path) => {
      const timing = async (url) => {
        await (await fetch(url, { cache: 'no-store' })).arrayBuffer()
        const e = performance.getEntriesByName(new URL(url, location.href).href).pop()
        return { askedToDoneMs: e.responseEnd - e.startTime, bodyMs: e.responseEnd - e.responseStart, bytes: e.encodedBodySize }
      }
      let pingMs = Infinity
      for (let i = 0; i < 3; i++) pingMs = Math.min(pingMs, (await timing(`/config.json?calibrate=${i}`)).askedToDoneMs)
      const download = await timing(`/${path}?calibrate=download`)
      return {
        pingMs,
        download,
        device: {
          // the screen, not the layout viewport: a page without <meta name="viewport"> (this JSON) lays out 980 px wide on a phone
          width: screen.width,
          height: screen.height,
          devicePixelRatio,
          maxTouchPoints: navigator.maxTouchPoints,
          coarsePointer: matchMedia('(pointer: coarse)').matches,
          userAgent: navigator.userAgent,
        },
      }
    }, path)
    return { loopMs, unthrottledLoopMs, ...seen }
  } finally {
    await context.close()
  }
}

const browser = await launch()
const output = { warmup: [], runs: [], profile: null, calibration: null }
try {
  for (let n = 0; n < (spec.warmup ?? 1); n++) output.warmup.push(await load(browser, false))
  for (let n = 0; n < spec.runs; n++) output.runs.push(await load(browser, false))
  if (spec.profile) output.profile = await load(browser, true)
  if (spec.calibrate) output.calibration = await calibrate(browser, spec.calibrate.path)
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(output) + '\n')

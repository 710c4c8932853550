import { readFileSync } from 'node:fs'
import { defineConfig, type Plugin } from 'vite'

// Run from the repository root as `npx vite build frontend` (the root is the folder given).
// The page is static: it writes frontend/dist/, which the demo's web server
// (src/o2ochain/demo/_server.py) serves next to /config.json, /events/ and /content/.

/**
 * `import abi from '…/X.json?abi'`: only the `abi` key of a shipped artifact, not its bytecode,
 * and without the compiler's `internalType` annotations (Solidity's own type names, which viem
 * does not read): about 40 kB of the page's code before gzip.
 */
function abiOnly(): Plugin {
  return {
    name: 'o2ochain-abi-only',
    enforce: 'pre',
    async resolveId(source, importer) {
      if (!source.endsWith('.json?abi')) return null
      const resolved = await this.resolve(source.slice(0, -'?abi'.length), importer, { skipSelf: true })
      // A virtual id, so that Vite's own JSON plugin leaves it alone.
      return resolved ? `\0abi:${resolved.id}.js` : null
    },
    load(id) {
      if (!id.startsWith('\0abi:')) return null
      const path = id.slice("\0abi:".length, -".js".length)
      this.addWatchFile(path)
      const artifact = JSON.parse(readFileSync(path, 'utf-8')) as { abi: unknown }
      return `export default ${JSON.stringify(artifact.abi, (key, value: unknown) => (key === 'internalType' ? undefined : value))}`
    },
  }
}

export default defineConfig({
  base: './',
  plugins: [abiOnly()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      // zxing does not say its modules are free of side effects, so every reader it has (1D
      // barcodes, Aztec, PDF417, Data Matrix…) would be bundled with the QR code reader the page
      // uses (src/scan/zxing.ts). They are: a module of it whose exports nothing uses is left out
      // (about 70 kB gzipped).
      treeshake: { moduleSideEffects: (id) => !id.includes('/node_modules/@zxing/') },
    },
  },
  server: { fs: { allow: ['..'] } },
})

import { readFileSync } from 'node:fs'
import { defineConfig, type Plugin } from 'vite'

// Run from the repository root as `npx vite build frontend` (the root is the folder given).
// The page is static: it writes frontend/dist/, which the demo's web server
// (src/o2ochain/demo/_server.py) serves next to /config.json, /events/ and /content/.

/** `import abi from '…/X.json?abi'`: only the `abi` key of a shipped artifact, not its bytecode. */
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
      return `export default ${JSON.stringify(artifact.abi)}`
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
  },
  server: { fs: { allow: ['..'] } },
})

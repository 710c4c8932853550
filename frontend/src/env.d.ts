/// <reference types="vite/client" />

/** The `abi` key of a shipped artifact in src/o2ochain/abi/ (see abiOnly in vite.config.ts). */
declare module '*.json?abi' {
  const abi: import('viem').Abi
  export default abi
}

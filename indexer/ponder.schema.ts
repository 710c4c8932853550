/**
 * The index's schema: the raw `log` table and one typed table per event (see lib/tables.ts).
 *
 * The typed tables come from the ABIs at load time, so they cannot be named exports written out
 * here: they are added to this module's exports object, which Ponder (through vite-node) reads.
 */
import { eventTables, log } from "./lib/tables";

export { log };

declare const __vite_ssr_exports__: Record<string, unknown>;
for (const { spec, table } of eventTables.values()) {
  Object.defineProperty(__vite_ssr_exports__, spec.table, { value: table, enumerable: true, configurable: true });
}

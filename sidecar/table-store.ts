/**
 * Where the handler gets its routing tables. `current()` is synchronous and returns an immutable snapshot
 * that is replaced whole (one reference swap), so a request sees one consistent set of tables and never
 * waits on the control plane. The Redis store (cluster) and a file store (local mode) both implement it.
 */
import type { RoutingTable } from '../core/api/types.js';

export interface TableStore {
  /** The tables in use now. Never blocks; empty until a first table is loaded. */
  current(): ReadonlyArray<RoutingTable>;
  /** True once a first set of tables was loaded (from the source or from the last-good file). */
  ready(): boolean;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Hooks a store calls as tables come and go (credential opening, metrics, logs). */
export interface TableStoreHooks {
  /** Called before a table is swapped in; returns problems to log (the table is used anyway). */
  prepare?(table: RoutingTable): string[];
  /** A table was refused (corrupt JSON, failed validation); the previous version stays. */
  rejected?(route: string, reason: string): void;
  /** The snapshot changed. */
  changed?(tables: ReadonlyArray<RoutingTable>): void;
  log?(message: string): void;
}

/**
 * The seam for per-request telemetry (tracing, GenAI metrics): the sidecar calls these at each step and
 * never waits on them. telemetry/sidecar-telemetry.ts implements it; without one, nothing is called.
 * Implementations must not throw.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Decision, RequestFacts, RoutingTable, TableBackend } from '../core/api/types.js';

export interface AttemptObserver {
  /** Added to the upstream request (e.g. traceparent). */
  readonly headers: Readonly<Record<string, string>>;
  responded(status: number): void;
  /** A non-streamed JSON answer. */
  body(json: unknown): void;
  /** The first byte of the answer went to the client. */
  firstChunk(): void;
  /** `failure` when the attempt ended without its answer reaching the client in full. */
  end(failure?: { kind: string; status?: number; error?: Error }): void;
}

export interface RequestObserver {
  request<T>(req: IncomingMessage, res: ServerResponse, handle: () => Promise<T>): Promise<T>;
  failed(req: IncomingMessage, code: string): void;
  decided(
    req: IncomingMessage,
    d: Decision,
    info: {
      endpoint: RequestFacts['endpoint'];
      stream: boolean;
      messages: RequestFacts['messages'];
      maxOutputTokens?: number;
    },
    decideStartedAt?: number,
  ): void;
  attempt(d: Decision, b: TableBackend): AttemptObserver;
  usage(d: Decision, b: TableBackend, tokens: { input: number; output: number; source?: string }): void;
  fallback(d: Decision, b: TableBackend, reason: string): void;
  tablesChanged(tables: ReadonlyArray<RoutingTable>): void;
  /** Whether the request being handled records its decision's top features (DecideContext.explain). */
  explaining?(): boolean;
}

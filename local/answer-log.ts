/**
 * Local mode's per-answer log line, on the sidecar's telemetry seam (RequestObserver): which route, backend
 * and tier took a call, with what score, why, how long it took and what it cost. In a cluster the same seam
 * feeds traces; on a laptop a line per answer is the trace.
 */
import type { Decision, TableBackend } from '../core/api/types.js';
import type { AttemptObserver, RequestObserver } from '../sidecar/observer.js';

/** `200 route r -> backend b tier 1 score 0.412: <reason>` (the log line's stable head). */
export function answerLine(d: Decision, backend: string, status: number | string): string {
  const tier = d.tier !== undefined ? ` tier ${d.tier}` : '';
  const score = d.score !== undefined ? ` score ${d.score.toFixed(3)}` : '';
  return `${status} route ${d.table.route.name} -> backend ${backend}${tier}${score}: ${d.reason}`;
}

export function answerLogger(log: (line: string) => void): RequestObserver {
  const startedAt = new WeakMap<Decision, number>();
  const status = new WeakMap<Decision, number>();
  const ms = (d: Decision) => Math.round(performance.now() - (startedAt.get(d) ?? performance.now()));
  return {
    request: (_req, _res, handle) => handle(),
    failed: (req, code) => log(`refused ${req.method} ${req.url}: ${code}`),
    decided: (_req, d) => void startedAt.set(d, performance.now()),
    attempt(d: Decision, b: TableBackend): AttemptObserver {
      let answered: number | undefined;
      return {
        headers: {},
        responded: (s) => {
          answered = s;
          status.set(d, s);
        },
        body: () => undefined,
        firstChunk: () => undefined,
        end(failure) {
          if (failure) {
            const what = failure.status !== undefined ? `answered ${failure.status}` : failure.kind;
            log(`${answerLine(d, b.name, failure.status ?? failure.kind)} [attempt failed: ${what} after ${ms(d)} ms]`);
          } else if (answered !== undefined && answered >= 300) {
            log(`${answerLine(d, b.name, answered)} [${ms(d)} ms]`);
          }
        },
      };
    },
    usage(d, b, tokens) {
      const usd = (tokens.input * b.pricing.inputPerMillion + tokens.output * b.pricing.outputPerMillion) / 1e6;
      log(
        `${answerLine(d, b.name, status.get(d) ?? 200)} [${ms(d)} ms, ${tokens.input} in + ${tokens.output} out tokens, $${usd.toFixed(6)}]`,
      );
    },
    fallback: (d, b, reason) => log(`fallback on route ${d.table.route.name}: ${b.name} skipped (${reason})`),
    tablesChanged: () => undefined,
  };
}

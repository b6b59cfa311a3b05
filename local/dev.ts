/**
 * Local mode: the real sidecar (handler, decide, forwarder) with its tables from ModelRoute files instead of
 * Redis, and the simulator standing in for backends that cannot be called from here. Only the table source
 * and where simulated backends point differ from a pod; a request takes the same path through the same code.
 */
import type { RoutingTable } from '../core/api/types.js';
import { startSidecar, type Sidecar } from '../sidecar/sidecar.js';
import type { TableStoreHooks } from '../sidecar/table-store.js';
import { answerLogger } from './answer-log.js';
import { banner, describeRoute, modelWinners } from './banner.js';
import { planOf, rewriteForLocal, type PlanOptions } from './backend-plan.js';
import { credentialFromEnv } from './credential-env.js';
import type { DevConfig } from './dev-config.js';
import { FileTableStore } from './file-table-store.js';
import { routeKey } from './route-files.js';
import { startSimulator, type Simulator } from './simulator.js';

export interface DevServer {
  sidecar: Sidecar;
  simulator: Simulator;
  store: FileTableStore;
  close(): Promise<void>;
}

export interface DevIO {
  env: NodeJS.ProcessEnv;
  /** One line of log. */
  log(message: string): void;
  /** A block of text (the banner). */
  print(text: string): void;
}

export async function startDev(c: DevConfig, io: DevIO): Promise<DevServer> {
  const simulator = await startSimulator({ latencyScale: c.latencyScale });
  const plan: PlanOptions = { env: io.env, simulateAll: c.simulateAll, simulatorBaseURL: simulator.baseURLFor };
  // The banner describes the route as written (real provider, credential) next to how it is served.
  const plans = new WeakMap<RoutingTable, ReturnType<typeof planOf>>();
  const rewrite = (t: RoutingTable): RoutingTable => {
    const served = rewriteForLocal(t, plan);
    plans.set(served, planOf(t, plan));
    return served;
  };
  let store: FileTableStore | undefined;
  let started = false;
  let versions = new Map<string, string>();
  let winners = '';
  // After start, a reload prints what changed: the new route, and who now answers each model name.
  const onChanged = (tables: ReadonlyArray<RoutingTable>) => {
    const next = new Map(tables.map((t) => [routeKey(t), t.tableVersion]));
    const nextWinners = modelWinners(tables).lines.join('\n');
    if (started) {
      for (const t of tables) {
        if (versions.get(routeKey(t)) !== t.tableVersion)
          io.print(describeRoute(t, store?.sources().get(routeKey(t)), plans.get(t) ?? []).join('\n'));
      }
      if (nextWinners !== winners) io.print(`model names now:\n${nextWinners || '  (none)'}`);
    }
    versions = next;
    winners = nextWinners;
  };
  const createStore = (hooks: TableStoreHooks) => {
    store = new FileTableStore({
      path: c.routes,
      rewrite,
      hooks: {
        ...hooks,
        log: io.log,
        changed(tables) {
          hooks.changed?.(tables);
          onChanged(tables);
        },
      },
    });
    return store;
  };
  let sidecar: Sidecar;
  try {
    sidecar = await startSidecar({
      listen: c.listen,
      admin: c.admin,
      namespace: 'default',
      createStore,
      resolveCredential: (ref, b) => credentialFromEnv(ref, b.provider, io.env)?.value,
      log: io.log,
      observer: () => answerLogger(io.log),
    });
  } catch (err) {
    await store?.close();
    await simulator.close();
    throw err;
  }
  const s = store!;
  started = true;
  io.print(
    banner({
      baseURL: sidecar.baseURL,
      ...(sidecar.adminUrl && { adminUrl: sidecar.adminUrl }),
      routesPath: c.routes,
      tables: s.current(),
      sources: s.sources(),
      planOf: (t) => plans.get(t) ?? [],
    }),
  );
  return {
    sidecar,
    simulator,
    store: s,
    async close() {
      await sidecar.close(2_000);
      await simulator.close();
    },
  };
}

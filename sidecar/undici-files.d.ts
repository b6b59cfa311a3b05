// The undici files sidecar/undici-pool.ts loads one by one, typed with the package's own declarations.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export = Pool;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  import { Dispatcher } from 'undici';
  export = Dispatcher;
}
declare module 'undici/lib/api/index.js' {
  import { request, stream, pipeline, connect, upgrade } from 'undici';
  const api: {
    request: typeof request;
    stream: typeof stream;
    pipeline: typeof pipeline;
    connect: typeof connect;
    upgrade: typeof upgrade;
  };
  export = api;
}
declare module 'undici/lib/core/connect.js' {
  import { buildConnector } from 'undici';
  export = buildConnector;
}

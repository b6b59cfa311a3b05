/**
 * undici's Pool and connector, loaded file by file. The package index also loads fetch, WebSocket, the caches,
 * mocks and interceptors, which a sidecar never uses: about 5.5 MB of its resident memory (docs/benchmarks.md).
 * On load the index also adds request(), stream(), pipeline(), connect() and upgrade() to Dispatcher.prototype;
 * that is done here the same way (again, harmlessly, if something else loads the index too).
 */
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import buildConnector from 'undici/lib/core/connect.js';

Object.assign(Dispatcher.prototype, api);

export { Pool, buildConnector };

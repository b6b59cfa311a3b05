/** Errors of the API layer. Callers branch on `code`; `path` / `problems` say where, for humans. */

export interface FieldProblem {
  /** JSON-path-like location as the apiserver prints it, e.g. `spec.backends[1].baseURL`. */
  field: string;
  message: string;
}

/** A ModelRoute spec that the CRD would reject (or that compile cannot turn into a table). */
export class InvalidRouteError extends Error {
  readonly code = 'ERR_INVALID_ROUTE';
  constructor(
    readonly route: string,
    readonly problems: FieldProblem[],
  ) {
    super(`ModelRoute ${route} is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
}

/** A routing table that must not be published or swapped in. */
export class InvalidTableError extends Error {
  readonly code = 'ERR_INVALID_TABLE';
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`invalid routing table at ${path}: ${detail}`);
  }
}

/**
 * AdmissionReview v1 in, AdmissionReview v1 out. Pure, so the HTTP server stays a thin shell and the
 * review logic is testable without TLS.
 */
import type { InjectionConfig } from './injection-config.js';
import { mutatePod, type PodLike } from './mutate-pod.js';

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: {
    uid: string;
    kind?: { group: string; version: string; kind: string };
    namespace?: string;
    operation?: string;
    object?: unknown;
  };
  response?: AdmissionResponse;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  status?: { code: number; message: string };
  warnings?: string[];
}

export class AdmissionReviewError extends Error {
  readonly code = 'ERR_ADMISSION_REVIEW';
  readonly status = 400;
}

/** Parses and answers one review. Throws AdmissionReviewError (HTTP 400) on a malformed body. */
export function reviewPod(body: unknown, config: InjectionConfig): AdmissionReview {
  const review = body as AdmissionReview | null;
  if (typeof review !== 'object' || review === null || review.kind !== 'AdmissionReview') {
    throw new AdmissionReviewError('body is not an AdmissionReview');
  }
  if (review.apiVersion !== 'admission.k8s.io/v1') {
    throw new AdmissionReviewError(`unsupported AdmissionReview version ${String(review.apiVersion)}`);
  }
  const request = review.request;
  if (request === undefined || typeof request.uid !== 'string') {
    throw new AdmissionReviewError('AdmissionReview has no request.uid');
  }
  const response: AdmissionResponse = { uid: request.uid, allowed: true };
  // Never deny: a mis-scoped registration must not stop workloads; it only skips injection.
  const isPod = request.kind?.group === '' && request.kind.kind === 'Pod';
  if (isPod && request.operation === 'CREATE' && typeof request.object === 'object' && request.object !== null) {
    const ops = mutatePod(request.object as PodLike, config);
    if (ops.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
    }
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

import type { SidecarTelemetry } from '../telemetry/sidecar-telemetry.js';
import type { RequestObserver } from './observer.js';
export const check = (t: SidecarTelemetry): RequestObserver => t;

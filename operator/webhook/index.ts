/** The sidecar injector: what the operator main wires (see run-webhook.ts) and what tests drive. */
export { reviewPod, type AdmissionReview } from './admission.js';
export { ensureWebhookCertificate, serviceDnsNames, type WebhookCertificateOptions } from './ensure-certificate.js';
export { parseInjectionConfig, type InjectionConfig } from './injection-config.js';
export { mutatePod, type PatchOperation } from './mutate-pod.js';
export { runWebhook, webhookSettingsFromEnv, type WebhookSettings } from './run-webhook.js';
export { startWebhookServer, MUTATE_PODS_PATH, type WebhookServer, type WebhookServerOptions } from './server.js';

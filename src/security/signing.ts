/** Decodes `whsec_...` secrets; throws `WebhookConfigError` (key `secret`) without echoing the secret. */
export function resolveSecrets(_secret: string | string[] | undefined): Buffer[] {
  throw new Error('not implemented')
}

/** Standard Webhooks headers for one attempt: `webhook-id`, `webhook-timestamp`, `webhook-signature`. */
export function signatureHeaders(
  _secrets: Buffer[],
  _id: string,
  _timestampSeconds: number,
  _body: string,
): Record<string, string> {
  throw new Error('not implemented')
}

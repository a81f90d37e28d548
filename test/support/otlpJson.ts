/** A minimal OTLP/JSON ExportLogsServiceRequest: one resource, one scope, one record per body. */
export function otlpJsonRequest(serviceName: string, bodies: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeLogs: [{ logRecords: bodies.map((body) => ({ body: { stringValue: body }, severityNumber: 9, ...extra })) }],
      },
    ],
  });
}

export async function postOtlpJson(
  url: string,
  token: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body as BodyInit,
  });
}

import { compileEnvoyFormat } from './envoyFormat.js';
import type { ParsedLine } from './parsedLine.js';

/** Kuma / Kong Mesh MeshAccessLog defaults (pkg/plugins/policies/meshaccesslog). */
export const kumaHttpFormat =
  '[%START_TIME%] %KUMA_MESH% "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-B3-TRACEID?X-DATADOG-TRACEID)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%KUMA_SOURCE_SERVICE%" "%KUMA_DESTINATION_SERVICE%" "%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%" "%UPSTREAM_HOST%"';
export const kumaTcpFormat =
  '[%START_TIME%] %RESPONSE_FLAGS% %KUMA_MESH% %KUMA_SOURCE_ADDRESS_WITHOUT_PORT%(%KUMA_SOURCE_SERVICE%)->%UPSTREAM_HOST%(%KUMA_DESTINATION_SERVICE%) took %DURATION%ms, sent %BYTES_SENT% bytes, received: %BYTES_RECEIVED% bytes';

const parseHttp = compileEnvoyFormat(kumaHttpFormat, 'kuma_http', 'kuma');
const parseTcp = compileEnvoyFormat(kumaTcpFormat, 'kuma_tcp', 'kuma');

export function parseKumaAccessLog(line: string): ParsedLine | undefined {
  return parseHttp(line) ?? parseTcp(line);
}

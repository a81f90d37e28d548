import { compileEnvoyFormat } from './envoyFormat.js';

/** Envoy's default text access log format (docs: configuration/observability/access_log/usage). */
export const envoyDefaultFormat =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

export const parseEnvoyDefault = compileEnvoyFormat(envoyDefaultFormat, 'envoy', 'envoy');

import type { FieldSetter } from './lineTemplate.js';

/** Sets one attribute to the field's text. */
export function attribute(name: string): FieldSetter {
  return (value, out) => {
    out.attributes[name] = value;
  };
}

export const setTime: FieldSetter = (value, out) => {
  out.time = value;
};

/** `host:port`, `[v6]:port` or a bare host into `<prefix>.address` and `<prefix>.port`. */
export function hostPort(prefix: string): FieldSetter {
  const address = `${prefix}.address`;
  const port = `${prefix}.port`;
  return (value, out) => {
    const colon = value.lastIndexOf(':');
    if (value.charCodeAt(0) === 91 /* [ */) {
      const close = value.indexOf(']');
      out.attributes[address] = value.slice(1, close < 0 ? value.length : close);
      if (close > 0 && colon === close + 1) out.attributes[port] = value.slice(colon + 1);
    } else if (colon > 0 && value.indexOf(':') === colon) {
      out.attributes[address] = value.slice(0, colon);
      out.attributes[port] = value.slice(colon + 1);
    } else {
      out.attributes[address] = value;
    }
  };
}

/** A request target into url.path and url.query; an absolute URI also gives url.scheme and server.address. */
export const setUrl: FieldSetter = (value, out) => {
  let target = value;
  const scheme = value.indexOf('://');
  if (scheme > 0 && scheme < 8) {
    out.attributes['url.full'] = value;
    out.attributes['url.scheme'] = value.slice(0, scheme);
    const pathStart = value.indexOf('/', scheme + 3);
    if (out.attributes['server.address'] === undefined) {
      hostPort('server')(value.slice(scheme + 3, pathStart < 0 ? value.length : pathStart), out);
    }
    target = pathStart < 0 ? '/' : value.slice(pathStart);
  }
  const question = target.indexOf('?');
  if (question < 0) {
    out.attributes['url.path'] = target;
  } else {
    out.attributes['url.path'] = target.slice(0, question);
    out.attributes['url.query'] = target.slice(question + 1);
  }
};

/** `HTTP/1.1` into network.protocol.name `http` and network.protocol.version `1.1`. */
export const setProtocol: FieldSetter = (value, out) => {
  const slash = value.indexOf('/');
  if (slash < 0) {
    out.attributes['network.protocol.name'] = value.toLowerCase();
  } else {
    out.attributes['network.protocol.name'] = value.slice(0, slash).toLowerCase();
    out.attributes['network.protocol.version'] = value.slice(slash + 1);
  }
};

/** An HTTP request line `GET /path HTTP/1.1` (nginx `$request`, Linkerd apache). */
export const setRequestLine: FieldSetter = (value, out) => {
  const first = value.indexOf(' ');
  const last = value.lastIndexOf(' ');
  if (first < 0) {
    out.attributes['http.request.method'] = value;
    return;
  }
  out.attributes['http.request.method'] = value.slice(0, first);
  if (last > first) {
    setUrl(value.slice(first + 1, last), out);
    setProtocol(value.slice(last + 1), out);
  } else {
    setUrl(value.slice(first + 1), out);
  }
};

const grpcCodes: Record<string, string> = {
  OK: '0',
  Canceled: '1',
  Cancelled: '1',
  Unknown: '2',
  InvalidArgument: '3',
  DeadlineExceeded: '4',
  NotFound: '5',
  AlreadyExists: '6',
  PermissionDenied: '7',
  ResourceExhausted: '8',
  FailedPrecondition: '9',
  Aborted: '10',
  OutOfRange: '11',
  Unimplemented: '12',
  Internal: '13',
  Unavailable: '14',
  DataLoss: '15',
  Unauthenticated: '16',
};

/** gRPC status as a number, whether written as `14`, `Unavailable` or `UNAVAILABLE`. */
export const setGrpcStatus: FieldSetter = (value, out) => {
  const code = value.charCodeAt(0);
  if (code >= 48 && code <= 57) {
    out.attributes['rpc.grpc.status_code'] = value;
    return;
  }
  const camel = grpcCodes[value] ?? grpcCodes[value.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase())];
  out.attributes['rpc.grpc.status_code'] = camel ?? value;
};

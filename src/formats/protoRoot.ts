import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

// dist/src/formats → repository root → proto/
const protoDir = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** Loads .proto files shipped in proto/, resolving imports inside that folder. */
export function loadProtos(files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith(protoDir) ? target : protoDir + target);
  return root.loadSync(files, { keepCase: false });
}

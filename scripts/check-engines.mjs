// Every installed package must run on the oldest Node that package.json's `engines` admits: an
// upgrade that quietly needs a newer Node (cookie 2 under fastify's light-my-request, @nats-io/nuid 3)
// stops here, not on a user's machine. Dev tools count too: they run on the same Node.
import { readFileSync } from 'node:fs';
import semver from 'semver';

const declared = JSON.parse(readFileSync('package.json', 'utf8')).engines.node;
const oldest = semver.minVersion(declared).version;
const { packages } = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const refusing = Object.entries(packages)
  .filter(([path, entry]) => path !== '' && typeof entry.engines?.node === 'string')
  .filter(([, entry]) => !semver.satisfies(oldest, entry.engines.node))
  .map(([path, entry]) => `  ${path.replace(/^node_modules\//, '')}@${entry.version} needs node ${entry.engines.node}`);
if (refusing.length > 0) {
  console.error(`packages that do not support node ${oldest} (package.json engines: ${declared}):\n${refusing.join('\n')}`);
  process.exit(1);
}

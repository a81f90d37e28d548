import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Creates an API key with `meshlog keys create`, as an operator would, and
 * returns the key. Asynchronous on purpose: a synchronous child process
 * blocks the test's event loop, and its next fetch may reuse a keep-alive
 * connection the server closed meanwhile ("fetch failed").
 */
export async function createKeyWithCli(
  server: { url: string; token: string },
  name: string,
  roles: string[],
  tenants: string[],
): Promise<string> {
  const args = [
    'keys',
    'create',
    '--name',
    name,
    ...roles.flatMap((role) => ['--role', role]),
    ...tenants.flatMap((tenant) => ['--tenant', tenant]),
    '--output',
    'json',
    '--server',
    server.url,
  ];
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args], {
      env: { ...process.env, MESHLOG_TOKEN: server.token },
    });
    return (JSON.parse(stdout) as { key: string }).key;
  } catch (error) {
    throw new Error(`meshlog keys create ${name} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
  }
}

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MeshlogError } from '../errors.js';

const run = promisify(execFile);
const browsers = ['chromium', 'chromium-browser', 'google-chrome'];
const renderTimeoutMs = 60_000;

/**
 * Prints the self-contained HTML report to PDF with headless Chromium
 * (Debian's `chromium`). The page has no external asset, and networking is
 * pointed nowhere, so rendering never reaches the network.
 */
export async function renderPdfReport(html: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlog-pdf-'));
  try {
    const page = join(dir, 'report.html');
    const pdf = join(dir, 'report.pdf');
    await writeFile(page, html);
    const args = [
      '--headless',
      '--disable-gpu',
      '--no-first-run',
      '--disable-extensions',
      '--disable-background-networking',
      '--proxy-server=127.0.0.1:9',
      '--no-pdf-header-footer',
      `--user-data-dir=${join(dir, 'profile')}`,
      `--print-to-pdf=${pdf}`,
      // Chromium refuses to run as root inside its sandbox.
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      `file://${page}`,
    ];
    let lastError: unknown;
    for (const browser of browsers) {
      try {
        await run(browser, args, { timeout: renderTimeoutMs });
        return await readFile(pdf);
      } catch (error) {
        lastError = error;
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
          throw new Error(`${browser} could not print the report: ${(error as Error).message}`);
      }
    }
    throw new MeshlogError('ML_RENDERER_MISSING', `none of ${browsers.join(', ')} is installed`, { cause: lastError });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

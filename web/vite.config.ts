import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/** The budget: first load under 300 kB of gzipped JavaScript. */
const jsBudgetBytes = 300 * 1024;

/** Prints the gzipped size of all JavaScript the first page load fetches and fails the build past the budget. */
function jsBudget(): Plugin {
  return {
    name: 'meshlog-js-budget',
    generateBundle(_options, bundle) {
      let gzipped = 0;
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk' && (chunk.isEntry || !chunk.isDynamicEntry)) gzipped += gzipSync(chunk.code).length;
      }
      console.log(`meshlog web UI: first-load JavaScript ${(gzipped / 1024).toFixed(1)} kB gzipped (budget ${jsBudgetBytes / 1024} kB)`);
      if (gzipped > jsBudgetBytes) this.error(`first-load JavaScript is ${gzipped} bytes gzipped, over the ${jsBudgetBytes}-byte budget`);
    },
  };
}

/**
 * The UI shares the server's wire types (src/api/, as `@api/…`) by type-only
 * imports, which leave nothing in the bundle, and src/api/'s plain data (the
 * LogQL keywords) by value: fails the build if any other module from outside
 * web/ (server code, or what an api/ module imported) was bundled after all.
 */
function noServerCode(): Plugin {
  const webRoot = fileURLToPath(new URL('.', import.meta.url));
  const apiRoot = fileURLToPath(new URL('../src/api/', import.meta.url));
  return {
    name: 'meshlog-no-server-code',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const outside = chunk.moduleIds.filter(
          (id) => !id.startsWith(webRoot) && !id.startsWith(apiRoot) && !id.includes('/node_modules/') && !id.startsWith('\0'),
        );
        if (outside.length > 0)
          this.error(
            `server code in the browser bundle (import it with \`import type\`, or keep shared data in src/api/ without imports): ${outside.join(', ')}`,
          );
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  resolve: { alias: { '@api': fileURLToPath(new URL('../src/api', import.meta.url)) } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    reportCompressedSize: true,
  },
  plugins: [jsBudget(), noServerCode()],
});

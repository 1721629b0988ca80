import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/**
 * The dashboard and GraphiQL, two pages of one build into dist/ui (served by the api role,
 * src/server/static-ui.ts). Hashed files go under /static/, so they never meet a client
 * route (/assets/… is the asset pages'). Nothing is inlined: the CSP allows no inline script.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  build: {
    outDir: here('../dist/ui'),
    emptyOutDir: true,
    assetsDir: 'static',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      input: { index: here('index.html'), graphiql: here('graphiql.html') },
      // No "the plugins took N s" notes in every build's output.
      checks: { bundlerTimings: false },
      // GraphiQL's dependencies carry React Server Components' "use client": meaningless here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  worker: { format: 'es' },
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true } } },
});

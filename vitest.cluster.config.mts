import { defineConfig } from 'vitest/config';
import base from './vitest.config.mjs';

/**
 * `npm run test:cluster`: the roles-apart harness (test/cluster/, network namespaces; needs
 * root and `ip`). Its files end in .cluster.ts, so the regular run (test/**\/*.test.ts)
 * never picks them up; it builds its own stores, so no global setup.
 */
export default defineConfig({
  resolve: base.resolve,
  plugins: base.plugins,
  test: {
    include: ['test/cluster/**/*.cluster.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});

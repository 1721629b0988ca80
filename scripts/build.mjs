// `npm run build`: compiles the server (tsc) and the dashboard (vite) into dist.next/, then
// swaps it in for dist/ with two renames. A process that starts dist/src/main.js while a
// build runs (npm start builds first; tests spawn dist/) never sees a half-written dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const next = path.join(root, 'dist.next');
const dist = path.join(root, 'dist');
const old = path.join(root, 'dist.old');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    rmSync(next, { recursive: true, force: true });
    process.exit(r.status ?? 1);
  }
}

rmSync(next, { recursive: true, force: true });
run(bin('tsc'), ['-p', 'tsconfig.build.json', '--outDir', next]);
run(bin('vite'), ['build', '--config', 'ui/vite.config.mts', '--logLevel', 'warn', '--outDir', path.join(next, 'ui')]);
rmSync(old, { recursive: true, force: true });
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });

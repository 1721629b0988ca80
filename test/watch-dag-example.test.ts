import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { startCliLike } from './support/cli';
import { ok, startTestApp, type TestApp } from './support/test-app';

const ROOT = path.resolve(__dirname, '..');
/** The README's watcher, built as users run it (npm run build). */
const WATCHER = path.join(ROOT, 'dist/examples/watch-dag.js');

let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
  ({ key } = await t.tenant('submitter'));
});
afterAll(async () => {
  await t?.stop();
});

const watcher = (dagId: string) => startCliLike(WATCHER, [t.url, key, dagId], { env: {} });

describe('examples/watch-dag.ts (the README watcher)', () => {
  it('is in the README verbatim', () => {
    const source = readFileSync(path.join(ROOT, 'examples/watch-dag.ts'), 'utf8');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${source}\`\`\``);
  });

  it('on a DAG that ended before it started: prints the final state and exits 0', async () => {
    const id = await submitDag(t, key, {
      id: `done-${randomUUID()}`,
      name: 'watch-example',
      jobs: [{ id: 'a', name: 'a', executor: 'noop' }],
    });
    await waitForDag(t, key, id, ['COMPLETED']);
    const r = await watcher(id).done;
    expect(r).toMatchObject({ code: 0, stdout: 'COMPLETED\n', stderr: '' });
  });

  it('on a running DAG: prints its state, then each change until it ends', async () => {
    const id = await submitDag(t, key, {
      id: `live-${randomUUID()}`,
      name: 'watch-example',
      jobs: [{ id: 'a', name: 'a', executor: 'noop', data: { hang: true } }],
    });
    await waitForDag(t, key, id, ['ACTIVE']);
    const w = watcher(id);
    await waitFor(async () => w.out() === 'ACTIVE\n', 15_000, 'the watcher to print ACTIVE');
    // The cancel may commit before the subscription is live: it starts after the cursor, so it sees it.
    ok(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { state } }`, { id }, key));
    const r = await w.done;
    expect(r).toMatchObject({ code: 1, stdout: 'ACTIVE\nCANCELLED\n' });
  });

  it('an unknown DAG: a message and exit 1', async () => {
    const r = await watcher('no-such-dag').done;
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'DAG no-such-dag not found\n' });
  });
});

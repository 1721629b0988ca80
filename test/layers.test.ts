import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The layer gate of `npm run check` (DESIGN.md, "What may import what"): the project's own
 * ESLint config refuses an upward import, type-only included, and lets a downward one pass.
 */
const eslint = new ESLint({
  cwd: path.resolve(__dirname, '..'),
  // The files linted here exist only in memory, which the type-aware parser (the project
  // service) refuses; the import rule needs no type information, so it runs alone, untyped.
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});

async function restrictedImports(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer gates', () => {
  it('refuses core/ importing services/, type-only imports included', async () => {
    const messages = await restrictedImports(
      "import type { AssetView } from '../services/assets/asset-views';\nexport type X = AssetView;\n",
      'src/core/x.ts',
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('src/core/ may import only errors');
  });

  it('refuses services/ importing server/', async () => {
    const messages = await restrictedImports(
      "import { createMetrics } from '../../server/metrics';\nexport const m = createMetrics;\n",
      'src/services/assets/x.ts',
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('src/services/ may import only');
  });

  it('keeps sdk/ on core/ alone', async () => {
    const messages = await restrictedImports(
      "import { createLogger } from '../lib/logger';\nimport { ACTIONS } from '../core/policy';\nexport const x = [createLogger, ACTIONS];\n",
      'src/sdk/x.ts',
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("'../lib/logger'");
  });

  it('lets services/ import a layer below it', async () => {
    const messages = await restrictedImports(
      "import { rows } from '../db/sql';\nimport { badInput } from '../errors/domain-error';\nexport const x = [rows, badInput];\n",
      'src/services/x.ts',
    );
    expect(messages).toEqual([]);
  });
});

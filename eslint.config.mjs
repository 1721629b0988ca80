import tseslint from 'typescript-eslint';

// Layer gates (DESIGN.md, "Code layout and conventions", "What may import what"): arrows point
// down, never up. Each folder of src/ and the folders it may import besides itself; type-only
// imports count too. test/, bench/ and scripts/ may import anything.
const BASE = ['core', 'lib', 'errors', 'config'];
const BELOW_SERVICES = ['jobs', 'events', 'state', 'repositories', 'db', 'entities'];
const ENTRY = ['main', 'cli']; // src/main.ts, src/cli.ts and src/cli/
const MAY_IMPORT = {
  config: [],
  errors: [],
  core: ['errors'],
  lib: ['config', 'core', 'errors'],
  entities: [...BASE],
  db: ['entities', ...BASE],
  repositories: ['db', 'entities', ...BASE],
  jobs: BELOW_SERVICES.filter((f) => f !== 'jobs').concat(BASE),
  events: BELOW_SERVICES.filter((f) => f !== 'events').concat(BASE),
  state: BELOW_SERVICES.filter((f) => f !== 'state').concat(BASE),
  services: [...BELOW_SERVICES, ...BASE],
  schema: ['services', ...BELOW_SERVICES, ...BASE],
  loaders: ['schema', 'services', ...BELOW_SERVICES, ...BASE],
  resolvers: ['loaders', 'schema', 'services', ...BELOW_SERVICES, ...BASE],
  server: ['resolvers', 'loaders', 'schema', 'services', ...BELOW_SERVICES, ...BASE],
  worker: ['services', ...BELOW_SERVICES, 'sdk', ...BASE],
  scheduler: ['services', ...BELOW_SERVICES, ...BASE],
  sdk: ['core'],
  app: [
    'server',
    'worker',
    'scheduler',
    'resolvers',
    'loaders',
    'schema',
    'services',
    ...BELOW_SERVICES,
    'sdk',
    ...BASE,
  ],
  // Entry points: app/ (which composes the rest), config/, lib/, the SDK (scaffold), core/, errors/.
  cli: ['main', 'app', 'sdk', ...BASE],
};
const FOLDERS = [...Object.keys(MAY_IMPORT), ...ENTRY.filter((f) => !(f in MAY_IMPORT))];

/** The no-restricted-imports config for the files of `folder` (`prefix`: how its imports leave it). */
function layer(files, folder, prefix) {
  const allowed = MAY_IMPORT[folder];
  const denied = FOLDERS.filter((f) => f !== folder && !allowed.includes(f));
  const label = folder === 'cli' ? 'Entry points (main.ts, cli.ts, cli/)' : `src/${folder}/`;
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^${prefix}(${denied.join('|')})(/|$)`,
              message: `${label} may import only ${allowed.length ? allowed.join(', ') : 'packages'} (DESIGN.md, "What may import what").`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist.next/**',
      'dist.old/**',
      'node_modules/**',
      '.data/**',
      'coverage/**',
      'test/graphql/generated.ts',
      'ui/src/graphql/generated/**',
      'test-artifacts/**',
      'bin/**',
      'examples/**/node_modules/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, properties: false } },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only src/config reads process.env.' },
      ],
    },
  },
  {
    files: [
      'src/config/**',
      'test/support/global-setup.ts',
      'test/**/*.test.ts',
      'test/cluster/**',
      'bench/**',
      'scripts/**',
      '*.mts',
      '*.mjs',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Files their tools load by default export (vitest's global setup and configs).
    files: ['test/support/global-setup.ts', '**/vitest.config.mts', '*.mts', '*.mjs'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['src/**/*.ts', 'ui/**/*.ts', 'ui/**/*.tsx', 'test/browser/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 400 }] },
  },
  {
    // The dashboard (ui/, its own tsconfig): browser code, outside src/'s layers; it reaches
    // the server only through the public GraphQL API, never by importing it.
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^(\.\./)+(src|test|bench|scripts)(/|$)`,
              message: 'ui/ talks to the server through GraphQL only.',
            },
          ],
        },
      ],
    },
  },
  { files: ['ui/vite.config.mts'], rules: { 'no-restricted-syntax': 'off' } },
  ...Object.keys(MAY_IMPORT)
    .filter((f) => f !== 'cli')
    .map((f) => layer([`src/${f}/**/*.ts`], f, String.raw`(\.\./)+`)),
  layer(['src/cli/**/*.ts'], 'cli', String.raw`(\.\./)+`),
  layer(['src/main.ts', 'src/cli.ts'], 'cli', String.raw`\./`),
);

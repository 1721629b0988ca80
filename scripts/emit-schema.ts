import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printAppSchema } from '../src/server/build-schema';

/** Writes src/schema/schema.graphql from the type-graphql classes; `--check` fails on drift. */
const file = path.resolve(__dirname, '../src/schema/schema.graphql');
const sdl = printAppSchema();
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    /* missing counts as drift */
  }
  if (committed !== sdl) {
    process.stderr.write(
      'src/schema/schema.graphql is out of date with the code: run `npm run schema:emit` and commit it.\n',
    );
    process.exit(1);
  }
  process.stdout.write('schema.graphql matches the code\n');
} else {
  writeFileSync(file, sdl);
  process.stdout.write(`wrote ${file}\n`);
}

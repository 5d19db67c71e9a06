// npm run openapi: writes openapi/openapi.json from the route schemas (zod is the single source).
// --check exits 1 instead when the committed file is out of date.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatOpenApi, generateOpenApi } from '../src/server/openapi.js';
import { packageRoot } from '../src/server/config.js';

const target = resolve(packageRoot(), 'openapi', 'openapi.json');
const text = formatOpenApi(await generateOpenApi());
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== text) {
    console.error(`${target} is out of date: run npm run openapi`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  await mkdir(resolve(packageRoot(), 'openapi'), { recursive: true });
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}

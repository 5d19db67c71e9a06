// The OpenAPI document as the code defines it, independent of the environment and of loaded models,
// so the committed openapi/openapi.json can be compared with it.
import { buildApp } from './app.js';
import { defaultConfig } from './config.js';
import { Registry } from '../runtime/registry.js';

export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const app = await buildApp({ config: defaultConfig(), registry: new Registry([]), logger: false });
  try {
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}

/** The committed file's exact text: stable key order as generated, two-space indent, final newline. */
export function formatOpenApi(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

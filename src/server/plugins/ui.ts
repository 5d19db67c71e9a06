// The try-it page at `/`: static files that call the public API from the browser like any other
// client, so it needs no route, permission or limit of its own. KESTREL_UI=false leaves it out.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { packageRoot } from '../config.js';

/**
 * The page's Content-Security-Policy. Everything it loads is its own file; the only other sources are
 * the photo the user chose (blob:) and the server's blurred copy of it (blob:). No inline script or
 * style is allowed, and Trusted Types forbid string-to-script sinks, so an injected label or problem
 * detail can only ever be text.
 */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/**
 * Where the page's files live: `public/` at the package root, found the same way from src/ (tsx),
 * dist/src/ (built) and the container image.
 */
export function uiRoot(): string {
  return resolve(packageRoot(), 'public');
}

export interface UiOptions {
  /** A different folder of page files (tests). */
  root?: string;
}

const uiPlugin: FastifyPluginAsync<UiOptions> = async (app, opts) => {
  if (app.hasDecorator('config') && !app.config.ui) return;
  const root = opts.root ?? uiRoot();
  if (!existsSync(resolve(root, 'index.html'))) {
    // A package trimmed of its page still serves the API; say why `/` is missing.
    app.log.warn({ root }, 'the try-it page is not served: its files are missing');
    return;
  }
  // Scoped to this plugin, so the API's own responses keep their headers untouched.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', UI_CSP);
  });
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per file found at start-up instead of a catch-all: unknown paths still get the API's
    // problem+json 404, and nothing added to the folder later is served without a restart.
    wildcard: false,
    index: 'index.html',
    decorateReply: false,
    serveDotFiles: false,
    dotfiles: 'deny',
    // The page is a few small files that change with each release; revalidating costs one 304.
    cacheControl: true,
    maxAge: 0,
  });
};

export default uiPlugin;

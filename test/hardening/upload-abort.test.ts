// Clients that vanish mid-upload. @fastify/multipart before 10.1.1 (CVE-2026-18549) left saveRequestFiles()
// waiting forever when a part cut off by the size limit was followed by the client aborting (reproduced on
// 9.4.0). This service reads parts with req.parts(), and this test holds whatever version is installed to
// it: every aborted upload, over the limit or not, must let its handler finish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import Fastify from 'fastify';
import { readUpload, registerUploadParsers } from '../../src/server/upload.js';

const LIMIT = 1000;

test('an upload aborted mid-part (cut off by the size limit or not) never leaves its handler waiting', async () => {
  const app = Fastify();
  let pending = 0;
  let settled = 0;
  await app.register(async (s) => {
    await registerUploadParsers(s, LIMIT);
    s.post('/upload', async (req) => {
      pending++;
      try {
        return (await readUpload(req, { maxImageBytes: LIMIT, maxFiles: 2 }, { batch: true })).images.length;
      } catch {
        return -1;
      } finally {
        pending--;
        settled++;
      }
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const port = (app.server.address() as { port: number }).port;
    const boundary = 'kestrel-abort';
    const part = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
    // Over the limit (the truncated-file case of the advisory), exactly at it, under it, and a second part cut short.
    const bodies = [Buffer.alloc(LIMIT * 5, 0xff), Buffer.alloc(LIMIT, 0xff), Buffer.alloc(LIMIT / 2, 0xff), Buffer.concat([Buffer.alloc(10, 1), Buffer.from(`\r\n${part}`), Buffer.alloc(LIMIT * 3, 2)])];
    for (const bytes of bodies) {
      await new Promise<void>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n${part}`);
          sock.write(bytes);
          setTimeout(() => {
            sock.destroy();
            resolve();
          }, 100);
        });
        sock.on('error', reject);
      });
    }
    const deadline = Date.now() + 3000;
    while ((pending > 0 || settled < bodies.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(settled, bodies.length, `${bodies.length - settled} handlers never ran to the end`);
    assert.equal(pending, 0, `${pending} handlers still waiting after their clients left`);
  } finally {
    await app.close();
  }
});

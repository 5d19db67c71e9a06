// Shared request builders and images for the detection route tests.
import sharp from 'sharp';

export interface Part {
  name: string;
  data: Buffer | string;
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body as a browser would send it. */
export function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----kestrel' + Math.random().toString(16).slice(2);
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(head + '\r\n'), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export const imagePart = (data: Buffer, filename = 'photo.jpg', contentType = 'image/jpeg'): Part => ({ name: 'image', data, filename, contentType });

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  colour: string;
}

/**
 * A photograph-sized test scene: a noisy textured background (so JPEG has real work to do) with
 * solid colour rectangles the fake detector finds.
 */
export async function photo(width: number, height: number, rects: Rect[], fmt: 'jpeg' | 'png' = 'jpeg'): Promise<Buffer> {
  const bg = Buffer.alloc(width * height * 3);
  let s = 12345;
  for (let i = 0; i < bg.length; i += 3) {
    s = (s * 1103515245 + 12345) >>> 0;
    const v = 60 + ((s >>> 16) % 40); // 60..99: never near a detector colour
    const px = i / 3;
    bg[i] = v;
    bg[i + 1] = (v + ((px % width) >> 4)) & 0x7f;
    bg[i + 2] = v - 20;
  }
  const overlays = await Promise.all(
    rects.map(async (r) => ({ input: await sharp({ create: { width: r.w, height: r.h, channels: 3, background: r.colour } }).png().toBuffer(), left: r.x, top: r.y })),
  );
  const img = sharp(bg, { raw: { width, height, channels: 3 } }).composite(overlays);
  return fmt === 'jpeg' ? img.jpeg({ quality: 92 }).toBuffer() : img.png().toBuffer();
}

export const WHITE = { x: 400, y: 300, w: 400, h: 300, colour: '#ffffff' };
export const RED = { x: 1200, y: 500, w: 300, h: 400, colour: '#ff0000' };

/** Box agreement within a tolerance in original pixels (the model input is ~12× smaller). */
export function near(box: { x: number; y: number; width: number; height: number }, r: { x: number; y: number; w: number; h: number }, tol: number): boolean {
  return Math.abs(box.x - r.x) <= tol && Math.abs(box.y - r.y) <= tol && Math.abs(box.x + box.width - (r.x + r.w)) <= tol && Math.abs(box.y + box.height - (r.y + r.h)) <= tol;
}

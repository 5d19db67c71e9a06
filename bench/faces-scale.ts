// npm run bench:faces-scale — the smallest face each head still finds. Each photograph is shrunk and
// centred on a grey 512² canvas (as the service letterboxes), then both heads run through kestrel's
// pipeline; a face counts as found when a detection overlaps the shrunk reference box (IoU ≥ 0.3).
import sharp from 'sharp';
import { initBackend } from '../src/runtime/backend.js';
import { kestrelFaces, loadFacesModel, photographs, type Face, iou } from '../test/vision/faces/peer-helpers.js';

await initBackend();
const model = await loadFacesModel();
const photos = (await photographs()).filter((p) => p.name !== 'mosaic');
const S = 512;
const SCALES = [1, 0.75, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.125, 0.1];

async function canvas(image: Buffer, scale: number): Promise<{ px: Uint8Array; off: number; side: number }> {
  const side = Math.max(1, Math.round(S * scale));
  const off = Math.floor((S - side) / 2);
  const small = await sharp(image).resize(side, side, { fit: 'fill' }).removeAlpha().toColourspace('srgb').png().toBuffer();
  const buf = await sharp({ create: { width: S, height: S, channels: 3, background: { r: 114, g: 114, b: 114 } } })
    .composite([{ input: small, left: off, top: off }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return { px: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), off, side };
}

console.log('photo      scale  face px  ssd (score)   yolo (score)');
for (const { name, image } of photos) {
  // Reference face: the SSD detection on the full-size photograph.
  const ref = (await kestrelFaces(model, 'ssd', (await canvas(image, 1)).px, S, 0.5))[0];
  for (const scale of SCALES) {
    const { px, off, side } = await canvas(image, scale);
    const k = side / S;
    const want: Face = { x1: off + ref.x1 * k, y1: off + ref.y1 * k, x2: off + ref.x2 * k, y2: off + ref.y2 * k, score: 1 };
    const cells: string[] = [];
    for (const head of ['ssd', 'yolo']) {
      const found = (await kestrelFaces(model, head, px, S, 0.5)).filter((f) => iou(f, want) >= 0.3);
      cells.push(found.length ? `yes (${found[0].score.toFixed(2)})` : 'no');
    }
    console.log(`${name.padEnd(10)} ${scale.toFixed(3).padStart(5)} ${(want.x2 - want.x1).toFixed(0).padStart(8)}  ${cells[0].padEnd(13)} ${cells[1]}`);
  }
}
model.dispose();

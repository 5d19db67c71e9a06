// npm run bench:faces-letterbox — how the service's preprocessing moves the faces away from face-api's
// pipeline on a non-square (2:1) photograph. face-api gets the full picture (it pads right/bottom
// with black, then resizes bilinearly without antialiasing); kestrel gets the same picture letterboxed
// in several ways. Boxes are compared in the original picture's pixels.
import sharp from 'sharp';
import { initBackend, tf } from '../src/runtime/backend.js';
import { kestrelFaces, loadFacesModel, loadPeer, pairUp, photographs, type Face } from '../test/vision/faces/peer-helpers.js';

await initBackend();
const [model, peer, photos] = await Promise.all([loadFacesModel(), loadPeer(), photographs()]);
const W = 1024;
const H = 512;
const [astronaut, camera] = photos;
const wide = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 0, g: 0, b: 0 } } })
  .composite([
    { input: await sharp(astronaut.image).png().toBuffer(), left: 0, top: 0 },
    { input: await sharp(camera.image).toColourspace('srgb').png().toBuffer(), left: 512, top: 0 },
  ])
  .removeAlpha()
  .raw()
  .toBuffer();

async function boxed(inner: Uint8Array, side: number, grey: number, top: number): Promise<Uint8Array> {
  const png = await sharp(Buffer.from(inner), { raw: { width: side, height: side / 2, channels: 3 } }).png().toBuffer();
  const out = await sharp({ create: { width: side, height: side, channels: 3, background: { r: grey, g: grey, b: grey } } })
    .composite([{ input: png, left: 0, top }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

console.log('head  resize          padding              faces (face-api/kestrel)  IoU per face     Δscore per face');
for (const [head, S] of [
  ['ssd', 512],
  ['yolo', 416],
] as const) {
  const t = tf.tensor3d(wide, [H, W, 3], 'int32');
  const dets =
    head === 'ssd'
      ? await peer.nets.ssdMobilenetv1.locateFaces(t as never, new peer.SsdMobilenetv1Options({ minConfidence: 0.5 }))
      : await peer.nets.tinyFaceDetector.locateFaces(t as never, new peer.TinyFaceDetectorOptions({ inputSize: S, scoreThreshold: 0.5 }));
  const theirs: Face[] = dets.map((d) => ({ x1: d.box.x, y1: d.box.y, x2: d.box.x + d.box.width, y2: d.box.y + d.box.height, score: d.score }));
  const tfInner = new Uint8Array(tf.tidy(() => tf.image.resizeBilinear(t.toFloat() as tf.Tensor3D, [S / 2, S]).round().clipByValue(0, 255).dataSync()));
  t.dispose();
  const sharpInner = new Uint8Array(await sharp(wide, { raw: { width: W, height: H, channels: 3 } }).resize(S, S / 2).raw().toBuffer());
  const variants: [string, string, Uint8Array, number][] = [
    ['tf bilinear', 'top-left, black', await boxed(tfInner, S, 0, 0), 0],
    ['tf bilinear', 'top-left, grey', await boxed(tfInner, S, 114, 0), 0],
    ['tf bilinear', 'centred, black', await boxed(tfInner, S, 0, S / 4), S / 4],
    ['tf bilinear', 'centred, grey', await boxed(tfInner, S, 114, S / 4), S / 4],
    ['sharp', 'top-left, grey', await boxed(sharpInner, S, 114, 0), 0],
    ['sharp', 'centred, grey', await boxed(sharpInner, S, 114, S / 4), S / 4],
  ];
  for (const [resize, pad, px, top] of variants) {
    const k = W / S;
    const ours = (await kestrelFaces(model, head, px, S, 0.5)).map((f) => ({ x1: f.x1 * k, y1: (f.y1 - top) * k, x2: f.x2 * k, y2: (f.y2 - top) * k, score: f.score }));
    const pairs = pairUp(ours, theirs);
    console.log(
      `${head.padEnd(5)} ${resize.padEnd(15)} ${pad.padEnd(20)} ${`${theirs.length}/${ours.length}`.padEnd(25)} ${pairs.map((p) => p.iou.toFixed(3)).join(' ').padEnd(16)} ${pairs.map((p) => (p.ours.score - p.peer.score).toFixed(3)).join(' ')}`,
    );
  }
}
model.dispose();

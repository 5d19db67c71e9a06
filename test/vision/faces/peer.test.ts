// Peer agreement: kestrel's face pipeline against face-api's own, same tfjs backend and thresholds.
// First on the same pixels at the input size, with issue 11's criteria (same number of faces, every
// pair IoU ≥ 0.95, scores within 0.02); then from encoded photographs through the server's decode step.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import type { DetectorModel } from '../../../src/runtime/models.js';
import sharp from 'sharp';
import { kestrelFaces, loadFacesModel, loadPeer, nonSquarePhotographs, pairUp, peerFaces, peerFacesOnPhoto, photographs, pixelsAt, servedFaces } from './peer-helpers.js';

const THRESHOLD = 0.5; // face-api's default for both detectors
let model: DetectorModel;
let peer: Awaited<ReturnType<typeof loadPeer>>;
let photos: Awaited<ReturnType<typeof photographs>>;

before(async () => {
  await initBackend();
  [model, peer, photos] = await Promise.all([loadFacesModel(), loadPeer(), photographs()]);
});

after(() => model?.dispose());

// [head, side the pixels arrive at, side the network runs at]. yolo also runs from the model's 512
// input: predict then resizes to 416 exactly as face-api does for an input that is not 416.
const CASES: [string, number, number][] = [
  ['ssd', 512, 512],
  ['yolo', 416, 416],
  ['yolo', 512, 416],
];

for (const [head, side, netSide] of CASES) {
  test(`${head} head (${side}px input, network at ${netSide}) agrees with face-api on real photographs`, async (t) => {
    let total = 0;
    let worstIou = 1;
    let worstScore = 0;
    for (const { name, image } of photos) {
      const px = await pixelsAt(image, side);
      const theirs = await peerFaces(peer, head as 'yolo' | 'ssd', px, side, netSide, THRESHOLD);
      const ours = await kestrelFaces(model, head, px, side, THRESHOLD);
      assert.ok(theirs.length > 0, `${name}: face-api found no face, the comparison would be empty`);
      assert.equal(ours.length, theirs.length, `${name}: ${ours.length} faces vs face-api's ${theirs.length}`);
      for (const p of pairUp(ours, theirs)) {
        assert.ok(p.iou >= 0.95, `${name}: IoU ${p.iou.toFixed(4)} with face-api's box`);
        assert.ok(Math.abs(p.ours.score - p.peer.score) <= 0.02, `${name}: score ${p.ours.score} vs ${p.peer.score}`);
        worstIou = Math.min(worstIou, p.iou);
        worstScore = Math.max(worstScore, Math.abs(p.ours.score - p.peer.score));
      }
      total += theirs.length;
    }
    assert.ok(total >= 4, `only ${total} faces over all photographs`);
    t.diagnostic(`${total} faces, worst IoU ${worstIou.toFixed(6)}, worst |Δscore| ${worstScore.toExponential(2)}`);
  });
}

// Through the server's own path on photographs that are not square nor at the network's side, against
// face-api fed the full-resolution picture (issue 19). The bars sit between what the lanczos letterbox
// gave (worst IoU 0.853, |Δscore| 0.054) and what face-api's own resize gives (worst IoU 0.9996,
// |Δscore| 5e-5, the answers' rounding to 2 decimals in pixels and 4 in score included). 0.3, below
// face-api's default, brings in more faces (basketball1's for yolo) for the bars to bite on.
const SERVED_THRESHOLD = 0.3;
const SERVED_MIN_IOU = 0.998;
const SERVED_MAX_DSCORE = 5e-4;

for (const head of ['ssd', 'yolo'] as const) {
  test(`${head} head served from photos not at the network's size agrees with face-api on the full picture`, async (t) => {
    const netSide = model.headInputSize!(head).width;
    let total = 0;
    let worstIou = 1;
    let worstScore = 0;
    for (const photo of await nonSquarePhotographs()) {
      await t.test(photo.name, { skip: photo.absent ?? false }, async () => {
        const image = photo.image!;
        const meta = await sharp(image).metadata();
        assert.ok(meta.width !== meta.height && Math.max(meta.width!, meta.height!) !== netSide, `${photo.name} would need no padding or no resize`);
        const theirs = await peerFacesOnPhoto(peer, head, image, netSide, SERVED_THRESHOLD);
        const ours = await servedFaces(model, head, image, SERVED_THRESHOLD);
        total += theirs.length;
        assert.equal(ours.length, theirs.length, `${ours.length} faces vs face-api's ${theirs.length}`);
        for (const p of pairUp(ours, theirs)) {
          assert.ok(p.iou >= SERVED_MIN_IOU, `IoU ${p.iou.toFixed(4)} with face-api's box`);
          assert.ok(Math.abs(p.ours.score - p.peer.score) <= SERVED_MAX_DSCORE, `score ${p.ours.score} vs ${p.peer.score}`);
          worstIou = Math.min(worstIou, p.iou);
          worstScore = Math.max(worstScore, Math.abs(p.ours.score - p.peer.score));
        }
      });
    }
    // The fixtures alone hold a face in each of their four photos for both heads.
    assert.ok(total >= 4, `only ${total} faces over all photographs`);
    t.diagnostic(`${total} faces, worst IoU ${worstIou.toFixed(6)}, worst |Δscore| ${worstScore.toExponential(2)}`);
  });
}

test('the mosaic holds several faces for both heads, so the count check is meaningful', async () => {
  const mosaic = photos.find((p) => p.name === 'mosaic')!;
  for (const head of ['ssd', 'yolo']) {
    const faces = await kestrelFaces(model, head, await pixelsAt(mosaic.image, 512), 512, THRESHOLD);
    assert.ok(faces.length >= 3, `${head}: ${faces.length} faces in the mosaic`);
  }
});

test('repeated predictions leave the tensor count unchanged', async () => {
  const px = await pixelsAt(photos[0].image, 512);
  await model.predict(px, 1, 'ssd');
  await model.predict(px, 1, 'yolo');
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    await model.predict(px, 1, 'ssd');
    await model.predict(px, 1, 'yolo');
  }
  assert.equal(tf.memory().numTensors, before);
});

// Peer agreement: kestrel's face pipeline against face-api's own, same tfjs backend, same pixels,
// same input size and thresholds. Criteria from issue 11: same number of faces, every pair IoU ≥ 0.95,
// scores within 0.02.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import type { DetectorModel } from '../../../src/runtime/models.js';
import { kestrelFaces, loadFacesModel, loadPeer, pairUp, peerFaces, photographs, pixelsAt } from './peer-helpers.js';

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

// Makes the README's and docs/ui.md's pictures of the try-it page from the browser test's
// screenshots, so they can be redone whenever the page or the models change:
//   node scripts/run-tests.mjs ui-browser && node scripts/ui-doc-images.mjs
// Palette PNGs at documentation width keep each picture near 100 kB in the repository.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import sharp from 'sharp';

const FROM = '.tmp/ui-screenshots';
const TO = 'docs/images';

// [screenshot, picture, crop height in screenshot pixels (undefined: all), width in the docs]
const PICTURES = [
  ['detect-desktop.png', 'ui-detect.png', 1080, 880],
  ['text.png', 'ui-text.png', 860, 880],
  ['forecast.png', 'ui-forecast.png', undefined, 880],
  ['detect-phone.png', 'ui-phone.png', 1300, 390],
];

mkdirSync(TO, { recursive: true });
for (const [shot, picture, cropHeight, width] of PICTURES) {
  const src = `${FROM}/${shot}`;
  if (!existsSync(src)) {
    console.error(`${src} is missing: run the browser tests first (node scripts/run-tests.mjs ui-browser)`);
    process.exit(1);
  }
  const meta = await sharp(src).metadata();
  const height = Math.min(cropHeight ?? meta.height, meta.height);
  await sharp(src)
    .extract({ left: 0, top: 0, width: meta.width, height })
    .resize(Math.min(width, meta.width))
    .png({ palette: true, quality: 85, effort: 10 })
    .toFile(`${TO}/${picture}`);
  console.log(`${TO}/${picture}: ${Math.round(statSync(`${TO}/${picture}`).size / 1024)} kB`);
}

// The evaluator's public surface: metrics, the per-image text-file reader and the PR-curve plot.
export * from './map.js';
export * from './files.js';
export * from './plot.js';

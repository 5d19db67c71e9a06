// Library entry: the post-processing and metrics functions, usable without the server.
export * from './runtime/manifest.js';
export type * from './runtime/models.js';
export type { Candidates } from './vision/candidates.js';
export * from './vision/boxes.js';
export * from './vision/nms.js';
export * from './vision/eval/index.js';

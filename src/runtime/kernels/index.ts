// Gradient kernels that the wasm backend lacks. Registered for wasm only: tfjs-node and cpu keep their own.
// (Filled in by the fast-training work; see issue 4.)
export function registerWasmKernels(): string[] {
  return [];
}

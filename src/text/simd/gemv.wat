;; out[r] = Σ_c w[r·cols + c] · x[c] for r < rows, f32, 128-bit SIMD with four accumulators.
;; Pointers are byte offsets into the imported memory, 16-byte aligned; cols is a multiple of 16.
;; Build: wat2wasm gemv.wat -o - | base64 -w0  (the bytes live in gemv-wasm.ts)
(module
  (import "env" "memory" (memory 1))
  (func (export "gemv") (param $w i32) (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $end i32) (local $wp i32) (local $xp i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $a1 (v128.const f32x4 0 0 0 0))
        (local.set $a2 (v128.const f32x4 0 0 0 0))
        (local.set $a3 (v128.const f32x4 0 0 0 0))
        (local.set $c (i32.const 0))
        (block $colsDone
          (loop $colLoop
            (br_if $colsDone (i32.ge_u (local.get $c) (local.get $end)))
            (local.set $wp (i32.add (local.get $w) (local.get $c)))
            (local.set $xp (i32.add (local.get $x) (local.get $c)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (local.get $wp)) (v128.load offset=0 (local.get $xp)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $wp)) (v128.load offset=16 (local.get $xp)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $wp)) (v128.load offset=32 (local.get $xp)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $wp)) (v128.load offset=48 (local.get $xp)))))
            (local.set $c (i32.add (local.get $c) (i32.const 64)))
            (br $colLoop)))
        (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
            (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (local.set $w (i32.add (local.get $w) (local.get $end)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop)))))

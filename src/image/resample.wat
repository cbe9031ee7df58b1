;; SIMD kernels of the Pillow-exact bicubic resampler (see resample.ts for the algorithm and why it is
;; hand-written). Integer arithmetic identical to Pillow's Resample.c: int32 sums of uint8 x int32 weights
;; with 22 fractional bits, rounding half added up front, then (sum >> 22) saturated to 0..255.
;; Build: wat2wasm resample.wat -o resample.wasm (WABT >= 1.0.27, SIMD on by default), then embed the
;; bytes in resample-wasm.ts (base64; see the comment there).
(module
  (memory (export "memory") 1)

  ;; Vertical pass over rows of R bytes (R >= 16). For output rows yy in [yy0, yy1):
  ;;   dst[yy*R + i] = clip8(2^21 + sum_{t<k} src[(starts[yy] - row0 + t)*R + i] * w[yy*k + t])
  ;; starts: i32 input-row indices; src holds input rows from row0 on. 16 bytes per step; the last step
  ;; is moved back to end exactly at the row end (it rewrites a few equal bytes).
  (func (export "vertical")
    (param $src i32) (param $row0 i32) (param $R i32) (param $starts i32) (param $w i32) (param $k i32)
    (param $yy0 i32) (param $yy1 i32) (param $dst i32)
    (local $yy i32) (local $i i32) (local $t i32) (local $p i32) (local $wp i32) (local $o i32)
    (local $base i32) (local $last i32)
    (local $wv v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $px v128) (local $lo v128) (local $hi v128)
    (local.set $last (i32.sub (local.get $R) (i32.const 16)))
    (local.set $yy (local.get $yy0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $yy) (local.get $yy1)))
        (local.set $base (i32.add (local.get $src)
          (i32.mul (i32.sub (i32.load (i32.add (local.get $starts) (i32.shl (local.get $yy) (i32.const 2))))
                            (local.get $row0))
                   (local.get $R))))
        (local.set $wp (i32.add (local.get $w) (i32.shl (i32.mul (local.get $yy) (local.get $k)) (i32.const 2))))
        (local.set $o (i32.add (local.get $dst) (i32.mul (local.get $yy) (local.get $R))))
        (local.set $i (i32.const 0))
        (block $cols_done
          (loop $cols
            (local.set $a0 (i32x4.splat (i32.const 2097152)))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $t (i32.const 0))
            (loop $taps
              (local.set $wv (i32x4.splat (i32.load (i32.add (local.get $wp) (i32.shl (local.get $t) (i32.const 2))))))
              (local.set $px (v128.load (local.get $p)))
              (local.set $lo (i16x8.extend_low_i8x16_u (local.get $px)))
              (local.set $hi (i16x8.extend_high_i8x16_u (local.get $px)))
              (local.set $a0 (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $wv))))
              (local.set $a1 (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $wv))))
              (local.set $a2 (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $wv))))
              (local.set $a3 (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $wv))))
              (local.set $p (i32.add (local.get $p) (local.get $R)))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (br_if $taps (i32.lt_u (local.get $t) (local.get $k))))
            ;; (sum >> 22) saturated: negative -> 0, >= 256 -> 255, exactly Pillow's clip8.
            (v128.store (i32.add (local.get $o) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a0) (i32.const 22)) (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a2) (i32.const 22)) (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (br_if $cols_done (i32.ge_u (local.get $i) (local.get $last)))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (if (i32.gt_u (local.get $i) (local.get $last)) (then (local.set $i (local.get $last))))
            (br $cols)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rows))))

  ;; Horizontal pass of RGB rows. For input rows y in [y0, y1) and outputs x < outW:
  ;;   dst[(y-y0)*outW*3 + 3x + c] = clip8(2^21 + sum_{t<k} src[y*inRow + 3*(starts[x] + t) + c] * w[x*k + t])
  ;; One pixel (R, G, B, + one spare lane) per vector; the spare lane's byte is written one past the pixel
  ;; and overwritten by the next pixel, so dst needs one byte of slack at its end (and src one byte of
  ;; readable slack after its last pixel).
  (func (export "horizontal")
    (param $src i32) (param $inRow i32) (param $y0 i32) (param $y1 i32) (param $starts i32) (param $w i32)
    (param $k i32) (param $outW i32) (param $dst i32)
    (local $y i32) (local $x i32) (local $t i32) (local $row i32) (local $p i32) (local $wp i32) (local $o i32)
    (local $acc v128) (local $v v128)
    (local.set $o (local.get $dst))
    (local.set $y (local.get $y0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $y1)))
        (local.set $row (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $inRow))))
        (local.set $x (i32.const 0))
        (local.set $wp (local.get $w))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $x) (local.get $outW)))
            (local.set $p (i32.add (local.get $row)
              (i32.mul (i32.load (i32.add (local.get $starts) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 3))))
            (local.set $acc (i32x4.splat (i32.const 2097152)))
            (local.set $t (i32.const 0))
            (loop $taps
              (local.set $v (v128.load32_zero (local.get $p)))
              (local.set $acc (i32x4.add (local.get $acc)
                (i32x4.mul (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (local.get $v)))
                           (i32x4.splat (i32.load (local.get $wp))))))
              (local.set $p (i32.add (local.get $p) (i32.const 3)))
              (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (br_if $taps (i32.lt_u (local.get $t) (local.get $k))))
            (local.set $v (i32x4.shr_s (local.get $acc) (i32.const 22)))
            (local.set $v (i16x8.narrow_i32x4_s (local.get $v) (local.get $v)))
            (v128.store32_lane 0 (local.get $o) (i8x16.narrow_i16x8_u (local.get $v) (local.get $v)))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $cols)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))
)

//go:build !purego

#include "textflag.h"

// func gemm6x16(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, rows int)
//
// C[0:rows][0:16] += A[0:rows][0:k] · B[0:k][0:16], all row-major with the given
// leading dimensions (in floats); 1 ≤ rows ≤ 6, k ≥ 1. Twelve YMM accumulators
// hold the 6×16 tile; each step broadcasts one A value per row against two B
// vectors. Rows past `rows` reuse the last real A row and are never stored.
TEXT ·gemm6x16(SB), NOSPLIT, $0-64
	MOVQ a+16(FP), AX
	MOVQ lda+24(FP), R9
	SHLQ $2, R9
	MOVQ rows+56(FP), CX

	// Row pointers AX, DX, SI, R8, R10, R11 (clamped to the last real row).
	MOVQ AX, DX
	CMPQ CX, $1
	JLE  r2
	ADDQ R9, DX
r2:
	MOVQ DX, SI
	CMPQ CX, $2
	JLE  r3
	ADDQ R9, SI
r3:
	MOVQ SI, R8
	CMPQ CX, $3
	JLE  r4
	ADDQ R9, R8
r4:
	MOVQ R8, R10
	CMPQ CX, $4
	JLE  r5
	ADDQ R9, R10
r5:
	MOVQ R10, R11
	CMPQ CX, $5
	JLE  loadc
	ADDQ R9, R11

loadc:
	MOVQ c+0(FP), R13
	MOVQ ldc+8(FP), R9
	SHLQ $2, R9
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VMOVUPS (R13), Y0
	VMOVUPS 32(R13), Y1
	CMPQ CX, $1
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Y2
	VMOVUPS 32(R13), Y3
	CMPQ CX, $2
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Y4
	VMOVUPS 32(R13), Y5
	CMPQ CX, $3
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Y6
	VMOVUPS 32(R13), Y7
	CMPQ CX, $4
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Y8
	VMOVUPS 32(R13), Y9
	CMPQ CX, $5
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Y10
	VMOVUPS 32(R13), Y11

loaded:
	MOVQ b+32(FP), BX
	MOVQ ldb+40(FP), R12
	SHLQ $2, R12
	MOVQ k+48(FP), CX
	XORQ DI, DI

loop:
	VMOVUPS      (BX), Y12
	VMOVUPS      32(BX), Y13
	VBROADCASTSS (AX)(DI*1), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS (DX)(DI*1), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (SI)(DI*1), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS (R8)(DI*1), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R10)(DI*1), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS (R11)(DI*1), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $4, DI
	ADDQ         R12, BX
	DECQ         CX
	JNZ          loop

	MOVQ c+0(FP), R13
	MOVQ rows+56(FP), CX
	VMOVUPS Y0, (R13)
	VMOVUPS Y1, 32(R13)
	CMPQ CX, $1
	JLE  done
	ADDQ R9, R13
	VMOVUPS Y2, (R13)
	VMOVUPS Y3, 32(R13)
	CMPQ CX, $2
	JLE  done
	ADDQ R9, R13
	VMOVUPS Y4, (R13)
	VMOVUPS Y5, 32(R13)
	CMPQ CX, $3
	JLE  done
	ADDQ R9, R13
	VMOVUPS Y6, (R13)
	VMOVUPS Y7, 32(R13)
	CMPQ CX, $4
	JLE  done
	ADDQ R9, R13
	VMOVUPS Y8, (R13)
	VMOVUPS Y9, 32(R13)
	CMPQ CX, $5
	JLE  done
	ADDQ R9, R13
	VMOVUPS Y10, (R13)
	VMOVUPS Y11, 32(R13)

done:
	VZEROUPPER
	RET

// func gemm6x32(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, rows int)
//
// C[0:rows][0:32] += A[0:rows][0:k] · B[0:k][0:32], all row-major with the given
// leading dimensions (in floats); 1 ≤ rows ≤ 6, k ≥ 1. The AVX-512 form of
// gemm6x16: twelve ZMM accumulators hold the 6×32 tile.
TEXT ·gemm6x32(SB), NOSPLIT, $0-64
	MOVQ a+16(FP), AX
	MOVQ lda+24(FP), R9
	SHLQ $2, R9
	MOVQ rows+56(FP), CX

	// Row pointers AX, DX, SI, R8, R10, R11 (clamped to the last real row).
	MOVQ AX, DX
	CMPQ CX, $1
	JLE  r2
	ADDQ R9, DX
r2:
	MOVQ DX, SI
	CMPQ CX, $2
	JLE  r3
	ADDQ R9, SI
r3:
	MOVQ SI, R8
	CMPQ CX, $3
	JLE  r4
	ADDQ R9, R8
r4:
	MOVQ R8, R10
	CMPQ CX, $4
	JLE  r5
	ADDQ R9, R10
r5:
	MOVQ R10, R11
	CMPQ CX, $5
	JLE  loadc
	ADDQ R9, R11

loadc:
	MOVQ c+0(FP), R13
	MOVQ ldc+8(FP), R9
	SHLQ $2, R9
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VMOVUPS (R13), Z0
	VMOVUPS 64(R13), Z1
	CMPQ CX, $1
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Z2
	VMOVUPS 64(R13), Z3
	CMPQ CX, $2
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Z4
	VMOVUPS 64(R13), Z5
	CMPQ CX, $3
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Z6
	VMOVUPS 64(R13), Z7
	CMPQ CX, $4
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Z8
	VMOVUPS 64(R13), Z9
	CMPQ CX, $5
	JLE  loaded
	ADDQ R9, R13
	VMOVUPS (R13), Z10
	VMOVUPS 64(R13), Z11

loaded:
	MOVQ b+32(FP), BX
	MOVQ ldb+40(FP), R12
	SHLQ $2, R12
	MOVQ k+48(FP), CX
	XORQ DI, DI

loop:
	VMOVUPS      (BX), Z12
	VMOVUPS      64(BX), Z13
	VBROADCASTSS (AX)(DI*1), Z14
	VFMADD231PS  Z12, Z14, Z0
	VFMADD231PS  Z13, Z14, Z1
	VBROADCASTSS (DX)(DI*1), Z15
	VFMADD231PS  Z12, Z15, Z2
	VFMADD231PS  Z13, Z15, Z3
	VBROADCASTSS (SI)(DI*1), Z14
	VFMADD231PS  Z12, Z14, Z4
	VFMADD231PS  Z13, Z14, Z5
	VBROADCASTSS (R8)(DI*1), Z15
	VFMADD231PS  Z12, Z15, Z6
	VFMADD231PS  Z13, Z15, Z7
	VBROADCASTSS (R10)(DI*1), Z14
	VFMADD231PS  Z12, Z14, Z8
	VFMADD231PS  Z13, Z14, Z9
	VBROADCASTSS (R11)(DI*1), Z15
	VFMADD231PS  Z12, Z15, Z10
	VFMADD231PS  Z13, Z15, Z11
	ADDQ         $4, DI
	ADDQ         R12, BX
	DECQ         CX
	JNZ          loop

	MOVQ c+0(FP), R13
	MOVQ rows+56(FP), CX
	VMOVUPS Z0, (R13)
	VMOVUPS Z1, 64(R13)
	CMPQ CX, $1
	JLE  done
	ADDQ R9, R13
	VMOVUPS Z2, (R13)
	VMOVUPS Z3, 64(R13)
	CMPQ CX, $2
	JLE  done
	ADDQ R9, R13
	VMOVUPS Z4, (R13)
	VMOVUPS Z5, 64(R13)
	CMPQ CX, $3
	JLE  done
	ADDQ R9, R13
	VMOVUPS Z6, (R13)
	VMOVUPS Z7, 64(R13)
	CMPQ CX, $4
	JLE  done
	ADDQ R9, R13
	VMOVUPS Z8, (R13)
	VMOVUPS Z9, 64(R13)
	CMPQ CX, $5
	JLE  done
	ADDQ R9, R13
	VMOVUPS Z10, (R13)
	VMOVUPS Z11, 64(R13)

done:
	VZEROUPPER
	RET

// func dot16(a, b *float32, n int) float32
//
// Σ a[i]·b[i] for n a positive multiple of 16, with AVX2 FMA (two 8-wide sums).
TEXT ·dot16(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

dotloop:
	VMOVUPS     (SI), Y2
	VMOVUPS     32(SI), Y3
	VFMADD231PS (DI), Y2, Y0
	VFMADD231PS 32(DI), Y3, Y1
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JNZ         dotloop

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func axpy16(dst *float32, alpha float32, x *float32, n int)
//
// dst[i] += alpha·x[i] for n a positive multiple of 16, with AVX2 FMA.
TEXT ·axpy16(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX

axpyloop:
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JNZ         axpyloop
	VZEROUPPER
	RET

// func axpyInt8x16(dst *float32, alpha float32, q *byte, n int)
//
// dst[i] += alpha·float32(int8(q[i])) for n a positive multiple of 16, with AVX2
// (sign-extend 8 bytes to 8 int32, convert, FMA).
TEXT ·axpyInt8x16(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ         q+16(FP), SI
	MOVQ         n+24(FP), CX

axpy8loop:
	VPMOVSXBD   (SI), Y1
	VPMOVSXBD   8(SI), Y2
	VCVTDQ2PS   Y1, Y1
	VCVTDQ2PS   Y2, Y2
	VFMADD213PS (DI), Y0, Y1
	VFMADD213PS 32(DI), Y0, Y2
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	ADDQ        $16, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JNZ         axpy8loop
	VZEROUPPER
	RET

// func dotInt8x16(a *float32, q *int8, n int) float32
//
// Σ a[i]·q[i] for n a positive multiple of 16, with AVX2 FMA: the int8 values
// widened to int32, converted to float32 and multiplied in.
TEXT ·dotInt8x16(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), DI
	MOVQ   q+8(FP), SI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y3, Y3, Y3

dotq8loop:
	VPMOVSXBD   (SI), Y1
	VPMOVSXBD   8(SI), Y2
	VCVTDQ2PS   Y1, Y1
	VCVTDQ2PS   Y2, Y2
	VFMADD231PS (DI), Y1, Y0
	VFMADD231PS 32(DI), Y2, Y3
	ADDQ        $16, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JNZ         dotq8loop

	VADDPS       Y3, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

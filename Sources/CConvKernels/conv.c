// Direct convolution kernels; see include/ichct_conv.h.
//
// Both kernels run sixteen output columns per AVX-512 register. The input rows a block of
// output rows reads are first copied into a scratch window with the padding as zeros and, for
// stride s, split into s phase rows (phase f holds columns f, f + s, f + 2s, ... of the padded
// row), so that the columns a kernel tap reads for sixteen consecutive outputs are sixteen
// consecutive floats of one phase row at any stride.
//
// Forward: a register block of 4 output channels x 4 vectors (64 columns) of one output row, or
// for maps at most sixteen wide (one vector a row) x 4 output rows; for every tap, four vector
// loads of the window and one broadcast weight per channel feed 16 fused multiply-adds.
//
// Weight gradient: a block of 4 output channels x up to 5 taps of one input channel (a kernel's
// taps in blocks as even as possible: 3 x 3 as 5 and 4, 7 x 7 as nine of 5 and one of 4; 20
// accumulators, 4 gradient vectors and one window vector fit the 32 registers); for every vector
// of sixteen output columns, four loads of the output gradient and one of the window per tap feed
// 4 fused multiply-adds per tap, summed over the rows and columns of the call; then the lanes of
// sixteen accumulators at a time are summed with shuffles, in the order _mm512_reduce_add_ps
// takes, and added to dw. Each dw element's sum runs over the rows, columns and lanes in the same
// order whatever the blocking. (Blocks of 4 taps, which left a block of one tap with 4 dependent
// chains, and one reduction of about ten instructions per accumulator after as few as 16
// iterations on short rows, were 20 to 25% slower with the same bits.)
#include "ichct_conv.h"

#include <stdint.h>
#include <string.h>

#define BLOCK_OUT 4
#define BLOCK_VEC 4
#define BLOCK_TAPS 5
#define MAX_KERNEL_W 16
_Static_assert(BLOCK_OUT * BLOCK_TAPS <= 32, "weight_block sums at most two groups of 16 accumulators");

// The sixteen register blocks the forward kernel is instantiated for: 1 to 4 output channels by
// 1 to 4 vectors, the full 4 x 4 first; CASE(a, b) is the switch case `a * 8 + b`.
#define EVERY_BLOCK(CASE) \
    CASE(4, 4) CASE(4, 3) CASE(4, 2) CASE(4, 1) CASE(3, 4) CASE(3, 3) CASE(3, 2) CASE(3, 1) \
    CASE(2, 4) CASE(2, 3) CASE(2, 2) CASE(2, 1) CASE(1, 4) CASE(1, 3) CASE(1, 2) CASE(1, 1)

// The weight gradient's blocks: 1 to 4 output channels by 1 to BLOCK_TAPS taps.
#define EVERY_TAP_BLOCK(CASE) \
    CASE(4, 5) CASE(4, 4) CASE(4, 3) CASE(4, 2) CASE(4, 1) CASE(3, 5) CASE(3, 4) CASE(3, 3) CASE(3, 2) \
    CASE(3, 1) CASE(2, 5) CASE(2, 4) CASE(2, 3) CASE(2, 2) CASE(2, 1) CASE(1, 5) CASE(1, 4) CASE(1, 3) \
    CASE(1, 2) CASE(1, 1)

// Floats of one phase row: every vector the kernels load from it (the output's vectors, shifted
// by up to (kernel_w - 1) / stride) stays inside it.
static int phase_width(const ichct_conv_shape *s) {
    int vectors = (s->out_w + 15) / 16;
    int w = vectors * 16 + (s->kernel_w - 1) / s->stride + 1;
    return (w + 15) / 16 * 16;
}

static int window_rows(const ichct_conv_shape *s, int rows) { return (rows - 1) * s->stride + s->kernel_h; }

size_t ichct_conv_scratch_floats(const ichct_conv_shape *s, int rows) {
    return (size_t)s->channels * (size_t)window_rows(s, rows) * (size_t)s->stride * (size_t)phase_width(s);
}

// The padded, phase-split input rows that output rows [row_begin, row_begin + rows) read.
static void fill_window(const ichct_conv_shape *s, const float *x, int row_begin, int rows, float *scratch) {
    const int st = s->stride, pw = phase_width(s), wr = window_rows(s, rows);
    for (int c = 0; c < s->channels; c++) {
        for (int r = 0; r < wr; r++) {
            const int iy = row_begin * st - s->padding + r;
            float *dst = scratch + ((size_t)(c * wr + r) * st) * pw;
            if (iy < 0 || iy >= s->height) {
                memset(dst, 0, sizeof(float) * (size_t)pw * st);
                continue;
            }
            const float *src = x + ((size_t)c * s->height + iy) * s->width;
            for (int f = 0; f < st; f++) {
                float *d = dst + (size_t)f * pw;
                if (st == 1) {
                    // columns -padding ..< pw - padding of the row
                    int lo = s->padding < pw ? s->padding : pw;
                    int hi = s->padding + s->width < pw ? s->padding + s->width : pw;
                    memset(d, 0, sizeof(float) * (size_t)lo);
                    if (hi > lo) memcpy(d + lo, src, sizeof(float) * (size_t)(hi - lo));
                    else hi = lo;
                    memset(d + hi, 0, sizeof(float) * (size_t)(pw - hi));
                } else {
                    // phase columns i with 0 <= i*st + f - padding < width: [lo, hi)
                    const int shift = f - s->padding;
                    int lo = shift >= 0 ? 0 : (-shift + st - 1) / st;
                    int hi = s->width - 1 - shift < 0 ? 0 : (s->width - 1 - shift) / st + 1;
                    if (lo > pw) lo = pw;
                    if (hi > pw) hi = pw;
                    if (hi < lo) hi = lo;
                    for (int i = 0; i < lo; i++) d[i] = 0.0f;
                    for (int i = lo; i < hi; i++) d[i] = src[i * st + shift];
                    for (int i = hi; i < pw; i++) d[i] = 0.0f;
                }
            }
        }
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

int ichct_conv_direct_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)

// The block's vectors are nvec consecutive vectors of output row oy from vector v0 on
// (by_rows 0), or vector v0 of nvec consecutive output rows from oy on (by_rows 1: maps at most
// sixteen wide, one vector per row, where a row alone would give too few accumulators).
static inline __attribute__((always_inline)) void forward_block(
    const ichct_conv_shape *s, const float *window, int wr, int pw, const int *offsets, int local_row,
    const float *w, int o0, const int nout, int v0, const int nvec, __mmask16 last_mask, int last_vec,
    const float *bias, float *y, int oy, const int by_rows) {
    const int cin = s->channels, kh = s->kernel_h, kw = s->kernel_w, st = s->stride, kk = kh * kw;
    __m512 acc[BLOCK_OUT][BLOCK_VEC];
    for (int a = 0; a < nout; a++) {
        const __m512 b = _mm512_set1_ps(bias ? bias[o0 + a] : 0.0f);
        for (int v = 0; v < nvec; v++) acc[a][v] = b;
    }
    const size_t channel_stride = (size_t)cin * kk;
    for (int c = 0; c < cin; c++) {
        for (int i = 0; i < kh; i++) {
            const float *row = window + ((size_t)(c * wr + local_row * st + i) * st) * pw + (size_t)v0 * 16;
            const float *wrow = w + ((size_t)o0 * cin + c) * kk + (size_t)i * kw;
            // next vector: sixteen columns on, or st window rows (one output row) down
            const size_t step = by_rows ? (size_t)st * st * pw : 16;
            for (int j = 0; j < kw; j++) {
                const float *src = row + offsets[j];
                __m512 xv[BLOCK_VEC];
                for (int v = 0; v < nvec; v++) xv[v] = _mm512_loadu_ps(src + step * v);
                for (int a = 0; a < nout; a++) {
                    const __m512 wb = _mm512_set1_ps(wrow[(size_t)a * channel_stride + j]);
                    for (int v = 0; v < nvec; v++) acc[a][v] = _mm512_fmadd_ps(wb, xv[v], acc[a][v]);
                }
            }
        }
    }
    for (int a = 0; a < nout; a++) {
        float *dst = y + ((size_t)(o0 + a) * s->out_h + oy) * s->out_w + (size_t)v0 * 16;
        for (int v = 0; v < nvec; v++) {
            if (by_rows) _mm512_mask_storeu_ps(dst + (size_t)s->out_w * v, last_mask, acc[a][v]);
            else if (v0 + v == last_vec) _mm512_mask_storeu_ps(dst + 16 * v, last_mask, acc[a][v]);
            else _mm512_storeu_ps(dst + 16 * v, acc[a][v]);
        }
    }
}

#define FORWARD_CASE(NO, NV) \
    case (NO) * 8 + (NV): \
        forward_block(s, window, wr, pw, offsets, local_row, w, o0, NO, v0, NV, last_mask, last_vec, bias, y, oy, 0); \
        break;

#define FORWARD_ROWS_CASE(NO, NR) \
    case (NO) * 8 + (NR): \
        forward_block(s, window, wr, pw, offsets, local_row, w, o0, NO, 0, NR, last_mask, 0, bias, y, oy, 1); \
        break;

static void forward_rows(const ichct_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                         int row_begin, int row_end, float *scratch) {
    const int rows = row_end - row_begin, wr = window_rows(s, rows), pw = phase_width(s), st = s->stride;
    fill_window(s, x, row_begin, rows, scratch);
    int offsets[MAX_KERNEL_W];
    for (int j = 0; j < s->kernel_w; j++) offsets[j] = (j % st) * pw + j / st;
    const int nv = (s->out_w + 15) / 16, last_vec = nv - 1;
    const int tail = s->out_w - 16 * last_vec;
    const __mmask16 last_mask = (__mmask16)((1u << tail) - 1u);
    const float *window = scratch;
    if (nv == 1) {
        // one vector per row: blocks of 4 output channels x 4 rows
        for (int oy = row_begin; oy < row_end; oy += BLOCK_VEC) {
            const int local_row = oy - row_begin, nr = row_end - oy < BLOCK_VEC ? row_end - oy : BLOCK_VEC;
            for (int o0 = 0; o0 < s->outputs; o0 += BLOCK_OUT) {
                const int no = s->outputs - o0 < BLOCK_OUT ? s->outputs - o0 : BLOCK_OUT;
                switch (no * 8 + nr) { EVERY_BLOCK(FORWARD_ROWS_CASE) }
            }
        }
        return;
    }
    for (int oy = row_begin; oy < row_end; oy++) {
        const int local_row = oy - row_begin;
        for (int o0 = 0; o0 < s->outputs; o0 += BLOCK_OUT) {
            const int no = s->outputs - o0 < BLOCK_OUT ? s->outputs - o0 : BLOCK_OUT;
            for (int v0 = 0; v0 < nv; v0 += BLOCK_VEC) {
                const int nvec = nv - v0 < BLOCK_VEC ? nv - v0 : BLOCK_VEC;
                switch (no * 8 + nvec) { EVERY_BLOCK(FORWARD_CASE) }
            }
        }
    }
}

// out[i] = the sum of the lanes of v[i] for i < 16, each added in the order
// _mm512_reduce_add_ps takes: the upper 256 bits onto the lower, then 128, 64 and 32 bits
// (s1[i] = v[i] + v[i + 8], s2[i] = s1[i] + s1[i + 4], s3[i] = s2[i] + s2[i + 2], s3[0] + s3[1]),
// sixteen vectors at once: each step adds the halves of two vectors packed into one register.
static inline __attribute__((always_inline)) void lane_sums16(const __m512 *v, float *out) {
    __m512 s1[8], s2[4], s3[2];
    for (int i = 0; i < 8; i++) {
        // [v[2i] lanes 0-7, v[2i+1] lanes 0-7] + [their lanes 8-15]
        const __m512 lo = _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512 hi = _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2));
        s1[i] = _mm512_add_ps(lo, hi);
    }
    for (int i = 0; i < 4; i++) {
        // blocks [v[4i] 0-3, v[4i+1] 0-3, v[4i+2] 0-3, v[4i+3] 0-3] + [their 4-7]
        const __m512 lo = _mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 hi = _mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1));
        s2[i] = _mm512_add_ps(lo, hi);
    }
    for (int i = 0; i < 2; i++) {
        // block k: [v[8i+k] 0-1, v[8i+4+k] 0-1] + [their 2-3]
        const __m512 lo = _mm512_shuffle_ps(s2[2 * i], s2[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512 hi = _mm512_shuffle_ps(s2[2 * i], s2[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2));
        s3[i] = _mm512_add_ps(lo, hi);
    }
    // block k: [v[k], v[4+k], v[8+k], v[12+k]], lane 0 + lane 1 of each
    const __m512 lo = _mm512_shuffle_ps(s3[0], s3[1], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512 hi = _mm512_shuffle_ps(s3[0], s3[1], _MM_SHUFFLE(3, 1, 3, 1));
    float packed[16];
    _mm512_storeu_ps(packed, _mm512_add_ps(lo, hi));
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++) out[4 * j + k] = packed[4 * k + j];
}

static inline __attribute__((always_inline)) void weight_block(
    const ichct_conv_shape *s, const float *window, int wr, int pw, const int *tap_offsets, int row_begin, int row_end,
    const float *gy, float *dw, int o0, const int nout, int c, int t0, const int ntaps, __mmask16 last_mask, int last_vec) {
    const int st = s->stride, kk = s->kernel_h * s->kernel_w, nv = last_vec + 1;
    __m512 acc[BLOCK_OUT][BLOCK_TAPS];
    for (int a = 0; a < nout; a++)
        for (int t = 0; t < ntaps; t++) acc[a][t] = _mm512_setzero_ps();
    const size_t plane = (size_t)s->out_h * s->out_w;
    for (int oy = row_begin; oy < row_end; oy++) {
        const float *g = gy + (size_t)o0 * plane + (size_t)oy * s->out_w;
        const float *row = window + ((size_t)(c * wr + (oy - row_begin) * st) * st) * pw;
        for (int v = 0; v < nv; v++) {
            const __mmask16 m = v == last_vec ? last_mask : (__mmask16)0xFFFF;
            __m512 gv[BLOCK_OUT];
            for (int a = 0; a < nout; a++) gv[a] = _mm512_maskz_loadu_ps(m, g + (size_t)a * plane + 16 * v);
            for (int t = 0; t < ntaps; t++) {
                const __m512 xv = _mm512_maskz_loadu_ps(m, row + tap_offsets[t0 + t] + 16 * v);
                for (int a = 0; a < nout; a++) acc[a][t] = _mm512_fmadd_ps(gv[a], xv, acc[a][t]);
            }
        }
    }
    // The lanes of every accumulator summed (sixteen at a time, unused ones zero), then added to dw.
    __m512 all[2 * 16];
    float sums[2 * 16];
    int n = 0;
    for (int a = 0; a < nout; a++)
        for (int t = 0; t < ntaps; t++) all[n++] = acc[a][t];
    for (int g = 0; g < n; g += 16) {
        for (int i = n; i < g + 16; i++) all[i] = _mm512_setzero_ps();
        lane_sums16(all + g, sums + g);
    }
    n = 0;
    for (int a = 0; a < nout; a++)
        for (int t = 0; t < ntaps; t++) dw[((size_t)(o0 + a) * s->channels + c) * kk + t0 + t] += sums[n++];
}

#define WEIGHT_CASE(NO, NT) \
    case (NO) * 8 + (NT): \
        weight_block(s, window, wr, pw, tap_offsets, row_begin, row_end, gy, dw, o0, NO, c, t0, NT, last_mask, last_vec); \
        break;

static void weight_grad_rows(const ichct_conv_shape *s, const float *x, const float *gy, float *dw,
                             int row_begin, int row_end, float *scratch) {
    const int rows = row_end - row_begin, wr = window_rows(s, rows), pw = phase_width(s), st = s->stride;
    const int kk = s->kernel_h * s->kernel_w;
    fill_window(s, x, row_begin, rows, scratch);
    // offset of tap (i, j) from the start of a phase-row group of an output row
    int tap_offsets[MAX_KERNEL_W * MAX_KERNEL_W];
    for (int i = 0; i < s->kernel_h; i++)
        for (int j = 0; j < s->kernel_w; j++)
            tap_offsets[i * s->kernel_w + j] = (i * st + j % st) * pw + j / st;
    const int nv = (s->out_w + 15) / 16, last_vec = nv - 1;
    const int tail = s->out_w - 16 * last_vec;
    const __mmask16 last_mask = (__mmask16)((1u << tail) - 1u);
    const float *window = scratch;
    // Tap blocks as even as possible (no block of one tap with four accumulators, whose chains
    // of dependent multiply-adds would leave the units idle).
    const int blocks = (kk + BLOCK_TAPS - 1) / BLOCK_TAPS, base = kk / blocks, longer = kk % blocks;
    for (int o0 = 0; o0 < s->outputs; o0 += BLOCK_OUT) {
        const int no = s->outputs - o0 < BLOCK_OUT ? s->outputs - o0 : BLOCK_OUT;
        for (int c = 0; c < s->channels; c++) {
            for (int b = 0, t0 = 0; b < blocks; b++) {
                const int nt = base + (b < longer ? 1 : 0);
                switch (no * 8 + nt) { EVERY_TAP_BLOCK(WEIGHT_CASE) }
                t0 += nt;
            }
        }
    }
}

#pragma clang attribute pop

void ichct_conv_forward_rows(const ichct_conv_shape *s, const float *x, const float *w, const float *bias,
                             float *y, int row_begin, int row_end, float *scratch) {
    if (row_end <= row_begin || s->kernel_w > MAX_KERNEL_W) return;
    forward_rows(s, x, w, bias, y, row_begin, row_end, scratch);
}

void ichct_conv_weight_grad_rows(const ichct_conv_shape *s, const float *x, const float *gy, float *dw,
                                 int row_begin, int row_end, float *scratch) {
    if (row_end <= row_begin || s->kernel_w > MAX_KERNEL_W || s->kernel_h > MAX_KERNEL_W) return;
    weight_grad_rows(s, x, gy, dw, row_begin, row_end, scratch);
}

#else

int ichct_conv_direct_available(void) { return 0; }

void ichct_conv_forward_rows(const ichct_conv_shape *s, const float *x, const float *w, const float *bias,
                             float *y, int row_begin, int row_end, float *scratch) {
    (void)s; (void)x; (void)w; (void)bias; (void)y; (void)row_begin; (void)row_end; (void)scratch;
}

void ichct_conv_weight_grad_rows(const ichct_conv_shape *s, const float *x, const float *gy, float *dw,
                                 int row_begin, int row_end, float *scratch) {
    (void)s; (void)x; (void)gy; (void)dw; (void)row_begin; (void)row_end; (void)scratch;
}

#endif

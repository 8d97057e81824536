// Direct convolution kernels; see include/ichct_conv.h.
//
// Both kernels run sixteen output columns per AVX-512 register. The input rows a block of
// output rows reads are first copied into a scratch window with the padding as zeros and, for
// stride s, split into s phase rows (phase f holds columns f, f + s, f + 2s, ... of the padded
// row), so that the columns a kernel tap reads for sixteen consecutive outputs are sixteen
// consecutive floats of one phase row at any stride.
//
// Forward: a register block of 4 output channels x 4 vectors (64 columns) of one output row;
// for every tap, four vector loads of the window and one broadcast weight per channel feed 16
// fused multiply-adds. Weight gradient: a block of 4 output channels x 4 taps of one input
// channel; for every vector of sixteen output columns, four loads of the output gradient and
// four of the window feed 16 fused multiply-adds, summed over the rows and columns of the call,
// then reduced across lanes and added to dw.
#include "ichct_conv.h"

#include <stdint.h>
#include <string.h>

#define BLOCK_OUT 4
#define BLOCK_VEC 4
#define BLOCK_TAPS 4
#define MAX_KERNEL_W 16

// The sixteen register blocks each kernel is instantiated for: 1 to 4 output channels by 1 to 4
// vectors (forward) or taps (weight gradient), the full 4 x 4 first; CASE(a, b) is the switch
// case `a * 8 + b`.
#define EVERY_BLOCK(CASE) \
    CASE(4, 4) CASE(4, 3) CASE(4, 2) CASE(4, 1) CASE(3, 4) CASE(3, 3) CASE(3, 2) CASE(3, 1) \
    CASE(2, 4) CASE(2, 3) CASE(2, 2) CASE(2, 1) CASE(1, 4) CASE(1, 3) CASE(1, 2) CASE(1, 1)

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

static inline __attribute__((always_inline)) void forward_block(
    const ichct_conv_shape *s, const float *window, int wr, int pw, const int *offsets, int local_row,
    const float *w, int o0, const int nout, int v0, const int nvec, __mmask16 last_mask, int last_vec,
    const float *bias, float *y, int oy) {
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
            for (int j = 0; j < kw; j++) {
                const float *src = row + offsets[j];
                __m512 xv[BLOCK_VEC];
                for (int v = 0; v < nvec; v++) xv[v] = _mm512_loadu_ps(src + 16 * v);
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
            if (v0 + v == last_vec) _mm512_mask_storeu_ps(dst + 16 * v, last_mask, acc[a][v]);
            else _mm512_storeu_ps(dst + 16 * v, acc[a][v]);
        }
    }
}

#define FORWARD_CASE(NO, NV) \
    case (NO) * 8 + (NV): \
        forward_block(s, window, wr, pw, offsets, local_row, w, o0, NO, v0, NV, last_mask, last_vec, bias, y, oy); \
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
    for (int a = 0; a < nout; a++)
        for (int t = 0; t < ntaps; t++)
            dw[((size_t)(o0 + a) * s->channels + c) * kk + t0 + t] += _mm512_reduce_add_ps(acc[a][t]);
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
    for (int o0 = 0; o0 < s->outputs; o0 += BLOCK_OUT) {
        const int no = s->outputs - o0 < BLOCK_OUT ? s->outputs - o0 : BLOCK_OUT;
        for (int c = 0; c < s->channels; c++) {
            for (int t0 = 0; t0 < kk; t0 += BLOCK_TAPS) {
                const int nt = kk - t0 < BLOCK_TAPS ? kk - t0 : BLOCK_TAPS;
                switch (no * 8 + nt) { EVERY_BLOCK(WEIGHT_CASE) }
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

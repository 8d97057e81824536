// Direct 2-D convolution kernels (AVX-512) for the shapes im2col and a BLAS product serve badly:
// few output channels over large maps, such as the classifier's 7 x 7 stride-2 stem and the
// UNetLite's first level. NeuralCore calls them only when ichct_conv_direct_available() says the
// CPU runs them; otherwise it keeps its im2col path. Pointers are plain float arrays, NCHW.
#ifndef ICHCT_CONV_H
#define ICHCT_CONV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One image's convolution: input (channels, height, width), kernel (outputs, channels,
/// kernel_h, kernel_w), output (outputs, out_h, out_w) with
/// out_h = (height + 2 padding - kernel_h) / stride + 1 (and the same across).
typedef struct {
    int channels, height, width;
    int outputs;
    int kernel_h, kernel_w, stride, padding;
    int out_h, out_w;
} ichct_conv_shape;

/// 1 when this CPU runs the kernels below (x86-64 with AVX-512F), else 0.
int ichct_conv_direct_available(void);

/// Floats of scratch the kernels below need for `rows` output rows.
size_t ichct_conv_scratch_floats(const ichct_conv_shape *shape, int rows);

/// Output rows [row_begin, row_end) of one image, every output channel:
/// y[o][oy][ox] = bias[o] (0 without bias) + sum over c, i, j in that order of
/// w[o][c][i][j] * x[c][oy*stride - padding + i][ox*stride - padding + j] (0 outside the image),
/// each term added with one fused multiply-add. The result of an output depends on nothing else
/// (not on the rows, the threads or the blocking).
void ichct_conv_forward_rows(const ichct_conv_shape *shape, const float *x, const float *w, const float *bias,
                             float *y, int row_begin, int row_end, float *scratch);

/// dw[o][c][i][j] += sum over output rows [row_begin, row_end) and columns of one image of
/// gy[o][oy][ox] * x[c][oy*stride - padding + i][ox*stride - padding + j]: sixteen columns at
/// a time in sixteen lanes, the lanes summed once at the end (a fixed order).
void ichct_conv_weight_grad_rows(const ichct_conv_shape *shape, const float *x, const float *gy, float *dw,
                                 int row_begin, int row_end, float *scratch);

#ifdef __cplusplus
}
#endif

#endif

// CBLAS from OpenBLAS (Debian: libopenblas-dev). Also exposes OpenBLAS's thread controls.
#include <cblas.h>
// glibc's mallopt (NeuralCore's AllocatorTuning keeps large tensor buffers in the heap).
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

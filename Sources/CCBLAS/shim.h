// CBLAS from OpenBLAS (Debian: libopenblas-dev). Also exposes OpenBLAS's thread controls.
#include <cblas.h>

// LAPACKE (Debian: liblapacke-dev), used for orthogonal initialisation (QR).
#include <lapacke.h>

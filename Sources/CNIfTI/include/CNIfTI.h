// nifti_clib's NIfTI-1 reader and writer (Debian: libnifti-dev), with gzip through znzlib.
// nifti2_io is deliberately not included: its symbols clash with nifti1_io's.
#ifndef CNIFTI_H
#define CNIFTI_H
#ifndef HAVE_ZLIB
#define HAVE_ZLIB 1
#endif
#include <nifti/nifti1_io.h>
#endif

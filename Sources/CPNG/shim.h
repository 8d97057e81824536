// libpng (Debian: libpng-dev). Only the simplified png_image API is used: it needs no setjmp.
#include <png.h>

// A C target needs one source file; the shim itself is header-only.
#include "CNIfTI.h"

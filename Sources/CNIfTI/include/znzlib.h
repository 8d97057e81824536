// nifti1_io.h includes <znzlib.h> by its bare name; Debian installs it under nifti/.
#include <nifti/znzlib.h>

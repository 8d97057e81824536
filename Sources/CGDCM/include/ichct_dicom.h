// A small C face over GDCM (Debian libgdcm-dev) for CTVolume's DICOM reader. C++ stays
// inside dicom.cpp; Swift sees only these plain C structs and functions.
//
// Two calls per file: the header (every attribute the series reader needs, read up to the
// pixel data) and the pixels (decoded by GDCM's codecs: uncompressed, RLE, JPEG lossless and
// lossy, JPEG-LS, JPEG 2000), as stored values without rescaling.
#ifndef ICHCT_DICOM_H
#define ICHCT_DICOM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The attributes of one DICOM file the series reader uses. Strings are NUL-terminated and
/// trimmed of DICOM padding; a missing attribute is an empty string or a `has_` flag of 0.
typedef struct ichct_dicom_header {
    char sop_instance_uid[68];
    char series_instance_uid[68];
    char study_instance_uid[68];
    char frame_of_reference_uid[68];
    char transfer_syntax_uid[68];
    char modality[20];
    char photometric_interpretation[20];
    char image_type[132];
    char series_description[132];
    char patient_id[68];
    int rows;
    int columns;
    int samples_per_pixel;
    int bits_allocated;
    int bits_stored;
    int pixel_representation;
    int number_of_frames;
    int instance_number;
    int has_instance_number;
    int has_position;
    double position[3];
    int has_orientation;
    double orientation[6];
    int has_pixel_spacing;
    double pixel_spacing[2];
    int has_slope;
    double slope;
    int has_intercept;
    double intercept;
    int has_padding_value;
    double padding_value;
    int has_padding_limit;
    double padding_limit;
    int has_gantry_tilt;
    double gantry_tilt;
    int has_slice_thickness;
    double slice_thickness;
} ichct_dicom_header;

/// Reads the header of the DICOM file at `path` (up to the pixel data).
/// Returns 0 on success; 1 when the file is not DICOM (no preamble/meta and no parsable data
/// set), 2 on other failures. On failure `error` holds a reason (truncated to `error_size`).
int ichct_dicom_read_header(const char *path, ichct_dicom_header *header, char *error, size_t error_size);

/// Decodes the single frame of the file at `path` into `out` (rows * columns floats, row-major,
/// stored values: no rescale slope or intercept applied). `expected` is rows * columns.
/// Returns 0 on success, non-zero with a reason in `error` otherwise (no pixel data, a
/// truncated or undecodable stream, a size or sample count that does not match).
int ichct_dicom_read_pixels(const char *path, float *out, size_t expected, char *error, size_t error_size);

/// The GDCM version string, for `--json` reports.
const char *ichct_dicom_library_version(void);

#ifdef __cplusplus
}
#endif

#endif

// GDCM behind the C face of ichct_dicom.h. Each call builds its own readers, so calls on
// different files may run on different threads once GDCM's dictionaries exist (the first
// header read creates them; CTVolume reads headers before it decodes pixels in parallel).
#include "ichct_dicom.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gdcm-3.0/gdcmImage.h>
#include <gdcm-3.0/gdcmImageReader.h>
#include <gdcm-3.0/gdcmReader.h>
#include <gdcm-3.0/gdcmStringFilter.h>
#include <gdcm-3.0/gdcmTrace.h>
#include <gdcm-3.0/gdcmVersion.h>

namespace {

void quiet() {
    static std::once_flag once;
    std::call_once(once, [] {
        gdcm::Trace::SetDebug(false);
        gdcm::Trace::SetWarning(false);
        gdcm::Trace::SetError(false);
    });
}

void set_error(char *error, size_t size, const std::string &message) {
    if (error == nullptr || size == 0) return;
    std::snprintf(error, size, "%s", message.c_str());
}

std::string trimmed(const std::string &s) {
    size_t begin = 0, end = s.size();
    while (begin < end && (s[begin] == ' ' || s[begin] == '\0')) ++begin;
    while (end > begin && (s[end - 1] == ' ' || s[end - 1] == '\0')) --end;
    return s.substr(begin, end - begin);
}

void copy_string(char *dest, size_t size, const std::string &value) {
    std::snprintf(dest, size, "%s", value.c_str());
}

// Up to `count` backslash-separated decimal values; returns how many parsed.
int parse_numbers(const std::string &text, double *out, int count) {
    std::stringstream stream(text);
    std::string item;
    int n = 0;
    while (n < count && std::getline(stream, item, '\\')) {
        item = trimmed(item);
        if (item.empty()) return n;
        char *end = nullptr;
        double value = std::strtod(item.c_str(), &end);
        if (end == item.c_str()) return n;
        out[n++] = value;
    }
    return n;
}

bool has_dicm_magic(const char *path) {
    FILE *file = std::fopen(path, "rb");
    if (!file) return false;
    char buffer[132];
    size_t n = std::fread(buffer, 1, sizeof buffer, file);
    std::fclose(file);
    return n == sizeof buffer && std::memcmp(buffer + 128, "DICM", 4) == 0;
}

// GDCM asserts (aborting the process) on some malformed file meta groups, so the group 0002
// elements after "DICM" are walked here first: each must carry a VR of two capital letters
// and a length that fits in the file. Returns an empty string when the group is sound.
std::string check_file_meta(const char *path) {
    FILE *file = std::fopen(path, "rb");
    if (!file) return "cannot open the file";
    std::vector<unsigned char> data(64 * 1024);
    data.resize(std::fread(data.data(), 1, data.size(), file));
    std::fseek(file, 0, SEEK_END);
    long size = std::ftell(file);
    std::fclose(file);
    if (size < 0) return "cannot tell the file's size";
    size_t p = 132;
    while (p + 8 <= data.size()) {
        unsigned group = data[p] | data[p + 1] << 8;
        if (group != 0x0002) return std::string();
        unsigned char a = data[p + 4], b = data[p + 5];
        if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return "malformed file meta information (an element without a VR)";
        std::string vr{static_cast<char>(a), static_cast<char>(b)};
        size_t length, header;
        if (vr == "OB" || vr == "OW" || vr == "OF" || vr == "SQ" || vr == "UT" || vr == "UN" || vr == "OD" || vr == "OL" ||
            vr == "OV" || vr == "UC" || vr == "UR") {
            if (p + 12 > data.size()) return "malformed file meta information (cut short)";
            length = size_t(data[p + 8]) | size_t(data[p + 9]) << 8 | size_t(data[p + 10]) << 16 | size_t(data[p + 11]) << 24;
            header = 12;
        } else {
            length = data[p + 6] | data[p + 7] << 8;
            header = 8;
        }
        if (length == 0xFFFFFFFF || p + header + length > static_cast<size_t>(size)) {
            return "malformed file meta information (an element longer than the file)";
        }
        p += header + length;
    }
    return p + 8 > static_cast<size_t>(size) && static_cast<size_t>(size) >= 132 ? "malformed file meta information (cut short)" : std::string();
}

template <typename T>
void convert(const char *raw, float *out, size_t count) {
    const T *values = reinterpret_cast<const T *>(raw);
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(values[i]);
}

}  // namespace

static int read_header(const char *path, ichct_dicom_header *h, char *error, size_t error_size) {
    quiet();
    std::memset(h, 0, sizeof *h);
    bool magic = has_dicm_magic(path);
    if (magic) {
        std::string problem = check_file_meta(path);
        if (!problem.empty()) {
            set_error(error, error_size, problem);
            return 2;
        }
    }
    gdcm::Reader reader;
    reader.SetFileName(path);
    bool ok = false;
    try {
        ok = reader.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010));
    } catch (...) {
        ok = false;
    }
    if (!ok) {
        set_error(error, error_size, magic ? "cannot parse the DICOM header" : "not a DICOM file");
        return magic ? 2 : 1;
    }
    const gdcm::File &file = reader.GetFile();
    const gdcm::DataSet &ds = file.GetDataSet();
    gdcm::StringFilter filter;
    filter.SetFile(file);
    auto text = [&](uint16_t group, uint16_t element) -> std::string {
        gdcm::Tag tag(group, element);
        if (!ds.FindDataElement(tag) || ds.GetDataElement(tag).IsEmpty()) return std::string();
        return trimmed(filter.ToString(tag));
    };
    auto number = [&](uint16_t group, uint16_t element, int *has, double *value) {
        double v = 0;
        if (parse_numbers(text(group, element), &v, 1) == 1) {
            *has = 1;
            *value = v;
        }
    };
    auto integer = [&](uint16_t group, uint16_t element, int fallback) -> int {
        double v = 0;
        bool usable = parse_numbers(text(group, element), &v, 1) == 1 && std::isfinite(v) && std::fabs(v) < 1e9;
        return usable ? static_cast<int>(v) : fallback;
    };

    copy_string(h->sop_instance_uid, sizeof h->sop_instance_uid, text(0x0008, 0x0018));
    copy_string(h->series_instance_uid, sizeof h->series_instance_uid, text(0x0020, 0x000e));
    copy_string(h->study_instance_uid, sizeof h->study_instance_uid, text(0x0020, 0x000d));
    copy_string(h->frame_of_reference_uid, sizeof h->frame_of_reference_uid, text(0x0020, 0x0052));
    copy_string(h->modality, sizeof h->modality, text(0x0008, 0x0060));
    copy_string(h->photometric_interpretation, sizeof h->photometric_interpretation, text(0x0028, 0x0004));
    copy_string(h->image_type, sizeof h->image_type, text(0x0008, 0x0008));
    copy_string(h->series_description, sizeof h->series_description, text(0x0008, 0x103e));
    copy_string(h->patient_id, sizeof h->patient_id, text(0x0010, 0x0020));
    std::string syntax = trimmed(file.GetHeader().GetDataSetTransferSyntax().GetString() ?
                                 file.GetHeader().GetDataSetTransferSyntax().GetString() : "");
    copy_string(h->transfer_syntax_uid, sizeof h->transfer_syntax_uid, syntax);

    h->rows = integer(0x0028, 0x0010, 0);
    h->columns = integer(0x0028, 0x0011, 0);
    h->samples_per_pixel = integer(0x0028, 0x0002, 1);
    h->bits_allocated = integer(0x0028, 0x0100, 0);
    h->bits_stored = integer(0x0028, 0x0101, h->bits_allocated);
    h->pixel_representation = integer(0x0028, 0x0103, 0);
    h->number_of_frames = integer(0x0028, 0x0008, 1);
    double instance = 0;
    if (parse_numbers(text(0x0020, 0x0013), &instance, 1) == 1 && std::isfinite(instance) && std::fabs(instance) < 1e9) {
        h->has_instance_number = 1;
        h->instance_number = static_cast<int>(instance);
    }
    h->has_position = parse_numbers(text(0x0020, 0x0032), h->position, 3) == 3;
    h->has_orientation = parse_numbers(text(0x0020, 0x0037), h->orientation, 6) == 6;
    h->has_pixel_spacing = parse_numbers(text(0x0028, 0x0030), h->pixel_spacing, 2) == 2;
    number(0x0028, 0x1053, &h->has_slope, &h->slope);
    number(0x0028, 0x1052, &h->has_intercept, &h->intercept);
    number(0x0028, 0x0120, &h->has_padding_value, &h->padding_value);
    number(0x0028, 0x0121, &h->has_padding_limit, &h->padding_limit);
    number(0x0018, 0x1120, &h->has_gantry_tilt, &h->gantry_tilt);
    number(0x0018, 0x0050, &h->has_slice_thickness, &h->slice_thickness);
    return 0;
}

static int read_pixels(const char *path, float *out, size_t expected, char *error, size_t error_size) {
    quiet();
    gdcm::ImageReader reader;
    reader.SetFileName(path);
    bool ok = false;
    try {
        ok = reader.Read();
    } catch (...) {
        ok = false;
    }
    if (!ok) {
        const gdcm::DataSet &ds = reader.GetFile().GetDataSet();
        bool pixels = ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0010));
        set_error(error, error_size, pixels ? "cannot read the pixel data (truncated or damaged file)"
                                            : "holds no pixel data (7FE0,0010)");
        return 2;
    }
    {
        const gdcm::DataSet &ds = reader.GetFile().GetDataSet();
        const gdcm::ByteValue *bytes = ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0010))
            ? ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010)).GetByteValue() : nullptr;
        // GDCM reads a short uncompressed pixel data element without complaint: find the
        // element's header in the file (tag 7FE0,0010 followed by its length) and check that
        // the file holds all the bytes the length promises.
        if (bytes != nullptr) {
            bool explicit_vr = reader.GetFile().GetHeader().GetDataSetTransferSyntax().IsExplicit();
            size_t length = bytes->GetLength();
            const size_t header_size = explicit_vr ? 12 : 8, length_at = explicit_vr ? 8 : 4;
            FILE *file = std::fopen(path, "rb");
            size_t size = 0;
            if (file) {
                std::fseek(file, 0, SEEK_END);
                long end_at = std::ftell(file);
                if (end_at < 0) {
                    std::fclose(file);
                    set_error(error, error_size, "cannot tell the file's size");
                    return 2;
                }
                size = static_cast<size_t>(end_at);
            }
            auto declares = [&](const unsigned char *h) {
                size_t declared = size_t(h[length_at]) | size_t(h[length_at + 1]) << 8 | size_t(h[length_at + 2]) << 16 |
                                  size_t(h[length_at + 3]) << 24;
                return h[0] == 0xE0 && h[1] == 0x7F && h[2] == 0x10 && h[3] == 0x00 && declared == length;
            };
            // Fast path: the pixel data is the file's last element, complete.
            size_t end = 0;
            bool last = false;
            if (file && size >= length + header_size) {
                unsigned char h[12];
                std::fseek(file, static_cast<long>(size - length - header_size), SEEK_SET);
                last = std::fread(h, 1, header_size, file) == header_size && declares(h);
            }
            if (!last && file) {
                // Find the element's header in the file and see where its bytes would end.
                std::vector<unsigned char> data(size);
                std::fseek(file, 0, SEEK_SET);
                data.resize(std::fread(data.data(), 1, size, file));
                for (size_t p = 0; p + header_size <= data.size(); ++p) {
                    if (declares(&data[p])) {
                        end = p + header_size + length;
                        break;
                    }
                }
            }
            if (file) std::fclose(file);
            if (end > size) {
                set_error(error, error_size, "truncated: the pixel data needs " + std::to_string(end) + " bytes of file, it has " +
                                                 std::to_string(size));
                return 2;
            }
        }
    }
    const gdcm::Image &image = reader.GetImage();
    const gdcm::PixelFormat &format = image.GetPixelFormat();
    if (format.GetSamplesPerPixel() != 1) {
        set_error(error, error_size, "has " + std::to_string(format.GetSamplesPerPixel()) +
                                         " samples per pixel; only single-sample (grey) images are read");
        return 2;
    }
    const unsigned int *dims = image.GetDimensions();
    size_t frames = image.GetNumberOfDimensions() > 2 ? dims[2] : 1;
    size_t count = static_cast<size_t>(dims[0]) * dims[1];
    if (frames != 1 || count != expected) {
        set_error(error, error_size, "decoded " + std::to_string(dims[0]) + " x " + std::to_string(dims[1]) + " x " +
                                         std::to_string(frames) + " pixels, expected one frame of " +
                                         std::to_string(expected));
        return 2;
    }
    size_t length = image.GetBufferLength();
    std::vector<char> buffer(length);
    bool decoded = false;
    try {
        decoded = image.GetBuffer(buffer.data());
    } catch (...) {
        decoded = false;
    }
    if (!decoded) {
        set_error(error, error_size, "cannot decode the pixel data (transfer syntax " +
                                         std::string(reader.GetFile().GetHeader().GetDataSetTransferSyntax().GetString() ?
                                                     reader.GetFile().GetHeader().GetDataSetTransferSyntax().GetString() : "?") +
                                         "; truncated or damaged stream?)");
        return 2;
    }
    size_t bytes = format.GetPixelSize();
    if (length < count * bytes) {
        set_error(error, error_size, "pixel data holds " + std::to_string(length) + " bytes, expected " +
                                         std::to_string(count * bytes) + " (truncated file)");
        return 2;
    }
    switch (format.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: convert<uint8_t>(buffer.data(), out, count); break;
    case gdcm::PixelFormat::INT8: convert<int8_t>(buffer.data(), out, count); break;
    case gdcm::PixelFormat::UINT12:
    case gdcm::PixelFormat::UINT16: convert<uint16_t>(buffer.data(), out, count); break;
    case gdcm::PixelFormat::INT12:
    case gdcm::PixelFormat::INT16: convert<int16_t>(buffer.data(), out, count); break;
    case gdcm::PixelFormat::UINT32: convert<uint32_t>(buffer.data(), out, count); break;
    case gdcm::PixelFormat::INT32: convert<int32_t>(buffer.data(), out, count); break;
    case gdcm::PixelFormat::FLOAT32: convert<float>(buffer.data(), out, count); break;
    case gdcm::PixelFormat::FLOAT64: convert<double>(buffer.data(), out, count); break;
    default:
        set_error(error, error_size, std::string("unsupported pixel format ") + format.GetScalarTypeAsString());
        return 2;
    }
    return 0;
}

// No C++ exception may cross the C boundary: any (allocation, string building, GDCM) becomes
// an error return with its message.
extern "C" int ichct_dicom_read_header(const char *path, ichct_dicom_header *h, char *error, size_t error_size) {
    try {
        return read_header(path, h, error, error_size);
    } catch (const std::exception &e) {
        set_error(error, error_size, std::string("cannot read the header: ") + e.what());
    } catch (...) {
        set_error(error, error_size, "cannot read the header");
    }
    return 2;
}

extern "C" int ichct_dicom_read_pixels(const char *path, float *out, size_t expected, char *error, size_t error_size) {
    try {
        return read_pixels(path, out, expected, error, error_size);
    } catch (const std::exception &e) {
        set_error(error, error_size, std::string("cannot read the pixel data: ") + e.what());
    } catch (...) {
        set_error(error, error_size, "cannot read the pixel data");
    }
    return 2;
}

extern "C" const char *ichct_dicom_library_version(void) {
    static std::string version = std::string("GDCM ") + gdcm::Version::GetVersion();
    return version.c_str();
}

// GDCM behind the C face of ichct_dicom.h. Each call builds its own readers, so calls on
// different files may run on different threads once GDCM's dictionaries exist (the first
// header read creates them; CTVolume reads headers before it decodes pixels in parallel).
#include "ichct_dicom.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>
#include <cerrno>

#include <zlib.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

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

/// Every use of GDCM in this process holds this lock shared; the fork of a decoding child holds
/// it exclusively. So no other thread is inside GDCM when a child is forked, and the child never
/// inherits GDCM's state half-way through another thread's call (a dictionary being built, a
/// static being initialised, an exception being unwound): a child that needed such state would
/// wait forever on a lock that no thread of its own holds. (Seen once under the address
/// sanitizer, with test suites reading DICOM in parallel: the child's 5-minute timeout.) Writers
/// are preferred, so a stream of header reads cannot hold a fork back; no thread takes it twice.
class GDCMUse {
public:
    static pthread_rwlock_t *lock() {
        static pthread_rwlock_t *shared = [] {
            auto *l = new pthread_rwlock_t;
            pthread_rwlockattr_t attr;
            pthread_rwlockattr_init(&attr);
            pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
            pthread_rwlock_init(l, &attr);
            pthread_rwlockattr_destroy(&attr);
            return l;
        }();
        return shared;
    }
    /// Holds the lock shared (a use of GDCM in this process) for the scope.
    struct Shared {
        Shared() { pthread_rwlock_rdlock(lock()); }
        ~Shared() { pthread_rwlock_unlock(lock()); }
        Shared(const Shared &) = delete;
        Shared &operator=(const Shared &) = delete;
    };
};

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

// GDCM asserts (aborting the process) on some malformed file meta groups, and allocates
// whatever length an element declares before it reads the bytes (a damaged 2 kB file can ask
// for 4 GB). So the file's structure is walked here first, without GDCM: the group 0002
// elements after "DICM" must carry a VR of two capital letters; every element, sequence item
// and pixel-data fragment must fit in the file; nesting is at most 64 deep. The transfer syntax
// of the file meta decides implicit or explicit VR and the byte order; a deflated data set
// (1.2.840.10008.1.2.1.99) is inflated with zlib and its explicit VR little-endian elements
// walked the same way (GDCM asserts on some damaged ones). Returns an empty string when the
// file is sound.
class StructureWalk {
public:
    StructureWalk(const unsigned char *data, size_t size, bool header_only)
        : d_(data), size_(size), header_only_(header_only) {}

    std::string run(bool magic) {
        size_t p = 0;
        // (GDCM asserts on a file of a few bytes, so a short one is refused here.)
        if (size_ < 8) return "too short to hold one element";
        if (magic || u16(0, false) == 0x0002) {
            // The file meta group, after the preamble or (no preamble) at the start.
            p = magic ? 132 : 0;
            // PS3.10 7.1: after "DICM" comes group 0002 in explicit VR little endian. GDCM reads
            // other bytes there with guesses of its own (a fuzzed file it took for big endian
            // asked for 3.7 GB), so nothing else is accepted.
            if (magic && (p + 8 > size_ || u16(p, false) != 0x0002)) {
                return "malformed file meta information: DICM is not followed by a group 0002 element in little-endian order";
            }
            std::string problem = file_meta(p);
            if (!problem.empty()) return problem;
            if (syntax_ == "1.2.840.10008.1.2.1.99") return deflated(p);
            // (GDCM asserts on a meta group with no data set after it.)
            if (p + 8 > size_) return "no data set after the file meta information";
        }
        if (!syntax_.empty()) {
            explicit_ = syntax_ != "1.2.840.10008.1.2";
            big_ = syntax_ == "1.2.840.10008.1.2.2";
        } else if (p + 8 <= size_) {
            // No transfer syntax: GDCM guesses the encoding from the first element, byte order
            // included, and may read the file otherwise than this walk (a fuzzed file it read as
            // big endian asked for 3.5 GB). The walk reads little endian only, so the data set
            // must open as one does: group 0000 or 0008 in little-endian order.
            uint16_t first = u16(p, false);
            if (first != 0x0000 && first != 0x0008) {
                return "not DICOM: no transfer syntax, and the data set does not start with group 0000 or 0008 in little-endian order";
            }
            explicit_ = is_vr(d_[p + 4], d_[p + 5]);
        }
        try {
            elements(p, size_, false, 0, true);
        } catch (const std::string &problem) {
            return problem;
        }
        return std::string();
    }

private:
    /// The deflated data set after the meta group at `p`: inflated (raw deflate, as PS3.5 A.5
    /// specifies), at most 1 GiB or 200 times its compressed size, then walked as explicit VR
    /// little endian.
    std::string deflated(size_t p) const {
        if (p >= size_) return "no data set after the file meta information";
        size_t compressed = size_ - p;
        size_t cap = std::min<size_t>(size_t(1) << 30, std::max<size_t>(compressed * 200, 1 << 20));
        std::vector<unsigned char> out;
        z_stream z;
        std::memset(&z, 0, sizeof z);
        if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return "cannot inflate the deflated data set (zlib)";
        z.next_in = const_cast<unsigned char *>(d_ + p);
        z.avail_in = static_cast<uInt>(std::min<size_t>(compressed, UINT32_MAX));
        int rc = Z_OK;
        while (rc == Z_OK) {
            if (out.size() >= cap) {
                inflateEnd(&z);
                return "the deflated data set inflates to more than " + std::to_string(cap) + " bytes";
            }
            size_t before = out.size();
            out.resize(std::min(cap, before + std::max<size_t>(compressed * 4, 1 << 16)));
            z.next_out = out.data() + before;
            z.avail_out = static_cast<uInt>(out.size() - before);
            rc = inflate(&z, Z_NO_FLUSH);
            out.resize(out.size() - z.avail_out);
            if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // the stream ended without its end marker
            if (rc == Z_BUF_ERROR) rc = Z_OK;                 // room was short: go on
        }
        std::string message = z.msg ? z.msg : "";
        inflateEnd(&z);
        if (rc != Z_STREAM_END) {
            return "damaged deflated data set (zlib: " + (message.empty() ? std::string("the stream ends early") : message) + ")";
        }
        if (out.size() < 8) return "the deflated data set holds no element";
        StructureWalk inner(out.data(), out.size(), header_only_);
        inner.syntax_ = "1.2.840.10008.1.2.1";
        inner.explicit_ = true;
        inner.big_ = false;
        try {
            inner.elements(0, out.size(), false, 0, true);
        } catch (const std::string &problem) {
            return problem + " (in the inflated data set)";
        }
        return std::string();
    }

    const unsigned char *d_;
    size_t size_;
    // A header read stops at the pixel data, as GDCM's does (which skips its value): a short
    // native pixel data element is left to the pixel read, which names it truncated.
    bool header_only_;
    bool explicit_ = true, big_ = false;
    std::string syntax_;
    uint32_t rows_ = 0, columns_ = 0;
public:
    /// Whether some pixel data had an undefined length (encapsulated fragments).
    bool encapsulated_ = false;
    /// The meta group's transfer syntax ("" without one).
    const std::string &syntax() const { return syntax_; }
private:
    int fragment_index_ = 0;

    // GDCM's JPEG codecs assert or crash on some impossible JPEG headers (a precision of 144
    // bits, several components), so for the JPEG process syntaxes (1.2.840.10008.1.2.4.50 to
    // .70; not JPEG-LS or JPEG 2000) the first frame's markers are walked up to its SOF: it must
    // start with SOI, every segment must fit, and the SOF must describe one component of
    // 2 to 16 bits, as wide as Columns.
    void check_jpeg(size_t p, size_t length) const {
        const std::string prefix = "1.2.840.10008.1.2.4.";
        if (syntax_.compare(0, prefix.size(), prefix) != 0) return;
        int process = std::atoi(syntax_.c_str() + prefix.size());
        if (process < 50 || process > 70) return;
        size_t end = p + length;
        if (length < 4 || d_[p] != 0xFF || d_[p + 1] != 0xD8) fail("malformed JPEG stream (no start-of-image marker)");
        size_t q = p + 2;
        while (true) {
            while (q < end && d_[q] == 0xFF && q + 1 < end && d_[q + 1] == 0xFF) ++q;  // fill bytes
            if (q + 4 > end || d_[q] != 0xFF) fail("malformed JPEG stream (no frame header before the data)");
            unsigned marker = d_[q + 1];
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { q += 2; continue; }
            size_t segment = u16(q + 2, true);
            if (segment < 2 || segment > end - q - 2) fail("malformed JPEG stream (a segment longer than its fragment)");
            bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof) {
                if (segment < 8) fail("malformed JPEG stream (a short frame header)");
                unsigned precision = d_[q + 4], width = u16(q + 7, true), components = d_[q + 9];
                if (precision < 2 || precision > 16) fail("malformed JPEG stream (" + std::to_string(precision) + "-bit samples)");
                if (components != 1) fail("JPEG stream with " + std::to_string(components) + " components (one expected)");
                if (columns_ != 0 && width != columns_) fail("JPEG stream " + std::to_string(width) + " wide, Columns " + std::to_string(columns_));
                return;
            }
            if (marker == 0xDA || marker == 0xD9) fail("malformed JPEG stream (no frame header before the data)");
            q += 2 + segment;
        }
    }

    static bool is_vr(unsigned char a, unsigned char b) { return a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z'; }
    // The VRs of PS3.5 6.2. GDCM reads an element with any other two letters as implicit VR,
    // taking four bytes as its length, so such an element is refused here.
    static bool known_vr(const std::string &vr) {
        static const char *const all[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                          "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
                                          "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
        for (const char *known : all) {
            if (vr == known) return true;
        }
        return false;
    }
    static bool long_vr(const std::string &vr) {
        return vr == "OB" || vr == "OW" || vr == "OF" || vr == "SQ" || vr == "UT" || vr == "UN" || vr == "OD" ||
               vr == "OL" || vr == "OV" || vr == "UC" || vr == "UR" || vr == "SV" || vr == "UV";
    }
    uint32_t u16(size_t p, bool big) const { return big ? (d_[p] << 8 | d_[p + 1]) : (d_[p] | d_[p + 1] << 8); }
    uint32_t u32(size_t p, bool big) const {
        return big ? (uint32_t(d_[p]) << 24 | uint32_t(d_[p + 1]) << 16 | uint32_t(d_[p + 2]) << 8 | d_[p + 3])
                   : (uint32_t(d_[p]) | uint32_t(d_[p + 1]) << 8 | uint32_t(d_[p + 2]) << 16 | uint32_t(d_[p + 3]) << 24);
    }
    static std::string tag_name(uint32_t group, uint32_t element) {
        char text[16];
        std::snprintf(text, sizeof text, "(%04X,%04X)", group, element);
        return text;
    }
    [[noreturn]] void fail(const std::string &why) const { throw why; }

    size_t vr_length(size_t p, const std::string &vr) const {
        return long_vr(vr) ? (p + 12 <= size_ ? u32(p + 8, big_) : 0) : u16(p + 6, big_);
    }

    // GDCM reads the image attributes through typed accessors that assert (aborting the process)
    // when the element's VR differs from the dictionary's, so those VRs are checked here; a US
    // value must also hold exactly one number (2 bytes), as GDCM's accessor reads one.
    void check_image_attribute(uint32_t group, uint32_t element, const std::string &vr, size_t length) const {
        struct Rule { uint16_t group, element; const char *vrs; };
        static const Rule rules[] = {
            {0x0028, 0x0002, "US"}, {0x0028, 0x0004, "CS"}, {0x0028, 0x0006, "US"}, {0x0028, 0x0008, "IS"},
            {0x0028, 0x0010, "US"}, {0x0028, 0x0011, "US"}, {0x0028, 0x0030, "DS"}, {0x0028, 0x0100, "US"},
            {0x0028, 0x0101, "US"}, {0x0028, 0x0102, "US"}, {0x0028, 0x0103, "US"}, {0x0028, 0x0120, "US SS"},
            {0x0028, 0x0121, "US SS"}, {0x0028, 0x1052, "DS"}, {0x0028, 0x1053, "DS"}, {0x0020, 0x0032, "DS"},
            {0x0020, 0x0037, "DS"}, {0x0018, 0x0050, "DS"}, {0x0008, 0x0060, "CS"}, {0x0002, 0x0010, "UI"},
        };
        for (const Rule &r : rules) {
            if (r.group != group || r.element != element) continue;
            std::string allowed = r.vrs;
            if (vr.empty()) {  // implicit VR: the dictionary's VR, so only the length can be wrong
                if (allowed.find("US") != std::string::npos && length != 2) {
                    fail("malformed data set (element " + tag_name(group, element) + " holds " + std::to_string(length) +
                         " bytes, expected one 2-byte value)");
                }
                return;
            }
            if (allowed.find(vr) == std::string::npos) {
                fail("malformed data set (element " + tag_name(group, element) + " has VR " + vr + ", expected " + allowed + ")");
            }
            if ((vr == "US" || vr == "SS") && length != 2) {
                fail("malformed data set (element " + tag_name(group, element) + " holds " + std::to_string(length) +
                     " bytes, expected one 2-byte value)");
            }
        }
    }

    // Group 0002 is always explicit VR little endian.
    std::string file_meta(size_t &p) {
        while (p + 8 <= size_ && u16(p, false) == 0x0002) {
            if (!is_vr(d_[p + 4], d_[p + 5])) return "malformed file meta information (an element without a VR)";
            std::string vr{static_cast<char>(d_[p + 4]), static_cast<char>(d_[p + 5])};
            if (!known_vr(vr)) return "malformed file meta information (an element with unknown VR " + vr + ")";
            // (GDCM asserts on a sequence in the meta group, which never holds one.)
            if (vr == "SQ") return "malformed file meta information (a sequence in group 0002)";
            size_t length, header;
            if (long_vr(vr)) {
                if (p + 12 > size_) return "malformed file meta information (cut short)";
                length = u32(p + 8, false);
                header = 12;
            } else {
                length = u16(p + 6, false);
                header = 8;
            }
            if (length == 0xFFFFFFFF || length > size_ - p - header) {
                return "malformed file meta information (an element longer than the file)";
            }
            if (u16(p + 2, false) == 0x0010) {
                syntax_ = std::string(reinterpret_cast<const char *>(d_ + p + header), length);
                while (!syntax_.empty() && (syntax_.back() == '\0' || syntax_.back() == ' ')) syntax_.pop_back();
            }
            p += header + length;
        }
        if (p + 8 > size_ && p < size_) return "malformed file meta information (cut short)";
        return std::string();
    }

    // Elements from p up to `end` (defined length), or up to an item delimiter when
    // `until_delimiter`. Returns the position after them.
    size_t elements(size_t p, size_t end, bool until_delimiter, int depth, bool top) {
        bool after_pixels = false;
        while (true) {
            if (!until_delimiter && p == end) return p;
            if (after_pixels) {
                // After the pixel data GDCM reads up to 3 stray bytes, and 8 or more zero bytes,
                // but aborts the process on 4 to 7 bytes of any kind (seen with GDCM 3.0.21).
                size_t left = end - p;
                if (left < 4) return end;
                if (left < 8) fail("malformed data set (" + std::to_string(left) + " stray bytes after the pixel data)");
                bool zeros = true;
                for (size_t q = p; q < end && zeros; ++q) zeros = d_[q] == 0;
                if (zeros) return end;
            }
            if (p + 8 > end) fail("malformed data set (cut short inside an element header)");
            uint32_t group = u16(p, big_), element = u16(p + 2, big_);
            if (group == 0xFFFE) {
                uint32_t length = u32(p + 4, big_);
                if (until_delimiter && element == 0xE00D) return p + 8;
                if (length != 0) fail("malformed data set (an item tag among elements at " + std::to_string(p) + ")");
                p += 8;  // a stray zero-length delimiter, as GDCM tolerates
                continue;
            }
            std::string vr;
            size_t length, header;
            if (explicit_) {
                if (!is_vr(d_[p + 4], d_[p + 5])) fail("malformed data set (element " + tag_name(group, element) + " without a VR)");
                vr = std::string{static_cast<char>(d_[p + 4]), static_cast<char>(d_[p + 5])};
                if (!known_vr(vr)) fail("malformed data set (element " + tag_name(group, element) + " with unknown VR " + vr + ")");
                if (top) check_image_attribute(group, element, vr, vr_length(p, vr));
                if (top && group == 0x0028 && (element == 0x0010 || element == 0x0011) && vr == "US" && p + 10 <= end) {
                    (element == 0x0010 ? rows_ : columns_) = u16(p + 8, big_);
                }
                if (long_vr(vr)) {
                    if (p + 12 > end) fail("malformed data set (cut short inside an element header)");
                    length = u32(p + 8, big_);
                    header = 12;
                } else {
                    length = u16(p + 6, big_);
                    header = 8;
                }
            } else {
                length = u32(p + 4, big_);
                header = 8;
                if (top) check_image_attribute(group, element, std::string(), length);
            }
            p += header;
            bool pixels = top && group == 0x7FE0 && element == 0x0010;
            bool pixel_tag = group == 0x7FE0 && element == 0x0010;
            // GDCM asserts on Pixel Data of VR SQ, and on an undefined length anywhere but on
            // SQ, UN or the pixel data's OB / OW / UN.
            if (explicit_ && pixel_tag && vr == "SQ") fail("malformed data set (pixel data with VR SQ)");
            if (explicit_ && length == 0xFFFFFFFF &&
                !(pixel_tag ? (vr == "OB" || vr == "OW" || vr == "UN") : (vr == "SQ" || vr == "UN"))) {
                fail("malformed data set (element " + tag_name(group, element) + " of VR " + vr + " with undefined length)");
            }
            if (length == 0xFFFFFFFF) {
                // A sequence; encapsulated pixel data (fragments of raw bytes); or UN, whose
                // value is a sequence in implicit VR little endian (PS3.5 6.2.2).
                bool fragments = pixel_tag;
                if (pixel_tag) encapsulated_ = true;
                bool was_explicit = explicit_, was_big = big_;
                if (vr == "UN" && !pixel_tag) explicit_ = big_ = false;
                p = items(p, end, fragments, depth + 1, false);
                explicit_ = was_explicit;
                big_ = was_big;
                if (pixels && header_only_) return p;
                after_pixels = after_pixels || pixels;
                continue;
            }
            if (pixels && header_only_) return p;
            if (length > end - p) {
                if (pixels) {
                    fail("truncated: the pixel data needs " + std::to_string(p + length) + " bytes of file, it has " +
                         std::to_string(size_));
                }
                fail("truncated or damaged: element " + tag_name(group, element) + " declares " + std::to_string(length) +
                     " bytes, the file has " + std::to_string(end - p) + " left");
            }
            // A defined-length sequence: explicit SQ, or (implicit VR) a value that starts as an item.
            bool sequence = explicit_ ? vr == "SQ" : (length >= 8 && u16(p, big_) == 0xFFFE && u16(p + 2, big_) == 0xE000);
            if (sequence) {
                size_t after = items(p, p + length, false, depth + 1, true);
                if (after != p + length) fail("malformed sequence " + tag_name(group, element));
            }
            p += length;
            after_pixels = after_pixels || pixels;
        }
    }

    // Items until a sequence delimiter, or up to `end` for a defined-length sequence.
    size_t items(size_t p, size_t end, bool fragments, int depth, bool defined) {
        if (depth > 64) fail("malformed data set (sequences nested more than 64 deep)");
        while (true) {
            if (p == end && defined) return p;
            if (p + 8 > end) fail("malformed data set (a sequence cut short)");
            uint32_t group = u16(p, big_), element = u16(p + 2, big_), length = u32(p + 4, big_);
            if (group != 0xFFFE) {
                if (defined) fail("malformed sequence (an element where an item belongs)");
                fail("malformed data set (a sequence without its delimiter)");
            }
            p += 8;
            if (element == 0xE0DD) return p;
            if (element != 0xE000) fail("malformed sequence (an unknown item tag)");
            if (length == 0xFFFFFFFF) {
                if (fragments) fail("malformed pixel data (a fragment of undefined length)");
                p = elements(p, end, true, depth, false);
                continue;
            }
            if (length > end - p) fail("truncated or damaged: a sequence item declares " + std::to_string(length) + " bytes, " + std::to_string(end - p) + " are left");
            if (!fragments) elements(p, p + length, false, depth, false);
            if (fragments && ++fragment_index_ == 2) check_jpeg(p, length);  // the first after the offset table
            p += length;
        }
    }
};

// Maps the file (no copy: a large file that is not DICOM costs nothing) and walks it.
/// What the walk saw of the pixel data: the meta group's transfer syntax, and whether pixel data
/// came in fragments.
struct WalkInfo {
    std::string syntax;
    bool encapsulated = false;
};

std::string check_structure(const char *path, bool header_only, bool magic, WalkInfo *info = nullptr) {
    int fd = ::open(path, O_RDONLY);
    if (fd < 0) return "cannot open the file";
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return "cannot tell the file's size";
    }
    size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        return StructureWalk(nullptr, 0, header_only).run(magic);
    }
    void *map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return "cannot map the file";
    StructureWalk walk(static_cast<const unsigned char *>(map), size, header_only);
    std::string problem = walk.run(magic);
    if (info) {
        info->syntax = walk.syntax();
        info->encapsulated = walk.encapsulated_;
    }
    ::munmap(map, size);
    return problem;
}

template <typename T>
void convert(const char *raw, float *out, size_t count) {
    const T *values = reinterpret_cast<const T *>(raw);
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(values[i]);
}

}  // namespace

static int read_header(const char *path, ichct_dicom_header *h, char *error, size_t error_size) {
    GDCMUse::Shared using_gdcm;
    quiet();
    std::memset(h, 0, sizeof *h);
    bool magic = has_dicm_magic(path);
    std::string problem = check_structure(path, true, magic);
    if (!problem.empty()) {
        set_error(error, error_size, magic ? problem : "not a DICOM file");
        return magic ? 2 : 1;
    }
    gdcm::Reader reader;
    reader.SetFileName(path);
    bool ok = false;
    try {
        // The pixel data's value is skipped, not read: GDCM would allocate what it declares.
        std::set<gdcm::Tag> skip{gdcm::Tag(0x7fe0, 0x0010)};
        ok = reader.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010), skip);
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

static int decode_pixels(const char *path, float *out, size_t expected, char *error, size_t error_size);
static int decode_isolated(const char *path, float *out, size_t expected, char *error, size_t error_size);

static bool native_pixels(const std::string &syntax);

static int read_pixels(const char *path, float *out, size_t expected, char *error, size_t error_size) {
    std::string syntax;
    WalkInfo walked;
    {
        std::string problem = check_structure(path, false, has_dicm_magic(path), &walked);
        if (!problem.empty()) {
            set_error(error, error_size, problem);
            return 2;
        }
        // GDCM's codecs assert (aborting the process) on some impossible pixel formats, e.g.
        // its JPEG codec on Bits Allocated 62992; so the format is checked before they run.
        ichct_dicom_header h;
        int status = read_header(path, &h, error, error_size);
        if (status != 0) return status;
        bool allocated = h.bits_allocated == 8 || h.bits_allocated == 16 || h.bits_allocated == 32 || h.bits_allocated == 64;
        if (!allocated || h.bits_stored < 1 || h.bits_stored > h.bits_allocated) {
            set_error(error, error_size, "unsupported pixel format: Bits Allocated " + std::to_string(h.bits_allocated) +
                                             ", Bits Stored " + std::to_string(h.bits_stored) +
                                             " (expected 8, 16, 32 or 64 allocated, 1 to that many stored)");
            return 2;
        }
        syntax = h.transfer_syntax_uid;
    }
    // GDCM as Debian builds it keeps its assertions, and some damaged compressed streams make
    // its codecs assert or allocate gigabytes: compressed pixels are decoded in a child process,
    // which may die alone. Pixels are read here only when the file is native by every account:
    // the meta group's syntax, GDCM's reading of it, and a pixel data element of defined length
    // (GDCM may read a damaged file otherwise than the walk, e.g. as fragments).
    if (native_pixels(syntax) && native_pixels(walked.syntax) && !walked.encapsulated) {
        GDCMUse::Shared using_gdcm;
        return decode_pixels(path, out, expected, error, error_size);
    }
    return decode_isolated(path, out, expected, error, error_size);
}

/// What the decoding child leaves for its parent, at the start of a shared mapping; the pixels
/// follow it.
struct DecodeResult {
    volatile int done;  // set last by a child that finished (success or error)
    int status;
    char error[1024];
};

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define ICHCT_SANITIZED 1
#endif
#endif

/// The child's address space may grow by this much: GDCM's codecs need a few copies of the
/// frame, never gigabytes for one CT slice. (Not under a sanitizer, whose shadow memory needs
/// terabytes of address space.)
static void limit_child_memory(size_t expected) {
#ifndef ICHCT_SANITIZED
    long page = sysconf(_SC_PAGESIZE);
    FILE *statm = std::fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (!statm) return;
    bool read = std::fscanf(statm, "%llu", &pages) == 1;
    std::fclose(statm);
    if (!read || page <= 0) return;
    unsigned long long allowance = std::max<unsigned long long>(1ull << 30, 64ull * expected * sizeof(float));
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(pages * static_cast<unsigned long long>(page) + allowance);
    setrlimit(RLIMIT_AS, &limit);
#else
    (void)expected;
#endif
}

/// Whether a transfer syntax stores its pixels natively (uncompressed; deflate only wraps the
/// data set, which the structure walk has inflated and checked). GDCM's codecs, where its
/// assertions and large allocations were found, run for the others.
static bool native_pixels(const std::string &syntax) {
    return syntax.empty() || syntax == "1.2.840.10008.1.2" || syntax == "1.2.840.10008.1.2.1" ||
           syntax == "1.2.840.10008.1.2.2" || syntax == "1.2.840.10008.1.2.1.99";
}

static int decode_isolated(const char *path, float *out, size_t expected, char *error, size_t error_size) {
    size_t bytes = sizeof(DecodeResult) + expected * sizeof(float);
    void *region = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        set_error(error, error_size, std::string("cannot map memory for the decoded pixels: ") + std::strerror(errno));
        return 2;
    }
    DecodeResult *result = static_cast<DecodeResult *>(region);
    float *pixels = reinterpret_cast<float *>(result + 1);
    result->done = 0;
    // The child holds the write end of a pipe until it exits: the parent waits on the read end
    // (with a timeout) rather than polling.
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        munmap(region, bytes);
        set_error(error, error_size, std::string("cannot make a pipe for the decoding process: ") + std::strerror(errno));
        return 2;
    }
    std::fflush(nullptr);
    // No other thread inside GDCM while forking (see GDCMUse); the parent lets go after the
    // fork, the child never touches the lock again.
    pthread_rwlock_wrlock(GDCMUse::lock());
    pid_t child = fork();
    int fork_errno = errno;
    if (child != 0) pthread_rwlock_unlock(GDCMUse::lock());
    if (child < 0) {
        close(fds[0]);
        close(fds[1]);
        munmap(region, bytes);
        set_error(error, error_size, std::string("cannot start the decoding process: ") + std::strerror(fork_errno));
        return 2;
    }
    if (child == 0) {
        // The child: no descriptor of the parent's but its pipe end (another thread's pipe
        // would otherwise stay open until this child ends), default actions for the signals an
        // assertion or a bad pointer raises (no handler of the parent's, e.g. a fuzzer's, runs
        // here), a bounded address space, then GDCM. It never returns: _exit skips the
        // parent's atexit handlers and buffers.
        int keep = fds[1];
        bool closed = (keep <= 3 || close_range(3, static_cast<unsigned>(keep - 1), 0) == 0) &&
                      close_range(static_cast<unsigned>(keep + 1), ~0U, 0) == 0;
        if (!closed) {  // a kernel before 5.9: one by one
            long last = sysconf(_SC_OPEN_MAX);
            for (long fd = 3; fd < (last > 0 && last < 65536 ? last : 65536); ++fd) {
                if (fd != keep) close(static_cast<int>(fd));
            }
        }
        for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(sig, SIG_DFL);
        limit_child_memory(expected);
        int status = 2;
        try {
            status = decode_pixels(path, pixels, expected, result->error, sizeof(result->error));
        } catch (const std::exception &e) {
            set_error(result->error, sizeof(result->error), std::string("cannot read the pixel data: ") + e.what());
        } catch (...) {
            set_error(result->error, sizeof(result->error), "cannot read the pixel data");
        }
        result->status = status;
        __atomic_store_n(&result->done, 1, __ATOMIC_SEQ_CST);
        _exit(0);
    }
    close(fds[1]);
    // The pipe reads end-of-file when the child ends; a child that hangs is ended after 5 minutes.
    struct pollfd watch = {fds[0], POLLIN, 0};
    int ready;
    do {
        ready = poll(&watch, 1, 300000);
    } while (ready < 0 && errno == EINTR);
    close(fds[0]);
    if (ready == 0) kill(child, SIGKILL);
    int wstatus = 0;
    pid_t r;
    do {
        r = waitpid(child, &wstatus, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) wstatus = -1;
    int status;
    if (__atomic_load_n(&result->done, __ATOMIC_SEQ_CST)) {
        status = result->status;
        if (status == 0) std::memcpy(out, pixels, expected * sizeof(float));
        else set_error(error, error_size, std::string(result->error, strnlen(result->error, sizeof(result->error))));
    } else {
        std::string how = wstatus != -1 && WIFSIGNALED(wstatus)
            ? "signal " + std::to_string(WTERMSIG(wstatus)) + (WTERMSIG(wstatus) == SIGABRT ? ", an assertion" : WTERMSIG(wstatus) == SIGKILL ? ", killed" : "")
            : wstatus != -1 && WIFEXITED(wstatus) ? "exit status " + std::to_string(WEXITSTATUS(wstatus)) : "unknown";
        set_error(error, error_size, "GDCM failed while decoding the pixel data (" + how +
                                         "; out of memory or a damaged stream); the decoding ran in a child process, so only this file failed");
        if (ready == 0) set_error(error, error_size, "decoding the pixel data did not end within 5 minutes; the process was stopped");
        status = 2;
    }
    munmap(region, bytes);
    return status;
}

/// GDCM's decoding of one frame into `out` (the work of the child process).
static int decode_pixels(const char *path, float *out, size_t expected, char *error, size_t error_size) {
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

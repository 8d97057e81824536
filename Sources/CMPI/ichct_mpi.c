#include "ichct_mpi.h"
#include <limits.h>
#include <string.h>
#include <mpi/mpi.h>

int ichct_mpi_init(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized) return MPI_ERR_OTHER;
    if (initialized) return MPI_SUCCESS;
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return rc;
    // a library that cannot serialise calls from any thread would be used unsafely
    if (provided < MPI_THREAD_SERIALIZED) return MPI_ERR_OTHER;
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

int ichct_mpi_is_active(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

int ichct_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
int ichct_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

// MPI counts are int: long buffers go in pieces of at most INT_MAX elements.
#define CHUNKED(type, mpitype, op)                                                      \
    for (int64_t done = 0; done < count;) {                                              \
        int n = (int)((count - done) > INT_MAX ? INT_MAX : (count - done));              \
        int rc = MPI_Allreduce(MPI_IN_PLACE, values + done, n, mpitype, op, MPI_COMM_WORLD); \
        if (rc != MPI_SUCCESS) return rc;                                                \
        done += n;                                                                       \
    }                                                                                    \
    return MPI_SUCCESS;

int ichct_mpi_allreduce_sum_double(double *values, int64_t count) { CHUNKED(double, MPI_DOUBLE, MPI_SUM) }
int ichct_mpi_allreduce_sum_float(float *values, int64_t count) { CHUNKED(float, MPI_FLOAT, MPI_SUM) }
int ichct_mpi_allreduce_max_int64(int64_t *values, int64_t count) { CHUNKED(int64_t, MPI_INT64_T, MPI_MAX) }

int ichct_mpi_broadcast_bytes(void *data, int64_t count, int root) {
    char *bytes = (char *)data;
    for (int64_t done = 0; done < count;) {
        int n = (int)((count - done) > INT_MAX ? INT_MAX : (count - done));
        int rc = MPI_Bcast(bytes + done, n, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += n;
    }
    return MPI_SUCCESS;
}

int ichct_mpi_allgather_double(const double *values, int64_t count, double *out) {
    if (count > INT_MAX) return MPI_ERR_COUNT;
    return MPI_Allgather(values, (int)count, MPI_DOUBLE, out, (int)count, MPI_DOUBLE, MPI_COMM_WORLD);
}

int ichct_mpi_allgatherv_double(const double *values, int64_t count, const int *counts, double *out) {
    if (count > INT_MAX) return MPI_ERR_COUNT;
    int size = 0;
    int rc = MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rc != MPI_SUCCESS) return rc;
    int displacements[size];
    int64_t total = 0;
    for (int r = 0; r < size; r++) {
        if (total > INT_MAX) return MPI_ERR_COUNT;
        displacements[r] = (int)total;
        total += counts[r];
    }
    return MPI_Allgatherv(values, (int)count, MPI_DOUBLE, out, counts, displacements, MPI_DOUBLE, MPI_COMM_WORLD);
}

int ichct_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
int ichct_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
int ichct_mpi_finalize(void) {
    if (!ichct_mpi_is_active()) return MPI_SUCCESS;
    return MPI_Finalize();
}

void ichct_mpi_error_string(int code, char *buffer, int capacity) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    if (capacity <= 0) return;
    int n = length < capacity - 1 ? length : capacity - 1;
    memcpy(buffer, text, (size_t)n);
    buffer[n] = 0;
}

// A C face of the few MPI calls ichct's data-parallel training makes. Open MPI's handles
// (MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM) are macros over casts that Swift cannot import, so
// they stay in ichct_mpi.c. Every function returns MPI's error code (MPI_SUCCESS = 0).
#ifndef ICHCT_MPI_H
#define ICHCT_MPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Initialises MPI once (a no-op when it already is), with MPI_THREAD_SERIALIZED: any thread may
/// call it, one at a time. Errors return instead of aborting (MPI_ERRORS_RETURN on the world).
int ichct_mpi_init(void);
/// Whether MPI_Init has been called and MPI_Finalize has not.
int ichct_mpi_is_active(void);
/// This process's rank and the world's size.
int ichct_mpi_rank(int *rank);
int ichct_mpi_size(int *size);
/// Element-wise sums over all ranks, in place.
int ichct_mpi_allreduce_sum_double(double *values, int64_t count);
int ichct_mpi_allreduce_sum_float(float *values, int64_t count);
/// Element-wise maximum over all ranks, in place.
int ichct_mpi_allreduce_max_int64(int64_t *values, int64_t count);
/// `count` bytes of rank `root` copied to every rank.
int ichct_mpi_broadcast_bytes(void *data, int64_t count, int root);
/// Every rank's `count` doubles, in rank order, into `out` (size * count).
int ichct_mpi_allgather_double(const double *values, int64_t count, double *out);
/// Every rank's variable-length doubles: `counts` (size entries) are the lengths; `out` holds their sum.
int ichct_mpi_allgatherv_double(const double *values, int64_t count, const int *counts, double *out);
int ichct_mpi_barrier(void);
/// Ends every rank's run with `code` (MPI_Abort on the world).
int ichct_mpi_abort(int code);
int ichct_mpi_finalize(void);
/// MPI's text for an error code, into `buffer`.
void ichct_mpi_error_string(int code, char *buffer, int capacity);

#ifdef __cplusplus
}
#endif
#endif
